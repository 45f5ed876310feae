"""Issue #15, finding 2: the visit metrics (visits, pass-bys, dwell bins, dwell statistics) have
k on their own people and are protected against subtraction along every additive relation.
Attacked by the tests' own subtraction attacker (tests/attacker.py), with negative controls."""

import datetime as dt

import pandas as pd
from attacker import denominator_exposures, visit_exposures
from pyspark.sql import functions as F

from footfall.pipeline.aggregate import PRIVATE
from footfall.pipeline.run import visit_metrics_kept
from footfall.privacy.suppression import suppress_against_release, suppress_primary, withheld_cells
from footfall.privacy.visit_metrics import (
    WHY,
    carry_over,
    suppress_visit_primary,
    suppress_visit_secondary,
    without_visit_metrics,
)
from footfall.schemas import STATUS_PUBLISHED, ZONE_DAILY_TOTAL, ZONE_HOURLY, ZONE_HOURLY_TOTAL, C, grid_cols

K = 20
SHARE = 0.5  # privacy.max_stay_share
DAY = dt.date(2026, 3, 14)
DAY_KEYS = [C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE]
COUNTS = (C.VISITORS, C.VISITS, C.PASSERSBY, C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60, C.DWELL_60PLUS)


def _metrics(stayers: int, passers: int = 0, visitors: int = 40) -> tuple:
    """A cell where `stayers` people each made one 30-minute stay and `passers` people one
    2-minute pass-by: the table's metrics, then PRIVATE (stays, the people behind visits,
    pass-bys, stays and the four dwell bins, the most stays and stay seconds of one person)."""
    dwell = 30.0 if stayers else None
    visitors = max(visitors, stayers + passers)
    published = (visitors, stayers + passers, passers, dwell, dwell, passers, 0, stayers, 0)
    top = (1, 1800) if stayers else (0, 0)
    return (*published, stayers, stayers + passers, passers, stayers, passers, 0, stayers, 0, *top)


def _schema(table) -> str:
    return ", ".join([f"{c.name} {c.dtype.simpleString()}" for c in table.columns if c.name in grid_cols(table)]
                     + [f"{c} long" for c in PRIVATE])


def _hours(spark, cells: dict[tuple[str, int], tuple]):
    rows = [("s", z, DAY, dt.datetime(2026, 3, 14, h, tzinfo=dt.UTC), h + 1, 60, *m) for (z, h), m in cells.items()]
    return spark.createDataFrame(rows, _schema(ZONE_HOURLY_TOTAL)).transform(suppress_primary, K)


def _day_totals(spark, days: dict[str, tuple]):
    rows = [("s", z, DAY, *m[:9], *(None,) * 6, *m[9:]) for z, m in days.items()]
    return spark.createDataFrame(rows, _schema(ZONE_DAILY_TOTAL)).transform(suppress_primary, K)


def _summed(metrics: list[tuple]) -> tuple:
    """A day total: the counts add up, each person's most stays and stay seconds do not (every
    person of _metrics stays once); the dwell statistics are 30 minutes."""
    total = [sum(m[i] or 0 for m in metrics) for i in range(len(metrics[0]))]
    return (*total[:3], 30.0, 30.0, *total[5:-2], *[max(m[i] for m in metrics) for i in (-2, -1)])


# zone -> hour -> (stayers, passers): each person one visit, 40 visitors in every hour
HOURS = {
    # one hour with 5 stays (< k starters): the day minus the other hours would give them
    "Z": {1: (40, 0), 2: (30, 0), 3: (25, 0), 4: (5, 0)},
    # two hours of 12 stays each: perhaps the same 12 people, so never >= k for certain
    "Y": {1: (40, 0), 2: (12, 0), 3: (12, 0)},
    # hour 3: 25 starters, but 3 of them passed by (a bin and pass-bys of 3 people): its count
    # and dwell statistics are shown, its histogram not; hour 2's 20 pass-bys make the day's 23
    # publishable
    "V": {1: (30, 0), 2: (40, 20), 3: (22, 3), 4: (5, 0)},
    # the day itself has too few starters: its visit metrics are withheld, nothing to subtract from
    "X": {1: (10, 0), 2: (5, 0)},
}


