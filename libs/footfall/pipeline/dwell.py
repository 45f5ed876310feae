"""Step 7 of the stay model: length-bias-corrected, interval-censored dwell estimates per zone
(docs/definitions.md, "Dwell estimates").

A stay is a visit of a zone only if observed there precisely enough: at least one stationary
burst with sigma within the zone's limit falls inside it. With the subscriber's bursts a
Poisson process of rate r (bursts_per_s), a stay of duration D is detected with probability
p(D) = 1 - exp(-q r (D + detection_offset_s)), q = the day's share of stationary bursts with
sigma within the zone's limit (1 for a virtual stay at midnight, which is imputed, not
observed). Short stays are detected less often (length bias), and every detected stay's
duration is only known to lie between its censoring windows (footfall.pipeline.timeline).

Per zone category a duration distribution is fitted on the driver (footfall.pipeline.durations:
the self-consistency iteration over a sample of the category's visits); per zone one
Horvitz-Thompson step from it gives the zone's estimated true stays per duration bin, F_z =
sum_i post_i / p_i: published as stays_est, the share of each bin and the median over
durations of at least min_dwell.

In a small zone (its sigma limit below informative_sigma_m: a zone the size of a stay's own
uncertainty, a store front) a visit's extent is the stay's posterior median duration under the
category's distribution, placed in its windows: the cut of the timeline shares unobserved time
with the day's priors, which know nothing of what people do in a cafe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from footfall.config import VisitsSection
from footfall.pipeline import durations, priors
from footfall.pipeline.aggregate import ESTIMATES
from footfall.pipeline.visits import LIMIT
from footfall.schemas import C
from footfall.schemas.day import D

DETECTION = "_detection_rate"  # precise bursts per second: bursts_per_s x q
GROUP = "_category"
# The sigma grid of the detection share: 0.5 m steps to 1 km, then everything beyond.
SIGMA_STEP_M = 0.5
SIGMA_STEPS = 2000
ESTIMATE_SCHEMA = StructType([StructField(C.ZONE_SET, StringType()), StructField(C.ZONE_ID, StringType()),
                              *[StructField(c, DoubleType()) for c in ESTIMATES]])


def precise_shares(bursts: DataFrame) -> list[float]:
    """The share of the day's stationary bursts with sigma <= k x SIGMA_STEP_M, k = 0 .. SIGMA_STEPS
    (the last entry counts every stationary burst: 1)."""
    step = F.least(F.ceil(F.col(D.SIGMA_M) / SIGMA_STEP_M), F.lit(SIGMA_STEPS)).cast("int")
    counts = {r["k"]: r["n"] for r in bursts.where(~F.col(D.MOVING)).groupBy(step.alias("k")).agg(
        F.count(F.lit(1)).alias("n")).collect()}
    total = sum(counts.values())
    cumulative = np.cumsum([counts.get(k, 0) for k in range(SIGMA_STEPS + 1)])
    return [float(c / total) if total else 0.0 for c in cumulative]


def _share_within(limit: Column, shares: Sequence[float]) -> Column:
    step = F.least(F.floor(limit / SIGMA_STEP_M), F.lit(SIGMA_STEPS)).cast("int")
    return F.element_at(F.array(*[F.lit(s) for s in shares]), step + 1)


def with_detection(zone_stays: DataFrame, shares: Sequence[float]) -> DataFrame:
    """Zone stays (footfall.pipeline.visits.ZONE_STAY_COLUMNS) with their detection rate and a
    non-NULL category group."""
    return zone_stays.select(
        "*", (F.col(D.BURSTS_PER_S) * _share_within(F.col(LIMIT), shares)).alias(DETECTION),
        F.coalesce(F.col(C.CATEGORY), F.lit("")).alias(GROUP))


def _probability(batch: pd.DataFrame, p: VisitsSection) -> np.ndarray:
    detect = durations.detection_probability(batch[DETECTION].to_numpy(float), p.detection_offset_s, p.p_min)
    detect[batch[D.VIRTUAL].to_numpy(bool)] = 1.0  # imputed at the night place, not sampled by bursts
    return detect


def fit_category_priors(zone_stays: DataFrame, p: VisitsSection) -> dict[object, np.ndarray]:
    """One duration distribution per zone category, from a sample of its observed stay visits."""
    observed = zone_stays.where(~F.col(D.VIRTUAL))
    rows = priors.sample(observed, GROUP, [C.PSEUDO_ID, D.STAY_NO, C.ZONE_ID],
                         [*priors.WINDOW_COLUMNS, DETECTION], p.prior_sample)
    return priors.fit(rows, DETECTION, p)


def small_zone(p: VisitsSection) -> Column:
    """A zone sized like a stay's own uncertainty: its sigma limit is below informative_sigma_m."""
    return F.col(LIMIT) < p.informative_sigma_m


