"""The published grids of one day and zone set, from its visits to the Delta tables: primary and
secondary suppression (footfall.privacy) or, in dp mode, noise; the utility counts; the writes
with the one public status, and ops.withheld_cells. Called by footfall.pipeline.compute.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from footfall.config import Config, PrivacySection
from footfall.localtime import LocalHour, day_parts
from footfall.observe import step
from footfall.pipeline.aggregate import (
    aggregate_catchment,
    aggregate_cohort_dayparts,
    aggregate_cohort_days,
    aggregate_cohort_hours,
    aggregate_days,
    aggregate_hours,
    aggregate_margins,
    explode_visit_hours,
)
from footfall.pipeline.estimate import with_visitors_est
from footfall.pipeline.utility import VISITOR_HOURS_TOTAL, coverage_counts
from footfall.privacy import dp
from footfall.privacy.nested import nesting_of
from footfall.privacy.suppression import (
    protect_linked,
    public_status,
    suppress_against_release,
    suppress_primary,
    withheld_cells,
)
from footfall.privacy.visit_metrics import suppress_visit_primary, suppress_visit_secondary, without_visit_metrics
from footfall.schemas import (
    STATUS_PUBLISHED,
    WITHHELD_CELLS,
    WITHHELD_LINKED,
    WITHHELD_NESTED,
    WITHHELD_PRIMARY,
    WITHHELD_REPUBLISH,
    WITHHELD_SUBTRACTION,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
    Table,
)
from footfall.tables import replace_partition

DAY_KEYS = (C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE)
COHORT = (C.AGE_BAND, C.GENDER)
# What identifies a cell of each grid besides its zone and day.
CELL_KEYS = {ZONE_HOURLY: (C.HOUR_START, *COHORT), ZONE_HOURLY_TOTAL: (C.HOUR_START,), ZONE_DAILY: COHORT,
             ZONE_DAILY_TOTAL: (), ZONE_DAILY_MARGINS: COHORT, ZONE_DAYPART: (C.DAY_PART, *COHORT),
             ZONE_CATCHMENT: (C.HOME_DISTRICT,)}
# Observed on the zone_hourly write, not recorded itself: visitors_in_suppressed_cells is
# visitors_total minus it.
PUBLISHED_VISITORS = "_published_visitors"
# The counts' prefix of each grid's cells in ops.runs, in the order they are written.
PREFIXES = {ZONE_HOURLY: "cells", ZONE_HOURLY_TOTAL: "total_cells", ZONE_DAILY: "daily_cells",
            ZONE_DAILY_TOTAL: "daily_total_cells", ZONE_DAILY_MARGINS: "margin_cells", ZONE_DAYPART: "daypart_cells",
            ZONE_CATCHMENT: "catchment_cells"}

def partition(event_date: dt.date, zone_set: str) -> dict[str, object]:
    """The keys of the (date, zone set) partition every compute write replaces."""
    return {C.EVENT_DATE: event_date, C.ZONE_SET: zone_set}


def publish_dp(cfg: Config, bounded: DataFrame, zones: DataFrame, event_date: dt.date, zone_set: str,
               hours: list[LocalHour], dp_run: tuple[str, int], weights: DataFrame) -> dict[str, int]:
    """privacy.mode dp (footfall.privacy.dp, docs/dp.md): noisy grids instead of suppression.
    `dp_run` is the compute run's id and the number of zone sets sharing the day's epsilon;
    `weights`: the snapshot's market share (visitors_est, from the noisy counts)."""
    bounds = dp.Bounds.from_config(cfg)
    releases = dp.plan_budget(cfg.privacy.epsilon, dp_run[1], bounds)
    # The spend is recorded before any noisy value is written.
    dp.record_spend(bounded.sparkSession, releases, dp_run[0], event_date, zone_set)
    grids = with_visitors_est(dp.noisy_grids(bounded, zones, event_date, hours, releases, bounds), weights)
    keys = partition(event_date, zone_set)
    counts: dict[str, int] = {}
    for table in (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY):
        counts |= write_observed(grids[table], table, keys, PREFIXES[table], dp.cell_metrics(PREFIXES[table]))
    # zone_daily_total (with its model-based dwell estimates), zone_daily_margins, zone_daypart and
    # zone_catchment have no dp release: the day's rows are removed, so that an earlier suppression
    # run's exact numbers never stand beside noisy ones.
    for table in (ZONE_DAILY_TOTAL, ZONE_DAILY_MARGINS, ZONE_DAYPART, ZONE_CATCHMENT):
        counts |= write_observed(bounded.sparkSession.createDataFrame([], table.struct), table, keys, PREFIXES[table])
    return counts


