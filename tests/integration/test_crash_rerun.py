"""A `footfall run` killed midway (SIGKILL, no chance to clean up) and then rerun leaves every
table exactly as one clean run of the same day does.

Two data folders get the same generated landing files, with the districts as the only zone set.
In `clean` the day runs once. In `crashed` the run is killed as soon as compute has written its
first published table, footfall.zone_hourly (its step line is in the log), and before the other
published tables: the day is partly published, readable by analysts, though the compute recorded
no run. A rerun without a flag is refused (issue #15, finding 4: it would replace a release no
one chose to replace); `--republish` then leaves the tables as one clean run. Only why the
replaced cells were withheld differs (ops.withheld_cells: `republish`, withheld in the release
replaced), as the run ids do.

The clean run and the rerun also show that a successful run logs no ERROR and no stack trace
(issue #14), the rerun writing into tables that already exist: before the writes went through
DataFrameWriterV2, every write into an existing table logged `ERROR HiveAlterHandler` with a trace.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from support import ROOT, footfall_command, footfall_env, read_table, run_footfall, table_location

from footfall.errors import PublishedDayError
from footfall.schemas import ALL_TABLES, RUNS, WITHHELD_CELLS, ZONE_DAILY, ZONE_HOURLY, C

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 8, 22)  # a Saturday (both runs have their own data folder and catalog)
KEY = "ef" * 32
# Columns that name the run that wrote a row: they differ between any two runs by design; and
# why a cell was withheld, which is `republish` for a cell the replaced release withheld.
RUN_COLUMNS = {C.RUN_ID}
# A log4j or Python log line at level ERROR, and the lines a Java or Python trace consists of.
ERROR = re.compile(r"\bERROR\b")
TRACE = re.compile(r"^\s+at \S+\(|^Traceback |^Caused by: |^\s+\.\.\. \d+ more")


def _run_and_kill_after(data: Path, marker: str, *args: str) -> int:
    """Start the command in its own process group and SIGKILL the group (driver JVM included)
    once `marker` appears in its log; return its exit status."""
    # Spark's scratch (with a copy of the jars) in the test's folder: a killed driver leaves it behind
    env = {**footfall_env(KEY), "SPARK_LOCAL_DIRS": str(data / "scratch")}
    with (data / "run.log").open("ab") as log:
        proc = subprocess.Popen(footfall_command(data, *args), cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 3600
    while marker not in (data / "run.log").read_text():
        assert proc.poll() is None, "the run ended before the kill point:\n" + (data / "run.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    clean, crashed = tmp_path_factory.mktemp("clean"), tmp_path_factory.mktemp("crashed")
    log = clean / "run.log"
    run_footfall(clean, log, KEY, "generate", "--date", DAY.isoformat(), "--subscribers", "300", "--seed", "3")
    for unused in ("localities", "storefronts"):  # only districts are computed: not loaded either
        (clean / "landing" / "zones" / f"{unused}.geojson").unlink()
    shutil.copytree(clean / "landing", crashed / "landing")
    run_footfall(clean, log, KEY, "run", "--date", DAY.isoformat(), "--zone-set", "districts")
    status = _run_and_kill_after(crashed, f"footfall-step job=compute step={ZONE_HOURLY.name} ",
                                 "run", "--date", DAY.isoformat(), "--zone-set", "districts")
    return clean, crashed, status


@pytest.fixture(scope="module")
def refused(folders):
    """The crashed day run again without a flag: the exit code and the output."""
    _, crashed, _ = folders
    done = subprocess.run(footfall_command(crashed, "run", "--date", DAY.isoformat(), "--zone-set", "districts"),
                          cwd=ROOT, env=footfall_env(KEY), capture_output=True, text=True, timeout=3600)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def rerun(folders, refused):
    """The crashed day republished; its log apart from the killed run's."""
    clean, crashed, _ = folders
    run_footfall(crashed, crashed / "rerun.log", KEY, "run", "--date", DAY.isoformat(), "--zone-set", "districts",
                 "--republish")
    return clean, crashed


