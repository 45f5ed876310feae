"""Contribution bounding: one extreme subscriber with thousands of events moves no published cell
by more than the cap (privacy.max_visits_per_zone_hour visits per zone-hour, one visitor)."""

import datetime as dt

from pyspark.sql import functions as F

from footfall.localtime import day_hours
from footfall.pipeline.aggregate import (
    aggregate_cohort_days,
    aggregate_cohort_hours,
    bound_contributions,
    explode_visit_hours,
)
from footfall.schemas import C

TZ = "Europe/Berlin"
DAY = dt.date(2026, 7, 4)  # CEST: local hour h starts at UTC h - 2
CAP = 2
VISITS_DDL = (f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.EVENT_DATE} date, {C.PSEUDO_ID} string, "
              f"{C.VISIT_START} timestamp, {C.VISIT_END} timestamp, {C.DWELL_S} long, {C.N_EVENTS} long, "
              f"{C.IS_PASSBY} boolean, {C.AGE_BAND} string, {C.GENDER} string")
COHORT = ("25-34", "F")


def _visits(spark, extreme: bool):
    # 25 ordinary subscribers: one 30-minute stay each, local 10:00-10:30 (08:00-08:30 UTC).
    def visit(pid: str, start: dt.datetime, seconds: int) -> tuple:
        return ("s", "Z", DAY, pid, start, start + dt.timedelta(seconds=seconds), seconds, 3, seconds < 300, *COHORT)

    rows = [visit(f"p{i}", dt.datetime(2026, 7, 4, 8, 0, tzinfo=dt.UTC), 1800) for i in range(25)]
    if extreme:
        # The extreme subscriber: from local 00:00 to 23:58, a travel burst through the zone every
        # 2 minutes, each its own 10-second pass-by visit: 720 visits, 30 a local hour.
        start = dt.datetime(2026, 7, 3, 22, 0, tzinfo=dt.UTC)
        rows += [visit("x", start + dt.timedelta(minutes=2 * b), 10) for b in range(720)]
    return spark.createDataFrame(rows, VISITS_DDL)


def _grids(spark, extreme: bool):
    zones = spark.createDataFrame([("s", "Z")], f"{C.ZONE_SET} string, {C.ZONE_ID} string")
    visits = _visits(spark, extreme).transform(bound_contributions, CAP, 720)
    hours = day_hours(DAY, TZ)
    cohort = (F.col(C.AGE_BAND) == COHORT[0]) & (F.col(C.GENDER) == COHORT[1])
    hourly = visits.transform(explode_visit_hours, hours).transform(aggregate_cohort_hours, zones, DAY, hours)
    daily = visits.transform(aggregate_cohort_days, zones, DAY)
    return (
        {r[C.LOCAL_HOUR]: r.asDict() for r in hourly.where(cohort).collect()},
        daily.where(cohort).first().asDict(),
    )


def test_one_extreme_subscriber_moves_no_cell_by_more_than_the_cap(spark):
    assert _visits(spark, extreme=True).where(F.col(C.PSEUDO_ID) == "x").count() == 720
    hourly_without, daily_without = _grids(spark, extreme=False)
    hourly_with, daily_with = _grids(spark, extreme=True)
    counted = (C.VISITORS, C.VISITS, C.PASSERSBY, C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60, C.DWELL_60PLUS)
    for hour in range(24):
        moved = {m: hourly_with[hour][m] - hourly_without[hour][m] for m in counted}
        # 30 pass-by visits of a few seconds start in every hour; 2 count. One more visitor.
        assert moved == {C.VISITORS: 1, C.VISITS: CAP, C.PASSERSBY: CAP, C.DWELL_LT5: CAP,
                         C.DWELL_5_15: 0, C.DWELL_15_60: 0, C.DWELL_60PLUS: 0}, hour
    assert hourly_without[10][C.VISITORS] == 25 and hourly_without[10][C.VISITS] == 25
    # Dwell statistics are over stays (not pass-bys): the extreme subscriber's are all pass-bys.
    assert hourly_with[10][C.DWELL_MEAN_MIN] == hourly_without[10][C.DWELL_MEAN_MIN] == 30.0
    moved_day = {m: daily_with[m] - daily_without[m] for m in (C.VISITORS, C.VISITS, C.PASSERSBY)}
    assert moved_day == {C.VISITORS: 1, C.VISITS: 24 * CAP, C.PASSERSBY: 24 * CAP}


def test_without_the_bound_the_same_subscriber_would_add_30_visits_an_hour(spark):
    """The control: the cap is what holds the extreme subscriber back."""
    zones = spark.createDataFrame([("s", "Z")], f"{C.ZONE_SET} string, {C.ZONE_ID} string")
    visits = _visits(spark, extreme=True)
    hours = day_hours(DAY, TZ)
    hourly = visits.transform(explode_visit_hours, hours).transform(aggregate_cohort_hours, zones, DAY, hours)
    row = hourly.where((F.col(C.LOCAL_HOUR) == 12) & (F.col(C.AGE_BAND) == COHORT[0])
                       & (F.col(C.GENDER) == COHORT[1])).first()
    assert row[C.VISITS] == 30


def test_dwell_is_capped_before_any_statistic(spark):
    # One 30-minute stay and one of 20 hours (local 01:00-21:00): capped at 720 minutes, the
    # mean and median are (30 + 720) / 2 = 375, not (30 + 1200) / 2 = 615; the long stay is
    # still in the 60+ bin.
    zones = spark.createDataFrame([("s", "Z")], f"{C.ZONE_SET} string, {C.ZONE_ID} string")
    start = dt.datetime(2026, 7, 3, 23, 0, tzinfo=dt.UTC)
    rows = [("s", "Z", DAY, pid, start, start + dt.timedelta(seconds=s), s, 3, False, *COHORT)
            for pid, s in (("short", 1800), ("long", 72000))]
    visits = spark.createDataFrame(rows, VISITS_DDL)
    capped = visits.transform(bound_contributions, CAP, 720).transform(aggregate_cohort_days, zones, DAY)
    cohort = (F.col(C.AGE_BAND) == COHORT[0]) & (F.col(C.GENDER) == COHORT[1])
    got = capped.where(cohort).first()
    assert (got[C.DWELL_MEAN_MIN], got[C.DWELL_MEDIAN_MIN], got[C.DWELL_60PLUS]) == (375.0, 375.0, 1)
    wider = visits.transform(bound_contributions, CAP, 1440).transform(aggregate_cohort_days, zones, DAY)
    assert wider.where(cohort).first()[C.DWELL_MEAN_MIN] == 615.0
