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
from support import raises_check_violation

from footfall.config import EPSILON_MAX, MODE_DP, MODE_SUPPRESS, load_config
from footfall.errors import ConfigError, ReleaseRefusedError
from footfall.privacy.dp import (
    BUDGET_SHARES,
    Bounds,
    Release,
    add_noise,
    bound_days,
    check_budget,
    plan_budget,
    sample_zone_hours,
)
from footfall.schemas import (
    NOISY_METRICS,
    PRIVACY_BUDGET,
    STATUS_DP,
    STATUS_PUBLISHED,
    ZONE_DAILY,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
    grid_cols,
)
from footfall.tables import append, ensure_tables, replace_partition

CONF = Path(__file__).resolve().parents[2] / "conf"
DAY = dt.date(2026, 6, 7)
ZONE_SET = "ut_dp"


# --- config -----------------------------------------------------------------------------------

def test_privacy_mode_defaults_to_suppression_with_epsilon_1():
    cfg = load_config("local", CONF)
    assert (cfg.privacy.mode, cfg.privacy.epsilon) == (MODE_SUPPRESS, 1.0)
    dp = load_config("local", CONF, {"privacy.mode": "dp", "privacy.epsilon": 0.5})
    assert (dp.privacy.mode, dp.privacy.epsilon) == (MODE_DP, 0.5)
    assert load_config("local", CONF, {"privacy.epsilon": 2}).privacy.epsilon == 2  # an integer is a number
    assert load_config("local", CONF, {"privacy.epsilon": EPSILON_MAX, "privacy.epsilon_period": 70.0}
                       ).privacy.epsilon == EPSILON_MAX


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


def test_the_period_budget_is_7_per_7_days_by_default_and_at_least_a_day():
    cfg = load_config("local", CONF)
    assert (cfg.privacy.period_days, cfg.privacy.epsilon_period) == (7, 7.0)
    with pytest.raises(ConfigError, match=r"^privacy.epsilon_period \(0.5\) is below privacy.epsilon \(1\): not even "
                                          r"one day could be released in dp mode"):
        load_config("local", CONF, {"privacy.epsilon_period": 0.5})
    with pytest.raises(ConfigError, match=r"^privacy.epsilon_period \(7\) is below privacy.epsilon \(10\)"):
        load_config("local", CONF, {"privacy.epsilon": 10.0})
    with pytest.raises(ConfigError, match=r"privacy\.period_days.*0.*days between 1 and 366"):
        load_config("local", CONF, {"privacy.period_days": 0})


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


VISIT_HOURS = f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.HOUR_START} timestamp, row int"
VISITS_SCHEMA = (f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.VISIT_START} timestamp, "
                 f"{C.VISIT_END} timestamp, _counted boolean")


def assert_same_rows(df, expected):
    """Equal as multisets of rows, whatever the row and column order."""
    assert_df_equality(df, expected, ignore_row_order=True, ignore_column_order=True, ignore_nullable=True)


def _smallest_hashes(spark, cells: list[tuple], n: int) -> list[tuple]:
    """The rule footfall.privacy.dp documents, applied directly with Spark's xxhash64: of one
    subscriber's cells (each a tuple of pseudo_id and the cell's keys), the n with the smallest
    hash of the tuple, ties broken by the keys."""
    names = [f"k{i}" for i in range(len(cells[0]))]
    hashed = spark.createDataFrame(cells, names).select(*names, F.xxhash64(*names).alias("h")).collect()
    return [tuple(r[c] for c in names) for r in sorted(hashed, key=lambda r: (r["h"], *[r[c] for c in names[1:]]))][:n]


def test_sample_zone_hours_keeps_at_most_l0_cells_per_subscriber_whole(spark):
    # A is in 5 (zone, hour) cells (two rows in z1 hour 8: two visits), B in 1, all of one zone set.
    rows = [("s", "z1", "A", _t(8), 1), ("s", "z1", "A", _t(8), 2), ("s", "z1", "A", _t(9), 3),
            ("s", "z2", "A", _t(8), 4), ("s", "z2", "A", _t(10), 5), ("s", "z3", "A", _t(11), 6),
            ("s", "z1", "B", _t(8), 7)]
    visit_hours = spark.createDataFrame(rows, VISIT_HOURS)
    # L0 = 2: A keeps the 2 of its 5 cells with the smallest hash, each with all of its rows; B its one cell
    a_cells = sorted({(pid, zone, hour) for _, zone, pid, hour, _ in rows if pid == "A"})
    kept_cells = set(_smallest_hashes(spark, a_cells, 2)) | {("B", "z1", _t(8))}
    expected = spark.createDataFrame([r for r in rows if (r[2], r[1], r[3]) in kept_cells], VISIT_HOURS)
    assert_same_rows(sample_zone_hours(visit_hours, 2), expected)
    # The choice depends on A's own cells only: without B, and with the rows in another order
    # and partitioning (a recomputed day), A keeps the same cells.
    only_a = spark.createDataFrame([r for r in reversed(rows) if r[2] == "A"], VISIT_HOURS).repartition(3)
    assert_same_rows(sample_zone_hours(only_a, 2), expected.where(F.col(C.PSEUDO_ID) == "A"))
    # with a bound above everyone's cell count nothing is dropped
    assert_same_rows(sample_zone_hours(visit_hours, 5), visit_hours)