def publish_suppressed(privacy: PrivacySection, bounded: DataFrame, estimates: DataFrame, zones: DataFrame,
                       event_date: dt.date, zone_set: str, hours: list[LocalHour], homes: Sequence[str], run_id: str,
                       previous: dict[Table, DataFrame] | None, weights: DataFrame) -> dict[str, int]:
    """The seven grids after primary and secondary suppression (footfall.privacy.suppression),
    written with the one public status, with the visitors they withheld; why each cell was
    withheld goes to ops.withheld_cells. `privacy`: k and the dwell statistics' dominance share;
    `estimates`: the zones' dwell estimates; `homes`: the catchment's home districts; `previous`:
    the release replaced, if any, which each grid is suppressed against after primary
    suppression, and then across zone sets; `weights`: the snapshot's market share, which scales
    the protected grids' published visitors to visitors_est."""
    k = privacy.k
    visit_hours = bounded.transform(explode_visit_hours, hours)
    before = Observation("visitors_before_suppression")
    after_primary = Observation("visitors_after_primary")
    firsts = _after_primary(privacy, bounded, visit_hours, estimates, zones, event_date, hours, homes, previous,
                            (before, after_primary))
    nesting = nesting_of(zones.sparkSession, zone_set, event_date)
    if nesting is not None:
        # Each grid computed once, not again for each grid below that joins nesting's choice: on
        # the demo day's districts 69.6 -> 56.8 s from the visits to the utility counts.
        firsts = nesting.protect({t: (grid.localCheckpoint(), CELL_KEYS[t]) for t, grid in firsts.items()}, k)
    # Each grid is checkpointed (eager; the grids are small): the per-zone pass and the join of its
    # choice read each, and a plan built on a checkpoint starts from its rows, not from the whole
    # lineage back to the visits, which took seconds of the driver's time per plan before any job ran.
    grids = _protected({t: grid.localCheckpoint() for t, grid in firsts.items()}, k)
    with step("compute", "utility", visit_hours.sparkSession, zone_set=zone_set) as s:
        # Before the writes: nothing is published unless the whole run's counts are there.
        utility = coverage_counts(visit_hours, grids)
        s.record(rows_in=utility.get(VISITOR_HOURS_TOTAL, 0))
    return _write_grids(grids, weights, partition(event_date, zone_set), run_id, before, after_primary) | utility


def _after_primary(privacy: PrivacySection, bounded: DataFrame, visit_hours: DataFrame, estimates: DataFrame,
                   zones: DataFrame, event_date: dt.date, hours: list[LocalHour], homes: Sequence[str],
                   previous: dict[Table, DataFrame] | None, observed: tuple[Observation, Observation]
                   ) -> dict[Table, DataFrame]:
    """The seven raw grids after primary suppression (the visit metrics' too) and, in a
    republish, against the release replaced (publish_suppressed's arguments); `observed`: the
    visitors before suppression and those published after primary suppression, observed on
    zone_hourly."""
    k, max_stay_share = privacy.k, privacy.max_stay_share

    def against_release(table: Table) -> Callable[[DataFrame], DataFrame]:
        if previous is None:
            return lambda cells: cells
        return lambda cells: suppress_against_release(cells, previous[table], (*DAY_KEYS, *CELL_KEYS[table]), k)

    def primary(table: Table) -> Callable[[DataFrame], DataFrame]:
        return lambda cells: cells.transform(suppress_primary, k).transform(
            suppress_visit_primary, k, max_stay_share).transform(against_release(table))

    def visitors_only(table: Table) -> Callable[[DataFrame], DataFrame]:
        return lambda cells: cells.transform(suppress_primary, k).transform(against_release(table))

    before, after_primary = observed
    # zone_hourly publishes no visit metrics (footfall.privacy.suppression): gone before anything compares them.
    hourly = visit_hours.transform(aggregate_cohort_hours, zones, event_date, hours).observe(
        before, F.sum(C.VISITORS).alias("visitors_total")).transform(suppress_primary, k).transform(
        without_visit_metrics).observe(after_primary, F.sum(F.when(
            F.col(C.STATUS) == STATUS_PUBLISHED, F.col(C.VISITORS))).alias("published"))
    daily_raw = bounded.transform(aggregate_cohort_days, zones, event_date).localCheckpoint()
    return {
        ZONE_HOURLY: hourly.transform(against_release(ZONE_HOURLY)),
        ZONE_HOURLY_TOTAL: visit_hours.transform(aggregate_hours, zones, event_date, hours).transform(
            primary(ZONE_HOURLY_TOTAL)),
        ZONE_DAILY: daily_raw.transform(primary(ZONE_DAILY)),
        ZONE_DAILY_TOTAL: bounded.transform(aggregate_days, zones, event_date, estimates).transform(
            primary(ZONE_DAILY_TOTAL)),
        ZONE_DAILY_MARGINS: daily_raw.transform(aggregate_margins).transform(visitors_only(ZONE_DAILY_MARGINS)),
        ZONE_DAYPART: visit_hours.transform(aggregate_cohort_dayparts, zones, event_date, day_parts(hours)).transform(
            visitors_only(ZONE_DAYPART)),
        ZONE_CATCHMENT: bounded.transform(aggregate_catchment, zones, event_date, homes).transform(
            visitors_only(ZONE_CATCHMENT)),
    }


