"""Differential privacy mode: config, budget plan, contribution bounding, noise scale, CHECK constraint.

The noise tests are statistical. PyDP's Laplace mechanism draws from a secure generator that
cannot be seeded, so they use enough cells that each band is about 5 standard errors wide (a
correct mechanism fails a check with probability about 1e-6), and the scale band is shown to
reject a scale 25% off (a test that cannot fail is a defect).
"""

import datetime as dt
import math
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from footfall.config import EPSILON_MAX, MODE_DP, MODE_SUPPRESS, load_config
from footfall.errors import ConfigError
from footfall.privacy.dp import (
    BUDGET_SHARES,
    NOISY_METRICS,
    Bounds,
    Release,
    add_noise,
    bound_days,
    plan_budget,
    sample_zone_hours,
)
from footfall.schemas import STATUS_DP, STATUS_PUBLISHED, ZONE_DAILY, ZONE_HOURLY, ZONE_HOURLY_TOTAL, C
from footfall.tables import ensure_tables, replace_partition

CONF = Path(__file__).resolve().parents[2] / "conf"
DAY = dt.date(2026, 6, 7)  # no other test uses it


# --- config -----------------------------------------------------------------------------------

def test_privacy_mode_defaults_to_suppression_with_epsilon_1():
    cfg = load_config("local", CONF)
    assert (cfg.privacy.mode, cfg.privacy.epsilon) == (MODE_SUPPRESS, 1.0)
    dp = load_config("local", CONF, {"privacy.mode": "dp", "privacy.epsilon": 0.5})
    assert (dp.privacy.mode, dp.privacy.epsilon) == (MODE_DP, 0.5)
    assert load_config("local", CONF, {"privacy.epsilon": 2}).privacy.epsilon == 2  # an integer is a number
    assert load_config("local", CONF, {"privacy.epsilon": EPSILON_MAX}).privacy.epsilon == EPSILON_MAX


@pytest.mark.parametrize(("key", "value", "message"), [
    ("privacy.mode", "noise", r"privacy\.mode.*'noise'.*one of suppress, dp"),
    ("privacy.mode", "DP", r"privacy\.mode.*'DP'.*one of suppress, dp"),
    ("privacy.epsilon", 0, r"privacy\.epsilon.*0.*> 0 and <= 10"),
    ("privacy.epsilon", -1.0, r"privacy\.epsilon.*-1\.0.*> 0 and <= 10"),
    ("privacy.epsilon", 10.5, r"privacy\.epsilon.*10\.5.*> 0 and <= 10"),
    ("privacy.epsilon", float("nan"), r"privacy\.epsilon.*nan"),
    ("privacy.epsilon", "1.0", r"privacy\.epsilon.*'1\.0'.*expected <class 'float'>"),
    ("privacy.epsilon", True, r"privacy\.epsilon.*True"),
])
def test_bad_privacy_mode_or_epsilon_is_refused(key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config("local", CONF, {key: value})


# --- budget plan ------------------------------------------------------------------------------

def test_budget_shares_cover_every_published_table_and_sum_to_one():
    assert math.isclose(sum(share for _, _, share in BUDGET_SHARES), 1.0)
    assert {(t.name, m) for t, m, _ in BUDGET_SHARES} == {
        (t.name, m) for t in (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY) for m in NOISY_METRICS
    }


def test_budget_plan_splits_epsilon_over_zone_sets_and_releases_with_derived_sensitivities():
    bounds = Bounds(max_zone_hours=12, max_visits_per_zone_hour=2, max_zones=4, max_visits_per_zone_day=4)
    plan = plan_budget(1.0, 2, bounds)  # two zone sets: 0.5 each
    got = {(r.table.name, r.metric): (r.epsilon, r.l1_sensitivity, r.scale) for r in plan}
    expected = {
        # share x 0.5, L0 x Linf, b = L1 / epsilon
        (ZONE_HOURLY.name, C.VISITORS): (0.15, 12, 80.0),
        (ZONE_HOURLY.name, C.VISITS): (0.05, 24, 480.0),
        (ZONE_HOURLY_TOTAL.name, C.VISITORS): (0.10, 12, 120.0),
        (ZONE_HOURLY_TOTAL.name, C.VISITS): (0.05, 24, 480.0),
        (ZONE_DAILY.name, C.VISITORS): (0.10, 4, 40.0),
        (ZONE_DAILY.name, C.VISITS): (0.05, 16, 320.0),
    }
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values), key
    assert sum(r.epsilon for r in plan) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="zone_sets >= 1"):
        plan_budget(1.0, 0, bounds)


# --- contribution bounding --------------------------------------------------------------------

def _t(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 6, 7, hour, minute)