def _frames(spark):
    cells = {(z, h): _metrics(*v) for z, hours in HOURS.items() for h, v in hours.items()}
    days = {z: _summed([_metrics(*v) for v in hours.values()]) for z, hours in HOURS.items()}
    hours = _hours(spark, cells).transform(suppress_visit_primary, K, SHARE)
    day_totals = _day_totals(spark, days).transform(suppress_visit_primary, K, SHARE)
    return hours, day_totals


def _withheld(df) -> dict[tuple[str, int], str]:
    """(zone, hour) -> why its visit metrics (the first withheld group) were withheld."""
    rows = df.where(F.coalesce(*[F.col(why) for why in WHY]).isNotNull()).collect()
    return {(r[C.ZONE_ID], r[C.HOUR_START].replace(tzinfo=dt.UTC).hour): next(r[w] for w in WHY if r[w])
            for r in rows}


def _published(df) -> pd.DataFrame:
    return df.drop(*PRIVATE, *WHY).toPandas()


def test_primary_needs_k_people_behind_every_count(spark):
    hours, day_totals = _frames(spark)
    primary = "visits_primary"
    assert _withheld(hours) == {("Z", 4): primary, ("Y", 2): primary, ("Y", 3): primary, ("V", 4): primary,
                                ("X", 1): primary, ("X", 2): primary, ("V", 3): "histogram_primary"}
    v3 = hours.where((F.col(C.ZONE_ID) == "V") & (F.hour(C.HOUR_START) == 3)).first()
    assert (v3[C.VISITS], v3[C.DWELL_MEDIAN_MIN], v3[C.PASSERSBY], v3[C.DWELL_LT5]) == (25, None, None, None)
    # visitors stay published: 40 in every hour; the day of X has 15 starters
    assert {r[C.STATUS] for r in hours.collect()} == {STATUS_PUBLISHED}
    assert [r[C.ZONE_ID] for r in day_totals.where(F.col(C.VISITS).isNull()).collect()] == ["X"]


def test_the_issue_example_one_visit_among_25_visitors_publishes_no_dwell(spark):
    # 25 visitors, one of whom started the cell's only visit (a 47-minute stay): before the fix
    # visits = 1 and that person's dwell were published as median and mean.
    one = (25, 1, 0, 47.0, 47.0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 2820)
    got = _hours(spark, {("Z", 9): one}).transform(suppress_visit_primary, K, SHARE).first()
    assert got[C.VISITORS] == 25 and got[C.STATUS] == STATUS_PUBLISHED
    assert [got[c] for c in (C.VISITS, C.PASSERSBY, C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN, C.DWELL_15_60)] == [None] * 5


def test_subtraction_from_the_day_is_protected_and_the_attacker_finds_nothing(spark):
    hours, day_totals = _frames(spark)
    got = hours.transform(suppress_visit_secondary, day_totals, DAY_KEYS, K, disjoint_people=False)
    subtraction = "visits_subtraction"
    assert _withheld(got) == {
        ("Z", 4): "visits_primary", ("Z", 3): subtraction,  # 5 alone; with hour 3 (25 people): 30
        # 24 stays in hours 2 and 3 may be 12 people: hour 1 too, the day then tells nothing new
        ("Y", 2): "visits_primary", ("Y", 3): "visits_primary", ("Y", 1): subtraction,
        # counts: hour 4's 5 need hour 3 (25 visits, fewest); the histograms of hours 3 and 4 hide
        # 3 pass-bys until hour 2 (20 people passing by) hides its histogram too, and hour 1
        # (fewer visits) before it
        ("V", 4): "visits_primary", ("V", 3): subtraction, ("V", 1): "histogram_subtraction",
        ("V", 2): "histogram_subtraction",
        ("X", 1): "visits_primary", ("X", 2): "visits_primary",
    }
    # hours 1 and 2 of V keep their visit counts, not their dwell statistics (they need the histogram)
    v = {r[C.HOUR_START].hour: (r[C.VISITS], r[C.DWELL_MEAN_MIN]) for r in got.where(F.col(C.ZONE_ID) == "V").collect()}
    assert v == {1: (30, None), 2: (60, None), 3: (None, None), 4: (None, None)}
    assert visit_exposures(_published(got), _published(day_totals), DAY_KEYS, K) == []


