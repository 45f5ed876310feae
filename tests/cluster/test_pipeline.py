"""The pipeline submitted to the standalone cluster publishes exactly what a local-mode run
publishes on the same landing data, also when a worker dies mid-job or the driver dies mid-write.

One generated day (300 subscribers, ~8k events) is shared by every test of the module: it is
generated once, in local mode (generate makes test data; no operator submits it), and the
local-mode run of the same jobs on it runs beside the cluster's `run`. compute covers two zone
sets: `districts` (12 zones, joined through their grid cover) and `localities` (96 zones;
`spatial.broadcast_max_zones=50` sends it through Sedona's spatially partitioned join, so that
join is shuffled across the executors). The generated store fronts are taken out of the
landing folder before load-reference: their full grid is 2.4M rows per day, too many to compute
here, and with their 4,612 polygons loading the zones took 66 s on the cluster. The submitted
jobs run with Spark's generated code and the local-mode run without it, as every other test
does (tests/support.py): equal tables also say both evaluations agree.
"""

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
from harness import (
    CLUSTER_DIR,
    DIST,
    REFERENCE_DIR,
    ROOT,
    STUCK_AFTER,
    TEST_KEY,
    Submitter,
    alive_workers,
    check,
    children,
    cluster_sh,
    stuck,
    wait_for_workers,
    wait_until_idle,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, FloatType
from support import run_footfall, spark_overrides

from footfall.cli import JOB_COMMANDS
from footfall.observe import parse_step_line

pytestmark = pytest.mark.cluster

DAY = "2026-03-14"
GENERATE_ARGS = ("--date", DAY, "--subscribers", "300", "--events-per-subscriber", "30")
ZONE_SETS = ("districts", "localities")
COMPUTE_ARGS = ("--date", DAY, *(arg for zone_set in ZONE_SETS for arg in ("--zone-set", zone_set)))
# localities (96 zones) above the threshold: the spatially partitioned join; districts (12) below
JOIN_SETTINGS = ("--set", "spatial.broadcast_max_zones=50")
INGEST_TABLES = ("ref.zones", "ref.cells", "ref.postcodes", "ref.population", "footfall.market_share",
                 "restricted.subscribers", "restricted.events", "ops.rejected_events")
COMPUTE_TABLES = ("restricted.visits", "footfall.zone_hourly", "footfall.zone_hourly_total", "footfall.zone_daily",
                  "footfall.zone_daily_margins", "footfall.zone_catchment")
# Differs between two runs by design (a fresh id per run); ops.runs is not compared at all.
RUN_SPECIFIC_COLUMNS = ("run_id",)
# Doubles (mean dwell) are sums whose last bits depend on the partitioning: compared rounded.
DOUBLE_DIGITS = 9
WORKER_2_PORT = 7179  # conf/cluster.sh: worker n listens on MASTER_PORT (7177) + n


def missing_jobs(*jobs: str) -> list[str]:
    """Jobs whose library module or spark-submit entry point is not in this checkout: a renamed
    or moved module the command table or jobs/ still names."""
    modules = {name: module for name, module, _ in JOB_COMMANDS}
    return [job for job in jobs if job not in modules or importlib.util.find_spec(modules[job]) is None
            or not (ROOT / "jobs" / f"{job.replace('-', '_')}.py").is_file()]


@dataclass
class Runs:
    on_cluster: Path  # data_dir of the submitted runs; its landing folder is the input of both
    local: Path  # data_dir of the local-mode runs
    generated_rows: int  # event rows generate wrote (its summary line)
    log: str  # the submitted driver's log (stdout of spark-submit)
    wall: float  # seconds spark-submit ran, measured around it


def start_local(data_dir: Path, landing: Path, log: Path, *steps: tuple[str, ...]) -> subprocess.Popen[bytes]:
    """The same jobs in Spark local mode, in one Python process (one session for all steps),
    started in the background; its output goes to `log` (a pipe nobody reads while the cluster
    jobs run would fill up and stop it).

    It runs the package's Python and code (dist/env, dist/conf), like the submitted jobs: a
    source checkout that changed since `make package` cannot make the two runs differ."""
    common = [
        "--env", "local", "--conf-dir", str(DIST / "conf"),
        "--set", f"paths.data_dir={data_dir}", "--set", f"paths.landing_dir={landing}",
        "--set", f"paths.reference_dir={REFERENCE_DIR}", "--set", f"spark.jars_dir={DIST / 'jars'}",
        "--set", "spark.master=local[2]", *spark_overrides(), "--set", "privacy.key_file=",
        *JOIN_SETTINGS,
    ]
    argvs = [[step[0], *common, *step[1:]] for step in steps]
    script = (
        "import json, sys\nfrom footfall.cli import main\n"
        "for argv in json.loads(sys.argv[1]):\n    rc = main(argv)\n    if rc:\n        sys.exit(rc)\n"
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    spark_home = next((ROOT / ".venv" / "lib").glob("python3*/site-packages/pyspark"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYSPARK_PYTHON")}
    env.update(FOOTFALL_PSEUDONYM_KEY=TEST_KEY, SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1",
               PYTHONPATH=":".join(str(z) for z in sorted((spark_home / "python" / "lib").glob("*.zip"))))
    with log.open("wb") as out:
        return subprocess.Popen([str(DIST / "env" / "bin" / "python"), "-c", script, json.dumps(argvs)],
                                cwd=data_dir, env=env, stdout=out, stderr=subprocess.STDOUT)


def table_path(data_dir: Path, table: str) -> Path:
    schema, name = table.split(".")
    return data_dir / "warehouse" / f"{schema}.db" / name


def comparable(df: DataFrame) -> DataFrame:
    drop = [c for c in RUN_SPECIFIC_COLUMNS if c in df.columns]
    return df.drop(*drop).select(*[
        F.round(f.name, DOUBLE_DIGITS).alias(f.name) if isinstance(f.dataType, DoubleType | FloatType) else f.name
        for f in df.drop(*drop).schema.fields
    ])


def assert_same_tables(spark, runs: Runs, tables: tuple[str, ...]) -> None:
    """Row for row, as multisets: same count, nothing in one that is not in the other (exceptAll
    keeps duplicates, so a row written twice shows up)."""
    for table in tables:
        cluster_df = comparable(spark.read.format("delta").load(str(table_path(runs.on_cluster, table))))
        local_df = comparable(spark.read.format("delta").load(str(table_path(runs.local, table))))
        n_cluster, n_local = cluster_df.count(), local_df.count()
        assert n_cluster > 0, f"{table} is empty: the comparison would prove nothing"
        assert n_cluster == n_local, f"{table}: {n_cluster} rows on the cluster, {n_local} in local mode"
        assert cluster_df.exceptAll(local_df).count() == 0, f"{table}: rows only the cluster run has"
        assert local_df.exceptAll(cluster_df).count() == 0, f"{table}: rows only the local run has"


def step_lines(log: str) -> dict[str, dict[str, str]]:
    """job step -> its footfall-step fields (the last line of each step)."""
    found = {}
    for line in log.splitlines():
        fields = parse_step_line(line)
        if fields is not None:
            key = " ".join(fields[k] for k in ("job", "step", "zone_set") if k in fields)
            found[key] = fields
    return found


@pytest.fixture(scope="module")
def runs(submitter: Submitter, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The day generated (in this process's venv), then `run` (load-reference, ingest and compute in one
    application, as `make run` does) submitted once: every submission pays about 1.5 minutes of
    start-up here (the driver and both executors unpack the package's Python, start Python and
    register Sedona), which three separate submissions paid three times. The fault tests below
    submit `ingest` on its own."""
    assert missing_jobs("run", "ingest") == []
    base = tmp_path_factory.mktemp("pipeline")
    on_cluster, local = base / "cluster", base / "local"
    # Generated here, not submitted: generate makes test data, it is no job an operator submits,
    # and a submission costs the tier about 1.5 minutes of start-up.
    generate_log = base / "generate.log"
    run_footfall(on_cluster, generate_log, TEST_KEY, "generate", *GENERATE_ARGS)
    rows = next(line for line in generate_log.read_text().splitlines() if line.startswith("subscribers: "))
    generated_rows = int(rows.split("event rows: ")[1].split()[0].replace(",", ""))
    (on_cluster / "landing" / "zones" / "storefronts.geojson").unlink()  # not computed: not loaded either
    # The local-mode reference run works beside the submission (it only reads the landing folder).
    local_log = base / "local.log"
    local_run = start_local(local, on_cluster / "landing", local_log, ("load-reference", "--date", DAY),
                            ("ingest", "--date", DAY), ("compute", *COMPUTE_ARGS))
    try:
        t0 = time.monotonic()
        log = check(submitter.run("run", on_cluster, *COMPUTE_ARGS, *JOIN_SETTINGS))
        wall = time.monotonic() - t0
        local_run.wait(timeout=1800)
    finally:
        if local_run.poll() is None:
            local_run.kill()
    assert local_run.returncode == 0, local_log.read_text(errors="replace")[-6000:]
    return Runs(on_cluster, local, generated_rows, log, wall)


def test_ingest_on_the_cluster_equals_local_mode(runs: Runs, spark) -> None:
    assert_same_tables(spark, runs, INGEST_TABLES)


def test_compute_on_the_cluster_equals_local_mode(runs: Runs, spark) -> None:
    assert_same_tables(spark, runs, COMPUTE_TABLES)
    for data_dir in (runs.on_cluster, runs.local):
        visits = spark.read.format("delta").load(str(table_path(data_dir, "restricted.visits")))
        assert sorted(r[0] for r in visits.select("zone_set").distinct().collect()) == list(ZONE_SETS)


def test_submitted_jobs_log_their_step_lines(runs: Runs, spark) -> None:
    """The submitted driver's log holds one footfall-step line per stage of each job, with the
    rows of the tables it wrote."""
    def rows(table: str, **where: str) -> str:
        df = spark.read.format("delta").load(str(table_path(runs.on_cluster, table)))
        for column, value in where.items():
            df = df.where(F.col(column) == value)
        return str(df.count())

    lines = step_lines(runs.log)
    reference = {key: fields for key, fields in lines.items() if fields["job"] == "load-reference"}
    assert reference["load-reference zones"]["rows_out"] == rows("ref.zones")
    assert reference["load-reference cells"]["rows_out"] == rows("ref.cells")
    assert reference["load-reference postcodes"]["rows_out"] == rows("ref.postcodes")
    assert reference["load-reference population"]["rows_out"] == rows("ref.population")
    assert reference["load-reference subscribers"]["rows_out"] == rows("restricted.subscribers")
    assert reference["load-reference market_share"]["rows_out"] == rows("footfall.market_share")
    ingest = {key: fields for key, fields in lines.items() if fields["job"] == "ingest"}
    assert ingest["ingest events"]["rows_in"] == str(runs.generated_rows)  # every delivered row was read
    assert ingest["ingest events"]["rows_out"] == rows("restricted.events")
    assert ingest["ingest rejected_events"]["rows_out"] == rows("ops.rejected_events")
    compute = {key: fields for key, fields in lines.items() if fields["job"] == "compute"}
    assert compute["compute read_events"]["rows_out"] == rows("restricted.events")
    for zone_set in ZONE_SETS:
        for table in COMPUTE_TABLES:
            assert compute[f"compute {table} {zone_set}"]["rows_out"] == rows(table, zone_set=zone_set), table
    assert set(lines) == {*reference, *ingest, *compute}, "a step line of another job"
    # Every step ran a Spark job or a write, one after another: each took time, together no
    # longer than spark-submit ran.
    assert all(f["status"] == "ok" and float(f["seconds"]) > 0 for f in lines.values()), lines
    assert sum(float(f["seconds"]) for f in lines.values()) <= runs.wall, runs.wall


# ------------------------------------------------------------------------------- fault tolerance


def commits(table: Path) -> set[str]:
    """The Delta commit files of a table (one per version)."""
    return {p.name for p in (table / "_delta_log").glob("*.json")}


def data_files(table: Path) -> set[Path]:
    """The table's Parquet data files (not the _delta_log checkpoints)."""
    return {p for p in table.rglob("*.parquet") if "_delta_log" not in p.parts}


def app_folders(worker: int) -> set[Path]:
    """The work folders worker `worker` made for the applications it ran executors for."""
    return set((CLUSTER_DIR / f"worker-{worker}" / "work").glob("app-*"))


def new_executor_log(worker: int, known: set[Path]) -> Path | None:
    """stderr of an executor that worker `worker` started for an application not in `known`. (An
    executor of an earlier application can still be writing its log while it shuts down: picking
    logs by time once picked the killed driver's executor, and the test killed a worker the new
    application never used.)"""
    logs = [log for app in app_folders(worker) - known for log in app.glob("*/stderr")]
    return logs[0] if logs else None


def assert_history_is_clean(spark, table: Path, versions_before: int, new_versions: int) -> None:
    """Versions 0..n without a gap, and exactly `new_versions` commits since the run started."""
    history = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").select("version", "operation").collect()
    versions = sorted(r["version"] for r in history)
    assert versions == list(range(len(versions))), versions
    assert len(versions) == versions_before + new_versions, versions


@dataclass
class KilledDriver:
    """What a submitted ingest left when its driver was SIGKILLed mid-write."""

    table: Path  # restricted.events of the cluster run
    commits_before: set[str]  # the table's commit files before the killed run started
    returncode: int | None  # the killed spark-submit's exit status
    commits_after: set[str]  # the commit files once it was dead
    orphans: set[Path]  # data files it wrote that no commit references


@pytest.fixture(scope="module")
def killed_driver(runs: Runs, submitter: Submitter, tmp_path_factory: pytest.TempPathFactory) -> KilledDriver:
    """ingest of the day submitted again, its driver (spark-submit and its Python process)
    killed once the first data files of restricted.events are written but not yet committed."""
    table = table_path(runs.on_cluster, "restricted.events")
    commits_before = commits(table)
    files_before = data_files(table)
    log = tmp_path_factory.mktemp("killed-driver") / "ingest.log"
    driver = submitter.start("ingest", runs.on_cluster, "--date", DAY, log=log)
    deadline = time.monotonic() + STUCK_AFTER
    try:
        while driver.poll() is None:
            if data_files(table) - files_before:
                os.killpg(driver.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, stuck("a data file of restricted.events", log)
            time.sleep(0.05)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    wait_until_idle()  # the dead driver's executors are gone: the rerun gets both workers
    return KilledDriver(table, commits_before, driver.returncode, commits(table), data_files(table) - files_before)


def test_a_driver_killed_mid_write_commits_nothing(killed_driver: KilledDriver) -> None:
    """Delta never sees the files of a write whose driver died before the commit."""
    assert killed_driver.returncode == -signal.SIGKILL, "the run ended before it wrote restricted.events"
    assert killed_driver.commits_after == killed_driver.commits_before, "the killed write must not have committed"
    assert killed_driver.orphans, "the killed run left no partial files to ignore"
    assert not list((killed_driver.table / "_delta_log").glob(".*.tmp")), "a half-written commit file is left"


def test_the_rerun_survives_losing_a_worker_and_leaves_one_clean_run(
    runs: Runs, submitter: Submitter, spark, killed_driver: KilledDriver, tmp_path: Path
) -> None:
    """The killed day is rerun (one submission serves both faults: each rerun of ingest costs
    about 1.5 minutes here). Worker 2 and its executor are killed (SIGKILL, by pid) once the
    executor has finished a task of the rerun and before restricted.events is committed, so its
    cached blocks and shuffle files are lost; the job finishes on worker 1, commits once, reads
    none of the killed driver's files and publishes exactly the local run's rows."""
    log = tmp_path / "ingest.log"
    table = killed_driver.table
    commits_before = commits(table)
    worker_2 = {worker_id for worker_id, port in alive_workers().items() if port == WORKER_2_PORT}
    assert len(worker_2) == 1, f"worker 2 (port {WORKER_2_PORT}) is not registered with the master"
    apps_before = app_folders(2)
    driver = submitter.start("ingest", runs.on_cluster, "--date", DAY, log=log)
    killed: list[int] = []
    commits_at_kill: set[str] = set()
    deadline = time.monotonic() + STUCK_AFTER
    try:
        while driver.poll() is None and not killed:
            assert time.monotonic() < deadline, stuck("a finished task of worker 2's executor", log)
            executor_log = new_executor_log(2, apps_before)
            if executor_log is not None and "Finished task" in executor_log.read_text(errors="replace"):
                worker = int(cluster_sh("worker-pid", "2").stdout)
                killed = [*children(worker), worker]  # the executor JVM is the worker's child
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
                commits_at_kill = commits(table)
            time.sleep(0.1)
        assert killed, "the job ended before worker 2 finished a task: nothing was killed"
        assert driver.wait(timeout=900) == 0, log.read_text()[-5000:]
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        restored = cluster_sh("up")  # restarts worker 2 for the tests after this one
        assert restored.returncode == 0, restored.stdout + restored.stderr
        wait_for_workers(2, gone=worker_2 if killed else set())  # not killed: the same worker is back
    assert len(killed) >= 2, f"worker 2 had no executor process to kill: {killed}"
    assert commits_at_kill == commits_before, "the kill came after the job committed: not mid-job"
    text = log.read_text()
    assert "Lost executor" in text or "Executor lost" in text
    assert_history_is_clean(spark, table, len(killed_driver.commits_before), 1)  # the killed run: none
    live = {Path(uri).name for uri in spark.read.format("delta").load(str(table)).inputFiles()}
    assert live and not {p.name for p in killed_driver.orphans} & live, "the table reads files of the killed write"
    assert_same_tables(spark, runs, INGEST_TABLES)
