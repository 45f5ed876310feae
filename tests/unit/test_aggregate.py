"""Local hours and day parts with DST, visits exploded to hours, and the full grids with exact metrics."""

import datetime as dt

import pytest
from chispa import assert_df_equality

from footfall.localtime import day_hours, day_parts
from footfall.pipeline.aggregate import (
    PRIVATE,
    aggregate_catchment,
    aggregate_cohort_dayparts,
    aggregate_cohort_days,
    aggregate_cohort_hours,
    aggregate_days,
    aggregate_hours,
    aggregate_margins,
    explode_visit_hours,
)
from footfall.schemas import (
    AGE_BANDS,
    GENDERS,
    MARGIN_ALL,
    VISITS,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
    grid_cols,
)

TZ = "Europe/Berlin"
FALL_BACK = dt.date(2026, 10, 25)  # 25 hours: 03:00 CEST -> 02:00 CET
# visitors, visits, passersby, median, mean, lt5, 5_15, 15_60, 60+; then the private columns
# (PRIVATE): stays, the people behind visits, pass-bys, stays and each dwell bin, and the most
# stays and stay seconds of one subscriber
ZERO = (0, 0, 0, None, None, 0, 0, 0, 0) + (0,) * 10


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def naive(*args: int) -> dt.datetime:
    return dt.datetime(*args)


def test_spring_forward_day_has_23_hours_without_local_hour_2():
    hours = day_hours(dt.date(2026, 3, 29), TZ)
    assert [h.local_hour for h in hours] == [0, 1, *range(3, 24)]
    assert [h.utc_offset_min for h in hours] == [60, 60] + [120] * 21
    assert hours[0].hour_start == naive(2026, 3, 28, 23) and hours[2].hour_start == naive(2026, 3, 29, 1)


def test_fall_back_day_has_25_hours_with_local_hour_2_twice():
    hours = day_hours(FALL_BACK, TZ)
    assert [h.local_hour for h in hours] == [0, 1, 2, 2, *range(3, 24)]
    assert [h.utc_offset_min for h in hours] == [120, 120, 120] + [60] * 22
    assert [h.hour_start for h in hours[2:4]] == [naive(2026, 10, 25, 0), naive(2026, 10, 25, 1)]
    assert hours[-1].hour_start == naive(2026, 10, 25, 22)


def test_day_parts_follow_the_local_clock_and_the_night_takes_the_dst_change():
    # Spring forward: 02:00 is skipped, so the night (00-06) has 5 hours; fall back: 7.
    spring = day_parts(day_hours(dt.date(2026, 3, 29), TZ))
    assert [(p.name, len(p.hours)) for p in spring] == [
        ("night", 5), ("morning", 4), ("midday", 4), ("afternoon", 4), ("evening", 6)]
    assert spring[0].start == naive(2026, 3, 28, 23) and spring[1].start == naive(2026, 3, 29, 4)  # 06:00 CEST
    fall = day_parts(day_hours(FALL_BACK, TZ))
    assert [len(p.hours) for p in fall] == [7, 4, 4, 4, 6]
    assert fall[0].start == naive(2026, 10, 24, 22) and fall[1].start == naive(2026, 10, 25, 5)  # 06:00 CET


def test_ordinary_day_has_24_hours():
    hours = day_hours(dt.date(2026, 3, 14), TZ)
    assert [h.local_hour for h in hours] == list(range(24))
    assert {h.utc_offset_min for h in hours} == {60}


EXPLODED = (
    f"{C.PSEUDO_ID} string, {C.VISIT_START} timestamp, {C.VISIT_END} timestamp, "
    f"{C.HOUR_START} timestamp, {C.LOCAL_HOUR} int, {C.UTC_OFFSET_MIN} int, {C.DAY_PART} string, "
    "_starts_here boolean"
)