def test_negative_control_without_secondary_the_attacker_derives_the_hidden_visits(spark):
    hours, day_totals = _frames(spark)
    found = visit_exposures(_published(hours), _published(day_totals), DAY_KEYS, K)
    derived = {(key[1], m, value) for key, what, m, value in found if what == "derived"}
    # Z: 100 - 40 - 30 - 25 = 5 stays of hour 4 (and their dwell sum); V: hour 4's 5 visits, and
    # 3 pass-bys (3 short visits) of hours 3 and 4
    assert derived == {("Z", "visits", 5), ("Z", "dwell_15_60", 5), ("Z", "stays", 5), ("Z", "dwell_sum", 5),
                       ("V", "visits", 5), ("V", "passersby", 3), ("V", "dwell_lt5", 3)}
    assert all(what == "derived" for _, what, _, _ in found)


def test_cohorts_hold_different_people_so_their_sum_counts(spark):
    # The same numbers as zone Y, read as cohorts: two withheld cohorts of 12 people each are
    # 24 different people, so the day minus the published cohort tells nothing about fewer than k.
    hours, day_totals = _frames(spark)
    got = hours.transform(suppress_visit_secondary, day_totals, DAY_KEYS, K, disjoint_people=True)
    assert ("Y", 1) not in _withheld(got)
    assert _withheld(got)[("Z", 3)] == "visits_subtraction"


def test_the_withheld_visit_metrics_are_kept_for_the_privacy_officer(spark):
    hours, day_totals = _frames(spark)
    got = hours.transform(suppress_visit_secondary, day_totals, DAY_KEYS, K, disjoint_people=False)
    rows = withheld_cells(got, ZONE_HOURLY_TOTAL.name, "run-1").collect()
    assert sorted((r[C.ZONE_ID], r[C.HOUR_START].replace(tzinfo=dt.UTC).hour, r[C.REASON]) for r in rows) == sorted(
        (z, h, reason) for (z, h), reason in _withheld(got).items())


def test_cohort_hours_publish_no_visit_metrics(spark):
    cells = spark.createDataFrame(
        [("s", "Z", DAY, dt.datetime(2026, 3, 14, 9, tzinfo=dt.UTC), 10, 60, "25-34", "F", *_metrics(40))],
        _schema(ZONE_HOURLY)).transform(suppress_primary, K).transform(without_visit_metrics)
    got = cells.first()
    assert got[C.VISITORS] == 40 and got[C.STATUS] == STATUS_PUBLISHED
    assert all(got[c] is None for c in (C.VISITS, C.PASSERSBY, C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN, C.DWELL_LT5,
                                         C.DWELL_5_15, C.DWELL_15_60, C.DWELL_60PLUS))


def test_a_republish_keeps_withheld_visit_metrics_withheld(spark):
    # Hour 1 of Z published its visit metrics now, but withheld them in the release it replaces:
    # the old day minus the old published hours gave the hidden hours' sum; the new hour 1
    # would narrow it.
    now = _hours(spark, {("Z", 1): _metrics(40), ("Z", 2): _metrics(30)}).transform(suppress_visit_primary, K,
                                                                                   SHARE)
    hour_1 = F.hour(C.HOUR_START) == 1
    previous = now.select(*[F.when(~hour_1, F.col(c)).alias(c) if c in COUNTS[1:] else F.col(c)
                            for c in (*grid_cols(ZONE_HOURLY_TOTAL), C.STATUS)])
    keys = [*DAY_KEYS, C.HOUR_START]
    got = suppress_against_release(now, previous, keys, K)
    assert _withheld(got) == {("Z", 1): "visits_republish"}


def test_the_run_prints_how_many_cells_keep_their_visit_metrics():
    counts = {"total_cells_published": 288, "total_cells_visits_withheld": 40, "total_cells_histogram_withheld": 100,
              "daily_cells_published": 209, "daily_cells_visits_withheld": 9, "daily_cells_histogram_withheld": 9,
              "daily_total_cells_published": 12, "daily_total_cells_visits_withheld": 0,
              "daily_total_cells_histogram_withheld": 2}
    assert visit_metrics_kept(counts) == ("visit counts / dwell histograms published in 248 / 188 of 288 hour totals, "
                                          "200 / 200 of 209 daily cohort cells, 12 / 10 of 12 day totals with "
                                          "published visitors")
    assert visit_metrics_kept({"cells": 5, "cells_published": 5}) is None  # a run before they were counted


