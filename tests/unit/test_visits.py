"""sessionize_visits and with_cohort: gaps, pass-bys, the midnight cut, DST and missing subscribers."""

import datetime as dt

from chispa import assert_df_equality

from footfall.pipeline.visits import missing_subscribers, sessionize_visits, with_cohort
from footfall.schemas import SUBSCRIBERS, VISITS, C

TZ = "Europe/Berlin"
ZONED = f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.EVENT_TIME} timestamp"
SESSIONIZED = (
    f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.EVENT_DATE} date, {C.PSEUDO_ID} string, "
    f"{C.VISIT_START} timestamp, {C.VISIT_END} timestamp, {C.DWELL_S} long, {C.N_EVENTS} long, {C.IS_PASSBY} boolean"
)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def _sessionize(df):
    return sessionize_visits(df, max_gap_minutes=15, min_dwell_minutes=5, time_zone=TZ)


def test_gaps_of_at_most_max_gap_continue_a_visit_and_short_visits_are_pass_bys(spark):
    zoned = spark.createDataFrame(
        [
            ("s", "A", "p1", utc(2026, 3, 14, 9, 0)),
            ("s", "A", "p1", utc(2026, 3, 14, 9, 10)),
            ("s", "A", "p1", utc(2026, 3, 14, 9, 25)),  # gap exactly 15 min: same visit
            ("s", "A", "p1", utc(2026, 3, 14, 9, 41)),  # gap 16 min: new visit, alone -> pass-by
            ("s", "B", "p1", utc(2026, 3, 14, 9, 5)),  # other zone: its own visit
            ("s", "B", "p1", utc(2026, 3, 14, 9, 10)),  # dwell exactly 5 min: not a pass-by
            ("s", "A", "p2", utc(2026, 3, 14, 9, 3)),  # other subscriber
            ("s", "A", "p2", utc(2026, 3, 14, 9, 7, 59)),  # dwell 4:59 -> pass-by
            ("s", "A", "p3", None),  # no time: cannot be placed in a visit
        ],
        ZONED,
    )
    d = dt.date(2026, 3, 14)
    expected = spark.createDataFrame(
        [
            ("s", "A", d, "p1", utc(2026, 3, 14, 9, 0), utc(2026, 3, 14, 9, 25), 1500, 3, False),
            ("s", "A", d, "p1", utc(2026, 3, 14, 9, 41), utc(2026, 3, 14, 9, 41), 0, 1, True),
            ("s", "B", d, "p1", utc(2026, 3, 14, 9, 5), utc(2026, 3, 14, 9, 10), 300, 2, False),
            ("s", "A", d, "p2", utc(2026, 3, 14, 9, 3), utc(2026, 3, 14, 9, 7, 59), 299, 2, True),
        ],
        SESSIONIZED,
    )
    assert_df_equality(_sessionize(zoned), expected, ignore_row_order=True, ignore_nullable=True)


def test_visits_are_cut_at_local_midnight(spark):
    # 2026-03-14 is CET (UTC+1): local midnight is 23:00 UTC. Events 5 minutes apart across it.
    zoned = spark.createDataFrame(
        [
            ("s", "A", "p1", utc(2026, 3, 14, 22, 50)),  # 23:50 local, 14th
            ("s", "A", "p1", utc(2026, 3, 14, 22, 58)),  # 23:58 local, 14th
            ("s", "A", "p1", utc(2026, 3, 14, 23, 3)),  # 00:03 local, 15th
            ("s", "A", "p1", utc(2026, 3, 14, 23, 10)),  # 00:10 local, 15th
        ],
        ZONED,
    )
    expected = spark.createDataFrame(
        [
            ("s", "A", dt.date(2026, 3, 14), "p1", utc(2026, 3, 14, 22, 50), utc(2026, 3, 14, 22, 58), 480, 2, False),
            ("s", "A", dt.date(2026, 3, 15), "p1", utc(2026, 3, 14, 23, 3), utc(2026, 3, 14, 23, 10), 420, 2, False),
        ],
        SESSIONIZED,
    )
    assert_df_equality(_sessionize(zoned), expected, ignore_row_order=True, ignore_nullable=True)


def test_dwell_across_the_spring_forward_is_elapsed_time_not_clock_time(spark):
    # 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST. 01:50 CET -> 03:05 CEST is 15 minutes.
    zoned = spark.createDataFrame(
        [("s", "A", "p1", utc(2026, 3, 29, 0, 50)), ("s", "A", "p1", utc(2026, 3, 29, 1, 5))], ZONED
    )
    expected = spark.createDataFrame(
        [("s", "A", dt.date(2026, 3, 29), "p1", utc(2026, 3, 29, 0, 50), utc(2026, 3, 29, 1, 5), 900, 2, False)],
        SESSIONIZED,
    )
    assert_df_equality(_sessionize(zoned), expected, ignore_row_order=True, ignore_nullable=True)


def test_sessionizing_sorts_once(spark):
    zoned = spark.createDataFrame([("s", "A", "p1", utc(2026, 3, 14, 9, 0))], ZONED)
    plan = _sessionize(zoned)._jdf.queryExecution().executedPlan().toString()
    assert plan.count("Sort [") == 1, plan
    assert plan.count("Window [") == 2, plan


def test_with_cohort_keeps_visits_of_unknown_subscribers_as_unknown_cohort(spark):
    d = dt.date(2026, 3, 14)
    start, end = utc(2026, 3, 14, 9, 0), utc(2026, 3, 14, 9, 10)
    visits = spark.createDataFrame(
        [("s", "A", d, "p1", start, end, 600, 3, False), ("s", "A", d, "p9", start, end, 600, 3, False)],
        SESSIONIZED,
    )
    subscribers = spark.createDataFrame(
        [("p1", "k1", "25-34", "F", "consumer", None, d), ("p2", "k1", "65+", "M", "consumer", None, d)],
        SUBSCRIBERS.struct,
    )
    expected = spark.createDataFrame(
        [
            ("s", "A", d, "p1", "25-34", "F", start, end, 600, 3, False),
            ("s", "A", d, "p9", "unknown", "unknown", start, end, 600, 3, False),
        ],
        VISITS.struct,
    )
    assert_df_equality(
        with_cohort(visits, subscribers), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )
    assert [r[C.PSEUDO_ID] for r in missing_subscribers(visits, subscribers).collect()] == ["p9"]
