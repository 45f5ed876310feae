"""DuckDB reads the published Delta tables like Spark does, and nothing else."""

import subprocess
import sys

import duckdb
import pytest
from support import CONF_DIR, ROOT

from footfall.analyst.catalog import local_path, lookup_table_paths, save_table_paths
from footfall.analyst.duck import connect, run_statement
from footfall.analyst.views import VIEWS, spark_view_sql
from footfall.schemas import EVENTS

AGGREGATE = """
SELECT zone_set, zone_id, COUNT(*) AS cells, SUM(visitors) AS visitors, SUM(passersby) AS passersby,
       MAX(dwell_median_min) AS longest_median, CAST(MIN(hour_start) AS STRING) AS first_hour
  FROM footfall.zone_hourly_total
 WHERE event_date = DATE '2026-03-14'
 GROUP BY zone_set, zone_id
 ORDER BY zone_set, zone_id
"""


@pytest.fixture(scope="module")
def tables(handmade_day):
    """Spark's catalog with the hand-made rows and the convenience views; the Delta locations."""
    spark = handmade_day
    paths = lookup_table_paths(spark)
    for view in VIEWS:
        spark.sql(spark_view_sql(view))
    return spark, paths


def _spark_rows(spark, query):
    return [tuple(r) for r in spark.sql(query).collect()]


def test_duckdb_and_spark_agree_on_an_aggregate(tables):
    spark, paths = tables
    con = connect(paths)
    duck = con.execute(AGGREGATE.replace("AS STRING", "AS VARCHAR")).fetchall()
    assert duck == _spark_rows(spark, AGGREGATE)
    assert duck[0] == ("districts", "01", 2, 140, 40, 14.0, "2026-03-14 13:00:00")


@pytest.mark.parametrize("view", [v.name for v in VIEWS])
def test_convenience_views_are_the_same_in_both_engines(tables, view):
    spark, paths = tables
    con = connect(paths)
    columns = [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description]
    # timestamps compared as text: Spark hands Python naive local times, DuckDB aware instants
    select = ", ".join(f"CAST({c} AS STRING)" if c == "hour_start" else c for c in columns)
    query = f"SELECT {select} FROM {view} ORDER BY {', '.join(f'{i + 1} NULLS FIRST' for i in range(len(columns)))}"
    spark_rows = _spark_rows(spark, query)
    assert spark_rows, view
    assert con.execute(query.replace("AS STRING", "AS VARCHAR")).fetchall() == spark_rows
    assert columns == spark.table(view).columns


def test_the_best_level_view_answers_each_cohort_from_the_finest_published_cell(tables):
    """footfall.zone_daily_best on the hand-made day (tests/unit/test_analyst_data.py): a published
    cohort cell answers itself; Mitte's withheld (25-34, M) its age band's 65; S Alexanderplatz's
    withheld (65+, M) its gender's 20; F-K's withheld (65+, F), whose age band and gender are
    withheld, the district's 90; the supermarket's withheld (18-24, F) nothing."""
    _, paths = tables
    rows = connect(paths).execute(
        "SELECT zone_id, age_band, gender, answer_level, visitors FROM footfall.zone_daily_best "
        "WHERE event_date = DATE '2026-03-14' ORDER BY zone_set, zone_id, age_band, gender").fetchall()
    assert rows == [
        ("01", "25-34", "F", "day x cohort", 40), ("01", "25-34", "M", "day x age band", 65),
        ("01", "35-44", "F", "day x cohort", 30),
        ("02", "25-34", "F", "day x cohort", 45), ("02", "65+", "F", "day", 90),
        ("s1", "18-24", "F", "none", None), ("s1", "35-44", "F", "day x cohort", 21),
        ("s1", "65+", "M", "day x cohort", 24),
        ("s2", "25-34", "F", "day x cohort", 70), ("s2", "65+", "M", "day x gender", 20),
    ]


def test_the_week_best_level_view_answers_each_cohort_from_the_finest_published_week_cell(tables):
    """footfall.zone_weekly_best on the hand-made week (tests/unit/test_analyst_data.py, WEEKLY):
    the supermarket's (18-24, F) itself; its withheld (35-44, F) its women's 60; its withheld
    (65+, M), whose age band is withheld, its week total 130; S Alexanderplatz's withheld
    (25-34, M) its age band's 40; its (65+, F), with age band, gender and total withheld, nothing."""
    _, paths = tables
    rows = connect(paths).execute(
        "SELECT zone_id, age_band, gender, answer_level, visitors FROM footfall.zone_weekly_best "
        "WHERE week_start = DATE '2026-03-09' ORDER BY zone_id, age_band, gender").fetchall()
    assert rows == [
        ("s1", "18-24", "F", "week x cohort", 26), ("s1", "35-44", "F", "week x gender", 60),
        ("s1", "65+", "M", "week", 130),
        ("s2", "25-34", "M", "week x age band", 40), ("s2", "65+", "F", "none", None),
    ]


def test_zones_geometry_is_usable_with_the_spatial_extension(tables):
    _, paths = tables
    con = connect(paths)
    rows = con.execute(
        "SELECT zone_id, ST_GeometryType(geom), round(ST_X(ST_Centroid(geom)), 2) FROM ref.zones "
        "WHERE zone_set = 'districts' ORDER BY zone_id"
    ).fetchall()
    assert rows == [("01", "POLYGON", 13.38), ("02", "POLYGON", 13.42), ("03", "POLYGON", 13.4)]


def test_duckdb_cannot_read_restricted_files(tables, spark):
    _, paths = tables
    con = connect(paths)
    events = local_path(str(spark.sql(f"DESCRIBE DETAIL {EVENTS.name}").first()["location"]))
    for query in (f"SELECT * FROM delta_scan('{events}')", f"SELECT * FROM read_parquet('{events}/**/*.parquet')"):
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            con.execute(query).fetchall()
    with pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET enable_external_access = true")
    # other tests share the catalog with other days: look at the hand-made day only
    day_rows = "SELECT count(*) AS n FROM footfall.zone_daily WHERE event_date = DATE '2026-03-14'"
    rows = run_statement(con, day_rows, "csv")
    assert rows == "n\n10\n"  # DAILY of tests/unit/test_analyst_data.py


def test_footfall_duckdb_command_runs_without_a_jvm(tables, test_config):
    _, paths = tables
    save_table_paths(test_config, paths)
    result = subprocess.run(
        [sys.executable, "-m", "footfall.cli", "duckdb", "--conf-dir", str(CONF_DIR),
         "--set", f"paths.data_dir={test_config.paths.data_dir}", "--format", "csv", "-e",
         "SELECT zone_name, visitors FROM footfall.zone_daily_named WHERE gender = 'F' AND age_band = '25-34' "
         "AND event_date = DATE '2026-03-14' "
         "ORDER BY zone_name; SELECT * FROM restricted.events"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120,
    )
    assert result.stdout == "zone_name,visitors\nFriedrichshain-Kreuzberg,45\nMitte,40\nS Alexanderplatz,70\n"
    assert result.returncode == 65
    assert "statement 2 failed" in result.stderr and "restricted" in result.stderr
    assert "java" not in result.stderr.lower()
