"""Utility (footfall.pipeline.utility): the visits and visitor-hours in a cell with published
visitors, per level, on a hand-made day.

2026-03-14 is CET (UTC+1): local hour 10 starts at 09:00 UTC, hour 11 at 10:00 UTC. Visits:
- a (25-34, F) in z1: 09:30-10:20 UTC, a visitor of hours 10 and 11, its visit starts in 10;
  and 10:40-10:50, again hour 11 (the same visitor-hour), a visit starting in 11.
- b (35-44, M) in z1: 10:05-10:10, 10:30-10:35 and 10:45-10:50: one visitor-hour (11); three
  visits start there, of which two count (privacy.max_visits_per_zone_hour = 2, bound_contributions),
  as in the tables' visit counts.
- c (25-34, F) in z1: 09:10-09:20: hour 10.
- d (25-34, F) in z2: 09:00-09:05: hour 10.
So 6 visits (counted) and 5 visitor-hours: (a, z1, 10), (a, z1, 11), (b, z1, 11), (c, z1, 10), (d, z2, 10).

Published cells (the rest withheld, for any reason):
- hour x cohort: (z1, 10, 25-34 F) and (z1, 11, 35-44 M); not (z1, 11, 25-34 F), not (z2, 10, 25-34 F).
  Visitor-hours (a, 10), (c, 10), (b, 11): 3; visits a's first, c's, b's two: 4.
- hour: (z1, 11) and (z2, 10); not (z1, 10). Visitor-hours (a, 11), (b, 11), (d, 10): 3; visits
  a's second, b's two, d's: 4.
- day x cohort: (z1, 25-34 F); not (z1, 35-44 M), not (z2, 25-34 F). Visitor-hours a's two, c's:
  3; visits a's two, c's: 3.
- day x age band (zone_daily_margins, gender `all`): (z1, 35-44) only; not (z1, 25-34), not
  (z2, 25-34). Visitor-hour b's, visits b's two.
- day x gender (age band `all`): (z2, F) only; not (z1, F), not (z1, M): d's visitor-hour and visit.
- day: z2 only: d's visitor-hour and visit.
- day x home district (zone_catchment; a, c and d live in 01, b in 02): (z1, 01) only; not
  (z1, 02), not (z2, 01). Visitor-hours a's two, c's: 3; visits a's two, c's: 3.
- any cohort level (hour x cohort, day x cohort, day x age band or day x gender): every
  visitor-hour and visit; (a, 11) only through day x cohort, d's only through day x gender.

Zones: z1, z2 and z3 (no visits; its hour total and catchment cell published, levels without a
cohort, its day part cell withheld): 3 zones, of which z1 and z2 have a published cohort-level cell.
"""

import datetime as dt

from pyspark.sql import functions as F

from footfall.localtime import day_hours
from footfall.pipeline.aggregate import bound_contributions, explode_visit_hours
from footfall.pipeline.utility import LEVELS, WEEK_LEVELS, coverage_counts, utility
from footfall.schemas import (
    MARGIN_ALL,
    STATUS_PUBLISHED,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONE_WEEKLY,
    ZONE_WEEKLY_CATCHMENT,
    ZONE_WEEKLY_MARGINS,
    ZONE_WEEKLY_TOTAL,
    C,
)

DAY = dt.date(2026, 3, 14)
H10, H11 = dt.datetime(2026, 3, 14, 9, tzinfo=dt.UTC), dt.datetime(2026, 3, 14, 10, tzinfo=dt.UTC)  # local 10, 11
F25, M35 = ("25-34", "F"), ("35-44", "M")
WITHHELD = "primary"  # any reason: only `published` counts
HOMES = {"a": "01", "b": "02", "c": "01", "d": "01"}


def _visit(zone: str, subscriber: str, cohort: tuple[str, str], start: tuple[int, int], end: tuple[int, int]):
    """A visit row (times UTC on DAY)."""
    at = [dt.datetime(2026, 3, 14, h, m, tzinfo=dt.UTC) for h, m in (start, end)]
    return ("u", zone, subscriber, *cohort, HOMES[subscriber], *at, int((at[1] - at[0]).total_seconds()))


