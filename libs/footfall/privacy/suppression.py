"""Disclosure control on the published grids: primary and secondary suppression.

Primary: a cell with fewer than k distinct subscribers is published with every metric NULL.
Secondary, in two passes (docs/privacy.md):

1. `suppress_secondary`, a window rule in Spark over every zone x hour: where a published total
   minus the published cohort cells reveals the suppressed cells' sum S, more cohort cells are
   suppressed until that sum protects them. This is the closed-form solution of the one-hour LP
   and does most of the work cheaply, for every zone set however large.
2. `protect_linked`, per zone with a pandas UDF: the LP attacker of footfall.privacy.audit over
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
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, LongType, StringType, StructField, StructType, TimestampType

from footfall.pipeline.aggregate import COUNT_METRICS, ESTIMATES, METRICS, PRIVATE
from footfall.privacy import week
from footfall.privacy.protect import protect_zone
from footfall.privacy.relations import CATCHMENT, DAILY, DAILY_TOTAL, DAYPART, HOURLY, KIND, MARGIN, TOTAL
from footfall.privacy.visit_metrics import DWELL, LAYERS, WHY, carry_over, withheld_layer
from footfall.schemas import (
    MARGIN_ALL,
    PUBLISHED_KEYS,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    WITHHELD_CELLS,
    WITHHELD_LINKED,
    WITHHELD_PRIMARY,
    WITHHELD_REASONS,
    WITHHELD_REPUBLISH,
    WITHHELD_SUBTRACTION,
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

_TOTAL = "_total"
_HIDDEN_SUM = "_hidden_sum"
_N_SUPPRESSED = "_n_suppressed"
_RANK = "_rank"
_BEFORE = "_published_before"
_OLD = "_old_"
_SHOWN = "_published_cohorts"


def suppress_where(cells: DataFrame, condition: Column, status: str) -> DataFrame:
    """Cells where `condition` holds get every metric (and estimate) NULL and `status`; the rest
    are unchanged."""
    hide = F.coalesce(condition, F.lit(True))  # an undecidable condition suppresses: fail safe
    return cells.select(*[
        F.when(~hide, F.col(c)).alias(c) if c in METRICS or c in ESTIMATES
        else F.when(hide, F.lit(status)).otherwise(F.col(c)).alias(c) if c == C.STATUS
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


def suppress_secondary(cells: DataFrame, totals: DataFrame, keys: Sequence[str], k: int) -> DataFrame:
    """Protect suppressed cohort cells against subtraction from a published total.

    `cells` are cohort cells after primary suppression, `totals` the total over all cohorts
    after primary suppression, both with the group `keys` (e.g. zone x hour). Per group whose
    total is published, S = total - sum of published cohort cells is the visitor sum of the
    suppressed cells, computed exactly as an attacker would, from published numbers only.
    Whenever S > 0 and (only one cohort cell is suppressed, or S < k), the published cells are
    suppressed in order of visitors (smallest first; ties by the remaining columns' order) until
    at least two are suppressed and S >= k. S = 0 reveals only that the suppressed cells are
    empty, which discloses nobody.
    """
    published = F.col(C.STATUS) == STATUS_PUBLISHED
    group = Window.partitionBy(*keys)
    # Published cells first, smallest first; the cohort columns make the order deterministic.
    tie_break = [c for c in cells.columns
                 if c not in keys and c not in METRICS and c not in PRIVATE and c not in WHY and c != C.STATUS]
    order = Window.partitionBy(*keys).orderBy(~published, C.VISITORS, *tie_break)
    # Totals are one row per group (1/21 of the cohort cells): broadcast them.
    shown = totals.where(F.col(C.STATUS) == STATUS_PUBLISHED).select(*keys, F.col(C.VISITORS).alias(_TOTAL))
    joined = cells.alias("c").join(
        F.broadcast(shown.alias("t")), [F.col(f"c.{key}") == F.col(f"t.{key}") for key in keys], how="left"
    ).select("c.*", f"t.{_TOTAL}")
    published_sum = F.coalesce(F.sum(F.when(published, F.col(C.VISITORS))).over(group), F.lit(0))
    smaller_sum = F.coalesce(F.sum(C.VISITORS).over(order.rowsBetween(Window.unboundedPreceding, -1)), F.lit(0))
    ranked = (
        joined.withColumn(_HIDDEN_SUM, F.col(_TOTAL) - published_sum)
        .withColumn(_N_SUPPRESSED, F.count(F.when(~published, 1)).over(group))
        .withColumn(_RANK, F.row_number().over(order))
        .withColumn(_BEFORE, smaller_sum)
    )
    # A published cell of rank r is suppressed iff the goal is not yet met with the r - 1
    # smaller published cells suppressed before it. The goal is monotone in r, so this
    # suppresses exactly the shortest prefix that meets it.
    protected_without_it = (F.col(_N_SUPPRESSED) + F.col(_RANK) - 1 >= 2) & (F.col(_HIDDEN_SUM) + F.col(_BEFORE) >= k)
    needs_more = published & (F.col(_HIDDEN_SUM) > 0) & ~protected_without_it
    return suppress_where(ranked, F.coalesce(needs_more, F.lit(False)), WITHHELD_SUBTRACTION).select(*cells.columns)


def suppress_margins_secondary(margins: DataFrame, daily: DataFrame, totals: DataFrame, keys: Sequence[str],
                               k: int) -> DataFrame:
    """The first pass of secondary suppression for zone_daily_margins, after primary suppression.

    A margin cell (an age band's or a gender's visitors of the day) minus its published cohort
    cells of `daily` (zone_daily after its own secondary suppression) is the sum S of its
    suppressed cohort cells. Where S > 0 and (S < k, or only one of them is suppressed), the
    margin cell is suppressed: the finer level wins, and a margin is published where it adds
    k or more people beyond the published cohorts (or exactly none). Then the age bands and the
    genders are each a partition of the day's visitors, each protected against the day's total
    (`totals`) by suppress_secondary on its own. Both steps only suppress more, so neither
    undoes the other's protection; protect_linked checks all relations together after."""
    published = F.col(C.STATUS) == STATUS_PUBLISHED

    def beneath(by: str, other: str) -> DataFrame:
        return daily.groupBy(*keys, by).agg(
            F.coalesce(F.sum(F.when(published, F.col(C.VISITORS))), F.lit(0)).alias(_SHOWN),
            F.count(F.when(~published, 1)).alias(_N_SUPPRESSED)).withColumn(other, F.lit(MARGIN_ALL))

    cohorts = beneath(C.AGE_BAND, C.GENDER).unionByName(beneath(C.GENDER, C.AGE_BAND))
    joined = margins.join(cohorts, [*keys, C.AGE_BAND, C.GENDER], "left")
    hidden = F.col(C.VISITORS) - F.col(_SHOWN)
    pins = published & (hidden > 0) & ((hidden < k) | (F.col(_N_SUPPRESSED) == 1))
    over_cohorts = suppress_where(joined, F.coalesce(pins, F.lit(False)), WITHHELD_SUBTRACTION).select(
        *margins.columns)
    by_age = F.col(C.GENDER) == MARGIN_ALL
    return functools.reduce(DataFrame.unionByName, [
        over_cohorts.where(rows).transform(suppress_secondary, totals, keys, k) for rows in (by_age, ~by_age)])


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
_EXTRA = "_extra_suppression"


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
    """Suppress more cells of one day's grids (by published table; a table may be missing) until
    the LP attacker, who sees them all at once, narrows no suppressed cell of any zone below k.
    Returns the grids by table.

    Only zones with both published and suppressed cells go to the UDF: with nothing published
    there is nothing to reason from, with nothing suppressed nothing to find. The inputs are
    read more than once (here and when written), so the caller should persist them.
    """
    long = functools.reduce(DataFrame.unionByName, [_long(grid, _KIND_OF[t]) for t, grid in grids.items()])
    published = F.col(C.STATUS) == STATUS_PUBLISHED
    mixed = long.groupBy(*_ZONE_KEYS).agg(F.bool_or(published).alias("p"), F.bool_or(~published).alias("s")).where(
        F.col("p") & F.col("s")).select(*_ZONE_KEYS)

    def protect(zone: pd.DataFrame) -> pd.DataFrame:
        chosen = protect_zone(zone, k)[list(_LONG_SCHEMA.names)]
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
        .withColumn(_EXTRA, F.lit(True))
        # Eager and kept while referenced: the LPs run once, not once per grid joined below.
        .localCheckpoint()
    )

    return {t: _withhold_chosen(grid, extra, _KIND_OF[t]) for t, grid in grids.items()}


def _withhold_chosen(grid: DataFrame, extra: DataFrame, kind: str) -> DataFrame:
    """`grid` (of audit kind `kind`) with the cells `extra` names (long format) withheld as linked."""
    keys = [*_ZONE_KEYS, *_CELL_KEYS[kind]]
    chosen = extra.where(F.col(KIND) == kind).select(*[F.col(_IN_LONG.get(c, c)).alias(c) for c in keys], _EXTRA)
    marked = grid.join(chosen, keys, "left")
    return suppress_where(marked, F.col(_EXTRA).isNotNull(), WITHHELD_LINKED).select(*grid.columns)


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
             .withColumn(_EXTRA, F.lit(True)).localCheckpoint())
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
    sort, because the order in which disclosure control leaves the rows (suppress_secondary
    orders each group by status and visitors) would survive into the files, and a reader of a
    file in its order could tell a cell withheld to protect another from one below k.
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
