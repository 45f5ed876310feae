"""Population estimates (footfall.pipeline.estimate) on hand-made numbers: the market-share
weights without Spark, visitors_est on tiny grids with chispa. Every expected value is derived
by hand in the comments (docs/definitions.md, "Population estimates", works the same example)."""

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from footfall.pipeline.estimate import WEEK, market_weights, with_visitors_est
from footfall.schemas import (
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_HOURLY,
    ZONE_WEEKLY,
    ZONE_WEEKLY_CATCHMENT,
    ZONE_WEEKLY_MARGINS,
    ZONE_WEEKLY_TOTAL,
    C,
)

# Residents of two districts, one age band. P = 1000.
POPULATION = {("01", "18-24", "F"): 100, ("01", "18-24", "M"): 300,
              ("02", "18-24", "F"): 200, ("02", "18-24", "M"): 400}
# Included subscribers, N = 20. With k = 2, (01, M) has too few to be resolved; the last two
# strata have an unknown attribute.
COUNTS = {("01", "18-24", "F"): 4, ("01", "18-24", "M"): 1, ("02", "18-24", "F"): 2, ("02", "18-24", "M"): 5,
          ("unknown", "18-24", "F"): 3, ("01", "unknown", "unknown"): 5}
# Resolved: (01,F) 4 of 100, (02,F) 2 of 200, (02,M) 5 of 400: N_R = 11, P_R = 700, rho = 11/20.
# Their weights: 0.55 * 100/4 = 13.75, 0.55 * 200/2 = 55, 0.55 * 400/5 = 44. The 9 others:
# (1000 - 0.55 * 700) / (20 - 11) = 615 / 9 each. Sum: 55 + 110 + 220 + 615 = 1000 residents.
REST = 615 / 9


def _weights() -> dict[tuple[str, str, str], tuple[int | None, int | None, float]]:
    rows = market_weights(COUNTS, POPULATION, k=2)
    found = {(h, a, g): (p, n, w) for h, a, g, p, n, w in rows}
    assert len(found) == len(rows)
    return found


def test_each_resolved_stratum_stands_for_its_share_of_the_residents():
    w = _weights()
    assert w[("01", "18-24", "F")] == (100, 4, pytest.approx(13.75))
    assert w[("02", "18-24", "F")] == (200, 2, pytest.approx(55.0))
    assert w[("02", "18-24", "M")] == (400, 5, pytest.approx(44.0))


def test_the_others_share_the_residents_left_and_small_counts_are_not_shown():
    w = _weights()
    assert w[("01", "18-24", "M")] == (300, None, pytest.approx(REST))  # 1 subscriber < k: not shown
    assert w[("unknown", "18-24", "F")] == (None, 3, pytest.approx(REST))  # no residents known for unknown
    assert w[("01", "unknown", "unknown")] == (None, 5, pytest.approx(REST))


def test_a_group_weighs_the_mean_of_its_subscribers():
    w = _weights()
    assert w[("all", "all", "all")] == (1000, 20, pytest.approx(50.0))  # all weights add up to P = 1000
    assert w[("01", "all", "all")] == (400, 10, pytest.approx((55 + REST + 5 * REST) / 10))  # 46.5
    assert w[("02", "all", "all")] == (600, 7, pytest.approx(330 / 7))
    assert w[("all", "18-24", "F")] == (300, 9, pytest.approx((55 + 110 + 3 * REST) / 9))
    assert w[("all", "18-24", "M")] == (700, 6, pytest.approx((REST + 220) / 6))
    assert w[("all", "unknown", "unknown")] == (None, 5, pytest.approx(REST))


def test_only_groups_with_subscribers_get_a_row():
    # by home: 01 has 9 non-empty (age, gender) groups, 02 six, unknown four, all nine
    assert len(market_weights(COUNTS, POPULATION, k=2)) == 28
    # shown from k = 6 on: all 20, 18-24 15, 01 10, F 9, 02 7, M 6 (and their repeats)
    assert {r[4] for r in market_weights(COUNTS, POPULATION, k=6)} == {None, 20, 15, 10, 9, 7, 6}


def test_no_residents_or_no_subscribers_publish_no_weights():
    assert market_weights(COUNTS, {}, k=2) == []
    assert market_weights({}, POPULATION, k=2) == []


DAY = dt.date(2026, 3, 14)
WEIGHT_ROWS = [  # (home, age band, gender, weight): hand-picked, not market_weights'
    ("all", "all", "all", 50.0), ("01", "all", "all", 40.0), ("02", "all", "all", 60.0),
    ("unknown", "all", "all", 70.0), ("all", "18-24", "F", 30.0), ("01", "18-24", "F", 20.0),
    ("02", "18-24", "F", 45.0), ("all", "18-24", "all", 35.0),
]
_KEYS = [StructField(C.ZONE_SET, StringType()), StructField(C.ZONE_ID, StringType()),
         StructField(C.EVENT_DATE, StringType())]
_COHORT = [StructField(C.AGE_BAND, StringType()), StructField(C.GENDER, StringType())]
_COUNT = [StructField(C.VISITORS, LongType()), StructField(C.STATUS, StringType())]