def _write_grids(grids: dict[Table, DataFrame], weights: DataFrame, keys: dict[str, object], run_id: str,
                 before: Observation, after_primary: Observation) -> dict[str, int]:
    """Write the seven protected grids with their population estimates (`weights`) and the public
    status, and why each cell was withheld; returns the counts for ops.runs (`before`,
    `after_primary`: the visitors observed on the way)."""
    estimated = with_visitors_est(grids, weights)
    hourly_counts = write_observed(
        estimated[ZONE_HOURLY], ZONE_HOURLY, keys, "cells",
        [*_cell_metrics("cells"), F.sum(C.VISITORS).alias(PUBLISHED_VISITORS)], release=public_status)
    counts = {"visitors_total": int(before.get["visitors_total"] or 0)}
    published = hourly_counts.pop(PUBLISHED_VISITORS)
    counts["visitors_in_suppressed_cells"] = counts["visitors_total"] - published
    # The information loss of secondary suppression alone (both passes), in visitor-hours.
    counts["visitors_in_secondary_cells"] = int(after_primary.get["published"] or 0) - published
    counts |= hourly_counts
    for table in PREFIXES:
        if table is not ZONE_HOURLY:
            metrics = _cell_metrics(PREFIXES[table], visit_metrics=C.VISITS in table.names)
            counts |= write_observed(estimated[table], table, keys, PREFIXES[table], metrics, release=public_status)
    withheld = [withheld_cells(grid, table.name, run_id) for table, grid in grids.items()]
    # Only the day's tables' rows: a week's cells are dated by its Monday (compute_week).
    replace_partition(functools.reduce(DataFrame.unionByName, withheld), WITHHELD_CELLS,
                      {**keys, C.TABLE_NAME: tuple(t.name for t in grids)})
    return counts


def _protected(grids: dict[Table, DataFrame], k: int) -> dict[Table, DataFrame]:
    """The grids after secondary suppression (protect_linked) and, last, the visit metrics' secondary
    suppression, on the final pattern of withheld cells: hours and cohorts each add up to the
    day (footfall.privacy.suppression). Checkpointed (the grids are small): the visit metrics'
    window rules, the writes and ops.withheld_cells plan from the stored rows, not from the
    grids' whole lineage, and totals and daily are computed once, not again for withheld_cells."""
    out = {t: grid.localCheckpoint() for t, grid in protect_linked(grids, k).items()}
    day_totals = out[ZONE_DAILY_TOTAL]
    for table, disjoint in ((ZONE_HOURLY_TOTAL, False), (ZONE_DAILY, True)):
        out[table] = out[table].transform(suppress_visit_secondary, day_totals, DAY_KEYS, k,
                                          disjoint_people=disjoint).localCheckpoint()
    return out


def write_observed(df: DataFrame, table: Table, keys: dict[str, object], rows: str, metrics: Sequence[Column] = (),
                   release: Callable[[DataFrame], DataFrame] | None = None) -> dict[str, int]:
    """Replace the (date, zone set) partition of `table` with `df`; the rows written (named
    `rows`) and the metrics observed on the way, before `release` (if given) turns `df` into
    the rows written."""
    observation = Observation(table.name)
    with step("compute", table.name, df.sparkSession, zone_set=str(keys[C.ZONE_SET])) as s:
        observed = df.observe(observation, F.count(F.lit(1)).alias(rows), *metrics)
        replace_partition(observed if release is None else release(observed), table, keys)
        counts = {name: int(value or 0) for name, value in observation.get.items()}
        # By name: Observation.get is a map whose order is lost beyond four metrics.
        s.record(rows_out=counts[rows])
    return counts


def _cell_metrics(prefix: str, visit_metrics: bool = True) -> list[Column]:
    """The number of cells published, withheld as primary and as secondary (against
    the replaced release, or either pass), counted before the public status hides why; and, if
    the table has `visit_metrics`, the published cells without a visit count, and without a
    dwell histogram (all of zone_hourly's)."""
    by_status = [
        F.count(F.when(F.col(C.STATUS).isin(*statuses), 1)).alias(f"{prefix}_{name}")
        for name, statuses in (("published", (STATUS_PUBLISHED,)), ("suppressed_primary", (WITHHELD_PRIMARY,)),
                               ("suppressed_secondary", (WITHHELD_REPUBLISH, WITHHELD_SUBTRACTION, WITHHELD_LINKED,
                                                         WITHHELD_NESTED)))
    ]
    published = F.col(C.STATUS) == STATUS_PUBLISHED
    withheld = [F.count(F.when(published & F.col(metric).isNull(), 1)).alias(f"{prefix}_{name}_withheld")
                for name, metric in (("visits", C.VISITS), ("histogram", C.PASSERSBY))]
    return [*by_status, *withheld] if visit_metrics else by_status
