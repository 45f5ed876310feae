"""Population estimates: `visitors_est`, a published visitor count scaled to all residents by the
operator's market share per home district x age band x gender (docs/definitions.md, "Population
estimates", with a worked example).

Two steps:
- `market_weights` (load-reference, per subscriber snapshot; into footfall.market_share): the
  residents each included subscriber stands for, from the snapshot's counts by stratum and the
  resident population (ref.population). Pure Python on a few hundred strata counts.
- `with_visitors_est` (compute, after disclosure control): each published cell's visitors times
  its group's weight, the home-district mix taken from the zone's *published* catchment. The
  estimate is thereby a function of published numbers and the published weights only: it tells
  an analyst nothing the tables do not. Weighting each visitor by its own home district (exact
  Horvitz-Thompson) would publish, through the estimate, the unpublished split of a cohort cell
  by home district.
- the same for a week's release (compute-week): the weights of the week's Monday snapshot (whose
  cohorts the week counts: footfall.pipeline.visits.week_cohorts), mixed over the week's
  published catchment and total.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from footfall.schemas import (
    HOME_UNKNOWN,
    MARGIN_ALL,
    MARKET_SHARE,
    STATUS_DP,
    STATUS_PUBLISHED,
    ZONE_CATCHMENT,
    ZONE_DAILY_TOTAL,
    ZONE_WEEKLY_CATCHMENT,
    ZONE_WEEKLY_TOTAL,
    C,
    Table,
)
from footfall.tables import replace_partition

Stratum = tuple[str, str, str]  # (home district, age band, gender); each may be unknown
# A market_share row: home, age band, gender (each possibly `all`), population, subscribers, weight.
WeightRow = tuple[str, str, str, int | None, int | None, float]


@dataclass(frozen=True)
class Period:
    """A release's period: the column naming it, and its total and catchment tables (the mix)."""
    column: str
    total: Table
    catchment: Table

    @property
    def keys(self) -> tuple[str, str, str]:
        return C.ZONE_SET, C.ZONE_ID, self.column


DAY = Period(C.EVENT_DATE, ZONE_DAILY_TOTAL, ZONE_CATCHMENT)
WEEK = Period(C.WEEK_START, ZONE_WEEKLY_TOTAL, ZONE_WEEKLY_CATCHMENT)


def market_weights(counts: Mapping[Stratum, int], population: Mapping[Stratum, int], k: int) -> list[WeightRow]:
    """footfall.market_share's rows from the included subscribers per stratum (`counts`) and the
    residents per known stratum (`population`: district, band, gender).

    A stratum is resolved when it is known (a district, band and gender of `population`) with
    residents and at least k subscribers. Its subscribers are a share of its residents; the
    others (an attribute unknown, or fewer than k) are taken to be spread over the strata like
    the resolved ones (missing at random), so each resolved subscriber stands for
    rho * P(s) / N(s) residents, rho = N_resolved / N, and every other subscriber for the
    residents left, (P - rho * P_resolved) / (N - N_resolved). The weights of all subscribers add
    up to P, the residents. A group's weight (any attribute may be `all`) is the mean weight of
    its subscribers; its subscribers are shown from k on. [] when there are no residents or no
    subscribers: no estimate is published then."""
    counts = dict(sorted(counts.items()))  # the sums below in one order, whatever order the counts came in
    n_all, p_all = sum(counts.values()), sum(population.values())
    if n_all == 0 or p_all == 0:
        return []
    resolved = {s for s, n in counts.items() if n >= k and population.get(s, 0) > 0}
    n_res = sum(counts[s] for s in resolved)
    p_res = sum(population[s] for s in resolved)
    rho = n_res / n_all
    rest = (p_all - rho * p_res) / (n_all - n_res) if n_all > n_res else 0.0

    def weight(s: Stratum) -> float:
        return rho * population[s] / counts[s] if s in resolved else rest

    axes = [[*sorted({s[i] for s in (*counts, *population)}), MARGIN_ALL] for i in range(3)]
    rows: list[WeightRow] = []
    for group in product(*axes):
        members = [s for s in counts if all(g in (MARGIN_ALL, v) for g, v in zip(group, s, strict=True))]
        n = sum(counts[s] for s in members)
        if n == 0:
            continue
        known = HOME_UNKNOWN not in group  # `unknown` is the same word for every attribute
        pop = sum(p for s, p in population.items() if all(g in (MARGIN_ALL, v) for g, v in zip(group, s, strict=True)))
        home, age, gender = group
        rows.append((home, age, gender, pop if known else None, n if n >= k else None,
                     sum(counts[s] * weight(s) for s in members) / n))
    return rows


