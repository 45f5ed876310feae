"""Disclosure control on the published grids: primary and secondary suppression.

Primary: a cell with fewer than k distinct subscribers is published with every metric NULL.
Secondary, per zone in one pandas UDF (`protect_linked`; docs/privacy.md), in two passes:

1. subtraction (footfall.privacy.subtraction): where a published total minus its published parts
   reveals the withheld parts' sum S, more parts are withheld until that sum protects them. This
   is the closed-form solution of each single relation's LP and does most of the work cheaply.
2. the LP attacker of footfall.privacy.audit (footfall.privacy.protect) over
   one zone's hourly cells, hourly totals, daily cells, daily total, daily margins and day-part
   cells together (daily >= hourly, daily <= sum of hourly; the daily total = the sum of the
   daily cells, >= each hourly total, <= their sum; a margin cell = the sum of its daily cells,
   each margin = the daily total; hourly <= day part <= sum of its hours, day part <= daily <=
   sum of the day parts; the catchment's home districts add up to the daily total), with greedy
   extra suppression until no suppressed cell is narrower than k.

The visit metrics (visits, pass-bys, dwell bins and statistics) count other people than the
visitors, so they have their own rules (footfall.privacy.visit_metrics), applied to cells whose
visitors are published.

Inside these steps a withheld cell's status is why it was withheld (footfall.schemas
WITHHELD_REASONS), and private columns (visit_metrics.WHY) why only visit metrics were; `public_status` turns every
reason into the one public status `suppressed` as the grid is written, and `withheld_cells`
keeps the reasons for ops.withheld_cells.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, LongType, StringType, StructField, StructType, TimestampType

from footfall.pipeline.aggregate import COUNT_METRICS, ESTIMATES, METRICS, PRIVATE
from footfall.privacy import week
from footfall.privacy.protect import protect_day
from footfall.privacy.relations import CATCHMENT, DAILY, DAILY_TOTAL, DAYPART, HOURLY, KIND, MARGIN, TOTAL
from footfall.privacy.visit_metrics import DWELL, LAYERS, WHY, carry_over, withheld_layer
from footfall.schemas import (
    PUBLISHED_KEYS,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    WITHHELD_CELLS,
    WITHHELD_LINKED,
    WITHHELD_PRIMARY,
    WITHHELD_REASONS,
    WITHHELD_REPUBLISH,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONE_WEEKLY,
    ZONE_WEEKLY_CATCHMENT,
    ZONE_WEEKLY_MARGINS,
    ZONE_WEEKLY_TOTAL,
    C,
    Table,
)

_OLD = "_old_"


def suppress_where(cells: DataFrame, condition: Column, status: str | Column) -> DataFrame:
    """Cells where `condition` holds get every metric (and estimate) NULL and `status` (a reason,
    or a column holding one); the rest are unchanged."""
    hide = F.coalesce(condition, F.lit(True))  # an undecidable condition suppresses: fail safe
    reason = F.lit(status) if isinstance(status, str) else status
    return cells.select(*[
        F.when(~hide, F.col(c)).alias(c) if c in METRICS or c in ESTIMATES
        else F.when(hide, reason).otherwise(F.col(c)).alias(c) if c == C.STATUS
        else F.col(c)
        for c in cells.columns
    ])


def suppress_primary(cells: DataFrame, k: int) -> DataFrame:
    """Add status: published when visitors >= k, else primary with every metric NULL.

    The input has a table's columns without status (which comes last in every published table).
    A NULL visitor count cannot be shown to reach k, so it is suppressed too.
    """
    with_status = cells.withColumn(C.STATUS, F.lit(STATUS_PUBLISHED))
    return suppress_where(with_status, ~(F.col(C.VISITORS) >= k), WITHHELD_PRIMARY)


def suppress_against_release(cells: DataFrame, previous: DataFrame, keys: Sequence[str], k: int) -> DataFrame:
    """A republish: the cells after primary suppression, against the release they replace.

    `previous` holds the replaced release's rows of the same table, day and zone set; `keys`
    identify a cell. A published cell is withheld (reason republish) if it was withheld before,
    since two releases with different patterns of withheld cells together pin what each alone
    hides; if any of its counts (visitors, visits, pass-bys, a dwell bin) differs from the
    published old one by 1 to k - 1, a difference that counts fewer than k people or visits; or
    if its dwell median or mean changed while its visits changed by fewer than k (30 visits at
    mean m1, then 31 at m2: the one new visit lasted 31 m2 - 30 m1). A cell the old release
    lacks is unchanged. Likewise each group of visit metrics a published cell withheld before stays
    withheld (footfall.privacy.visit_metrics.carry_over). Secondary suppression then protects
    these cells like any other.
    """
    def old(c: str) -> Column:
        return F.col(_OLD + c)

    def differ_by_less_than_k(c: str) -> Column:
        difference = F.abs(F.col(c) - old(c))
        return (difference > 0) & (difference < k)

    dwell_stats = [C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN]
    compared = [c for c in (*COUNT_METRICS, *dwell_stats) if c in cells.columns]
    was_withheld = old(C.STATUS).isNotNull() & (old(C.STATUS) != STATUS_PUBLISHED)
    hide = (F.col(C.STATUS) == STATUS_PUBLISHED) & (
        was_withheld
        | functools.reduce(Column.__or__, [differ_by_less_than_k(c) for c in compared if c in COUNT_METRICS]))
    joined = cells.join(previous.select(*keys, *[F.col(c).alias(_OLD + c) for c in (C.STATUS, *compared)]),
                        list(keys), how="left")
    if C.VISITS not in cells.columns:  # zone_daily_margins: visitors only
        return suppress_where(joined, F.coalesce(hide, F.lit(False)), WITHHELD_REPUBLISH).select(*cells.columns)
    few_visits = F.abs(F.col(C.VISITS) - old(C.VISITS)) < k
    hide = hide | ((F.col(C.STATUS) == STATUS_PUBLISHED) & few_visits & functools.reduce(
        Column.__or__, [~F.col(c).eqNullSafe(old(c)) for c in dwell_stats]))
    # The first metric of a layer is NULL in a published cell exactly when the layer was withheld,
    # or, for the dwell statistics, when its published histogram says nobody stayed.
    nobody_stayed = old(C.PASSERSBY).isNotNull() & (old(C.VISITS) == old(C.PASSERSBY))
    old_shown = {layer.name: F.when(old(C.STATUS).isNotNull(), (old(C.STATUS) == STATUS_PUBLISHED) & (
        old(layer.metrics[0]).isNotNull() | (nobody_stayed if layer is DWELL else F.lit(False)))) for layer in LAYERS}
    suppressed = suppress_where(joined, F.coalesce(hide, F.lit(False)), WITHHELD_REPUBLISH)
    return suppressed.transform(carry_over, old_shown).select(
        *cells.columns, *[why for why in WHY if why not in cells.columns])


_ZONE_KEYS = (C.ZONE_SET, C.ZONE_ID)
# Which columns identify a cell within a zone, per grid.
_CELL_KEYS = {HOURLY: (C.HOUR_START, C.AGE_BAND, C.GENDER), TOTAL: (C.HOUR_START,), DAILY: (C.AGE_BAND, C.GENDER),
              DAILY_TOTAL: (), MARGIN: (C.AGE_BAND, C.GENDER), DAYPART: (C.PART_START, C.AGE_BAND, C.GENDER),
              CATCHMENT: (C.HOME_DISTRICT,), week.WEEKLY: (C.AGE_BAND, C.GENDER), week.WEEK_TOTAL: (),
              week.WEEK_MARGIN: (C.AGE_BAND, C.GENDER), week.WEEK_CATCHMENT: (C.HOME_DISTRICT,)}
# The published tables' cells in footfall.privacy.audit.
_KIND_OF = {ZONE_HOURLY: HOURLY, ZONE_HOURLY_TOTAL: TOTAL, ZONE_DAILY: DAILY, ZONE_DAILY_TOTAL: DAILY_TOTAL,
            ZONE_DAILY_MARGINS: MARGIN, ZONE_DAYPART: DAYPART, ZONE_CATCHMENT: CATCHMENT}
# A day part is named by its start in the auditor's cells, as an hour is (and so in ops.withheld_cells).
_AS_HOUR = {C.PART_START: C.HOUR_START}
# The auditor's long format has one label slot besides the hour and the cohort: a catchment
# cell's home district rides in its age_band column (footfall.privacy.relations.cell_name).
_IN_LONG = {**_AS_HOUR, C.HOME_DISTRICT: C.AGE_BAND}
_LONG_SCHEMA = StructType([
    StructField(C.ZONE_SET, StringType()), StructField(C.ZONE_ID, StringType()), StructField(KIND, StringType()),
    StructField(C.HOUR_START, TimestampType()), StructField(C.AGE_BAND, StringType()),
    StructField(C.GENDER, StringType()), StructField(C.VISITORS, LongType()), StructField(C.STATUS, StringType()),
])
_WEEK_KIND_OF = {ZONE_WEEKLY: week.WEEKLY, ZONE_WEEKLY_TOTAL: week.WEEK_TOTAL, ZONE_WEEKLY_MARGINS: week.WEEK_MARGIN,
                 ZONE_WEEKLY_CATCHMENT: week.WEEK_CATCHMENT}
# A week's cells and its days' together: the days' with their date, the week's without.
_DATED_SCHEMA = StructType([*_LONG_SCHEMA.fields, StructField(C.EVENT_DATE, DateType())])
_EXTRA = "_extra_suppression"  # why the cell is withheld now, NULL where it is not


def _conform(grid: DataFrame, schema: StructType, fixed: dict[str, Column]) -> DataFrame:
    """The grid in `schema`'s columns: those in `fixed` as given, the grid's own, NULL for the rest."""
    return grid.select(*[
        fixed[f.name].alias(f.name) if f.name in fixed
        else F.col(f.name) if f.name in grid.columns
        else F.lit(None).cast(f.dataType).alias(f.name)
        for f in schema.fields
    ])


def _as_hour(grid: DataFrame) -> dict[str, Column]:
    """A day part's start as the cell's hour_start (zone_daypart), else nothing."""
    return {_AS_HOUR[c]: F.col(c) for c in _AS_HOUR if c in grid.columns}


def _long(grid: DataFrame, kind: str) -> DataFrame:
    """A grid's cells in the auditor's long format (_IN_LONG); the keys a grid lacks are NULL."""
    return _conform(grid, _LONG_SCHEMA, {KIND: F.lit(kind), **{_IN_LONG[c]: F.col(c) for c in _IN_LONG
                                                               if c in grid.columns}})


def protect_linked(grids: Mapping[Table, DataFrame], k: int) -> dict[Table, DataFrame]:
    """Secondary suppression of one day's grids (by published table, after primary suppression;
    a table may be missing), per zone in one pandas UDF (footfall.privacy.protect.protect_day):
    subtraction from each published total, then more cells until the LP attacker, who sees all
    the grids at once, narrows no suppressed cell of any zone below k. Returns the grids by
    table, each withheld cell with its reason.

    Only zones with both published and suppressed cells go to the UDF: with nothing published
    there is nothing to reason from, with nothing suppressed nothing to find. The inputs are
    read more than once (here and when written), so the caller should persist them.
    """
    long = functools.reduce(DataFrame.unionByName, [_long(grid, _KIND_OF[t]) for t, grid in grids.items()])
    published = F.col(C.STATUS) == STATUS_PUBLISHED
    mixed = long.groupBy(*_ZONE_KEYS).agg(F.bool_or(published).alias("p"), F.bool_or(~published).alias("s")).where(
        F.col("p") & F.col("s")).select(*_ZONE_KEYS)

    def protect(zone: pd.DataFrame) -> pd.DataFrame:
        chosen = protect_day(zone, k)[list(_LONG_SCHEMA.names)]
        # NULLs made the group's visitors float; the chosen (published) cells' are whole numbers.
        return chosen.astype({C.VISITORS: "int64"})

    # The LPs are heavy per row and their input is small, so adaptive execution would coalesce
    # the shuffle into a few partitions by bytes (3 tasks on 2 cores at M, one running alone for
    # minutes). An explicit partition count is kept as it is, and the groupBy reuses it.
    partitions = int(long.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)
    extra = (
        long.join(F.broadcast(mixed), list(_ZONE_KEYS), "left_semi")
        .repartition(partitions, *_ZONE_KEYS)
        .groupBy(*_ZONE_KEYS).applyInPandas(protect, _LONG_SCHEMA)
        .withColumn(_EXTRA, F.col(C.STATUS))
        # Eager and kept while referenced: the LPs run once, not once per grid joined below.
        .localCheckpoint()
    )

    return {t: _withhold_chosen(grid, extra, _KIND_OF[t]) for t, grid in grids.items()}


def _withhold_chosen(grid: DataFrame, extra: DataFrame, kind: str) -> DataFrame:
    """`grid` (of audit kind `kind`) with the cells `extra` names (long format) withheld, for the
    reason in its _EXTRA column."""
    keys = [*_ZONE_KEYS, *_CELL_KEYS[kind]]
    chosen = extra.where(F.col(KIND) == kind).select(*[F.col(_IN_LONG.get(c, c)).alias(c) for c in keys], _EXTRA)
    marked = grid.join(chosen, keys, "left")
    return suppress_where(marked, F.col(_EXTRA).isNotNull(), F.col(_EXTRA)).select(*grid.columns)


def published_days(tables: Mapping[Table, DataFrame]) -> DataFrame:
    """The days' published cells (by day table: its rows of the week's days and one zone set, public
    status) in the auditor's long format with their event_date: what the week is audited against."""
    return functools.reduce(DataFrame.unionByName, [
        _conform(rows, _DATED_SCHEMA, {KIND: F.lit(_KIND_OF[t]), **{_IN_LONG[c]: F.col(c) for c in _IN_LONG
                                                                     if c in rows.columns}})
        for t, rows in tables.items()])


