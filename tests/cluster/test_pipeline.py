"""The pipeline submitted to the standalone cluster publishes exactly what a local-mode run
publishes on the same landing data, also when a worker dies mid-job or the driver dies mid-write."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from chispa import assert_approx_df_equality
from harness import CLUSTER_DIR, REFERENCE_DIR, ROOT, TEST_KEY, Submitter, check, children, cluster_sh

from footfall.cli import JOB_COMMANDS

pytestmark = pytest.mark.cluster

DAY = "2026-03-14"
GENERATE_ARGS = ("--date", DAY, "--subscribers", "300", "--events-per-subscriber", "30")
INGEST_TABLES = ("ref.zones", "ref.cells", "restricted.subscribers", "restricted.events", "ops.rejected_events")
COMPUTE_TABLES = ("restricted.visits", "footfall.zone_hourly", "footfall.zone_hourly_total", "footfall.zone_daily")
# Differs between two runs by design (a fresh id per run); ops.runs is not compared at all.
RUN_SPECIFIC_COLUMNS = ("run_id",)


def missing_jobs(*jobs: str) -> list[str]:
    """Jobs whose library module or spark-submit entry point is not in this checkout (yet)."""
    modules = {name: module for name, module, _ in JOB_COMMANDS}
    return [job for job in jobs if importlib.util.find_spec(modules[job]) is None
            or not (ROOT / "jobs" / f"{job.replace('-', '_')}.py").is_file()]


@dataclass
class Runs:
    on_cluster: Path  # data_dir of the submitted runs; its landing folder is the input of both
    local: Path  # data_dir of the local-mode runs


def run_local(data_dir: Path, landing: Path, *steps: tuple[str, ...]) -> None:
    """The same jobs in Spark local mode, in one Python process (one session for all steps)."""
    common = [
        "--env", "local", "--conf-dir", str(ROOT / "conf"),
        "--set", f"paths.data_dir={data_dir}", "--set", f"paths.landing_dir={landing}",
        "--set", f"paths.reference_dir={REFERENCE_DIR}", "--set", f"spark.jars_dir={ROOT / '.jars'}",
        "--set", "spark.master=local[2]", "--set", "spark.shuffle_partitions=4", "--set", "privacy.key_file=",
    ]
    argvs = [[step[0], *common, *step[1:]] for step in steps]
    script = (
        "import json, sys\nfrom footfall.cli import main\n"
        "for argv in json.loads(sys.argv[1]):\n    rc = main(argv)\n    if rc:\n        sys.exit(rc)\n"
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FOOTFALL_PSEUDONYM_KEY": TEST_KEY}
    check(subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script, json.dumps(argvs)], cwd=data_dir,
                         env=env, capture_output=True, text=True, timeout=1800, check=False))


def assert_same_tables(spark, runs: Runs, tables: tuple[str, ...]) -> None:
    for table in tables:
        schema, name = table.split(".")

        def read(data_dir: Path, schema: str = schema, name: str = name):
            return spark.read.format("delta").load(str(data_dir / "warehouse" / f"{schema}.db" / name))

        cluster_df, local_df = read(runs.on_cluster), read(runs.local)
        drop = [c for c in RUN_SPECIFIC_COLUMNS if c in cluster_df.columns]
        assert cluster_df.count() > 0, f"{table} is empty: the comparison would prove nothing"
        # approx: sums of doubles (mean dwell) may differ in the last bits with the partitioning
        assert_approx_df_equality(cluster_df.drop(*drop), local_df.drop(*drop), precision=1e-9,
                                  ignore_row_order=True, ignore_nullable=True)


@pytest.fixture(scope="module")
def runs(submitter: Submitter, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    missing = missing_jobs("generate", "load-reference", "ingest")
    if missing:
        pytest.skip(f"pipeline jobs not in this checkout yet: {', '.join(missing)}")
    base = tmp_path_factory.mktemp("pipeline")
    result = Runs(base / "cluster", base / "local")
    check(submitter.run("generate", result.on_cluster, *GENERATE_ARGS))
    check(submitter.run("load-reference", result.on_cluster, "--date", DAY))
    check(submitter.run("ingest", result.on_cluster, "--date", DAY))
    run_local(result.local, result.on_cluster / "landing", ("load-reference", "--date", DAY), ("ingest", "--date", DAY))
    return result


def test_ingest_on_the_cluster_equals_local_mode(runs: Runs, spark) -> None:
    assert_same_tables(spark, runs, INGEST_TABLES)


def test_compute_on_the_cluster_equals_local_mode(runs: Runs, submitter: Submitter, spark) -> None:
    missing = missing_jobs("compute")
    if missing:
        pytest.skip("footfall compute (libs/footfall/compute.py, jobs/compute.py) is not in this checkout yet")
    check(submitter.run("compute", runs.on_cluster, "--date", DAY))
    run_local(runs.local, runs.on_cluster / "landing", ("compute", "--date", DAY))
    assert_same_tables(spark, runs, COMPUTE_TABLES)


def executor_log_of(worker: int, since: float) -> Path | None:
    """stderr of the executor that worker `worker` started for the newest application after `since`."""
    logs = [p for p in (CLUSTER_DIR / f"worker-{worker}" / "work").glob("app-*/*/stderr") if p.stat().st_mtime > since]
    return max(logs, key=lambda p: p.stat().st_mtime) if logs else None


def test_ingest_survives_losing_a_worker_mid_job(runs: Runs, submitter: Submitter, spark, tmp_path: Path) -> None:
    """Worker 2 and its executor are killed (SIGKILL, by pid) after the executor finished a few
    tasks, so its shuffle files are lost too; the job finishes on worker 1 with the same tables."""
    log = tmp_path / "ingest.log"
    started = time.time()
    driver = submitter.start("ingest", runs.on_cluster, "--date", DAY, log=log)
    killed: list[int] = []
    try:
        while driver.poll() is None and not killed:
            executor_log = executor_log_of(2, started)
            if executor_log is not None and executor_log.read_text(errors="replace").count("Finished task") >= 3:
                worker = int(cluster_sh("worker-pid", "2").stdout)
                killed = [*children(worker), worker]
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        assert killed, "the job ended before worker 2 ran three tasks: nothing was killed"
        assert driver.wait(timeout=900) == 0, log.read_text()[-5000:]
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        restored = cluster_sh("up")  # restarts worker 2 for the tests after this one
        assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Lost executor" in log.read_text() or "Executor lost" in log.read_text()
    assert_same_tables(spark, runs, INGEST_TABLES)


def test_rerun_after_the_driver_died_mid_write_leaves_a_clean_table(
    runs: Runs, submitter: Submitter, spark, tmp_path: Path
) -> None:
    """The driver (spark-submit and its Python process) is killed once the first data files of
    restricted.events are written but not yet committed; Delta never sees those files, and a
    rerun of the day publishes exactly the local run's rows."""
    table = runs.on_cluster / "warehouse" / "restricted.db" / "events"
    commits_before = set((table / "_delta_log").glob("*.json"))
    files_before = set(table.rglob("*.parquet"))
    driver = submitter.start("ingest", runs.on_cluster, "--date", DAY, log=tmp_path / "killed.log")
    try:
        while driver.poll() is None:
            if set(table.rglob("*.parquet")) - files_before:
                os.killpg(driver.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == -signal.SIGKILL, "the run ended before it wrote restricted.events"
    assert set((table / "_delta_log").glob("*.json")) == commits_before, "the killed write must not have committed"
    assert set(table.rglob("*.parquet")) - files_before, "the killed run left no partial files to ignore"

    check(submitter.run("ingest", runs.on_cluster, "--date", DAY))
    assert len(set((table / "_delta_log").glob("*.json")) - commits_before) == 1
    assert_same_tables(spark, runs, INGEST_TABLES)