def _visit(zone: str, who: str, start: dt.datetime, counted: bool = True) -> tuple:
    return ("s", zone, who, start, start + dt.timedelta(minutes=1), counted)


# A: 6 visits in z1 at 8:00, 8:02, ... 8:10 (the one at 8:02 not counted by the per-hour cap),
# one at 12:00 in each of z2..z5; B: one visit in z1.
DAY_VISITS = [_visit("z1", "A", _t(8, 2 * i), i != 1) for i in range(6)] + [
    _visit(f"z{i}", "A", _t(12)) for i in range(2, 6)] + [_visit("z1", "B", _t(9))]
# With 3 visits a zone, A's z1 keeps 8:00, 8:04 and 8:06 (8:02 is not counted; 8:08 and 8:10
# would be the 4th and 5th); z2..z5 and B keep their one visit.
KEPT_3_A_ZONE = [_visit("z1", "A", _t(8, m)) for m in (0, 4, 6)] + [
    _visit(f"z{i}", "A", _t(12)) for i in range(2, 6)] + [_visit("z1", "B", _t(9))]


def test_bound_days_keeps_the_earliest_counted_visits_of_each_zone(spark):
    kept = bound_days(spark.createDataFrame(DAY_VISITS, VISITS_SCHEMA), 5, 3)  # room for all five zones
    assert_same_rows(kept, spark.createDataFrame(KEPT_3_A_ZONE, VISITS_SCHEMA))


def test_bound_days_keeps_at_most_max_zones_per_subscriber(spark):
    # max_zones = 4 of A's 5: the 4 with the smallest hash of (pseudo_id, zone), each with the
    # visits it keeps when there is room for all zones (above); B's one zone stays
    zones = {zone for _, zone in _smallest_hashes(spark, [("A", f"z{i}") for i in range(1, 6)], 4)}
    expected = [v for v in KEPT_3_A_ZONE if v[2] == "B" or v[1] in zones]
    kept = bound_days(spark.createDataFrame(DAY_VISITS, VISITS_SCHEMA), 4, 3)
    assert_same_rows(kept, spark.createDataFrame(expected, VISITS_SCHEMA))


# --- noise ------------------------------------------------------------------------------------

N_CELLS = 4000
TRUE_VISITORS = 1000  # far from 0: clamping never touches these (P ~ e^-16)


def _exact_totals(spark, n: int, visitors: int, visits: int):
    """n zone_hourly_total cells with known exact counts and non-NULL dwell metrics."""
    rows = [(ZONE_SET, f"z{i}", DAY, _t(8), 10, 120, visitors, visits, 3, 12.0, 13.0, 1, 2, 3, 4) for i in range(n)]
    return spark.createDataFrame(rows, grid_cols(ZONE_HOURLY_TOTAL))


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
    # a noisy visit count may be small; an exact one, as every other metric, is NULL here
    metrics = (visitors, None, 1 if status == STATUS_DP else None, None, None, None, None, None, None, None)
    return (ZONE_SET, "z1", DAY, _t(8), 10, 120, *metrics, status)


def test_floor_constraint_admits_small_noisy_counts_and_still_rejects_small_exact_ones(spark, claim):
    claim(days=[DAY], zone_sets=[ZONE_SET])
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))
    keys = {C.EVENT_DATE: DAY, C.ZONE_SET: ZONE_SET}
    replace_partition(spark.createDataFrame([_total_row(3, STATUS_DP)], ZONE_HOURLY_TOTAL.struct),
                      ZONE_HOURLY_TOTAL, keys)
    mine = spark.table(ZONE_HOURLY_TOTAL.name).where(
        (F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == ZONE_SET)
    )
    assert [(r[C.VISITORS], r[C.STATUS]) for r in mine.collect()] == [(3, STATUS_DP)]
    with raises_check_violation("visitors_at_least_floor"):
        replace_partition(spark.createDataFrame([_total_row(3, STATUS_PUBLISHED)], ZONE_HOURLY_TOTAL.struct),
                          ZONE_HOURLY_TOTAL, keys)
    assert [(r[C.VISITORS], r[C.STATUS]) for r in mine.collect()] == [(3, STATUS_DP)]  # nothing changed
    replace_partition(spark.createDataFrame([], ZONE_HOURLY_TOTAL.struct), ZONE_HOURLY_TOTAL, keys)
    assert mine.count() == 0