def test_sample_zone_hours_keeps_at_most_l0_cells_per_subscriber_whole(spark):
    # A is in 5 (zone, hour) cells (two rows in z1 hour 8: two visits), B in 1, all of one zone set.
    rows = [("s", "z1", "A", _t(8), 1), ("s", "z1", "A", _t(8), 2), ("s", "z1", "A", _t(9), 3),
            ("s", "z2", "A", _t(8), 4), ("s", "z2", "A", _t(10), 5), ("s", "z3", "A", _t(11), 6),
            ("s", "z1", "B", _t(8), 7)]
    visit_hours = spark.createDataFrame(
        rows, f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.HOUR_START} timestamp, row int"
    )
    kept = sample_zone_hours(visit_hours, 2)
    cells = {(r[C.PSEUDO_ID], r[C.ZONE_ID], r[C.HOUR_START]) for r in kept.collect()}
    assert sum(1 for c in cells if c[0] == "A") == 2
    assert ("B", "z1", _t(8)) in cells
    # a kept cell keeps all of its rows
    for pid, zone, hour in cells:
        expected = {r[4] for r in rows if (r[2], r[1], r[3]) == (pid, zone, hour)}
        assert {r["row"] for r in kept.collect() if (r[C.PSEUDO_ID], r[C.ZONE_ID], r[C.HOUR_START]) ==
                (pid, zone, hour)} == expected
    # reproducible: a recomputed day keeps the same cells
    assert_df_equality(kept, sample_zone_hours(visit_hours, 2), ignore_row_order=True)
    # with a bound above everyone's cell count nothing is dropped
    assert sample_zone_hours(visit_hours, 5).count() == len(rows)


def test_bound_days_keeps_at_most_max_zones_and_the_earliest_counted_visits(spark):
    # A: 6 visits in z1 (the 2nd not counted by the per-hour cap), one in each of z2..z5.
    z1 = [("z1", _t(8, 2 * i), i != 1) for i in range(6)]
    others = [(f"z{i}", _t(12), True) for i in range(2, 6)]
    rows = [("s", zone, "A", start, start + dt.timedelta(minutes=1), counted) for zone, start, counted in z1 + others]
    rows.append(("s", "z1", "B", _t(9), _t(9, 1), True))
    visits = spark.createDataFrame(
        rows, f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.VISIT_START} timestamp, "
              f"{C.VISIT_END} timestamp, _counted boolean"
    )
    kept = bound_days(visits, 4, 3).collect()
    a = [r for r in kept if r[C.PSEUDO_ID] == "A"]
    assert len({r[C.ZONE_ID] for r in a}) == 4
    assert all(r["_counted"] for r in kept)
    z1_starts = sorted(r[C.VISIT_START] for r in a if r[C.ZONE_ID] == "z1")
    if z1_starts:  # z1 may be the zone A's hash order drops; if kept, its 3 earliest counted visits
        assert z1_starts == [_t(8, 0), _t(8, 4), _t(8, 6)]
    assert [(r[C.ZONE_ID], r[C.VISIT_START]) for r in kept if r[C.PSEUDO_ID] == "B"] == [("z1", _t(9))]
    # the bound is on zones: with room for all five, A keeps z1 with 3 visits and one in each other zone
    all_zones = [r for r in bound_days(visits, 5, 3).collect() if r[C.PSEUDO_ID] == "A"]
    assert sorted(r[C.ZONE_ID] for r in all_zones) == ["z1", "z1", "z1", "z2", "z3", "z4", "z5"]


# --- noise ------------------------------------------------------------------------------------

N_CELLS = 4000
TRUE_VISITORS = 1000  # far from 0: clamping never touches these (P ~ e^-16)


def _exact_totals(spark, n: int, visitors: int, visits: int):
    """n zone_hourly_total cells with known exact counts and non-NULL dwell metrics."""
    rows = [("ut_dp", f"z{i}", DAY, _t(8), 10, 120, visitors, visits, 3, 12.0, 13.0, 1, 2, 3, 4) for i in range(n)]
    return spark.createDataFrame(rows, [c for c in ZONE_HOURLY_TOTAL.names if c != C.STATUS])


def _within(estimate: float, expected: float, rel: float) -> bool:
    return abs(estimate / expected - 1) <= rel


@pytest.fixture(scope="module")
def noisy_totals(spark):
    """The production plan for one zone set at epsilon 1: visitors b = 12 / 0.2 = 60, visits
    b = 24 / 0.1 = 240; visitors of 1000 measure the scale, visits of 0 the clamping."""
    plan = plan_budget(1.0, 1, Bounds())
    noisy = add_noise(_exact_totals(spark, N_CELLS, TRUE_VISITORS, 0), ZONE_HOURLY_TOTAL, plan)
    releases = {r.metric: r for r in plan if r.table is ZONE_HOURLY_TOTAL}
    return noisy.collect(), releases