def test_a_visit_is_in_every_hour_it_overlaps_and_starts_in_one(spark):
    visits = spark.createDataFrame(
        [
            ("a", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 20)),  # 02:30 CEST -> 02:20 CET
            ("b", utc(2026, 10, 25, 9, 50), utc(2026, 10, 25, 10, 0)),  # ends exactly when hour 11 starts
            ("c", utc(2026, 10, 24, 12, 0), utc(2026, 10, 24, 12, 30)),  # the day before: no hour of this day
            ("d", utc(2026, 10, 25, 12, 0), None),  # NULL end: overlaps nothing
        ],
        f"{C.PSEUDO_ID} string, {C.VISIT_START} timestamp, {C.VISIT_END} timestamp",
    )
    a, b = (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 20)), (utc(2026, 10, 25, 9, 50), utc(2026, 10, 25, 10))
    expected = spark.createDataFrame(
        [
            ("a", *a, utc(2026, 10, 25, 0), 2, 120, "night", True),
            ("a", *a, utc(2026, 10, 25, 1), 2, 60, "night", False),
            ("b", *b, utc(2026, 10, 25, 9), 10, 60, "midday", True),
            ("b", *b, utc(2026, 10, 25, 10), 11, 60, "midday", False),
        ],
        EXPLODED,
    )
    got = explode_visit_hours(visits, day_hours(FALL_BACK, TZ))
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def _visit(pseudo_id, cohort, start, end, passby, zone_id="Z", day=FALL_BACK):
    dwell = int((end - start).total_seconds())
    return ("s", zone_id, day, pseudo_id, *cohort, "01", start, end, dwell, 2, passby, start, start)


F2534, M2534, M65 = ("25-34", "F"), ("25-34", "M"), ("65+", "M")
H2_CEST, H2_CET = utc(2026, 10, 25, 0), utc(2026, 10, 25, 1)
H11, H12 = utc(2026, 10, 25, 10), utc(2026, 10, 25, 11)


@pytest.fixture(scope="module")
def visits(spark):
    rows = [
        _visit("p1", F2534, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 20), False),  # 50 min over both 2s
        _visit("p2", F2534, utc(2026, 10, 25, 0, 40), utc(2026, 10, 25, 0, 42), True),  # 2 min pass-by
        _visit("p1", F2534, utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 0, 58), False),  # p1 again, 8 min
        _visit("p5", M2534, utc(2026, 10, 25, 0, 5), utc(2026, 10, 25, 0, 20), False),  # exactly 15 min
        _visit("p3", M65, utc(2026, 10, 25, 10, 0), utc(2026, 10, 25, 11, 30), False),  # 90 min, hours 11+12
        _visit("p4", M65, utc(2026, 10, 25, 10), utc(2026, 10, 25, 10, 20), False, zone_id="elsewhere"),
        _visit("p6", M65, utc(2026, 10, 24, 10), utc(2026, 10, 24, 10, 20), False, day=FALL_BACK - dt.timedelta(1)),
    ]
    return spark.createDataFrame(rows, VISITS.struct)


@pytest.fixture(scope="module")
def zones(spark):
    return spark.createDataFrame([("s", "Z")], f"{C.ZONE_SET} string, {C.ZONE_ID} string")


def _hour_keys():
    return [(h.hour_start.replace(tzinfo=dt.UTC), h.local_hour, h.utc_offset_min) for h in day_hours(FALL_BACK, TZ)]


def _grid_rows(cells: dict, by_hour: bool, by_cohort: bool) -> list[tuple]:
    """Every grid row: the hand-derived metrics where given, zeros elsewhere."""
    hours = _hour_keys() if by_hour else [()]
    cohorts = [(a, g) for a in AGE_BANDS for g in GENDERS] if by_cohort else [()]
    rows = []
    for hour in hours:
        for cohort in cohorts:
            key = (hour[0] if hour else None, *cohort)
            rows.append(("s", "Z", FALL_BACK, *hour, *cohort, *cells.get(key, ZERO)))
    return rows


def _schema_of(table):
    """A grid's DDL as the aggregates build it: the table's columns but status and visitors_est."""
    return ", ".join(f"{c.name} {c.dtype.simpleString()}" for c in table.columns if c.name in grid_cols(table))


def _schema_without_status(table):
    return ", ".join([f"{c.name} {c.dtype.simpleString()}" for c in table.columns if c.name in grid_cols(table)]
                     + [f"{c} long" for c in PRIVATE])