def _frame(spark, fields, rows):
    return spark.createDataFrame(rows, StructType(fields))


def _with_est(fields, rows):
    return StructType([*fields, StructField(C.VISITORS_EST, DoubleType())]), rows


def _grids(spark):
    d = str(DAY)
    # z1: day total 100 published; catchment 01: 50 and 02: 30 published, unknown withheld.
    # z2: day total withheld.
    return {
        ZONE_DAILY_TOTAL: _frame(spark, _KEYS + _COUNT, [("s", "z1", d, 100, "published"),
                                                         ("s", "z2", d, 10, "primary")]),
        ZONE_CATCHMENT: _frame(spark, [*_KEYS, StructField(C.HOME_DISTRICT, StringType()), *_COUNT],
                               [("s", "z1", d, "01", 50, "published"), ("s", "z1", d, "02", 30, "published"),
                                ("s", "z1", d, "unknown", 20, "primary")]),
        ZONE_DAILY: _frame(spark, _KEYS + _COHORT + _COUNT,
                           [("s", "z1", d, "18-24", "F", 25, "published"),
                            ("s", "z2", d, "18-24", "F", 22, "published"),
                            ("s", "z1", d, "25-34", "M", 21, "published"),
                            ("s", "z1", d, "18-24", "M", 3, "primary")]),
        ZONE_DAILY_MARGINS: _frame(spark, _KEYS + _COHORT + _COUNT, [("s", "z1", d, "18-24", "all", 40, "linked")]),
    }


def test_cells_scale_by_their_group_mixed_over_the_published_catchment(spark):
    out = with_visitors_est(_grids(spark), spark.createDataFrame(
        WEIGHT_ROWS, "home_district string, age_band string, gender string, weight double"))
    d = str(DAY)
    expected = {
        # z1's mix: 01 holds 50/100, 02 30/100, the withheld rest 20/100 weighs w(all):
        # all: 50 + 0.5 (40 - 50) + 0.3 (60 - 50) = 48 -> 100 * 48 = 4800; z2's total is withheld.
        ZONE_DAILY_TOTAL: _with_est(_KEYS + _COUNT, [("s", "z1", d, 100, "published", 4800.0),
                                                     ("s", "z2", d, 10, "primary", None)]),
        # a catchment row scales by its own district's weight: 50 * 40, 30 * 60
        ZONE_CATCHMENT: _with_est([*_KEYS, StructField(C.HOME_DISTRICT, StringType()), *_COUNT],
                                  [("s", "z1", d, "01", 50, "published", 2000.0),
                                   ("s", "z1", d, "02", 30, "published", 1800.0),
                                   ("s", "z1", d, "unknown", 20, "primary", None)]),
        # 18-24 F in z1: 30 + 0.5 (20 - 30) + 0.3 (45 - 30) = 29.5 -> 25 * 29.5 = 737.5;
        # in z2 (no published total): w(all) = 30 -> 660; 25-34 M has no weight: NULL.
        ZONE_DAILY: _with_est(_KEYS + _COHORT + _COUNT, [
            ("s", "z1", d, "18-24", "F", 25, "published", 737.5), ("s", "z2", d, "18-24", "F", 22, "published", 660.0),
            ("s", "z1", d, "25-34", "M", 21, "published", None), ("s", "z1", d, "18-24", "M", 3, "primary", None)]),
        # a withheld margin gets no estimate
        ZONE_DAILY_MARGINS: _with_est(_KEYS + _COHORT + _COUNT, [("s", "z1", d, "18-24", "all", 40, "linked", None)]),
    }
    for table, (schema, rows) in expected.items():
        assert_df_equality(out[table], spark.createDataFrame(rows, schema), ignore_row_order=True,
                           ignore_nullable=True)


def test_the_margin_of_an_age_band_mixes_like_a_cohort(spark):
    grids = _grids(spark)
    grids[ZONE_DAILY_MARGINS] = _frame(spark, _KEYS + _COHORT + _COUNT,
                                       [("s", "z1", str(DAY), "18-24", "all", 40, "published")])
    out = with_visitors_est(grids, spark.createDataFrame(
        WEIGHT_ROWS, "home_district string, age_band string, gender string, weight double"))
    # (18-24, all): w(all) 35, no district weights of the group: 35 + 0.5 * 0 + 0.3 * 0 -> 40 * 35
    assert out[ZONE_DAILY_MARGINS].first()[C.VISITORS_EST] == 1400.0


def test_a_release_without_catchment_scales_by_the_all_districts_weight(spark):
    # dp mode: three noisy grids, no catchment and no day total
    hourly = _frame(spark, _KEYS + _COHORT + _COUNT, [("s", "z1", str(DAY), "18-24", "F", 25, "dp")])
    out = with_visitors_est({ZONE_HOURLY: hourly}, spark.createDataFrame(
        WEIGHT_ROWS, "home_district string, age_band string, gender string, weight double"))
    assert out[ZONE_HOURLY].first()[C.VISITORS_EST] == 750.0  # 25 * w(all, 18-24, F) = 25 * 30


