"""Differential privacy mode (`privacy.mode: dp`): noisy counts on the public grids, a budget ledger.

Instead of threshold suppression, every cell of the three published grids of a (date, zone set)
gets Laplace-noised `visitors` and `visits`, rounded and clamped at 0, with `status = 'dp'`; the
other metrics (pass-bys, dwell bins, dwell median and mean) are NULL. The grids are public (every
zone of the set x every local hour x every cohort, fixed before the data is read), so no private
partition selection is needed and empty cells are noised like any other. The fourth published
table, zone_daily_total, gets no release: compute leaves it empty for the (date, zone set).
docs/dp.md explains the method for a data-protection officer.

Library: pipeline-dp 0.3.1 on python-dp (PyDP) 1.1.5. Its Spark backend (DPEngine on
SparkRDDBackend) does run on PySpark 4.0.1 here (checked on local[2] before choosing), but footfall
uses its noise primitives (`pipeline_dp.dp_computations`: L1 sensitivity and PyDP's Laplace
mechanism, which samples with a secure generator and is hardened against floating-point attacks)
inside Spark, with contribution bounding done in Spark SQL, because:

- the engine is RDD-only: every (subscriber, cell) row would be pickled to Python and grouped per
  subscriber (groupByKey), hundreds of millions of rows a day at the operator's scale, where here
  only the grid-sized aggregates cross to Python (mapInPandas) to be noised;
- it samples the cross-partition (L0) bound with an unseeded `random` per `aggregate()` call, so
  zone_hourly and zone_hourly_total would keep different cells of the same subscriber, and a rerun
  different ones; the bound here is a deterministic hash of the subscriber's own cells;
- the grids (DST days with 23 or 25 hours, 21 cohorts, visits counted in the hour they start) are
  already built by footfall.pipeline.aggregate; the engine would need them rebuilt as its partitions.

Sensitivity (neighbouring inputs differ by all events of one subscriber on one local date, within
one zone set). After bounding, one subscriber changes:

- zone_hourly `visitors`: by 1 in each of at most L0 = `max_zone_hours` (zone, hour) cells (its
  cohort is fixed, so a (zone, hour) is one cohort cell): L1 sensitivity L0.
- zone_hourly `visits`: in the same at most L0 cells by at most m = `privacy.max_visits_per_zone_hour`
  each (footfall.pipeline.aggregate.bound_contributions counts only the first m visits per
  subscriber, zone and hour; visits starting in a dropped cell are dropped with it): L1 sensitivity
  L0 * m.
- zone_hourly_total: the same (zone, hour) cells without the cohort: L0 and L0 * m.
- zone_daily `visitors`: by 1 in at most Z = `max_zones` zones: Z; `visits`: at most
  V = `max_visits_per_zone_day` counted visits per zone: Z * V.

Each release i is the Laplace mechanism with scale b_i = sensitivity_i / epsilon_i, so it is
epsilon_i-DP; the six releases of a zone set compose sequentially to sum(epsilon_i) =
epsilon_zone_set. A subscriber can be in every zone set of the catalogue, so the day's configured
epsilon is split equally over the zone sets in ref.zones: epsilon_zone_set = epsilon / n_sets, and
the releases of all zone sets of a day together spend `privacy.epsilon` (delta = 0). Rounding and
clamping are post-processing and cost nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from footfall.config import Config
from footfall.errors import ReleaseRefusedError
from footfall.localtime import LocalHour

# The two private column names are footfall.pipeline.aggregate's markers of which visits count
# (set by bound_contributions) and which visit-hour rows start there (set by explode_visit_hours).
from footfall.pipeline.aggregate import (
    COUNTED,
    METRICS,
    aggregate_cohort_days,
    aggregate_cohort_hours,
    aggregate_hours,
    explode_visit_hours,
)
from footfall.schemas import (
    NOISY_METRICS,
    PRIVACY_BUDGET,
    STATUS_DP,
    ZONE_DAILY,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
    Table,
    grid_cols,
)
from footfall.tables import append, ensure_tables

MECHANISM = "laplace (pipeline-dp 0.3.1 / python-dp 1.1.5)"
# Contribution bounds per subscriber-day and zone set (see the module docstring). More cells
# per subscriber keep more of the heavy movers' presence but add proportionally more noise to
# every cell: 12 zone-hours cover a subscriber seen in one zone for half the day.
MAX_ZONE_HOURS_PER_DAY = 12
MAX_ZONES_PER_DAY = 4
MAX_VISITS_PER_ZONE_DAY = 4
# The budget split of one zone set's epsilon over everything published for the day; the shares
# sum to 1. The cohort x hour visitors are the product's main number and get the largest share.
BUDGET_SHARES: tuple[tuple[Table, str, float], ...] = (
    (ZONE_HOURLY, C.VISITORS, 0.30),
    (ZONE_HOURLY, C.VISITS, 0.10),
    (ZONE_HOURLY_TOTAL, C.VISITORS, 0.20),
    (ZONE_HOURLY_TOTAL, C.VISITS, 0.10),
    (ZONE_DAILY, C.VISITORS, 0.20),
    (ZONE_DAILY, C.VISITS, 0.10),
)

_RANK = "_dp_rank"
_CELL_HASH = "_dp_cell_hash"


@dataclass(frozen=True)
class Bounds:
    """Contribution bounds per subscriber, day and zone set."""

    max_zone_hours: int = MAX_ZONE_HOURS_PER_DAY  # L0 of the hourly grids
    max_visits_per_zone_hour: int = 2  # m: privacy.max_visits_per_zone_hour
    max_zones: int = MAX_ZONES_PER_DAY  # L0 of the daily grid
    max_visits_per_zone_day: int = MAX_VISITS_PER_ZONE_DAY  # V

    @classmethod
    def from_config(cls, cfg: Config) -> Bounds:
        return cls(max_visits_per_zone_hour=cfg.privacy.max_visits_per_zone_hour)

    def describe(self, table: Table) -> str:
        if table is ZONE_DAILY:
            return f"max_zones={self.max_zones}, max_visits_per_zone_day={self.max_visits_per_zone_day}"
        return f"max_zone_hours={self.max_zone_hours}, max_visits_per_zone_hour={self.max_visits_per_zone_hour}"


@dataclass(frozen=True)
class Release:
    """One noisy metric of one published table: its epsilon and L1 sensitivity."""

    table: Table
    metric: str
    epsilon: float
    l1_sensitivity: float
    bound: str

    @property
    def scale(self) -> float:
        """The Laplace scale b: noise has mean |noise| = b and variance 2 b^2."""
        return self.l1_sensitivity / self.epsilon


def plan_budget(epsilon_day: float, zone_sets: int, bounds: Bounds) -> list[Release]:
    """The releases of one zone set for one day, splitting `epsilon_day` over `zone_sets` sets."""
    if not epsilon_day > 0 or zone_sets < 1:
        raise ValueError(f"epsilon must be > 0 and zone_sets >= 1, got {epsilon_day} and {zone_sets}")
    per_set = epsilon_day / zone_sets
    # (L0, Linf) per release: visitors count 1 per cell, visits up to the per-cell visit cap.
    contributions = {
        (ZONE_HOURLY.name, C.VISITORS): (bounds.max_zone_hours, 1),
        (ZONE_HOURLY.name, C.VISITS): (bounds.max_zone_hours, bounds.max_visits_per_zone_hour),
        (ZONE_HOURLY_TOTAL.name, C.VISITORS): (bounds.max_zone_hours, 1),
        (ZONE_HOURLY_TOTAL.name, C.VISITS): (bounds.max_zone_hours, bounds.max_visits_per_zone_hour),
        (ZONE_DAILY.name, C.VISITORS): (bounds.max_zones, 1),
        (ZONE_DAILY.name, C.VISITS): (bounds.max_zones, bounds.max_visits_per_zone_day),
    }
    # Imported here, not at the top: pipeline-dp (with scipy.stats) takes seconds to import and
    # only privacy.mode dp needs it, so compute in suppression mode does not pay for it.
    from pipeline_dp import dp_computations

    releases = []
    for table, metric, share in BUDGET_SHARES:
        l0, linf = contributions[(table.name, metric)]
        l1 = dp_computations.compute_l1_sensitivity(l0, linf)
        releases.append(Release(table, metric, per_set * share, float(l1), bounds.describe(table)))
    return releases


def _hash_order(*columns: str) -> Column:
    """A pseudo-random but reproducible order of a subscriber's cells (pseudo_ids are keyed
    HMACs, so nobody without the key can predict it)."""
    return F.xxhash64(*[F.col(c) for c in columns])


def sample_zone_hours(visit_hours: DataFrame, max_zone_hours: int) -> DataFrame:
    """Keep only the rows (of footfall.pipeline.aggregate.explode_visit_hours) in at most
    `max_zone_hours` (zone, hour) cells per subscriber and zone set: the L0 bound of the hourly grids.

    The cells kept are those with the smallest hash of (pseudo_id, zone, hour): a choice that
    depends on the subscriber's own cells only (so the sensitivity argument holds), is the same
    for zone_hourly and zone_hourly_total, and is the same when a day is recomputed.
    """
    keys = [C.ZONE_SET, C.PSEUDO_ID, C.ZONE_ID, C.HOUR_START]
    order = Window.partitionBy(C.ZONE_SET, C.PSEUDO_ID).orderBy(_CELL_HASH, C.ZONE_ID, C.HOUR_START)
    kept = (
        visit_hours.select(*keys).distinct()
        .withColumn(_CELL_HASH, _hash_order(C.PSEUDO_ID, C.ZONE_ID, C.HOUR_START))
        .withColumn(_RANK, F.row_number().over(order))
        .where(F.col(_RANK) <= max_zone_hours)
        .select(*keys)
    )
    return visit_hours.join(kept, keys, "left_semi")


def bound_days(visits: DataFrame, max_zones: int, max_visits_per_zone_day: int) -> DataFrame:
    """The visits (after footfall.pipeline.aggregate.bound_contributions) that zone_daily counts in dp
    mode: only visits counted by that bound, in at most `max_zones` zones per subscriber and zone
    set (smallest hash of (pseudo_id, zone)), at most `max_visits_per_zone_day` per zone (the
    earliest). Every subscriber keeps at least one visit in each zone it keeps, so its presence
    (visitors) in those zones is unchanged.
    """
    counted = visits.where(F.col(COUNTED)) if COUNTED in visits.columns else visits
    zone_keys = [C.ZONE_SET, C.PSEUDO_ID, C.ZONE_ID]
    zone_order = Window.partitionBy(C.ZONE_SET, C.PSEUDO_ID).orderBy(_CELL_HASH, C.ZONE_ID)
    zones_kept = (
        counted.select(*zone_keys).distinct()
        .withColumn(_CELL_HASH, _hash_order(C.PSEUDO_ID, C.ZONE_ID))
        .withColumn(_RANK, F.row_number().over(zone_order))
        .where(F.col(_RANK) <= max_zones)
        .select(*zone_keys)
    )
    visit_order = Window.partitionBy(*zone_keys).orderBy(C.VISIT_START, C.VISIT_END)
    return (
        counted.join(zones_kept, zone_keys, "left_semi")
        .withColumn(_RANK, F.row_number().over(visit_order))
        .where(F.col(_RANK) <= max_visits_per_zone_day)
        .drop(_RANK)
    )


def add_noise(cells: DataFrame, table: Table, releases: Sequence[Release]) -> DataFrame:
    """A grid of exact, contribution-bounded counts (`table`'s columns without status) -> the
    published dp grid: Laplace noise on each release's metric, rounded to an integer and clamped
    at 0; every other metric NULL; status dp on every cell.

    The noise is PyDP's Laplace mechanism via pipeline-dp (see the module docstring for why not
    the DPEngine), created on the executors: only the grid crosses to Python, never a subscriber.
    """
    noisy = {r.metric: (r.epsilon, r.l1_sensitivity) for r in releases if r.table.name == table.name}
    if set(noisy) != set(NOISY_METRICS):
        raise ValueError(f"{table.name}: a release per noisy metric {NOISY_METRICS} is needed, got {sorted(noisy)}")
    # visitors_est is added after, from the noisy counts (footfall.pipeline.estimate).
    names = [*grid_cols(table), C.STATUS]
    struct = StructType([f for f in table.struct.fields if f.name in names])
    longs = {f.name for f in struct.fields if f.dataType.simpleString() == "bigint"}

    def apply(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pipeline_dp import dp_computations  # see plan_budget

        mechanisms = {
            metric: dp_computations.LaplaceMechanism.create_from_epsilon(eps, l1)
            for metric, (eps, l1) in noisy.items()
        }
        for pdf in batches:
            out = pdf.copy()
            for metric in METRICS:
                if metric in mechanisms:
                    mechanism = mechanisms[metric]
                    values = [max(0, round(mechanism.add_noise(float(v)))) for v in pdf[metric]]
                    out[metric] = pd.array(values, dtype="Int64")
                else:
                    out[metric] = pd.array([None] * len(pdf), dtype="Int64" if metric in longs else "Float64")
            out[C.STATUS] = STATUS_DP
            yield out[names]

    return cells.select(*names[:-1]).mapInPandas(apply, struct)


def noisy_grids(bounded_visits: DataFrame, zones: DataFrame, day: dt.date, hours: Sequence[LocalHour],
                releases: Sequence[Release], bounds: Bounds) -> dict[Table, DataFrame]:
    """The three dp grids of one day and zone set from the visits after
    footfall.pipeline.aggregate.bound_contributions: L0 bounding, exact full-grid aggregation of the
    bounded contributions (footfall.pipeline.aggregate), then noise."""
    visit_hours = bounded_visits.transform(explode_visit_hours, hours).transform(
        sample_zone_hours, bounds.max_zone_hours
    )
    days = bounded_visits.transform(bound_days, bounds.max_zones, bounds.max_visits_per_zone_day)
    exact = {
        ZONE_HOURLY: visit_hours.transform(aggregate_cohort_hours, zones, day, hours),
        ZONE_HOURLY_TOTAL: visit_hours.transform(aggregate_hours, zones, day, hours),
        ZONE_DAILY: days.transform(aggregate_cohort_days, zones, day),
    }
    return {table: add_noise(grid, table, releases) for table, grid in exact.items()}


def cell_metrics(prefix: str) -> list[Column]:
    """ops.runs counts of a dp grid beside its cells: cells with status dp (all of them)."""
    return [F.count(F.when(F.col(C.STATUS) == STATUS_DP, 1)).alias(f"{prefix}_dp")]


def _spent(spark: SparkSession, first: dt.date, last: dt.date | None = None) -> dict[tuple[dt.date, str], float]:
    """Epsilon the ledger holds per (date, zone set), for the dates `first` to `last` (or `first`)."""
    ensure_tables(spark, (PRIVACY_BUDGET,))
    dates = F.col(C.EVENT_DATE).between(F.lit(first), F.lit(last or first))
    rows = (spark.table(PRIVACY_BUDGET.name).where(dates)
            .groupBy(C.EVENT_DATE, C.ZONE_SET).agg(F.sum(C.EPSILON).alias("spent")).collect())
    return {(r[C.EVENT_DATE], r[C.ZONE_SET]): float(r["spent"]) for r in rows}


def check_budget(spark: SparkSession, day: dt.date, zone_sets: Sequence[str], planned: float,
                 epsilon_day: float, period_days: int = 1, epsilon_period: float = math.inf) -> None:
    """Refuse, before any work, a dp compute of `zone_sets` on `day` that would spend `planned`
    (each zone set's share of the day's budget) beyond the budget: ReleaseRefusedError.

    Each zone set's share can be spent once: a second release of the same cells (a republish)
    draws new noise, and the two together reveal more than either, so their epsilons add up.
    The day's releases together must stay within `epsilon_day` (privacy.epsilon): a zone set
    added to the catalogue after others were released shrinks every share, and the shares
    already spent at the old size leave less than a new share for it. And every `period_days`
    consecutive days holding `day` must stay within `epsilon_period` (privacy.epsilon_period): a
    subscriber is in every day's releases, so the days' epsilons add up too.
    """
    span = dt.timedelta(days=period_days - 1)
    spent = _spent(spark, day - span, day + span)
    today = {z: e for (d, z), e in spent.items() if d == day}
    again = sorted(z for z in zone_sets if today.get(z, 0.0) > 0.0)
    adding = planned * len(zone_sets)
    total = sum(today.values()) + adding
    windows = [(start, sum(e for (d, _), e in spent.items() if start <= d <= start + span) + adding)
               for start in (day - span + dt.timedelta(days=i) for i in range(period_days))]
    start, most = max(windows, key=lambda w: w[1])
    if again:
        what = f"{', '.join(again)} already released in dp mode on {day.isoformat()}: a second release " \
               "of the same cells spends its share again"
    elif total > epsilon_day * (1 + 1e-9):
        what = (f"{day.isoformat()} has {sum(today.values()):.4g} of privacy.epsilon = {epsilon_day:.4g} spent; "
                f"{len(zone_sets)} zone set(s) at {planned:.4g} each would take it to {total:.4g}")
    elif most > epsilon_period * (1 + 1e-9):
        what = (f"the {period_days} days {start.isoformat()} to {(start + span).isoformat()} have "
                f"{most - adding:.4g} of privacy.epsilon_period = {epsilon_period:.4g} spent; {len(zone_sets)} zone "
                f"set(s) at {planned:.4g} each on {day.isoformat()} would take them to {most:.4g}")
    else:
        return
    raise ReleaseRefusedError(
        f"privacy budget: {what}. Nothing was computed or written; ops.privacy_budget holds the "
        "days' spends. A dp day is released once per zone set, with the zone sets it was "
        "planned for, within the budget per day and per period (docs/dp.md, \"Budget ledger\")")


def record_spend(spark: SparkSession, releases: Sequence[Release], run_id: str, day: dt.date, zone_set: str) -> float:
    """Append one ops.privacy_budget row per release, before anything noisy is written (a run
    that fails after this over-records, never under-records). check_budget refused the run
    before any work if these would exceed the budget. Returns the epsilon spent on `day` so far,
    this run included."""
    cumulative = sum(_spent(spark, day).values()) + sum(r.epsilon for r in releases)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        (run_id, day, zone_set, r.table.name, r.metric, r.epsilon, 0.0, MECHANISM, r.l1_sensitivity, r.scale,
         r.bound, cumulative, now)
        for r in releases
    ]
    append(spark.createDataFrame(rows, PRIVACY_BUDGET.struct), PRIVACY_BUDGET)
    return cumulative