# 25 people started a visit at 09:00, 3 of them passed by (a cell of 3 people), 22 stayed
# 39,601 seconds in all (whole seconds, as dwell is): the mean is 39601 / 22 / 60 minutes.
HIDDEN_PASSERS = (40, 25, 3, 30.0, 39601 / 22 / 60, 3, 0, 22, 0, 22, 25, 3, 22, 3, 0, 22, 0, 1, 1801)
HOUR_KEYS = [*DAY_KEYS, C.HOUR_START]


def test_dwell_statistics_need_the_histogram_or_the_mean_gives_the_stays_away(spark):
    got = _hours(spark, {("Z", 9): HIDDEN_PASSERS}).transform(suppress_visit_primary, K, SHARE)
    row = got.first()
    assert (row[C.VISITS], row[C.PASSERSBY], row[C.DWELL_MEDIAN_MIN], row[C.DWELL_MEAN_MIN]) == (25, None, None, None)
    assert _withheld(got) == {("Z", 9): "histogram_primary"}
    assert denominator_exposures(_published(got), HOUR_KEYS, K) == []


def test_negative_control_a_mean_beside_a_withheld_histogram_gives_the_pass_bys(spark):
    # As published before the fix: the histogram withheld, the dwell statistics shown. 60 x n x
    # mean = 39601 n / 22 is whole first at n = 22 (39601 = 22 x 1800 + 1): 22 stays, 3 pass-bys.
    cell = _hours(spark, {("Z", 9): HIDDEN_PASSERS}).drop(*PRIVATE).toPandas()
    cell[[C.PASSERSBY, C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60, C.DWELL_60PLUS]] = None
    [(_, what, metric, value)] = denominator_exposures(cell, HOUR_KEYS, K)
    assert (what, metric, value) == ("denominator", "passersby", 3)


