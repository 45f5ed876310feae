"""How much of a day the release answers (issue 16, "utility, measured"): per published level,
the share of the day's visits and of its visitor-hours that lie in a cell whose visitors are
published. Computed by compute from the visits and the published grids after disclosure control,
recorded in ops.runs' counts and printed by `footfall run` and `footfall compute-week` (`utility`;
docs/definitions.md, "Utility"; measured in docs/analysts.md, "How much is published").

Definitions (docs/definitions.md, "Utility"):
- a visitor-hour is one subscriber present in one zone in one local hour (a row of zone_hourly's
  visitor count before suppression; their sum is `visitors_total`);
- a visit belongs to the local hour it starts in (visits are cut at local midnight, so every
  visit of the day starts in one of its hours), and counts as in the tables' visit counts: not
  beyond privacy.max_visits_per_zone_hour per subscriber, zone and hour (bound_contributions);
- a visitor-hour or a visit is covered at a level when the cell of that level holding it (its
  zone, hour, day part, day or ISO week, and cohort or home district where the level has one)
  publishes its visitors. Whether the cell's visit metrics are shown as well is counted apart
  (`*_visits_withheld`).

compute-week counts the same over the week's seven days, at the day levels (the days as
published) and at the week's (WEEK_LEVELS); "any cohort level" is then any of both.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from footfall.pipeline.aggregate import STARTS_HERE
from footfall.schemas import (
    MARGIN_ALL,
    STATUS_PUBLISHED,
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


@dataclass(frozen=True)
class Level:
    name: str  # in the counts' names
    label: str  # as printed
    table: Table
    keys: tuple[str, ...]  # of its cells, beside the constant zone set (and week)
    # The table's rows that are this level's cells: (column, value), or None for all. (Not a
    # Column: building one at import time would need a live Spark session.)
    rows: tuple[str, str] | None = None

    def cells(self, grid: DataFrame) -> DataFrame:
        return grid if self.rows is None else grid.where(F.col(self.rows[0]) == self.rows[1])


_DAY = (C.ZONE_ID, C.EVENT_DATE)  # a day level's cells: one day in compute, seven in compute-week
LEVELS = (
    Level("hour_cohort", "hour x cohort", ZONE_HOURLY, (*_DAY, C.HOUR_START, C.AGE_BAND, C.GENDER)),
    Level("hour", "hour", ZONE_HOURLY_TOTAL, (*_DAY, C.HOUR_START)),
    Level("daypart_cohort", "day part x cohort", ZONE_DAYPART, (*_DAY, C.DAY_PART, C.AGE_BAND, C.GENDER)),
    Level("day_cohort", "day x cohort", ZONE_DAILY, (*_DAY, C.AGE_BAND, C.GENDER)),
    Level("day_age", "day x age band", ZONE_DAILY_MARGINS, (*_DAY, C.AGE_BAND), (C.GENDER, MARGIN_ALL)),
    Level("day_gender", "day x gender", ZONE_DAILY_MARGINS, (*_DAY, C.GENDER), (C.AGE_BAND, MARGIN_ALL)),
    Level("day", "day", ZONE_DAILY_TOTAL, _DAY),
    Level("day_home", "day x home district", ZONE_CATCHMENT, (*_DAY, C.HOME_DISTRICT)),
)
WEEK_LEVELS = (
    Level("week_cohort", "week x cohort", ZONE_WEEKLY, (C.ZONE_ID, C.AGE_BAND, C.GENDER)),
    Level("week_age", "week x age band", ZONE_WEEKLY_MARGINS, (C.ZONE_ID, C.AGE_BAND), (C.GENDER, MARGIN_ALL)),
    Level("week_gender", "week x gender", ZONE_WEEKLY_MARGINS, (C.ZONE_ID, C.GENDER), (C.AGE_BAND, MARGIN_ALL)),
    Level("week", "week", ZONE_WEEKLY_TOTAL, (C.ZONE_ID,)),
    Level("week_home", "week x home district", ZONE_WEEKLY_CATCHMENT, (C.ZONE_ID, C.HOME_DISTRICT)),
)
# A visit or visitor-hour covered by a published cell of any level with a cohort dimension: the
# share that some cohort-level number describes (issue 16's 90 % target).
ANY_COHORT = Level("any_cohort", "any cohort level", ZONE_DAILY, ())
_COHORT_LEVELS = ("hour_cohort", "daypart_cohort", "day_cohort", "day_age", "day_gender", "week_cohort", "week_age",
                  "week_gender")
# The zones of the set (every zone has a day-total cell, zero or not), and those with a published
# cell of a cohort level: issue 16's demo target (at least half the store fronts).
ZONES_TOTAL = "utility_zones"
ZONES_ANY_COHORT = "utility_zones_any_cohort"
VISITS_TOTAL = "utility_visits"
VISITOR_HOURS_TOTAL = "utility_visitor_hours"
_STARTING = "_visits_starting"


def visits_covered(level: str) -> str:
    return f"utility_visits_{level}"


def visitor_hours_covered(level: str) -> str:
    return f"utility_visitor_hours_{level}"


def coverage(visit_hours: DataFrame, grids: Mapping[Table, DataFrame], levels: tuple[Level, ...] = LEVELS
             ) -> DataFrame:
    """One row: the visits and visitor-hours, and per level those covered (the counts' names
    above). `visit_hours`: footfall.pipeline.aggregate.explode_visit_hours' rows, one per visit
    and local hour it overlaps; `grids`: the levels' tables after disclosure control (status
    `published` or why the cell was withheld; or the public status)."""
    rows = visit_hours.groupBy(C.PSEUDO_ID, C.ZONE_ID, C.EVENT_DATE, C.HOUR_START, C.DAY_PART, C.AGE_BAND, C.GENDER,
                               C.HOME_DISTRICT).agg(
        F.count(F.when(F.col(STARTS_HERE), 1)).alias(_STARTING))  # one row per visitor-hour
    totals: list[Column] = [F.count(F.lit(1)).alias(VISITOR_HOURS_TOTAL),
                            F.sum(_STARTING).alias(VISITS_TOTAL)]
    flags: dict[str, Column] = {}
    for level in levels:
        flag = f"_{level.name}"
        published = level.cells(grids[level.table]).where(F.col(C.STATUS) == STATUS_PUBLISHED).select(
            *level.keys, F.lit(True).alias(flag))
        rows = rows.join(published, list(level.keys), "left")
        flags[level.name] = F.coalesce(F.col(flag), F.lit(False))
    flags[ANY_COHORT.name] = functools.reduce(Column.__or__, [flags[name] for name in _COHORT_LEVELS if name in flags])
    for name, covered in flags.items():
        totals += [F.count(F.when(covered, 1)).alias(visitor_hours_covered(name)),
                   F.sum(F.when(covered, F.col(_STARTING))).alias(visits_covered(name))]
    return rows.agg(*totals)


def zones_answered(grids: Mapping[Table, DataFrame], levels: tuple[Level, ...] = LEVELS) -> DataFrame:
    """One row: the zones of the set and those with at least one published cell of a cohort level."""
    answered = "_answered"
    zones = [grids[ZONE_DAILY_TOTAL].select(C.ZONE_ID, F.lit(False).alias(answered))]
    published = [level.cells(grids[level.table]).where(F.col(C.STATUS) == STATUS_PUBLISHED).select(
        C.ZONE_ID, F.lit(True).alias(answered)) for level in levels if level.name in _COHORT_LEVELS]
    per_zone = functools.reduce(DataFrame.union, zones + published).groupBy(C.ZONE_ID).agg(
        F.max(answered).alias(answered))
    return per_zone.agg(F.count(F.lit(1)).alias(ZONES_TOTAL),
                        F.count(F.when(F.col(answered), 1)).alias(ZONES_ANY_COHORT))


def coverage_counts(visit_hours: DataFrame, grids: Mapping[Table, DataFrame], levels: tuple[Level, ...] = LEVELS
                    ) -> dict[str, int]:
    """coverage() and zones_answered(), collected in one Spark job: the counts compute (and
    compute-week) records in ops.runs."""
    row = coverage(visit_hours, grids, levels).crossJoin(zones_answered(grids, levels)).first()
    return {} if row is None else {name: int(value or 0) for name, value in row.asDict().items()}


def share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def utility(counts: dict[str, int]) -> str | None:
    """Per level, the shares of the day's (or week's) visits and visitor-hours in a cell with
    published visitors (footfall.pipeline.utility), from a compute (or compute-week) run's
    counts; None for runs before they were counted."""
    visits, hours = counts.get(VISITS_TOTAL), counts.get(VISITOR_HOURS_TOTAL)
    if visits is None or hours is None:
        return None
    levels = [*LEVELS, *(level for level in WEEK_LEVELS if visits_covered(level.name) in counts), ANY_COHORT]
    parts = [f"{level.label} {share(counts.get(visits_covered(level.name), 0), visits)} / "
             f"{share(counts.get(visitor_hours_covered(level.name), 0), hours)}" for level in levels]
    zones = ""
    if ZONES_TOTAL in counts:
        answered = counts.get(ZONES_ANY_COHORT, 0)
        zones = f"; zones with a published cohort-level cell {answered} of {counts[ZONES_TOTAL]} " \
                f"({share(answered, counts[ZONES_TOTAL])})"
    return "visits / visitor-hours in a cell with published visitors: " + ", ".join(parts) + zones
