import datetime as dt

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F

from footfall.schemas import PUBLISHED_TABLES, ZONE_HOURLY_TOTAL, C
from footfall.tables import ensure_tables, replace_partition


def _row(day: dt.date, visitors: int | None, status: str):
    hour = dt.datetime(2026, 3, 14, 9, 0)
    metrics = (visitors, 1, 0, 12.0, 12.0, 0, 1, 0, 0) if visitors is not None else (None,) * 9
    return ("districts", "01", day, hour, 10, 60, *metrics, status)


def test_published_tables_have_comments_on_every_column(spark):
    ensure_tables(spark, PUBLISHED_TABLES)
    for table in PUBLISHED_TABLES:
        described = spark.sql(f"DESCRIBE TABLE {table.name}").collect()
        columns = [r for r in described if r["col_name"] and not r["col_name"].startswith("#")]
        names = [r["col_name"] for r in columns][: len(table.columns)]
        assert names == table.names
        assert all(r["comment"] for r in columns[: len(table.columns)]), table.name


def test_check_constraint_rejects_a_visitor_count_below_the_floor(spark):
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))  # idempotent: the constraint is added once
    day = dt.date(2026, 3, 14)
    ok = spark.createDataFrame([_row(day, 16, "published"), _row(day, None, "suppressed_primary")],
                               ZONE_HOURLY_TOTAL.struct)
    replace_partition(ok, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: day})
    bad = spark.createDataFrame([_row(day, 15, "published")], ZONE_HOURLY_TOTAL.struct)
    with pytest.raises(Exception, match=r"(?i)CHECK constraint.*visitors_at_least_floor"):
        replace_partition(bad, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: day})
    # the failed write changed nothing
    assert spark.table(ZONE_HOURLY_TOTAL.name).where(f"{C.EVENT_DATE} = DATE'2026-03-14'").count() == 2


def test_replace_partition_touches_only_its_day(spark):
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))
    d1, d2 = dt.date(2026, 3, 20), dt.date(2026, 3, 21)
    both = spark.createDataFrame([_row(d1, 20, "published"), _row(d2, 30, "published")], ZONE_HOURLY_TOTAL.struct)
    replace_partition(both.where(f"{C.EVENT_DATE} = DATE'2026-03-20'"), ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d1})
    replace_partition(both.where(f"{C.EVENT_DATE} = DATE'2026-03-21'"), ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d2})
    again = spark.createDataFrame([_row(d1, 25, "published")], ZONE_HOURLY_TOTAL.struct)
    replace_partition(again, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d1})
    got = {
        (r[C.EVENT_DATE], r[C.VISITORS])
        # The catalog is shared with other tests: read only this test's two days.
        for r in spark.table(ZONE_HOURLY_TOTAL.name).where(F.col(C.EVENT_DATE).isin(d1, d2)).collect()
    }
    assert got == {(d1, 25), (d2, 30)}
    with pytest.raises(AnalysisException):
        spark.sql("SELECT no_such_column FROM footfall.zone_hourly_total").collect()
