"""Disclosure control across zone sets: a zone that nearly equals the union of zones of another
set (ref.zone_relations, found by load-reference) is protected against its parts.

A district that is exactly two localities: locality A 22, locality B 21 and the district 42
women 65+ at 15:00, all published, so exactly one of them was in both localities in that hour.
Per cell, the parts' sum minus the union counts the people in two parts at once (and, with a
sliver between them, minus the people in none). Where the union and all its parts are
published, that difference must be 0 or at least k in size; otherwise one cell of the set being
computed is withheld (`nested`): its part with the fewest visitors, or the union itself. With
one of them withheld the difference is unknown (the union lies between its largest part and
the parts' sum, a withheld part between the union minus the others and the union), and the
set's own secondary suppression then protects that cell like any other withheld one.

The sets are computed one after another, each against the other sets' published cells of the
same day; the set computed second (or republished later) sees both and decides. Visitors only:
the visit metrics count visits starting in a zone, which a union's and its parts' visit
segmentations split differently, so no such identity holds between them (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampType

from footfall.privacy.suppression import suppress_where
from footfall.schemas import STATUS_PUBLISHED, WITHHELD_NESTED, ZONE_RELATIONS, C, Table

_GROUP_SET, _GROUP_ID, _ROLE, _V = "_group_set", "_group_id", "_role", "_v"
_UNION, _PART = "union", "part"
_FLAG = "_nested"
_CELL = "_cell"


@dataclass(frozen=True)
class Nesting:
    """The relations of one zone set being computed for one day."""

    zone_set: str
    event_date: dt.date
    relations: DataFrame  # rows of ref.zone_relations in which the set is the union or the parts

    def protect(self, grids: Mapping[Table, tuple[DataFrame, Sequence[str]]], k: int) -> dict[Table, DataFrame]:
        """protect_nested on each grid (by table: its cells after primary suppression, and a
        cell's keys besides zone and day) against the other sets' published cells of the same
        table and day. All grids in one pass, each cell named by its table and keys (_cell_id):
        one plan and one read of the other sets instead of one per grid, which cost seconds of
        the driver's planning per grid on a small day (docs/benchmarks.md)."""
        spark = self.relations.sparkSession

        def named(cells: DataFrame, table: Table, keys: Sequence[str]) -> DataFrame:
            return cells.select(C.ZONE_SET, C.ZONE_ID, _cell_id(cells, table, keys), C.STATUS, C.VISITORS)

        def others(table: Table, keys: Sequence[str]) -> DataFrame:
            return named(spark.table(table.name).where(
                (F.col(C.EVENT_DATE) == F.lit(self.event_date)) & (F.col(C.ZONE_SET) != self.zone_set)
                & (F.col(C.STATUS) == STATUS_PUBLISHED)), table, keys)

        def union(frames: list[DataFrame]) -> DataFrame:
            return functools.reduce(DataFrame.unionByName, frames)

        # Checkpointed: protect_nested reads its cells three times, and each grid joins the result.
        mine = union([named(cells, t, keys) for t, (cells, keys) in grids.items()]).localCheckpoint()
        theirs = union([others(t, keys) for t, (_, keys) in grids.items()])
        withheld = protect_nested(mine, theirs, self.relations, self.zone_set, [_CELL], k).where(
            F.col(C.STATUS) == WITHHELD_NESTED).select(C.ZONE_ID, _CELL, F.lit(True).alias(_FLAG)).localCheckpoint()

        def apply(cells: DataFrame, table: Table, keys: Sequence[str]) -> DataFrame:
            flagged = cells.withColumn(_CELL, _cell_id(cells, table, keys)).join(withheld, [C.ZONE_ID, _CELL], "left")
            hide = (F.col(C.STATUS) == STATUS_PUBLISHED) & F.col(_FLAG).isNotNull()
            return suppress_where(flagged, hide, WITHHELD_NESTED).select(*cells.columns)

        return {t: apply(cells, t, keys) for t, (cells, keys) in grids.items()}


def _cell_id(cells: DataFrame, table: Table, keys: Sequence[str]) -> Column:
    """A cell's name across the grids: its table and its keys (a timestamp as epoch seconds,
    whatever the session's time zone). A table has at most one free-text key (the home
    district), so the separator cannot make two cells of a table one."""
    values = [F.col(c).cast("long") if isinstance(cells.schema[c].dataType, TimestampType) else F.col(c)
              for c in keys]
    return F.concat_ws("|", F.lit(table.name), *[v.cast("string") for v in values]).alias(_CELL)


def nesting_of(spark: SparkSession, zone_set: str, event_date: dt.date) -> Nesting | None:
    """The relations of `zone_set`, or None when it has none (nothing to protect across)."""
    if not spark.catalog.tableExists(ZONE_RELATIONS.name):
        return None
    # Checkpointed (a few dozen rows): protect_nested uses them three times, and a plan reading them
    # from the Delta table each time would list and read its log and files again.
    relations = spark.table(ZONE_RELATIONS.name).where(
        (F.col(C.ZONE_SET) == zone_set) | (F.col(C.PART_SET) == zone_set)).localCheckpoint()
    return None if relations.isEmpty() else Nesting(zone_set, event_date, relations)


def _members(relations: DataFrame) -> DataFrame:
    """One row per group (a union) and member: the union itself and each of its parts."""
    group = [F.col(C.ZONE_SET).alias(_GROUP_SET), F.col(C.ZONE_ID).alias(_GROUP_ID)]
    parts = relations.select(*group, F.lit(_PART).alias(_ROLE), F.col(C.PART_SET).alias(C.ZONE_SET),
                             F.col(C.PART_ID).alias(C.ZONE_ID))
    unions = relations.select(*group, F.lit(_UNION).alias(_ROLE), C.ZONE_SET, C.ZONE_ID).distinct()
    return parts.unionByName(unions)


def protect_nested(cells: DataFrame, others: DataFrame, relations: DataFrame, zone_set: str,
                   cell_keys: Sequence[str], k: int) -> DataFrame:
    """Withhold (`nested`) the cells of `cells` (set `zone_set`'s grid of one day after primary
    suppression) whose publication would let a union and all its parts give a difference of 1 to
    k - 1 people. `others`: the other sets' published cells of the same grid and day;
    `relations`: rows of ref.zone_relations; `cell_keys`: a cell's keys besides zone and day."""
    mine = cells.select(C.ZONE_SET, C.ZONE_ID, *cell_keys,
                        F.when(F.col(C.STATUS) == STATUS_PUBLISHED, F.col(C.VISITORS)).alias(_V))
    theirs = others.select(C.ZONE_SET, C.ZONE_ID, *cell_keys, F.col(C.VISITORS).alias(_V))
    members = _members(relations)
    n_parts = members.where(F.col(_ROLE) == _PART).groupBy(_GROUP_SET, _GROUP_ID).agg(F.count(F.lit(1)).alias("_n"))
    valued = F.broadcast(members).join(mine.unionByName(theirs), [C.ZONE_SET, C.ZONE_ID])
    group = [_GROUP_SET, _GROUP_ID, *cell_keys]
    part = F.col(_ROLE) == _PART
    sums = valued.groupBy(*group).agg(
        F.count(F.when(part, F.col(_V))).alias("_known"), F.sum(F.when(part, F.col(_V))).alias("_sum"),
        F.max(F.when(~part, F.col(_V))).alias("_union"))
    difference = F.abs(F.col("_sum") - F.col("_union"))
    unsafe = sums.join(F.broadcast(n_parts), [_GROUP_SET, _GROUP_ID]).where(
        (F.col("_known") == F.col("_n")) & F.col("_union").isNotNull() & (difference > 0) & (difference < k))
    # The cell to withhold: the union if it is this set's, else this set's part with the fewest visitors.
    candidates = valued.where(F.col(C.ZONE_SET) == zone_set).join(unsafe.select(*group), group)
    fewest = Window.partitionBy(*group).orderBy(F.col(_ROLE).desc(), _V, C.ZONE_ID)  # "union" before "part"
    chosen = candidates.withColumn("_rank", F.row_number().over(fewest)).where(F.col("_rank") == 1).select(
        C.ZONE_ID, *cell_keys, F.lit(True).alias(_FLAG)).distinct()
    flagged = cells.join(chosen, [C.ZONE_ID, *cell_keys], "left")
    hide = (F.col(C.STATUS) == STATUS_PUBLISHED) & F.col(_FLAG).isNotNull()
    return suppress_where(flagged, hide, WITHHELD_NESTED).select(*cells.columns)
