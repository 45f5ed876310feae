"""Retention: old restricted rows are deleted and their data files physically removed."""

import datetime as dt
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from footfall.pipeline.maintain import cutoff_date, run
from footfall.schemas import VISITS, C
from footfall.tables import ensure_tables, replace_partition

# slow tier (make test-slow): VACUUM lists every file of the shared restricted tables
pytestmark = pytest.mark.slow

ZONE_SET = "it_maintain"


def _visit(day: dt.date, who: str):
    start = dt.datetime.combine(day, dt.time(9, 0))
    end = start + dt.timedelta(minutes=12)
    return (ZONE_SET, "01", day, who, "25-34", "F", "01", start, end, 720, 7, False, start, end)  # first/last seen


def _files_of_day(location: str, day: dt.date) -> list[Path]:
    return list(Path(location).glob(f"{C.EVENT_DATE}={day.isoformat()}/**/*.parquet"))


def test_cutoff_keeps_exactly_the_retention_window():
    assert cutoff_date(dt.date(2026, 4, 30), 30) == dt.date(2026, 4, 1)
    assert cutoff_date(dt.date(2026, 4, 30), 1) == dt.date(2026, 4, 30)


def test_maintain_erases_days_beyond_retention_physically(spark, test_config, claim):
    old, kept, as_of = dt.date(2025, 1, 10), dt.date(2025, 2, 5), dt.date(2025, 3, 1)
    # as of 2025-03-01 with 30 days retention the cutoff is 2025-01-31: maintain erases every
    # restricted row before it, whoever wrote it, so every earlier day is this test's
    claim(days=[old, kept, as_of], days_before=dt.date(2025, 1, 31), zone_sets=[ZONE_SET])
    ensure_tables(spark, (VISITS,))
    for day, who in ((old, "p-old"), (kept, "p-kept")):
        rows = spark.createDataFrame([_visit(day, who)], VISITS.struct)
        replace_partition(rows, VISITS, {C.EVENT_DATE: day, C.ZONE_SET: ZONE_SET})
    # rewrite the old day once more, so an older version's files exist too
    replace_partition(spark.createDataFrame([_visit(old, "p-old2")], VISITS.struct), VISITS,
                      {C.EVENT_DATE: old, C.ZONE_SET: ZONE_SET})
    location = spark.sql(f"DESCRIBE DETAIL {VISITS.name}").first()["location"].removeprefix("file:")
    assert len(_files_of_day(location, old)) == 2  # current + superseded version

    deleted = run(spark, test_config, as_of)  # old goes, kept stays

    assert deleted[VISITS.name] == 1
    assert _files_of_day(location, old) == []
    assert len(_files_of_day(location, kept)) == 1
    remaining = spark.table(VISITS.name).where(F.col(C.EVENT_DATE).isin(old, kept))
    assert_df_equality(remaining, spark.createDataFrame([_visit(kept, "p-kept")], VISITS.struct),
                       ignore_row_order=True, ignore_nullable=True)
    manifest = spark.table("ops.runs").where((F.col(C.JOB) == "maintain") & (F.col(C.EVENT_DATE) == F.lit(as_of))) \
        .orderBy(F.desc(C.STARTED_AT)).first()
    assert manifest["status"] == "ok" and manifest["counts"][f"deleted.{VISITS.name}"] == 1
