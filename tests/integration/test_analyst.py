"""The analyst entry points end to end: `footfall sql -e`, then the Thrift server read with a real
JDBC client (beeline). Each runs in its own process on the analyst catalog of the test's data
folder; the test process holds only the footfall catalog's lock."""

import csv
import io
import os
import re
import socket
import subprocess
import sys

import pytest
from support import CONF_DIR, ROOT, spark_overrides

from footfall.analyst.catalog import analyst_paths, lookup_table_paths, save_table_paths, spark_home
from footfall.schemas import EVENTS, PUBLISHED_TABLES

# slow tier (make test-slow): starts the Thrift server and beeline
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _footfall(cfg, *args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    settings = {
        "paths.data_dir": cfg.paths.data_dir,
        "spark.jars_dir": cfg.spark.jars_dir,
        "spark.master": "local[1]",
    }
    command, *rest = args
    overrides = [x for key, value in settings.items() for x in ("--set", f"{key}={value}")]
    overrides += spark_overrides(**{"spark.driver.memory": "1g"})
    return subprocess.run(
        [sys.executable, "-m", "footfall.cli", command, "--conf-dir", str(CONF_DIR), *overrides, *rest],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False,
    )


def test_sql_and_thrift_expose_only_published_tables(handmade_day, test_config):
    spark = handmade_day
    paths = lookup_table_paths(spark)
    save_table_paths(test_config, paths)  # what `locate` would ask this catalog
    events = str(spark.sql(f"DESCRIBE DETAIL {EVENTS.name}").first()["location"])

    # 1. footfall sql -e: creates and fills the analyst catalog in its own process
    result = _footfall(test_config, "sql", "--format", "csv", "-e", (
        "SHOW SCHEMAS; "
        "SELECT zone_id, visitors, status FROM footfall.zone_hourly_total WHERE zone_set = 'districts' "
        "ORDER BY zone_id, hour_start; "
        "DESCRIBE TABLE EXTENDED footfall.zone_hourly; "
        f"SELECT * FROM delta.`{events}`"
    ))
    out = result.stdout
    assert out.startswith(
        "namespace\ndefault\nfootfall\nref\n"
        "zone_id,visitors,status\n01,80,published\n01,60,published\n02,55,published\n02,,suppressed\n"
    ), result.stderr[-3000:]
    described = list(csv.reader(io.StringIO(out.split("col_name,data_type,comment\n", 1)[1])))
    zone_hourly = next(t for t in PUBLISHED_TABLES if t.name == "footfall.zone_hourly")
    comments = {r[0]: r[2] for r in described[: len(zone_hourly.columns)]}
    assert list(comments) == zone_hourly.names and all(comments.values())
    assert result.returncode == 65, result.stderr[-3000:]  # the path-based read of restricted data
    assert "statement 4 failed" in result.stderr
    refreshed = analyst_paths(test_config).refreshed.stat().st_mtime

    # 2. the Thrift server: a new process that finds the tables of step 1 by name (no refresh)
    port = _free_port()
    started = _footfall(test_config, "thrift", "start", "--port", str(port))
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        assert f"jdbc:hive2://127.0.0.1:{port}" in started.stdout
        assert analyst_paths(test_config).refreshed.stat().st_mtime == refreshed
        status = _footfall(test_config, "thrift", "status")
        assert status.returncode == 0 and "running" in status.stdout
        beeline = subprocess.run(
            [str(spark_home() / "bin" / "beeline"), "-u", f"jdbc:hive2://127.0.0.1:{port}", "-n", "analyst",
             "--outputformat=csv2", "--silent=true", "--force=true", "-e",
             "SHOW SCHEMAS; "
             "SELECT zone_id, SUM(visitors) AS visitors FROM footfall.zone_daily_named "
             "WHERE zone_set = 'districts' GROUP BY zone_id ORDER BY zone_id; "
             "SELECT ST_AsText(ST_Point(1, 2)) AS sedona; "
             "SELECT * FROM restricted.events;"],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "SPARK_HOME": str(spark_home())},
        )
        lines = [re.sub(r"^\d+: jdbc:hive2://\S+> ?", "", line) for line in beeline.stdout.splitlines()]
        assert [line for line in lines if line] == [
            "namespace", "default", "footfall", "ref", "zone_id,visitors", "01,70", "02,45", "sedona", "POINT (1 2)",
        ], (
            beeline.stdout + beeline.stderr[-3000:]
        )
        assert "TABLE_OR_VIEW_NOT_FOUND" in beeline.stderr or "SCHEMA_NOT_FOUND" in beeline.stderr
    finally:
        stopped = _footfall(test_config, "thrift", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr[-3000:]
    assert _footfall(test_config, "thrift", "status").returncode == 3