def write_market_share(spark: SparkSession, subscribers: DataFrame, population: DataFrame, day: dt.date,
                       k: int) -> int:
    """Replace the snapshot's footfall.market_share rows (`subscribers`: the snapshot of `day`,
    `population`: ref.population); returns the rows written."""
    included = subscribers.where(F.col(C.EXCLUDED_REASON).isNull())
    counts = {(r[0], r[1], r[2]): r[3] for r in included.groupBy(
        F.coalesce(F.col(C.HOME_DISTRICT), F.lit(HOME_UNKNOWN)), C.AGE_BAND, C.GENDER).count().collect()}
    residents = {(r[C.HOME_DISTRICT], r[C.AGE_BAND], r[C.GENDER]): r[C.POPULATION] for r in population.collect()}
    rows = [(day, *row) for row in market_weights(counts, residents, k)]
    replace_partition(spark.createDataFrame(rows, MARKET_SHARE.struct), MARKET_SHARE, {C.SNAPSHOT_DATE: day})
    return len(rows)


def with_visitors_est(grids: dict[Table, DataFrame], weights: DataFrame, period: Period = DAY
                      ) -> dict[Table, DataFrame]:
    """Each grid of a day's (or a week's) release with visitors_est beside visitors: NULL where
    the cell is withheld, or where `weights` (the snapshot's footfall.market_share rows) has none.

    A catchment row scales by its home district's weight (all ages and genders). Every other cell
    scales by its group's weight c (a cohort, an age band's or a gender's margin, or all for the
    totals) mixed over the home districts as the zone's published catchment shows them:
    w(all, c) + Σ_h C_h / T · (w(h, c) - w(all, c)), with C_h the published catchment rows and T
    the published total of the period (day or week). The part of T that no published row holds,
    and a zone without a published total, weigh w(all, c); so does a district without subscribers
    of the group, and every cell of a release without a catchment (dp mode).
    """
    w = weights.select(C.HOME_DISTRICT, C.AGE_BAND, C.GENDER, C.WEIGHT)
    shown = F.col(C.STATUS).isin(STATUS_PUBLISHED, STATUS_DP) & F.col(C.VISITORS).isNotNull()
    overall = w.where(F.col(C.HOME_DISTRICT) == MARGIN_ALL).select(C.AGE_BAND, C.GENDER, F.col(C.WEIGHT).alias("_all"))
    mixed = _catchment_mix(grids, period, w, overall, shown)
    own = w.where((F.col(C.AGE_BAND) == MARGIN_ALL) & (F.col(C.GENDER) == MARGIN_ALL)).select(
        C.HOME_DISTRICT, F.col(C.WEIGHT).alias("_own"))

    def scaled(grid: DataFrame, table: Table) -> DataFrame:
        cells = grid
        for key in (C.AGE_BAND, C.GENDER):  # the totals and the catchment: all ages, all genders
            if key not in grid.columns:
                cells = cells.withColumn(key, F.lit(MARGIN_ALL))
        cells = cells.join(F.broadcast(overall), [C.AGE_BAND, C.GENDER], "left")
        if table is period.catchment:
            factor = F.coalesce(F.col("_own"), F.col("_all"))
            cells = cells.join(F.broadcast(own), [C.HOME_DISTRICT], "left")
        elif mixed is not None:
            factor = F.col("_all") + F.coalesce(F.col("_mix"), F.lit(0.0))
            cells = cells.join(mixed, [*period.keys, C.AGE_BAND, C.GENDER], "left")
        else:
            factor = F.col("_all")
        est = F.when(shown, F.col(C.VISITORS) * factor).cast("double").alias(C.VISITORS_EST)
        return cells.select(*grid.columns, est)

    return {table: scaled(grid, table) for table, grid in grids.items()}


def _catchment_mix(grids: dict[Table, DataFrame], period: Period, w: DataFrame, overall: DataFrame, shown: Column
                   ) -> DataFrame | None:
    """Per zone and period, and group c: Σ_h C_h / T · (w(h, c) - w(all, c)) over the published
    catchment rows C_h of a zone with a published total T > 0 (None without both grids)."""
    if period.catchment not in grids or period.total not in grids:
        return None
    keys = list(period.keys)
    total = grids[period.total].where(shown & (F.col(C.VISITORS) > 0)).select(*keys, F.col(C.VISITORS).alias("_total"))
    shares = grids[period.catchment].where(shown).join(total, keys).select(
        *keys, C.HOME_DISTRICT, (F.col(C.VISITORS) / F.col("_total")).alias("_share"))
    # Checkpointed (small: zones with a published catchment x groups): every grid joins it.
    return (shares.crossJoin(F.broadcast(overall))
            .join(F.broadcast(w), [C.HOME_DISTRICT, C.AGE_BAND, C.GENDER], "left")
            .groupBy(*keys, C.AGE_BAND, C.GENDER)
            .agg(F.sum(F.col("_share") * (F.coalesce(F.col(C.WEIGHT), F.col("_all")) - F.col("_all"))).alias("_mix"))
            .localCheckpoint())