def _visit_hours(spark):
    visits = spark.createDataFrame([
        _visit("z1", "a", F25, (9, 30), (10, 20)), _visit("z1", "a", F25, (10, 40), (10, 50)),
        _visit("z1", "b", M35, (10, 5), (10, 10)), _visit("z1", "b", M35, (10, 30), (10, 35)),
        _visit("z1", "b", M35, (10, 45), (10, 50)),
        _visit("z1", "c", F25, (9, 10), (9, 20)), _visit("z2", "d", F25, (9, 0), (9, 5)),
    ], f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.AGE_BAND} string, {C.GENDER} string, "
       f"{C.HOME_DISTRICT} string, {C.VISIT_START} timestamp, {C.VISIT_END} timestamp, {C.DWELL_S} long")
    return visits.withColumn(C.EVENT_DATE, F.lit(DAY)).transform(bound_contributions, 2, 720).transform(
        explode_visit_hours, day_hours(DAY, "Europe/Berlin"))


def _dated(grids):
    """The day's grids with their event_date (a day level's cells are keyed by it)."""
    return {table: grid.withColumn(C.EVENT_DATE, F.lit(DAY)) for table, grid in grids.items()}


def _day_grids(spark):
    cohort_hour = f"{C.ZONE_ID} string, {C.HOUR_START} timestamp, {C.AGE_BAND} string, {C.GENDER} string, " \
                  f"{C.STATUS} string"
    grids = {
        ZONE_HOURLY: spark.createDataFrame([
            ("z1", H10, *F25, STATUS_PUBLISHED), ("z1", H11, *M35, STATUS_PUBLISHED),
            ("z1", H11, *F25, WITHHELD), ("z2", H10, *F25, WITHHELD)], cohort_hour),
        ZONE_HOURLY_TOTAL: spark.createDataFrame([
            ("z1", H10, WITHHELD), ("z1", H11, STATUS_PUBLISHED), ("z2", H10, STATUS_PUBLISHED),
            ("z3", H10, STATUS_PUBLISHED)],
            f"{C.ZONE_ID} string, {C.HOUR_START} timestamp, {C.STATUS} string"),
        ZONE_DAILY: spark.createDataFrame([
            ("z1", *F25, STATUS_PUBLISHED), ("z1", *M35, WITHHELD), ("z2", *F25, WITHHELD)],
            f"{C.ZONE_ID} string, {C.AGE_BAND} string, {C.GENDER} string, {C.STATUS} string"),
        ZONE_DAILY_TOTAL: spark.createDataFrame([("z1", WITHHELD), ("z2", STATUS_PUBLISHED), ("z3", WITHHELD)],
                                                f"{C.ZONE_ID} string, {C.STATUS} string"),
        ZONE_DAILY_MARGINS: spark.createDataFrame([
            ("z1", "25-34", MARGIN_ALL, WITHHELD), ("z1", "35-44", MARGIN_ALL, STATUS_PUBLISHED),
            ("z2", "25-34", MARGIN_ALL, WITHHELD), ("z1", MARGIN_ALL, "F", WITHHELD), ("z1", MARGIN_ALL, "M", WITHHELD),
            ("z2", MARGIN_ALL, "F", STATUS_PUBLISHED)],
            f"{C.ZONE_ID} string, {C.AGE_BAND} string, {C.GENDER} string, {C.STATUS} string"),
        # Every visit is at local 10:00-11:59: midday. Published: z1's women 25-34 (a's two hours, c's one).
        ZONE_DAYPART: spark.createDataFrame([
            ("z1", "midday", *F25, STATUS_PUBLISHED), ("z1", "midday", *M35, WITHHELD),
            ("z2", "midday", *F25, WITHHELD), ("z1", "morning", *F25, STATUS_PUBLISHED),
            ("z3", "midday", *F25, WITHHELD)],
            f"{C.ZONE_ID} string, {C.DAY_PART} string, {C.AGE_BAND} string, {C.GENDER} string, {C.STATUS} string"),
        ZONE_CATCHMENT: spark.createDataFrame([
            ("z1", "01", STATUS_PUBLISHED), ("z1", "02", WITHHELD), ("z2", "01", WITHHELD),
            ("z3", "01", STATUS_PUBLISHED)],
            f"{C.ZONE_ID} string, {C.HOME_DISTRICT} string, {C.STATUS} string"),
    }
    return _dated(grids)