def test_without_weights_there_is_no_estimate(spark):
    out = with_visitors_est(_grids(spark), spark.createDataFrame(
        [], "home_district string, age_band string, gender string, weight double"))
    assert {r[C.VISITORS_EST] for table in out for r in out[table].collect()} == {None}


def test_a_withheld_cell_changes_no_estimate(spark):
    """The estimates are functions of published cells: the hidden values of withheld ones (the
    unknown-home catchment row, z2's day total) can be anything without changing an estimate."""
    weights = spark.createDataFrame(WEIGHT_ROWS, "home_district string, age_band string, gender string, weight double")
    grids = _grids(spark)
    changed = dict(grids)
    d = str(DAY)
    changed[ZONE_DAILY_TOTAL] = _frame(spark, _KEYS + _COUNT, [("s", "z1", d, 100, "published"),
                                                               ("s", "z2", d, 99, "primary")])
    changed[ZONE_CATCHMENT] = _frame(spark, [*_KEYS, StructField(C.HOME_DISTRICT, StringType()), *_COUNT],
                                     [("s", "z1", d, "01", 50, "published"), ("s", "z1", d, "02", 30, "published"),
                                      ("s", "z1", d, "unknown", 5, "primary")])
    before, after = with_visitors_est(grids, weights), with_visitors_est(changed, weights)
    for table in (ZONE_DAILY, ZONE_DAILY_MARGINS):
        assert_df_equality(before[table], after[table], ignore_row_order=True)
    assert {r[C.VISITORS_EST] for r in after[ZONE_DAILY_TOTAL].collect()} == {4800.0, None}


def test_a_week_scales_by_its_own_catchment_and_total(spark):
    """The week's release (compute-week) mixes over the week's published catchment and total,
    keyed by week_start."""
    monday = str(dt.date(2026, 3, 9))
    keys = [*_KEYS[:2], StructField(C.WEEK_START, StringType())]
    home = [StructField(C.HOME_DISTRICT, StringType())]
    grids = {
        ZONE_WEEKLY_TOTAL: _frame(spark, keys + _COUNT, [("s", "z1", monday, 200, "published"),
                                                         ("s", "z2", monday, 12, "primary")]),
        ZONE_WEEKLY_CATCHMENT: _frame(spark, keys + home + _COUNT, [("s", "z1", monday, "01", 120, "published"),
                                                                   ("s", "z1", monday, "02", 80, "published")]),
        ZONE_WEEKLY: _frame(spark, keys + _COHORT + _COUNT, [("s", "z1", monday, "18-24", "F", 30, "published"),
                                                             ("s", "z2", monday, "18-24", "F", 25, "published"),
                                                             ("s", "z1", monday, "25-34", "F", 4, "primary")]),
        ZONE_WEEKLY_MARGINS: _frame(spark, keys + _COHORT + _COUNT, [("s", "z1", monday, "18-24", "all", 50,
                                                                      "published")]),
    }
    out = with_visitors_est(grids, spark.createDataFrame(
        WEIGHT_ROWS, "home_district string, age_band string, gender string, weight double"), WEEK)
    expected = {
        # z1's week: 01 holds 120/200 = 0.6, 02 80/200 = 0.4 of the total.
        # all: 50 + 0.6 (40 - 50) + 0.4 (60 - 50) = 48 -> 200 * 48 = 9600; z2's total withheld.
        ZONE_WEEKLY_TOTAL: _with_est(keys + _COUNT, [("s", "z1", monday, 200, "published", 9600.0),
                                                     ("s", "z2", monday, 12, "primary", None)]),
        # each catchment row by its own district's weight: 120 * 40, 80 * 60
        ZONE_WEEKLY_CATCHMENT: _with_est(keys + home + _COUNT, [("s", "z1", monday, "01", 120, "published", 4800.0),
                                                                ("s", "z1", monday, "02", 80, "published", 4800.0)]),
        # 18-24 F in z1: 30 + 0.6 (20 - 30) + 0.4 (45 - 30) = 30 -> 30 * 30 = 900; in z2 (total
        # withheld): w(all, 18-24, F) = 30 -> 25 * 30 = 750; the withheld cell: NULL.
        ZONE_WEEKLY: _with_est(keys + _COHORT + _COUNT, [
            ("s", "z1", monday, "18-24", "F", 30, "published", 900.0),
            ("s", "z2", monday, "18-24", "F", 25, "published", 750.0),
            ("s", "z1", monday, "25-34", "F", 4, "primary", None)]),
        # (18-24, all): w 35 and no district weight of the group -> 50 * 35
        ZONE_WEEKLY_MARGINS: _with_est(keys + _COHORT + _COUNT, [("s", "z1", monday, "18-24", "all", 50, "published",
                                                                  1750.0)]),
    }
    for table, (schema, rows) in expected.items():
        assert_df_equality(out[table], spark.createDataFrame(rows, schema), ignore_row_order=True,
                           ignore_nullable=True)
