"""Step 6's dwell estimates per zone (footfall.pipeline.dwell.zone_estimates, docs/definitions.md):
published only for small zones (sigma limit below informative_sigma_m) with at least
dwell_est_min_visits stay visits, F_z(D_k) = sum_i post_i(D_k) / p_i(D_k) (Horvitz-Thompson).

The zone stays are built by hand with the columns zone_estimates reads (zone_set, zone_id, the
category group, the four censoring windows, the detection rate, virtual and the sigma limit);
times are plain seconds, no day is involved.
"""

import dataclasses
import math

import numpy as np
import pytest
from chispa import assert_approx_df_equality

from footfall.config import VisitsSection
from footfall.pipeline import durations
from footfall.pipeline.aggregate import ESTIMATES
from footfall.pipeline.dwell import (
    DETECTION,
    ESTIMATE_SCHEMA,
    GROUP,
    SIGMA_STEPS,
    fit_category_priors,
    with_detection,
    zone_estimates,
)
from footfall.pipeline.visits import LIMIT
from footfall.schemas import C
from footfall.schemas.day import D

# A zone needs 4 stay visits for estimates (default 20); informative_sigma_m stays 200 m.
P = dataclasses.replace(VisitsSection(), dwell_est_min_visits=4)
SHARES = (C.DWELL_EST_LT5_SHARE, C.DWELL_EST_5_15_SHARE, C.DWELL_EST_15_60_SHARE, C.DWELL_EST_60PLUS_SHARE)
T0 = 8 * 3600.0
PRECISION = 1e-9
# Detection rate ln 2 / 90 per second, offset -60 s: p(D) = 1 - exp(-r (D - 60)) = 1 - 2^-((D - 60) / 90).
RATE = math.log(2) / 90
# Durations (s) that are grid mids (1-minute bins below 1 h, 5-minute bins above) with D - 60 a
# multiple of 90, one per published bin: 2.5 min (p = 1 - 2^-1 = 1/2), 5.5 min (1 - 2^-3 = 7/8),
# 17.5 min (1 - 2^-11), 62.5 min (1 - 2^-41).
STAY_DURATIONS = (150.0, 330.0, 1050.0, 3750.0)


def _pinned(zone_id: str, limit_m: float, stay_durations: tuple[float, ...]) -> list[tuple]:
    """One zone stay per duration D: start in [T0, T0 + 30], end in [T0 + D, T0 + D + 30]. A grid
    duration M is feasible for starts in [max(T0, T0 + D - M), min(T0 + 30, T0 + D + 30 - M)]:
    30 s long for M = D, empty for every other mid (at least 60 s away from D)."""
    return [("set", zone_id, "cafe", T0, T0 + 30, T0 + d, T0 + d + 30, RATE, False, limit_m) for d in stay_durations]


DDL = (f"{C.ZONE_SET} string, {C.ZONE_ID} string, {GROUP} string, {D.START_LO} double, {D.START_HI} double, "
       f"{D.END_LO} double, {D.END_HI} double, {DETECTION} double, {D.VIRTUAL} boolean, {LIMIT} double")


