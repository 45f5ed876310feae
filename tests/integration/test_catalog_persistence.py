"""The jobs' catalog survives the session: tables registered in one Spark process are found by name,
with their column comments and rows, by a new process on the same data folder.

Both sessions run in subprocesses with their own temp data folder: the test suite's shared
SparkSession holds its own embedded Derby metastore, and a JVM has one SparkSession at a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from footfall.schemas import EVENTS, RUNS, ZONE_HOURLY_TOTAL, ZONES

# slow tier (make test-slow): two more Spark sessions in subprocesses
pytestmark = pytest.mark.slow

# Session 1: create one table in each schema (footfall, ref, ops, restricted) with
# footfall.tables.ensure_tables, write the hand-made hourly totals, stop Spark and leave the
# process (which releases the Derby lock).
CREATE = """
import json, os, sys
from support import make_config
from unit.test_analyst_data import DAY, TOTAL, _hour, _status
from footfall.schemas import EVENTS, RUNS, ZONE_HOURLY_TOTAL, ZONES, C
from footfall.session import build_session
from footfall.tables import ensure_tables, replace_partition
spark = build_session(make_config(sys.argv[1], **{"spark.master": "local[1]"}))
ensure_tables(spark, (ZONES, ZONE_HOURLY_TOTAL, RUNS, EVENTS))
rows = [(zs, z, DAY, *_hour(h), m[0], None, *m[1:], _status(m[0])) for zs, z, h, m in TOTAL]  # no visitors_est
replace_partition(spark.createDataFrame(rows, ZONE_HOURLY_TOTAL.struct), ZONE_HOURLY_TOTAL, {C.EVENT_DATE: DAY})
version = spark.sql("DESCRIBE HISTORY footfall.zone_hourly_total").agg({"version": "max"}).first()[0]
spark.stop()
print(json.dumps({"pid": os.getpid(), "zone_hourly_total_version": version}))
"""

# Session 2: a new process on the same data folder. It creates nothing: the tables, their
# comments and rows must come from the metastore and warehouse persisted by session 1.
READ = """
import json, os, sys
from support import make_config
from footfall.schemas import EVENTS, RUNS, ZONE_HOURLY_TOTAL, ZONES
from footfall.session import build_session
spark = build_session(make_config(sys.argv[1], **{"spark.master": "local[1]"}))
out = {"pid": os.getpid(), "schemas": sorted(r[0] for r in spark.sql("SHOW SCHEMAS").collect()), "tables": {}}
for table in (ZONES, ZONE_HOURLY_TOTAL, RUNS, EVENTS):
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {table.name}").collect()
    info = {r["col_name"]: r["data_type"] for r in rows[len(table.columns):]}
    out["tables"][table.name] = {
        "exists": spark.catalog.tableExists(table.name),
        "comments": {r["col_name"]: r["comment"] for r in rows[: len(table.columns)]},
        "table_comment": info.get("Comment"),
        "location": info.get("Location"),
    }
total = spark.sql(
    "SELECT COUNT(*) AS n, SUM(visitors) AS visitors, COUNT(CASE WHEN status <> 'published' THEN 1 END) AS suppressed "
    "FROM footfall.zone_hourly_total WHERE event_date = DATE'2026-03-14'").first()
out["zone_hourly_total"] = total.asDict()
out["zone_hourly_total_version"] = spark.sql(
    "DESCRIBE HISTORY footfall.zone_hourly_total").agg({"version": "max"}).first()[0]
spark.stop()
print(json.dumps(out))
"""


def _python(snippet: str, data_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", snippet, str(data_dir)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=1500, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_tables_and_column_comments_persist_across_sessions(tmp_path: Path):
    data_dir = tmp_path / "data"
    created = _python(CREATE, data_dir)
    metastore = data_dir / "metastore_db"
    assert (metastore / "service.properties").is_file()  # the embedded Derby metastore, under the data folder

    found = _python(READ, data_dir)
    assert found["pid"] != created["pid"]
    assert {"footfall", "ops", "ref", "restricted"} <= set(found["schemas"])
    warehouse = (data_dir / "warehouse").resolve()
    for table in (ZONES, ZONE_HOURLY_TOTAL, RUNS, EVENTS):
        seen = found["tables"][table.name]
        assert seen["exists"], table.name
        assert seen["comments"] == {c.name: c.comment for c in table.columns}, table.name
        assert seen["table_comment"] == table.comment, table.name
        assert seen["location"].removeprefix("file:").startswith(str(warehouse)), seen["location"]
    # The rows written by session 1 (tests/unit/test_analyst_data.py: TOTAL), read by name.
    assert found["zone_hourly_total"] == {"n": 7, "visitors": 80 + 60 + 55 + 49 + 120 + 30, "suppressed": 1}
    # Session 2 only read: the table is at the version session 1 left.
    assert found["zone_hourly_total_version"] == created["zone_hourly_total_version"]