def test_cohort_hours_full_grid_with_exact_metrics(spark, visits, zones):
    day_hours_ = day_hours(FALL_BACK, TZ)
    got = visits.transform(explode_visit_hours, day_hours_).transform(aggregate_cohort_hours, zones, FALL_BACK,
                                                                       day_hours_)
    cells = {
        # p1 (2 visits: 50 and 8 min), p2 (2 min pass-by) start in the first hour 2 (CEST)
        # p1 and p2 started visits, p2 the pass-by, p1 both stays: one person in each dwell bin.
        (H2_CEST, *F2534): (2, 3, 1, 29.0, 29.0, 1, 1, 1, 0, 2, 2, 1, 1, 1, 1, 1, 0, 2, 3480),
        # p1's 50-minute visit reaches into the second hour 2 (CET): a visitor, no visit
        (H2_CET, *F2534): (1, 0, 0, None, None, 0, 0, 0, 0) + (0,) * 10,
        (H2_CEST, *M2534): (1, 1, 0, 15.0, 15.0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 900),  # 15 min: the 15-60 bin
        (H11, *M65): (1, 1, 0, 90.0, 90.0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 5400),
        (H12, *M65): (1, 0, 0, None, None, 0, 0, 0, 0) + (0,) * 10,
    }
    expected = spark.createDataFrame(_grid_rows(cells, True, True), _schema_without_status(ZONE_HOURLY))
    assert expected.count() == 25 * 21
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_hour_totals_full_grid_with_exact_metrics(spark, visits, zones):
    day_hours_ = day_hours(FALL_BACK, TZ)
    got = visits.transform(explode_visit_hours, day_hours_).transform(aggregate_hours, zones, FALL_BACK, day_hours_)
    cells = {
        # stays 50, 8 (p1), 15 (p5); two people in the 15-60 bin, p1 counted once in it
        (H2_CEST,): (3, 4, 1, 15.0, 73 / 3, 1, 1, 2, 0, 3, 3, 1, 2, 1, 1, 2, 0, 2, 3480),
        (H2_CET,): (1, 0, 0, None, None, 0, 0, 0, 0) + (0,) * 10,
        (H11,): (1, 1, 0, 90.0, 90.0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 5400),
        (H12,): (1, 0, 0, None, None, 0, 0, 0, 0) + (0,) * 10,
    }
    expected = spark.createDataFrame(_grid_rows(cells, True, False), _schema_without_status(ZONE_HOURLY_TOTAL))
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_cohort_days_full_grid_with_exact_metrics(spark, visits, zones):
    got = aggregate_cohort_days(visits, zones, FALL_BACK)
    cells = {
        (None, *F2534): (2, 3, 1, 29.0, 29.0, 1, 1, 1, 0, 2, 2, 1, 1, 1, 1, 1, 0, 2, 3480),
        (None, *M2534): (1, 1, 0, 15.0, 15.0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 900),
        (None, *M65): (1, 1, 0, 90.0, 90.0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 5400),
    }
    expected = spark.createDataFrame(_grid_rows(cells, False, True), _schema_without_status(ZONE_DAILY))
    assert expected.count() == 21
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_margins_count_the_day_visitors_by_age_band_and_by_gender(spark, visits, zones):
    # The day's cohorts above: (25-34, F) p1 and p2, (25-34, M) p5, (65+, M) p3 (p4 is elsewhere,
    # p6 on another day). By age band: 25-34 3, 65+ 1; by gender: F 2, M 2; every other cell 0.
    got = aggregate_cohort_days(visits, zones, FALL_BACK).transform(aggregate_margins)
    by_age = {"25-34": 3, "65+": 1}
    by_gender = {"F": 2, "M": 2}
    expected = spark.createDataFrame(
        [("s", "Z", FALL_BACK, a, MARGIN_ALL, by_age.get(a, 0)) for a in AGE_BANDS]
        + [("s", "Z", FALL_BACK, MARGIN_ALL, g, by_gender.get(g, 0)) for g in GENDERS],
        _schema_of(ZONE_DAILY_MARGINS))
    assert expected.count() == 7 + 3
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_day_parts_count_each_cohort_s_visitors_once_per_part_they_overlap(spark, visits, zones):
    # The fall-back day's parts: night 7 hours from 22:00 UTC the day before, morning from 05:00,
    # midday 09:00, afternoon 13:00, evening 17:00 (6 hours). Night: (25-34, F) p1 (two visits,
    # one visitor) and p2, (25-34, M) p5; midday: (65+, M) p3 (11:00-12:30 CET). And q, added
    # here, 09:30-10:30 CET (08:30-09:30 UTC): a visitor of the morning and of midday.
    hours = day_hours(FALL_BACK, TZ)
    crossing = spark.createDataFrame([_visit("q", F2534, utc(2026, 10, 25, 8, 30), utc(2026, 10, 25, 9, 30), False)],
                                     VISITS.struct)
    got = visits.unionByName(crossing).transform(explode_visit_hours, hours).transform(
        aggregate_cohort_dayparts, zones, FALL_BACK, day_parts(hours))
    starts = {"night": (utc(2026, 10, 24, 22), 7), "morning": (utc(2026, 10, 25, 5), 4),
              "midday": (utc(2026, 10, 25, 9), 4), "afternoon": (utc(2026, 10, 25, 13), 4),
              "evening": (utc(2026, 10, 25, 17), 6)}
    visitors = {("night", *F2534): 2, ("night", *M2534): 1, ("midday", *M65): 1, ("morning", *F2534): 1,
                ("midday", *F2534): 1}
    expected = spark.createDataFrame(
        [("s", "Z", FALL_BACK, part, *starts[part], a, g, visitors.get((part, a, g), 0))
         for part in starts for a in AGE_BANDS for g in GENDERS],
        _schema_of(ZONE_DAYPART))
    assert expected.count() == 5 * 21
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_catchment_counts_each_visitor_once_in_its_home_district(spark, visits, zones):
    # Zone Z on the day: p1 (two visits), p2, p5 and p3, all living in 01 (_visit); p4 is in
    # another zone and p6 on another day. Added: r (home 02) twice, t (unknown) once, u (03) in
    # the other zone. Grid: Z x (01, 02, 03, unknown): 4, 1, 0, 1, adding up to Z's 6 visitors.
    def living(pseudo_id, home, zone_id="Z"):
        row = _visit(pseudo_id, M65, utc(2026, 10, 25, 10), utc(2026, 10, 25, 10, 20), False, zone_id=zone_id)
        return (*row[:6], home, *row[7:])

    more = spark.createDataFrame([living("r", "02"), living("r", "02"), living("t", "unknown"),
                                  living("u", "03", zone_id="elsewhere")], VISITS.struct)
    got = visits.unionByName(more).transform(aggregate_catchment, zones, FALL_BACK, ["01", "02", "03", "unknown"])
    expected = spark.createDataFrame(
        [("s", "Z", FALL_BACK, home, n) for home, n in (("01", 4), ("02", 1), ("03", 0), ("unknown", 1))],
        _schema_of(ZONE_CATCHMENT))
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_presence_covers_every_hour_of_the_estimated_stay_observed_or_not(spark, zones):
    # Observed once, at 09:30 UTC; the estimated stay runs 09:30-12:10. The subscriber is a
    # visitor of the hours starting 09, 10, 11 and 12 UTC; the visit counts in hour 09 only.
    start, end, seen = utc(2026, 10, 25, 9, 30), utc(2026, 10, 25, 12, 10), utc(2026, 10, 25, 9, 30)
    visits = spark.createDataFrame([("s", "Z", FALL_BACK, "p7", *M65, "01", start, end, 9600, 1, False, seen, seen)],
                                   VISITS.struct)
    hours = day_hours(FALL_BACK, TZ)
    got = visits.transform(explode_visit_hours, hours).transform(aggregate_hours, zones, FALL_BACK, hours)
    present = {(r[C.HOUR_START].replace(tzinfo=dt.UTC), r[C.VISITORS], r[C.VISITS]) for r in got.collect()
               if r[C.VISITORS]}
    assert present == {(utc(2026, 10, 25, 9), 1, 1), (utc(2026, 10, 25, 10), 1, 0), (utc(2026, 10, 25, 11), 1, 0),
                       (utc(2026, 10, 25, 12), 1, 0)}


