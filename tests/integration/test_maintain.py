"""Retention: old restricted rows are deleted and their data files physically removed."""

import datetime as dt
from pathlib import Path

from footfall.pipeline.maintain import cutoff_date, run
from footfall.schemas import VISITS, C
from footfall.tables import ensure_tables, replace_partition


def _visit(day: dt.date, who: str):
    start = dt.datetime.combine(day, dt.time(9, 0))
    return ("districts", "01", day, who, "25-34", "F", start, start + dt.timedelta(minutes=12), 720, 7, False)


def _files_of_day(location: str, day: dt.date) -> list[Path]:
    return list(Path(location).glob(f"{C.EVENT_DATE}={day.isoformat()}/**/*.parquet"))


def test_cutoff_keeps_exactly_the_retention_window():
    assert cutoff_date(dt.date(2026, 4, 30), 30) == dt.date(2026, 4, 1)
    assert cutoff_date(dt.date(2026, 4, 30), 1) == dt.date(2026, 4, 30)


def test_maintain_erases_days_beyond_retention_physically(spark, test_config):
    ensure_tables(spark, (VISITS,))
    old, kept = dt.date(2025, 1, 10), dt.date(2025, 2, 5)
    for day, who in ((old, "p-old"), (kept, "p-kept")):
        rows = spark.createDataFrame([_visit(day, who)], VISITS.struct)
        replace_partition(rows, VISITS, {C.EVENT_DATE: day, C.ZONE_SET: "districts"})
    # rewrite the old day once more, so an older version's files exist too
    replace_partition(spark.createDataFrame([_visit(old, "p-old2")], VISITS.struct), VISITS,
                      {C.EVENT_DATE: old, C.ZONE_SET: "districts"})
    location = spark.sql(f"DESCRIBE DETAIL {VISITS.name}").first()["location"].removeprefix("file:")
    assert len(_files_of_day(location, old)) == 2  # current + superseded version

    # as of 2025-03-01 with 30 days retention the cutoff is 2025-01-31: old goes, kept stays
    deleted = run(spark, test_config, dt.date(2025, 3, 1))

    assert deleted[VISITS.name] == 1
    assert _files_of_day(location, old) == []
    assert len(_files_of_day(location, kept)) == 1
    remaining = {r[C.PSEUDO_ID] for r in spark.table(VISITS.name).where(f"{C.EVENT_DATE} < DATE'2025-03-01'").collect()}
    assert remaining == {"p-kept"}
    manifest = spark.table("ops.runs").where("job = 'maintain'").orderBy("started_at").collect()[-1]
    assert manifest["status"] == "ok" and manifest["counts"][f"deleted.{VISITS.name}"] == 1