def _stays(visitors: int, stays: int, stayers: int, dwell_s: list[int], top_stays: int, top_dwell_s: int) -> tuple:
    """A cell of stays only (no pass-bys), all of 15 to 60 minutes or all of 60 or more."""
    ordered = sorted(dwell_s)
    median = (ordered[(stays - 1) // 2] + ordered[stays // 2]) / 2 / 60
    long = ordered[0] >= 3600
    bins = (0, 0, 0, stays) if long else (0, 0, stays, 0)
    people = (0, 0, 0, stayers) if long else (0, 0, stayers, 0)
    return (visitors, stays, 0, median, sum(dwell_s) / stays / 60, *bins, stays, stayers, 0, stayers, *people,
            top_stays, top_dwell_s)


def test_one_subscriber_dominating_the_stays_or_the_dwell_withholds_the_dwell_statistics(spark):
    days = {
        # 20 stayers, 59 stays: 40 of them one person's (47 minutes each), 19 of 30 minutes:
        # the median, 47, is that person's stay
        "A": _stays(25, 59, 20, [2820] * 40 + [1800] * 19, 40, 40 * 2820),
        # 38 stays of 20 people: one made 19 of 59 minutes (half the stays, not more), 19 one of
        # 15: 67,260 of 84,360 seconds
        "B": _stays(25, 38, 20, [3540] * 19 + [900] * 19, 19, 19 * 3540),
        # 40 stays of 20 people, one holds exactly half (20 stays of 30 minutes): not more than half
        "C": _stays(25, 40, 20, [1800] * 40, 20, 36000),
    }
    rows = [("s", z, DAY, *m[:9], *(None,) * 6, *m[9:]) for z, m in days.items()]
    cells = spark.createDataFrame(rows, _schema(ZONE_DAILY_TOTAL)).transform(suppress_primary, K)
    got = {r[C.ZONE_ID]: (r[C.VISITS], r[C.DWELL_15_60], r[C.DWELL_MEDIAN_MIN], r[C.DWELL_MEAN_MIN], r["_why_dwell"])
           for r in cells.transform(suppress_visit_primary, K, SHARE).collect()}
    assert got == {"A": (59, 59, None, None, "dwell_dominance"), "B": (38, 38, None, None, "dwell_dominance"),
                   "C": (40, 40, 30.0, 30.0, None)}
    # Negative control: without the rule A publishes the dominating person's 47 minutes as median.
    no_rule = cells.transform(suppress_visit_primary, K, 1.0).where(F.col(C.ZONE_ID) == "A").first()
    assert no_rule[C.DWELL_MEDIAN_MIN] == 47.0


def _day_dwell_carried_over(spark, previous_showed: bool):
    """Zone Z's day with its dwell statistics withheld against the replaced release (or not),
    and its three hours, all showing them."""
    metrics = [_metrics(40), _metrics(30), _metrics(25)]
    hours = _hours(spark, {("Z", h + 1): m for h, m in enumerate(metrics)}).transform(suppress_visit_primary, K, SHARE)
    day = _day_totals(spark, {"Z": _summed(metrics)}).transform(suppress_visit_primary, K, SHARE).transform(
        carry_over, {"visits": F.lit(True), "histogram": F.lit(True), "dwell": F.lit(previous_showed)})
    return hours, day


def test_the_hours_cannot_rebuild_a_day_that_hides_its_dwell(spark):
    # The replaced release withheld the day's dwell statistics; all three hours show theirs, so
    # their dwell sums (mean x stays: 1200 + 900 + 750 minutes) would rebuild it. The hour with
    # the fewest visits (3: 25) hides its statistics too.
    hours, day = _day_dwell_carried_over(spark, previous_showed=False)
    got = hours.transform(suppress_visit_secondary, day, DAY_KEYS, K, disjoint_people=False)
    assert _withheld(got) == {("Z", 3): "dwell_subtraction"}
    assert visit_exposures(_published(got), _published(day), DAY_KEYS, K) == []
    # negative control: the same hours before the rule rebuild the day's dwell sum, 2,850 minutes
    rebuilt = [f for f in visit_exposures(_published(hours), _published(day), DAY_KEYS, K) if f[1] == "rebuilt"]
    assert [(m, v) for _, _, m, v in rebuilt] == [("dwell_sum", 2850.0)]
    # a day that shows them needs nothing more
    hours, day = _day_dwell_carried_over(spark, previous_showed=True)
    assert _withheld(hours.transform(suppress_visit_secondary, day, DAY_KEYS, K, disjoint_people=False)) == {}


def test_a_republish_carries_over_only_layers_the_new_cell_would_show(spark):
    # zone_hourly shows no visit metrics, so the old release's NULLs carry nothing over; an old
    # cell whose histogram said nobody stayed (20 pass-bys, no dwell statistics) showed them.
    keys = [*DAY_KEYS, C.HOUR_START, C.AGE_BAND, C.GENDER]
    cohort = spark.createDataFrame(
        [("s", "Z", DAY, dt.datetime(2026, 3, 14, 9, tzinfo=dt.UTC), 10, 60, "25-34", "F", *_metrics(40))],
        _schema(ZONE_HOURLY)).transform(suppress_primary, K).transform(without_visit_metrics)
    previous = cohort.select(*grid_cols(ZONE_HOURLY), C.STATUS)
    assert _withheld(suppress_against_release(cohort, previous, keys, K).drop(C.AGE_BAND, C.GENDER)) == {}
    old = _hours(spark, {("Z", 1): _metrics(0, passers=20, visitors=60)}).transform(suppress_visit_primary, K, SHARE)
    assert old.first()[C.DWELL_MEAN_MIN] is None and old.first()[C.PASSERSBY] == 20
    now = _hours(spark, {("Z", 1): _metrics(25, passers=20, visitors=60)}).transform(suppress_visit_primary, K, SHARE)
    got = suppress_against_release(now, old.select(*grid_cols(ZONE_HOURLY_TOTAL), C.STATUS), HOUR_KEYS, K)
    assert _withheld(got) == {} and got.first()[C.DWELL_MEAN_MIN] == 30.0