def test_day_totals_carry_the_zone_dwell_estimates(spark, visits, zones):
    estimates = spark.createDataFrame(
        [("s", "Z", 7.5, 32.0, 0.1, 0.2, 0.3, 0.4), ("s", "elsewhere", 1.0, 1.0, 1.0, 0.0, 0.0, 0.0)],
        f"{C.ZONE_SET} string, {C.ZONE_ID} string, " + ", ".join(
            f"{c} double" for c in (C.STAYS_EST, C.DWELL_EST_MEDIAN_MIN, C.DWELL_EST_LT5_SHARE, C.DWELL_EST_5_15_SHARE,
                                    C.DWELL_EST_15_60_SHARE, C.DWELL_EST_60PLUS_SHARE)))
    got = aggregate_days(visits, zones, FALL_BACK, estimates)
    # Zone Z on the day: p1 (50 and 8 min), p2 (2 min pass-by), p5 (15), p3 (90): 4 visitors,
    # 5 visits; the non-pass-by dwells 8, 15, 50, 90: median 32.5, mean 40.75.
    expected = spark.createDataFrame(
        # private: 4 stays, 4 starters, 1 passer, 3 stayers; people per bin 1, 1 (p1), 2 (p1, p5), 1;
        # the most stays of one subscriber 2 (p1), the most stay seconds 5400 (p3's 90 minutes)
        [("s", "Z", FALL_BACK, 4, 5, 1, 32.5, 40.75, 1, 1, 2, 1, 7.5, 32.0, 0.1, 0.2, 0.3, 0.4,
          4, 4, 1, 3, 1, 1, 2, 1, 2, 5400)],
        _schema_without_status(ZONE_DAILY_TOTAL))
    assert_df_equality(got, expected, ignore_nullable=True)