def test_estimates_only_for_small_zones_with_enough_stays_and_their_exact_values(spark):
    """Four zones of one category ('cafe'), the same detection rate:

    - small (sigma limit 50 m < 200 m), the four stays of STAY_DURATIONS: N = 4 =
      dwell_est_min_visits, so it has estimates;
    - edge (limit exactly 200 m: not below informative_sigma_m) and large (350 m), the same four
      stays: not small zones, no row however many stays;
    - sparse (limit 50 m), three of them: below dwell_est_min_visits, no row.

    Each stay's windows admit exactly its own grid duration (`_pinned`), so whatever the category
    prior (uniform here, positive everywhere), its posterior is 1 at that bin: F puts 1 / p(D_i)
    in D_i's bin. The weights are 2, 8/7, w3 = 1 / (1 - 2^-11) and w4 = 1 / (1 - 2^-41), one
    per published bin: stays_est = S = 2 + 8/7 + w3 + w4 (> N = 4: 1 / p >= 1 lifts every stay,
    the 2.5-minute one, detected half the time, stands for two), the shares are 2 / S, (8/7) / S,
    w3 / S, w4 / S. The median over durations >= 5 min (min_dwell) is over the weights 8/7 in
    [5, 6) min, w3 in [17, 18) and w4 in [60, 65), total S' = 8/7 + w3 + w4: the first bin holds
    8/7 < S'/2 < 8/7 + w3, so the median lies in [17, 18) min, at 17 + (S'/2 - 8/7) / w3."""
    rows = (_pinned("small", 50.0, STAY_DURATIONS) + _pinned("edge", 200.0, STAY_DURATIONS)
            + _pinned("large", 350.0, STAY_DURATIONS) + _pinned("sparse", 50.0, STAY_DURATIONS[:3]))
    zone_stays = spark.createDataFrame(rows, DDL)
    prior = np.full(len(durations.MIDS), 1.0 / len(durations.MIDS))
    got = zone_estimates(zone_stays, {"cafe": prior}, P)

    w = [2.0, 8 / 7, 1 / (1 - 2.0**-11), 1 / (1 - 2.0**-41)]
    total, above = sum(w), sum(w[1:])
    median_min = 17 + (above / 2 - w[1]) / w[2]
    expected = spark.createDataFrame([("set", "small", total, median_min, *[x / total for x in w])], ESTIMATE_SCHEMA)
    assert_approx_df_equality(got, expected, PRECISION, ignore_nullable=True)

    row = got.first()
    assert sum(row[c] for c in SHARES) == pytest.approx(1.0)
    assert row[C.STAYS_EST] >= len(STAY_DURATIONS)


def test_a_fitted_prior_keeps_the_definitions_bounds(spark):
    """The path of compute: with_detection, the category prior fitted by fit_category_priors, then
    zone_estimates, on four stays of a small zone with wide windows (the duration is not pinned).

    Every stay's start window has positive length and its end window admits durations of the
    grid, so its likelihood g is positive somewhere; the fitted prior keeps weight there (the
    self-consistency step scales f_k by the stays' g at k, the EMS smoothing only spreads it), so
    the stay's posterior sums to 1. With p <= 1, 1 / p >= 1, so stays_est = sum_i sum_k post_i(D_k)
    / p_i(D_k) >= sum_i 1 = 4, and 1 / p <= 1 / p_min bounds it by 4 / p_min. The four shares
    divide F by its own total: they sum to 1. The median is over durations >= min_dwell (5 min).

    The detection rate is bursts_per_s x q, q read at the zone's sigma limit from the day's
    precise shares (all 1/2 here): 1/600 x 1/2 = 1/1200 per second."""
    windows = [(0.0, 900.0, 1200.0, 2400.0), (0.0, 300.0, 3600.0, 5400.0), (0.0, 600.0, 700.0, 1000.0),
               (0.0, 1800.0, 5400.0, 9000.0)]
    rows = [("set", "small", "cafe", 50.0, f"p{i}", 1, *(T0 + t for t in w), 1 / 600, False)
            for i, w in enumerate(windows)]
    ddl = (f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.CATEGORY} string, {LIMIT} double, {C.PSEUDO_ID} string, "
           f"{D.STAY_NO} int, {D.START_LO} double, {D.START_HI} double, {D.END_LO} double, {D.END_HI} double, "
           f"{D.BURSTS_PER_S} double, {D.VIRTUAL} boolean")
    zone_stays = spark.createDataFrame(rows, ddl).transform(with_detection, [0.5] * (SIGMA_STEPS + 1))
    assert all(r[DETECTION] == pytest.approx(1 / 1200) for r in zone_stays.collect())

    category_priors = fit_category_priors(zone_stays, P)
    assert list(category_priors) == ["cafe"] and category_priors["cafe"].sum() == pytest.approx(1.0)
    got = zone_estimates(zone_stays, category_priors, P).collect()
    assert [(r[C.ZONE_SET], r[C.ZONE_ID]) for r in got] == [("set", "small")]
    row = got[0]
    assert all(row[c] is not None for c in ESTIMATES)
    assert len(windows) <= row[C.STAYS_EST] <= len(windows) / P.p_min
    assert all(0 <= row[c] <= 1 for c in SHARES) and sum(row[c] for c in SHARES) == pytest.approx(1.0)
    assert row[C.DWELL_EST_MEDIAN_MIN] >= P.min_dwell_minutes