# --- budget ledger ----------------------------------------------------------------------------

def test_the_budget_refuses_a_second_release_of_a_zone_set_and_a_zone_set_beyond_the_day(spark, claim):
    """On a day whose ledger holds 0.5 for each of two zone sets (privacy.epsilon 1.0 split over
    two), a third zone set added to the catalogue would get 1/3: 0.5 + 0.5 + 1/3 = 1.333 > 1.0,
    refused; with a budget of 1.5 it fits (1.333 <= 1.5). A zone set with a spend of its own is
    refused whatever the budget left."""
    day, sets = dt.date(2026, 6, 8), ["ut_dp_a", "ut_dp_b", "ut_dp_c"]
    claim(days=[day], zone_sets=sets)
    ensure_tables(spark, (PRIVACY_BUDGET,))
    recorded = dt.datetime(2026, 6, 9, 3, 0)
    append(spark.createDataFrame([
        (f"run-{z}", day, z, ZONE_HOURLY.name, C.VISITORS, 0.5, 0.0, "laplace", 12.0, 24.0, "L0=12", 0.5 * (i + 1),
         recorded) for i, z in enumerate(sets[:2])
    ], PRIVACY_BUDGET.struct), PRIVACY_BUDGET)
    with pytest.raises(ReleaseRefusedError, match=r"^privacy budget: 2026-06-08 has 1 of privacy.epsilon = 1 "
                       r"spent; 1 zone set\(s\) at 0.3333 each would take it to 1.333\. Nothing was computed"):
        check_budget(spark, day, ["ut_dp_c"], 1 / 3, 1.0)
    check_budget(spark, day, ["ut_dp_c"], 1 / 3, 1.5)  # the negative control: within the budget
    with pytest.raises(ReleaseRefusedError, match=r"^privacy budget: ut_dp_a already released in dp mode on "
                       r"2026-06-08: a second release of the same cells spends its share again\."):
        check_budget(spark, day, ["ut_dp_a", "ut_dp_c"], 0.25, 10.0)


def test_the_budget_refuses_a_day_beyond_the_budget_of_its_period(spark, claim):
    """A zone set spent 1.0 on each of the days D - 3, D - 1 and D + 2 (released out of order).
    With 7-day periods and privacy.epsilon_period 3.5, releasing D at 1.0 puts 4.0 into the
    periods starting D - 4 and D - 3 (both hold all three days), refused; the first is named.
    With 4.0 it fits (the negative control); a period of 2 days holds at most D - 1 and D: 2.0."""
    day, zone_set = dt.date(2026, 11, 18), "ut_dp_period"  # no other test writes a ledger near it
    spent = [day + dt.timedelta(days=d) for d in (-3, -1, 2)]
    claim(days=spent, zone_sets=[zone_set])
    ensure_tables(spark, (PRIVACY_BUDGET,))
    recorded = dt.datetime(2026, 11, 23, 3, 0)
    append(spark.createDataFrame([
        (f"run-{d}", d, zone_set, ZONE_HOURLY.name, C.VISITORS, 1.0, 0.0, "laplace", 12.0, 12.0, "L0=12", 1.0,
         recorded) for d in spent
    ], PRIVACY_BUDGET.struct), PRIVACY_BUDGET)
    with pytest.raises(ReleaseRefusedError, match=r"^privacy budget: the 7 days 2026-11-14 to 2026-11-20 have 3 of "
                       r"privacy.epsilon_period = 3.5 spent; 1 zone set\(s\) at 1 each on 2026-11-18 would take "
                       r"them to 4\. Nothing was computed or written"):
        check_budget(spark, day, [zone_set], 1.0, 1.0, 7, 3.5)
    check_budget(spark, day, [zone_set], 1.0, 1.0, 7, 4.0)
    check_budget(spark, day, [zone_set], 1.0, 1.0, 2, 2.0)
    with pytest.raises(ReleaseRefusedError, match=r"the 2 days 2026-11-17 to 2026-11-18 have 1 of "):
        check_budget(spark, day, [zone_set], 1.0, 1.0, 2, 1.5)