def place_in_small_zones(zone_stays: DataFrame, category_priors: dict[object, np.ndarray],
                         p: VisitsSection) -> DataFrame:
    """Zone stays with detection -> the same, observed stays in small zones with the extent of
    their posterior median duration under their category's distribution."""

    def place(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            start, end = batch[D.START_S].to_numpy(float).copy(), batch[D.END_S].to_numpy(float).copy()
            chosen = (batch["_small"] & ~batch[D.VIRTUAL]).to_numpy(bool)
            for value, index in batch[chosen].groupby(GROUP).indices.items():
                prior = category_priors.get(value)
                if prior is None:  # no observed stay of the category was sampled: keep the cut
                    continue
                rows = np.flatnonzero(chosen)[index]
                win = priors.windows(batch.iloc[rows])
                start[rows], end[rows] = durations.place(win, durations.posterior_median(win.likelihood(), prior))
            yield batch.drop(columns="_small").assign(**{D.START_S: start, D.END_S: end})

    return zone_stays.withColumn("_small", small_zone(p)).mapInPandas(place, zone_stays.schema)


def zone_estimates(zone_stays: DataFrame, category_priors: dict[object, np.ndarray],
                   p: VisitsSection) -> DataFrame:
    """Zone stays with detection -> per small zone (`small_zone`) with at least
    dwell_est_min_visits stay visits: zone_set, zone_id and the estimates (ESTIMATES).

    Only small zones: there a stay is seen only while it is precisely inside, so the visits'
    dwell is censored and the estimator corrects for how observations sample a stay. In a larger
    zone the timeline already carries a stay from one observation to the next, and the estimator
    (made for the censored case) measured far from the truth: districts' median -31 %
    (docs/accuracy.md), worse than the visits' own dwell."""
    needed = [C.ZONE_SET, C.ZONE_ID, GROUP, *priors.WINDOW_COLUMNS, DETECTION, D.VIRTUAL]
    min_dwell_s = p.min_dwell_minutes * 60.0

    def estimate(zone: pd.DataFrame) -> pd.DataFrame:
        prior = category_priors.get(zone[GROUP].iloc[0])
        if len(zone) < p.dwell_est_min_visits or prior is None:
            return pd.DataFrame(columns=ESTIMATE_SCHEMA.names)
        counts = durations.zone_counts(priors.windows(zone).likelihood(), _probability(zone, p), prior)
        summary = durations.summarise(counts, min_dwell_s)
        values = [summary.stays, summary.median_min, *summary.shares]
        return pd.DataFrame([[zone[C.ZONE_SET].iloc[0], zone[C.ZONE_ID].iloc[0],
                              *[None if np.isnan(v) else v for v in values]]], columns=ESTIMATE_SCHEMA.names)

    return (zone_stays.where(small_zone(p)).select(*needed).groupBy(C.ZONE_SET, C.ZONE_ID)
            .applyInPandas(estimate, ESTIMATE_SCHEMA))