def test_noisy_cells_are_status_dp_integers_with_every_other_metric_null(noisy_totals):
    rows, _ = noisy_totals
    assert len(rows) == N_CELLS
    assert {r[C.STATUS] for r in rows} == {STATUS_DP}
    others = (C.PASSERSBY, C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN, C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60,
              C.DWELL_60PLUS)
    assert all(r[c] is None for r in rows for c in others)
    assert all(isinstance(r[C.VISITORS], int) and isinstance(r[C.VISITS], int) for r in rows)
    assert min(r[C.VISITS] for r in rows) == 0  # clamped, never negative
    # the exact count is not what is published: with b = 60 at most a few cells land on it exactly
    assert sum(r[C.VISITORS] == TRUE_VISITORS for r in rows) < 0.02 * N_CELLS


def test_noise_scale_matches_epsilon_and_sensitivity(noisy_totals):
    rows, releases = noisy_totals
    b = releases[C.VISITORS].scale
    assert b == pytest.approx(60.0)
    noise = [r[C.VISITORS] - TRUE_VISITORS for r in rows]
    # |Laplace(b)| is exponential with mean b and sd b: the mean absolute noise estimates b with a
    # standard error of b / sqrt(4000) = 1.6%; the band of 8% is 5 standard errors.
    mean_abs = sum(abs(x) for x in noise) / len(noise)
    assert _within(mean_abs, b, 0.08), (mean_abs, b)
    # the variance 2 b^2 (standard error 3.5% for Laplace's kurtosis 6; band 20% = 5.7 se)
    mean = sum(noise) / len(noise)
    variance = sum((x - mean) ** 2 for x in noise) / (len(noise) - 1)
    assert _within(variance, 2 * b * b, 0.20), (variance, 2 * b * b)
    # centred: the mean noise has standard error sqrt(2) b / sqrt(4000) = 1.3 at b = 60
    assert abs(mean) < 5 * math.sqrt(2) * b / math.sqrt(len(noise))
    # negative control: the same samples reject a scale 25% too large or too small, and the scale
    # of a release that forgot the L0 factor (sensitivity 1 instead of 12)
    for wrong in (1.25 * b, b / 1.25, 1 / releases[C.VISITORS].epsilon):
        assert not _within(mean_abs, wrong, 0.08), wrong


def test_clamping_at_zero_matches_the_laplace_probability(noisy_totals):
    rows, releases = noisy_totals
    b = releases[C.VISITS].scale  # 240
    # a true 0 is published as 0 when the noise rounds to <= 0: P = 1 - e^(-0.5/b) / 2
    expected = 1 - math.exp(-0.5 / b) / 2
    zeros = sum(r[C.VISITS] == 0 for r in rows) / len(rows)
    assert abs(zeros - expected) < 5 * math.sqrt(0.25 / len(rows)), (zeros, expected)
    # the positive side is unclamped Laplace: mean of the positive values is about b
    positive = [r[C.VISITS] for r in rows if r[C.VISITS] > 0]
    assert _within(sum(positive) / len(positive), b, 0.12)


def test_add_noise_needs_a_release_for_each_noisy_metric(spark):
    only_visitors = [Release(ZONE_HOURLY_TOTAL, C.VISITORS, 0.1, 12.0, "")]
    with pytest.raises(ValueError, match="a release per noisy metric"):
        add_noise(_exact_totals(spark, 1, 10, 1), ZONE_HOURLY_TOTAL, only_visitors)


# --- the CHECK constraint -----------------------------------------------------------------------

def _total_row(visitors: int | None, status: str) -> tuple:
    metrics = (visitors, 1, None, None, None, None, None, None, None)
    return ("ut_dp", "z1", DAY, _t(8), 10, 120, *metrics, status)


def test_floor_constraint_admits_small_noisy_counts_and_still_rejects_small_exact_ones(spark):
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))
    keys = {C.EVENT_DATE: DAY, C.ZONE_SET: "ut_dp"}
    replace_partition(spark.createDataFrame([_total_row(3, STATUS_DP)], ZONE_HOURLY_TOTAL.struct),
                      ZONE_HOURLY_TOTAL, keys)
    mine = spark.table(ZONE_HOURLY_TOTAL.name).where(
        (F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == "ut_dp")
    )
    assert [(r[C.VISITORS], r[C.STATUS]) for r in mine.collect()] == [(3, STATUS_DP)]
    with pytest.raises(Exception, match=r"(?i)CHECK constraint.*visitors_at_least_floor"):
        replace_partition(spark.createDataFrame([_total_row(3, STATUS_PUBLISHED)], ZONE_HOURLY_TOTAL.struct),
                          ZONE_HOURLY_TOTAL, keys)
    assert [(r[C.VISITORS], r[C.STATUS]) for r in mine.collect()] == [(3, STATUS_DP)]  # nothing changed
    replace_partition(spark.createDataFrame([], ZONE_HOURLY_TOTAL.struct), ZONE_HOURLY_TOTAL, keys)
    assert mine.count() == 0
