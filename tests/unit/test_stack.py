"""The real stack: Sedona's spatial join and Delta's table features in one session."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from sedona.spark.sql import st_constructors as stc
from sedona.spark.sql import st_predicates as stp

from footfall.errors import SetupError
from footfall.session import resolve_jars


def test_sedona_broadcast_contains_join_returns_exact_pairs(spark):
    points = spark.createDataFrame(
        [(1, 0.5, 0.5), (2, 1.5, 0.5), (3, 5.0, 5.0), (4, 0.9, 0.9), (5, None, None)],
        "pid int, x double, y double",
    ).withColumn("geom", stc.ST_Point(F.col("x"), F.col("y")))
    zones = spark.createDataFrame(
        [
            ("A", "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))"),
            ("B", "POLYGON((0.8 0, 2 0, 2 1, 0.8 1, 0.8 0))"),  # overlaps A
            ("C", "POLYGON((10 10, 11 10, 11 11, 10 11, 10 10))"),
        ],
        "zone string, wkt string",
    ).withColumn("geom", stc.ST_GeomFromWKT(F.col("wkt")))
    joined = points.alias("p").join(
        F.broadcast(zones.alias("z")), stp.ST_Contains(F.col("z.geom"), F.col("p.geom")), how="inner"
    ).select("p.pid", "z.zone")
    plan = joined._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastIndexJoin" in plan
    expected = spark.createDataFrame([(1, "A"), (2, "B"), (4, "A"), (4, "B")], "pid int, zone string")
    assert_df_equality(joined, expected, ignore_row_order=True, ignore_nullable=True)


def test_delta_round_trip_with_replace_where_and_time_travel(spark, tmp_path):
    path = str(tmp_path / "events")
    schema = "day date, zone string, n long"
    d1, d2 = dt.date(2026, 3, 14), dt.date(2026, 3, 15)
    first = spark.createDataFrame([(d1, "A", 1), (d1, "B", 2), (d2, "A", 3), (d2, None, 4)], schema)
    first.write.format("delta").partitionBy("day").save(path)

    redo = spark.createDataFrame([(d1, "A", 10)], schema)
    redo.write.format("delta").mode("overwrite").option("replaceWhere", "day = DATE'2026-03-14'").save(path)

    current = spark.read.format("delta").load(path)
    expected = spark.createDataFrame([(d1, "A", 10), (d2, "A", 3), (d2, None, 4)], schema)
    assert_df_equality(current, expected, ignore_row_order=True, ignore_column_order=True, ignore_nullable=True)

    version0 = spark.read.format("delta").option("versionAsOf", 0).load(path)
    assert_df_equality(version0, first, ignore_row_order=True, ignore_column_order=True, ignore_nullable=True)

    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
    assert detail["format"] == "delta"
    assert detail["partitionColumns"] == ["day"]


def test_missing_jars_raise_the_one_line_hint(tmp_path):
    with pytest.raises(SetupError) as err:
        resolve_jars(str(tmp_path))
    message = str(err.value)
    assert "run `make setup`" in message and "\n" not in message
    assert "sedona-spark-shaded" in message and "delta-spark" in message


def test_cli_reports_missing_jars_without_a_java_trace(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "footfall.cli", "doctor", "--set", f"spark.jars_dir={tmp_path}"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == SetupError.exit_code
    assert result.stderr.strip().splitlines()[-1].startswith("footfall doctor: Sedona/Delta jars missing")
    assert "Exception" not in result.stderr and "at org." not in result.stderr
