"""Step 4 of the stay model: the start and end of every stay (docs/definitions.md, "Start and end").

A subscriber's timeline is its stays (virtual ones included) and moving bursts (travel
observations) in time order. A stay observed from f to l, with the previous item last observed
at l_p at distance d_p and the next item first observed at f_n at distance d_n, is
interval-censored:

- previous item a stay: the start s lies in [l_p + bound_travel_factor x tau(d_p), f];
  previous item a travel observation (the person was under way at l_p):
  s in [l_p + d_p / fast_speed, l_p + d_p / slow_speed + travel_slack] (and <= f);
  no previous item: s in [local midnight, f]. The end likewise, mirrored.
- tau(d) = d / walk_speed up to walk_max_m, else d / transit_speed + transit_access: the
  door-to-door travel time.
- The cut: between two stays A and B the unobserved time R = f_B - l_A - tau(d) is shared at
  w = E[tail_A] / (E[tail_A] + E[head_B]) (split posterior; 1/2 for split midpoint): A ends at
  l_A + w R, B starts tau later. E[tail] and E[head] are the stays' expected unobserved ends and
  beginnings under the day's duration prior (footfall.pipeline.durations), fitted on a sample of
  the stays, separately at the night place and elsewhere (home_prior). A virtual stay counts
  all of R as its expected tail (head), so next to a real stay it takes the share
  R / (R + E[head_B]) (R / (E[tail_A] + R)). Next to a travel observation a stay ends (starts)
  d / transit_speed before (after) it (at most the whole gap). The first item starts at local
  midnight, the last ends at the next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType
from pyspark.sql.window import WindowSpec

from footfall.config import SPLIT_POSTERIOR, VisitsSection
from footfall.pipeline import durations, priors
from footfall.pipeline.bursts import LocalFrame
from footfall.schemas import C, cols
from footfall.schemas.day import STAY_POINTS, STAYS, D

IS_STAY = "_is_stay"
TAIL, HEAD = "_tail", "_head"
_GAP_PREV, _GAP_NEXT, _TAU_PREV, _TAU_NEXT = "_gap_prev", "_gap_next", "_tau_prev", "_tau_next"
_PREV_STAY, _NEXT_STAY, _PREV_L, _NEXT_F = "_prev_stay", "_next_stay", "_prev_l", "_next_f"
_W_NEXT = "_w_next"


def _by_time() -> WindowSpec:
    return Window.partitionBy(C.PSEUDO_ID).orderBy(D.FIRST_OBS, D.LAST_OBS)


def travel_time(distance: Column, p: VisitsSection) -> Column:
    """Door-to-door travel time in seconds for a straight-line distance in metres."""
    return F.when(distance <= p.walk_max_m, distance / p.walk_speed_mps).otherwise(
        distance / p.transit_speed_mps + p.transit_access_s)


def items(stays: DataFrame, bursts: DataFrame) -> DataFrame:
    """day.stays and the moving day.bursts as one timeline (the bursts with NULL stay fields)."""
    travel = bursts.where(F.col(D.MOVING)).select(
        C.PSEUDO_ID, D.FIRST_OBS, D.LAST_OBS, D.X_M, D.Y_M, F.lit(False).alias(IS_STAY))
    return stays.withColumn(IS_STAY, F.lit(True)).unionByName(travel, allowMissingColumns=True)


def with_windows(timeline: DataFrame, day_start: float, day_end: float, p: VisitsSection) -> DataFrame:
    """The timeline with each item's censoring windows and its neighbours' gaps and travel times."""
    w = _by_time()
    f, last, x, y = (F.col(c) for c in (D.FIRST_OBS, D.LAST_OBS, D.X_M, D.Y_M))
    prev_l, next_f = F.lag(D.LAST_OBS).over(w), F.lead(D.FIRST_OBS).over(w)
    d_prev = F.hypot(x - F.lag(D.X_M).over(w), y - F.lag(D.Y_M).over(w))
    d_next = F.hypot(x - F.lead(D.X_M).over(w), y - F.lead(D.Y_M).over(w))
    prev_stay, next_stay = F.lag(IS_STAY).over(w), F.lead(IS_STAY).over(w)
    near = timeline.select(
        "*", prev_l.alias(_PREV_L), next_f.alias(_NEXT_F), prev_stay.alias(_PREV_STAY), next_stay.alias(_NEXT_STAY),
        d_prev.alias("_d_prev"), d_next.alias("_d_next"))
    d_p, d_n, ps, ns = F.col("_d_prev"), F.col("_d_next"), F.col(_PREV_STAY), F.col(_NEXT_STAY)
    pl, nf = F.col(_PREV_L), F.col(_NEXT_F)
    # From or to a stay: a whole trip. From or to a travel observation: the rest of a trip under
    # way, d / transit_speed_mps without the access time for the point estimate (the mode is
    # unknown). Either way at most the gap between the two items.
    tau_prev = F.least(F.when(ps, travel_time(d_p, p)).otherwise(d_p / p.transit_speed_mps), f - pl)
    tau_next = F.least(F.when(ns, travel_time(d_n, p)).otherwise(d_n / p.transit_speed_mps), nf - last)
    fast_prev = F.when(ps, p.bound_travel_factor * travel_time(d_p, p)).otherwise(d_p / p.fast_speed_mps)
    fast_next = F.when(ns, p.bound_travel_factor * travel_time(d_n, p)).otherwise(d_n / p.fast_speed_mps)
    s_lo = F.when(pl.isNull(), F.lit(day_start)).otherwise(F.least(pl + fast_prev, f))
    s_hi = F.when(pl.isNotNull() & ~ps, F.least(f, pl + d_p / p.slow_speed_mps + p.travel_slack_s)).otherwise(f)
    e_hi = F.when(nf.isNull(), F.lit(day_end)).otherwise(F.greatest(nf - fast_next, last))
    e_lo = F.when(nf.isNotNull() & ~ns, F.greatest(last, nf - d_n / p.slow_speed_mps - p.travel_slack_s)
                  ).otherwise(last)
    return near.select(
        "*", s_lo.alias(D.START_LO), F.greatest(s_hi, s_lo).alias(D.START_HI), F.least(e_lo, e_hi).alias(D.END_LO),
        e_hi.alias(D.END_HI), (f - pl).alias(_GAP_PREV), (nf - last).alias(_GAP_NEXT), tau_prev.alias(_TAU_PREV),
        tau_next.alias(_TAU_NEXT),
    ).drop("_d_prev", "_d_next")


def _real() -> Column:
    return F.col(IS_STAY) & ~F.col(D.VIRTUAL)


def fit_stay_priors(timeline: DataFrame, p: VisitsSection) -> dict[object, np.ndarray]:
    """The day's duration priors: at the night place and elsewhere (one for all without
    home_prior), from a sample of the real stays, each with its chance to be observed at all."""
    group = F.col(D.AT_HOME) if p.home_prior else F.lit(True)
    real = timeline.where(_real()).withColumn("_prior_group", group)
    rows = priors.sample(real, "_prior_group", [C.PSEUDO_ID, D.STAY_NO],
                         [*priors.WINDOW_COLUMNS, D.INFORMATIVE_PER_S], p.prior_sample)
    return priors.fit(rows, D.INFORMATIVE_PER_S, p)


def with_tails(timeline: DataFrame, stay_priors: dict[object, np.ndarray], p: VisitsSection) -> DataFrame:
    """The timeline with E[tail] and E[head] of each real stay under its prior (0 elsewhere),
    vectorised per Arrow batch: no row per duration bin."""
    schema = StructType([*timeline.schema.fields, StructField(TAIL, DoubleType(), False),
                         StructField(HEAD, DoubleType(), False)])

    def expect(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            tail, head = np.zeros(len(batch)), np.zeros(len(batch))
            # NULL counts as False: nullable booleans arrive as object columns, on which pandas
            # deprecates fillna's downcast (a FutureWarning per batch in the job's log).
            real = (batch[IS_STAY] & ~batch[D.VIRTUAL].eq(True)).to_numpy(bool)
            home = batch[D.AT_HOME].eq(True).to_numpy(bool) if p.home_prior else np.ones(len(batch), bool)
            for value in (True, False):
                chosen = np.flatnonzero(real & (home == value))
                if len(chosen) and value in stay_priors:
                    part = batch.iloc[chosen]
                    tail[chosen], head[chosen] = durations.expected_tail_head(
                        priors.windows(part), part[D.FIRST_OBS].to_numpy(float), part[D.LAST_OBS].to_numpy(float),
                        stay_priors[value])
            yield batch.assign(**{TAIL: tail, HEAD: head})

    return timeline.mapInPandas(expect, schema)


def cut(timeline: DataFrame, day_start: float, day_end: float, p: VisitsSection) -> DataFrame:
    """Start and end of every stay of a timeline with windows (and tails, split posterior)."""
    w = _by_time()
    gap_prev, gap_next, tau_prev, tau_next = (F.col(c) for c in (_GAP_PREV, _GAP_NEXT, _TAU_PREV, _TAU_NEXT))
    rest_next = F.coalesce(gap_next - tau_next, F.lit(0.0))  # the unobserved time before the next item
    if p.split == SPLIT_POSTERIOR:
        # a virtual stay's expected tail (head) is the whole unobserved gap R, a real stay's at most R
        tail = F.when(F.col(D.VIRTUAL), rest_next).otherwise(F.least(F.col(TAIL), rest_next))
        next_head = F.when(F.lead(D.VIRTUAL).over(w), rest_next).otherwise(
            F.least(F.coalesce(F.lead(HEAD).over(w), F.lit(0.0)), rest_next))
        share = F.when(tail + next_head > 0, tail / (tail + next_head)).otherwise(0.5)
    else:
        share = F.lit(0.5)
    shared = timeline.withColumn(_W_NEXT, share)
    w_prev = F.coalesce(F.lag(_W_NEXT).over(w), F.lit(0.5))
    f, last = F.col(D.FIRST_OBS), F.col(D.LAST_OBS)
    start = F.when(F.col(_PREV_L).isNull(), F.lit(day_start)).when(
        F.col(_PREV_STAY), f - (1 - w_prev) * (gap_prev - tau_prev)).otherwise(F.col(_PREV_L) + tau_prev)
    end = F.when(F.col(_NEXT_F).isNull(), F.lit(day_end)).when(
        F.col(_NEXT_STAY), last + F.col(_W_NEXT) * (gap_next - tau_next)).otherwise(F.col(_NEXT_F) - tau_next)

    def clip(t: Column) -> Column:
        return F.least(F.greatest(t, F.lit(day_start)), F.lit(day_end))

    return shared.select("*", clip(F.least(start, f)).alias(D.START_S), clip(F.greatest(end, last)).alias(D.END_S))


def stay_points(timeline: DataFrame, frame: LocalFrame) -> DataFrame:
    """The cut timeline's stays -> day.stay_points (the centroid back in lon/lat)."""
    return timeline.where(F.col(IS_STAY)).select(
        "*", frame.lon(F.col(D.X_M)).alias(C.LON), frame.lat(F.col(D.Y_M)).alias(C.LAT)).select(*cols(STAY_POINTS))


def estimate(stays: DataFrame, bursts: DataFrame, day_start: float, day_end: float, frame: LocalFrame,
             p: VisitsSection) -> DataFrame:
    """day.stays -> day.stay_points: windows, (the priors and tails,) the cut. The timeline is
    read by the prior fit and by the cut: the caller should persist `stays` and `bursts`."""
    windowed = items(stays.select(*cols(STAYS)), bursts).transform(with_windows, day_start, day_end, p)
    if p.split == SPLIT_POSTERIOR:
        windowed = with_tails(windowed, fit_stay_priors(windowed, p), p)
    return windowed.transform(cut, day_start, day_end, p).transform(stay_points, frame)
