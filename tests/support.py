"""Helpers shared by the tests (importable as `support`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession

from footfall.config import Config, load_config
from footfall.schemas import Table

ROOT = Path(__file__).resolve().parents[1]
# The Berlin reference data shipped with the repository.
REFERENCE_DIR = ROOT / "data" / "berlin"
CONF_DIR = ROOT / "conf"
# Spark settings of every test run, in process and as a subprocess (docs/operations.md, "CI").
# The test days are small, so most of a compute's time is fixed cost: adaptive execution
# re-plans the query after each of the stay model's ~20 shuffles, and every shuffle partition
# is a task of its own. Without both, a tiny compute's stays step takes a quarter of its time
# and no result changes (the jobs' defaults stay as conf/ sets them). The session's hand-made
# days need one shuffle partition; the subprocess runs on generated days get one per core, for
# the secondary suppression's LPs (one zone per task).
TEST_SHUFFLE_PARTITIONS = 1
SUBPROCESS_SHUFFLE_PARTITIONS = 2
# Generated code off (whole-stage and per-expression, Spark's interpreted evaluation instead): a
# test day's queries each compile their Java code for a few hundred rows, which costs more time
# than interpreting the rows. The fast tier took 771 s with it off against 939 s with it on,
# one run each in a row on 2026-12-06 (docs/operations.md, "CI"). The cluster tier submits with
# the jobs' own setting (CODEGEN_ON), so its comparison with the local-mode run beside it checks
# that both evaluations publish the same rows.
TEST_SPARK_CONF = {"spark.ui.enabled": "false", "spark.sql.adaptive.enabled": "false",
                   "spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
# Spark's defaults: what the jobs run with outside the tests.
CODEGEN_ON = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}
# Delta's state reconstruction and VACUUM's file listing: one task each instead of local.yaml's 2
# and 4 (cluster.yaml's 50 and its default): the test tables hold a handful of files each, and a
# republish vacuums four tables (docs/operations.md, "Fixed cost per job").
TEST_FILE_TASKS = {"spark.delta_snapshot_partitions": 1, "spark.file_listing_parallelism": 1}


def make_config(data_dir: Path, **overrides: object) -> Config:
    """The local config with everything written below `data_dir`."""
    base: dict[str, object] = {
        "paths.data_dir": str(data_dir),
        "paths.reference_dir": str(REFERENCE_DIR),
        "spark.jars_dir": str(ROOT / ".jars"),
        "spark.master": "local[2]",
        "spark.shuffle_partitions": TEST_SHUFFLE_PARTITIONS,
        **TEST_FILE_TASKS,
        "spark.conf": {**TEST_SPARK_CONF, "spark.driver.memory": "4g"},
        "privacy.key_file": None,
    }
    base.update(overrides)
    return load_config("local", CONF_DIR, base)


# ------------------------------------------------- footfall as a subprocess, tables read by path


def footfall_command(data_dir: Path, *args: str) -> list[str]:
    """`footfall <args>` with everything written below `data_dir` (its metastore included)."""
    return [sys.executable, "-m", "footfall.cli", *args, "--set", f"paths.data_dir={data_dir}",
            *spark_overrides()]


def spark_overrides(partitions: int = SUBPROCESS_SHUFFLE_PARTITIONS, **conf: str) -> list[str]:
    """`--set` arguments with the tests' Spark settings: `partitions` shuffle partitions,
    TEST_FILE_TASKS, and TEST_SPARK_CONF plus `conf` (extra spark.* settings)."""
    return ["--set", f"spark.shuffle_partitions={partitions}",
            *[arg for key, value in TEST_FILE_TASKS.items() for arg in ("--set", f"{key}={value}")],
            "--set", f"spark.conf={json.dumps({**TEST_SPARK_CONF, **conf})}"]


def footfall_env(key: str) -> dict[str, str]:
    return {**os.environ, "FOOTFALL_PSEUDONYM_KEY": key}


def run_footfall(data_dir: Path, log: Path, key: str, *args: str) -> None:
    """Run `footfall <args>` to the end, its output appended to `log`; fail the test on a non-zero exit."""
    with log.open("ab") as out:
        done = subprocess.run(footfall_command(data_dir, *args), cwd=ROOT, env=footfall_env(key), stdout=out,
                              stderr=subprocess.STDOUT, timeout=3600)
    assert done.returncode == 0, log.read_text()[-3000:]


# The slow tier's generated day: generated and run once per session in a data folder of its own
# (fixture `generated_day`, tests/integration/conftest.py), read by test_disclosure_attack.py and
# test_accuracy_floors.py.
GENERATED_DATE = dt.date(2026, 5, 16)  # a Saturday in CEST (UTC+2): local midnight is 22:00 UTC the day before
GENERATED_ZONE_SETS = ("districts",)  # the zone sets `footfall run` computes on it


@dataclass(frozen=True)
class GeneratedDay:
    """A day `footfall generate` wrote (landing/ and truth/) and `footfall run` computed, both as
    subprocesses with everything below `data`: their own metastore and warehouse, nothing in the
    session's shared catalog (so nothing to claim, tests/claims.py)."""

    data: Path  # paths.data_dir of both commands
    log: Path  # the output of both commands
    key: str  # the master key (hex) both ran with, as FOOTFALL_PSEUDONYM_KEY
    day: dt.date
    subscribers: int
    zone_sets: tuple[str, ...]  # the zone sets `footfall run` computed


def table_location(data_dir: Path, table: Table) -> Path:
    """Where the local metastore of a run in `data_dir` keeps `table`."""
    schema, name = table.name.split(".")
    return data_dir / "warehouse" / f"{schema}.db" / name


def read_table(spark: SparkSession, data_dir: Path, table: Table) -> DataFrame:
    """A table of another process's run, read by path (not through this session's metastore)."""
    return spark.read.format("delta").load(str(table_location(data_dir, table)))


def raises_check_violation(constraint: str):  # type: ignore[no-untyped-def]
    """pytest.raises for a partition replace (replaceWhere) that a Delta CHECK constraint refuses:
    Delta reports the DELTA_REPLACE_WHERE_MISMATCH analysis error with the violated constraint,
    DELTA_VIOLATE_CONSTRAINT_WITH_VALUES, and its name."""
    return pytest.raises(AnalysisException, match=rf"^\[DELTA_REPLACE_WHERE_MISMATCH\] (.|\n)*"
                         rf"\[DELTA_VIOLATE_CONSTRAINT_WITH_VALUES\] CHECK constraint {constraint} ")