def _rows(spark, data: Path, table):
    df = read_table(spark, data, table)
    differ = RUN_COLUMNS | ({C.REASON} if table is WITHHELD_CELLS else set())
    return df.select(*[c for c in df.columns if c not in differ])


def _compute_runs(spark, data: Path):
    return read_table(spark, data, RUNS).where((F.col(C.JOB) == "compute") & (F.col(C.EVENT_DATE) == F.lit(DAY)))


def _day_rows(spark, data: Path, table) -> int:
    if not (table_location(data, table) / "_delta_log").is_dir():
        return 0
    return read_table(spark, data, table).where(F.col(C.EVENT_DATE) == F.lit(DAY)).count()


def test_the_kill_hit_compute_midway(spark, folders):
    _, crashed, status = folders
    assert status == -signal.SIGKILL
    assert _compute_runs(spark, crashed).count() == 0  # killed: no manifest row
    assert _day_rows(spark, crashed, ZONE_HOURLY) == 24 * 12 * 21  # the first published table was written
    assert _day_rows(spark, crashed, ZONE_DAILY) == 0  # the last one was not


def test_a_partly_published_day_is_not_rerun_without_the_flag(spark, folders, refused):
    _, crashed, _ = folders
    code, output = refused
    assert code == PublishedDayError.exit_code == 73, output[-3000:]
    assert (f"{DAY.isoformat()} is already published for districts (compute run that did not finish); published "
            "days are immutable. Rerun with --republish") in output
    assert _compute_runs(spark, crashed).count() == 0  # refused before any work: no compute ran


def test_the_rerun_leaves_every_table_as_one_clean_run(spark, rerun):
    clean, crashed = rerun
    for table in ALL_TABLES:
        exists = (table_location(clean, table) / "_delta_log").is_dir()
        assert (table_location(crashed, table) / "_delta_log").is_dir() == exists, table.name
        if table is RUNS or not exists:
            continue
        assert_df_equality(_rows(spark, crashed, table), _rows(spark, clean, table), ignore_row_order=True,
                           ignore_nullable=True)
    assert _compute_runs(spark, crashed).where(F.col(C.STATUS) == "ok").count() == 1


def test_successful_runs_log_no_error_and_no_trace(rerun):
    clean, crashed = rerun
    for log in (clean / "run.log", crashed / "rerun.log"):  # generate + run; the rerun
        text = log.read_text()
        assert "footfall-step job=compute step=footfall.zone_daily " in text, text[-3000:]
        problems = [line for line in text.splitlines() if ERROR.search(line) or TRACE.search(line)]
        assert problems == [], f"{log}:\n" + "\n".join(problems[:40])


def test_the_republish_changes_why_only_where_the_crashed_release_withheld(spark, rerun):
    """ops.withheld_cells of the republish and of the clean run hold the same cells; a reason
    differs only for a zone_hourly cell the crashed run had withheld to protect another
    (subtraction or linked), which the republish withholds as `republish`."""
    clean, crashed = rerun
    key = [C.TABLE_NAME, C.ZONE_ID, C.HOUR_START, C.AGE_BAND, C.GENDER]

    def reasons(data: Path) -> dict[tuple, str]:
        rows = read_table(spark, data, WITHHELD_CELLS).where(F.col(C.EVENT_DATE) == F.lit(DAY)).collect()
        return {tuple(r[k] for k in key): r[C.REASON] for r in rows}

    mine, theirs = reasons(crashed), reasons(clean)
    assert mine.keys() == theirs.keys() and len(mine) > 0
    changed = {cell: (theirs[cell], mine[cell]) for cell in mine if mine[cell] != theirs[cell]}
    assert {(cell[0], was, now) for cell, (was, now) in changed.items()} <= {
        (ZONE_HOURLY.name, "subtraction", "republish"), (ZONE_HOURLY.name, "linked", "republish")}