def protect_week(grids: Mapping[Table, DataFrame], days: DataFrame, k: int) -> dict[Table, DataFrame]:
    """The week's grids (after primary suppression) with the cells withheld that the LP over the
    week beside its published `days` (published_days) would let narrow a withheld cell below k
    (footfall.privacy.week.protect); the days stay as published. Only zones with a published week
    cell go to the UDF: with none, nothing can be withheld."""
    cells = week_cells(grids, days)

    def protect(zone: pd.DataFrame) -> pd.DataFrame:
        of_week = zone[C.EVENT_DATE].isna()
        chosen = week.protect(zone[~of_week], zone[of_week], k)[list(_LONG_SCHEMA.names)]
        return chosen.astype({C.VISITORS: "int64"})

    partitions = int(cells.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)  # as protect_linked
    extra = (cells.repartition(partitions, *_ZONE_KEYS).groupBy(*_ZONE_KEYS).applyInPandas(protect, _LONG_SCHEMA)
             .withColumn(_EXTRA, F.lit(WITHHELD_LINKED)).localCheckpoint())
    return {t: _withhold_chosen(grid, extra, _WEEK_KIND_OF[t]) for t, grid in grids.items()}


def week_cells(grids: Mapping[Table, DataFrame], days: DataFrame) -> DataFrame:
    """protect_week's input: the days' and the week's cells in the long format (a week cell's
    event_date NULL) of the zones with a published week cell."""
    cells = days.unionByName(functools.reduce(DataFrame.unionByName, [
        _conform(_long(grid, _WEEK_KIND_OF[t]), _DATED_SCHEMA, {}) for t, grid in grids.items()]))
    with_published = cells.where(F.col(C.EVENT_DATE).isNull() & (F.col(C.STATUS) == STATUS_PUBLISHED)).select(
        *_ZONE_KEYS).distinct()
    return cells.join(F.broadcast(with_published), list(_ZONE_KEYS), "left_semi")