def test_coverage_counts_the_visits_and_visitor_hours_of_published_cells(spark):
    counts = coverage_counts(_visit_hours(spark), _day_grids(spark))
    assert counts == {
        "utility_visitor_hours": 5, "utility_visits": 6,
        "utility_visitor_hours_hour_cohort": 3, "utility_visits_hour_cohort": 4,
        "utility_visitor_hours_hour": 3, "utility_visits_hour": 4,
        "utility_visitor_hours_daypart_cohort": 3, "utility_visits_daypart_cohort": 3,
        "utility_visitor_hours_day_cohort": 3, "utility_visits_day_cohort": 3,
        "utility_visitor_hours_day_age": 1, "utility_visits_day_age": 2,
        "utility_visitor_hours_day_gender": 1, "utility_visits_day_gender": 1,
        "utility_visitor_hours_day": 1, "utility_visits_day": 1,
        "utility_visitor_hours_day_home": 3, "utility_visits_day_home": 3,
        "utility_visitor_hours_any_cohort": 5, "utility_visits_any_cohort": 6,
        "utility_zones": 3, "utility_zones_any_cohort": 2,
    }
    assert utility(counts) == (
        "visits / visitor-hours in a cell with published visitors: hour x cohort 66.7% / 60.0%, "
        "hour 66.7% / 60.0%, day part x cohort 50.0% / 60.0%, day x cohort 50.0% / 60.0%, "
        "day x age band 33.3% / 20.0%, day x gender 16.7% / 20.0%, day 16.7% / 20.0%, "
        "day x home district 50.0% / 60.0%, any cohort level 100.0% / 100.0%; "
        "zones with a published cohort-level cell 2 of 3 (66.7%)")


def test_runs_before_utility_was_counted_print_no_line():
    assert utility({"cells": 5, "cells_published": 5}) is None


def test_the_week_levels_count_beside_the_days(spark):
    """compute-week's utility: the same visits, every day cell withheld, and the week's cells
    (keyed by zone, not date): published (z1, 25-34 F), (z2, all, F) and z1's total; the
    catchment (z1, 01) withheld.
    - week x cohort: a's two visitor-hours and c's; visits a's two and c's: 3 / 3.
    - week x gender: d's: 1 / 1; week x age band: none.
    - week: z1's visitor-hours a's two, b's, c's: 4; visits a's two, b's two counted, c's: 5.
    - any cohort level: the day levels publish nothing, so week x cohort or week x gender:
      visitor-hours a's two, c's, d's: 4; visits 4."""
    days = {t: g.withColumn(C.STATUS, F.lit(WITHHELD)) for t, g in _day_grids(spark).items()}
    cells = f"{C.ZONE_ID} string, {C.AGE_BAND} string, {C.GENDER} string, {C.STATUS} string"
    week = {
        ZONE_WEEKLY: spark.createDataFrame([("z1", *F25, STATUS_PUBLISHED), ("z1", *M35, WITHHELD)], cells),
        ZONE_WEEKLY_MARGINS: spark.createDataFrame([("z2", MARGIN_ALL, "F", STATUS_PUBLISHED),
                                                    ("z1", "25-34", MARGIN_ALL, WITHHELD)], cells),
        ZONE_WEEKLY_TOTAL: spark.createDataFrame([("z1", STATUS_PUBLISHED), ("z2", WITHHELD)],
                                                 f"{C.ZONE_ID} string, {C.STATUS} string"),
        ZONE_WEEKLY_CATCHMENT: spark.createDataFrame(
            [("z1", "01", WITHHELD)], f"{C.ZONE_ID} string, {C.HOME_DISTRICT} string, {C.STATUS} string"),
    }
    counts = coverage_counts(_visit_hours(spark), {**days, **week}, (*LEVELS, *WEEK_LEVELS))
    week_counts = {name: counts[name] for name in counts if "week" in name or "any_cohort" in name}
    assert week_counts == {
        "utility_visitor_hours_week_cohort": 3, "utility_visits_week_cohort": 3,
        "utility_visitor_hours_week_age": 0, "utility_visits_week_age": 0,
        "utility_visitor_hours_week_gender": 1, "utility_visits_week_gender": 1,
        "utility_visitor_hours_week": 4, "utility_visits_week": 5,
        "utility_visitor_hours_week_home": 0, "utility_visits_week_home": 0,
        "utility_visitor_hours_any_cohort": 4, "utility_visits_any_cohort": 4,
        "utility_zones_any_cohort": 2,
    }
    assert counts["utility_visits_day_cohort"] == 0 and counts["utility_zones"] == 3
    assert ", week x cohort 50.0% / 60.0%, week x age band 0.0% / 0.0%, week x gender 16.7% / 20.0%, " \
           "week 83.3% / 80.0%, week x home district 0.0% / 0.0%, any cohort level 66.7% / 80.0%;" in utility(counts)
