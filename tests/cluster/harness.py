"""Helpers for tests/cluster: the cluster script, spark-submit with the package, the master's state.

Every job is submitted from a temporary working directory, with PYTHONPATH cleared, so the
driver and the executors can only import footfall from the package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support import CODEGEN_ON, spark_overrides

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
CLUSTER_SH = ROOT / "conf" / "cluster.sh"
MASTER_URL = "spark://127.0.0.1:7177"
MASTER_JSON = "http://127.0.0.1:8180/json/"
# The Berlin reference data shipped with the repository.
REFERENCE_DIR = ROOT / "data" / "berlin"
# A fixed test key (hex, 32 bytes): the cluster and the local run must pseudonymise alike.
TEST_KEY = "5a" * 32
# Small executors: two workers with 1 core / 1 GB each, one executor per worker. The first job
# waits (up to Spark's 30 s) until both executors have registered: by default a standalone
# application starts its jobs on whatever has registered, and a doctor run whose tasks all
# went to the first executor failed CI once (2026-12-06).
SUBMIT_OPTS = ("--driver-memory 1g --executor-memory 1g --conf spark.executor.cores=1 --total-executor-cores 2"
               " --conf spark.scheduler.minRegisteredResourcesRatio=1.0")


def master_state() -> dict:
    with urllib.request.urlopen(MASTER_JSON, timeout=10) as answer:
        return json.load(answer)


def alive_workers() -> dict[str, int]:
    """Worker id -> port of the workers the master counts as ALIVE."""
    return {w["id"]: int(w["port"]) for w in master_state()["workers"] if w["state"] == "ALIVE"}


def wait_for_workers(count: int, gone: set[str], timeout: float = 240) -> dict[str, int]:
    """Wait until `count` workers are ALIVE and none of them is one of `gone` (a killed worker the
    master has not yet timed out: a restarted worker on the same port registers only after that)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = alive_workers()
        if len(workers) >= count and not gone & set(workers):
            return workers
        if time.monotonic() > deadline:
            raise AssertionError(f"workers alive after {timeout} s: {workers}, waiting for {count} without {gone}")
        time.sleep(2)


def wait_until_idle(timeout: float = 120) -> None:
    """Wait until the master runs no application. A driver killed by a test is dropped only once
    the master notices it is gone; until then its executors hold the workers' cores, and the next
    application would start with fewer executors than the test expects."""
    deadline = time.monotonic() + timeout
    while (apps := [app["id"] for app in master_state()["activeapps"]]):
        if time.monotonic() > deadline:
            raise AssertionError(f"applications still running after {timeout} s: {apps}")
        time.sleep(1)


def cluster_sh(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLUSTER_SH), *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, check=False)


@dataclass
class Submitter:
    """spark-submit via the package's submit.sh against the test cluster."""

    workdir: Path
    event_log_dir: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_HOME", "VIRTUAL_ENV")}
        env.update(SPARK_MASTER=MASTER_URL, FOOTFALL_PSEUDONYM_KEY=TEST_KEY, SUBMIT_OPTS=SUBMIT_OPTS)
        # The driver's scratch (a copy of the package's archive and its unpacked env, ~700 MB per
        # submission) goes into the test's folder, not /tmp: a driver the tests SIGKILL never
        # removes it, and a few CI runs' leftovers filled the disk.
        scratch = self.workdir / "scratch"
        scratch.mkdir(exist_ok=True)
        env.update(SPARK_LOCAL_DIRS=str(scratch), SPARK_SUBMIT_OPTS=f"-Djava.io.tmpdir={scratch}")
        return env

    def command(self, job: str, data_dir: Path, *args: str) -> list[str]:
        return [
            str(DIST / "submit.sh"), job,
            "--set", f"paths.data_dir={data_dir}",
            "--set", f"paths.reference_dir={REFERENCE_DIR}",
            "--set", f"spark.event_log_dir={self.event_log_dir}",
            # the tests' Spark settings (tests/support.py): two shuffle partitions, one per
            # executor; one task per Delta snapshot and file listing, where cluster.yaml's 50 per
            # table read would be most of each job's time on the test day's tiny tables; but the
            # jobs' own generated code, which the local-mode runs compared with these go without
            *spark_overrides(**CODEGEN_ON),
            *args,
        ]

    def run(self, job: str, data_dir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
        """Submit and wait. In client mode spark-submit merges the Python driver's stderr (the
        job's log, with its footfall-step lines) into its stdout; stderr is the JVM's log."""
        done = subprocess.run(self.command(job, data_dir, *args), cwd=self.workdir, env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)
        name = Path(job).stem
        (self.workdir / f"{name}.stdout.log").write_text(done.stdout)
        (self.workdir / f"{name}.stderr.log").write_text(done.stderr)
        return done

    def start(self, job: str, data_dir: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Submit in the background, in a new process group (so a test can kill exactly this driver)."""
        with log.open("wb") as out:
            return subprocess.Popen(self.command(job, data_dir, *args), cwd=self.workdir, env=self.env(),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def check(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done.stdout

CLUSTER_DIR = ROOT / ".data" / "cluster"


def children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc, by pid, never by process name)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


# A submitted ingest of the test day takes about 1.5 minutes; one still without the awaited
# sign after this long is stuck (no executors, a full disk), and waiting on would hold CI.
STUCK_AFTER = 600


def stuck(what: str, log: Path) -> str:
    """The failure message for a submission that did not get to `what` within STUCK_AFTER s: the
    master's applications and workers, the free disk, the end of the driver's log."""
    try:
        state = master_state()
        master = f"active applications {[a['id'] for a in state['activeapps']]}, workers " + ", ".join(
            f"{w['id']} {w['state']} {w['coresused']}/{w['cores']} cores" for w in state["workers"])
    except (OSError, ValueError, KeyError) as exc:  # a diagnostic: never the error that hides the cause
        master = f"master state unavailable: {exc!r}"
    free = shutil.disk_usage(log.parent).free / 2**30
    tail = log.read_text(errors="replace")[-4000:] if log.is_file() else "(no log)"
    return f"{what} not seen within {STUCK_AFTER} s; {master}; {free:.1f} GiB free on disk\n{tail}"