def public_status(grid: DataFrame) -> DataFrame:
    """The grid as published: every reason a cell was withheld becomes status `suppressed`, and
    the rows are sorted by their keys within each partition.

    Any other status than published or a reason is a bug upstream (e.g. a dp cell on the
    suppression path, where no noise was added): the write fails rather than publish it. The
    sort, because the order in which disclosure control leaves the rows (its joins and window
    rules) may follow why a cell was withheld and would survive into the files, and a reader of
    a file in its order could tell a cell withheld to protect another from one below k.
    """
    status = F.col(C.STATUS)
    public = (F.when(status == STATUS_PUBLISHED, status)
              .when(status.isin(*WITHHELD_REASONS), F.lit(STATUS_SUPPRESSED))
              .otherwise(F.raise_error(F.concat(F.lit("disclosure control produced status "), F.coalesce(
                  status, F.lit("NULL")), F.lit(": a bug, nothing is published")))))
    return grid.withColumn(C.STATUS, public.cast("string")).drop(*PRIVATE, *WHY).sortWithinPartitions(
        *[c for c in PUBLISHED_KEYS if c in grid.columns])


def withheld_cells(grid: DataFrame, table_name: str, run_id: str) -> DataFrame:
    """The withheld cells of a grid before `public_status`, and the published ones whose visit
    metrics were withheld, with their reason: ops.withheld_cells rows (the keys a grid lacks are
    NULL; a week's cell is dated by its Monday)."""
    reason = F.when(F.col(C.STATUS) == STATUS_PUBLISHED, withheld_layer(grid)).otherwise(F.col(C.STATUS))
    week = {C.EVENT_DATE: F.col(C.WEEK_START)} if C.WEEK_START in grid.columns else {}
    return _conform(grid.where(reason.isNotNull()), WITHHELD_CELLS.struct, {
        C.TABLE_NAME: F.lit(table_name), C.RUN_ID: F.lit(run_id), C.REASON: reason, **_as_hour(grid), **week})
