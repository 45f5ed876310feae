"""How much of a day the release answers (issue 16, "utility, measured"): per published level,
the share of the day's visits and of its visitor-hours that lie in a cell whose visitors are
published. Computed by compute from the visits and the four grids after disclosure control,
recorded in ops.runs' counts and printed by `footfall run` (footfall.pipeline.run.utility;
docs/definitions.md, "Utility"; measured in docs/analysts.md, "How much is published").

Definitions (docs/definitions.md, "Utility"):
- a visitor-hour is one subscriber present in one zone in one local hour (a row of zone_hourly's
  visitor count before suppression; their sum is `visitors_total`);
- a visit belongs to the local hour it starts in (visits are cut at local midnight, so every
  visit of the day starts in one of its hours), and counts as in the tables' visit counts: not
  beyond privacy.max_visits_per_zone_hour per subscriber, zone and hour (bound_contributions);
- a visitor-hour or a visit is covered at a level when the cell of that level holding it (its
  zone, hour or day, and cohort where the level has one) publishes its visitors. Whether the
  cell's visit metrics are shown as well is counted apart (`*_visits_withheld`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from footfall.pipeline.aggregate import STARTS_HERE
from footfall.schemas import (
    STATUS_PUBLISHED,
    ZONE_DAILY,
    ZONE_DAILY_TOTAL,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
    Table,
)

# The level's name in the counts and the keys (beside the constant day and zone set) of its cells.
LEVELS: dict[Table, tuple[str, tuple[str, ...]]] = {
    ZONE_HOURLY: ("hour_cohort", (C.ZONE_ID, C.HOUR_START, C.AGE_BAND, C.GENDER)),
    ZONE_HOURLY_TOTAL: ("hour", (C.ZONE_ID, C.HOUR_START)),
    ZONE_DAILY: ("day_cohort", (C.ZONE_ID, C.AGE_BAND, C.GENDER)),
    ZONE_DAILY_TOTAL: ("day", (C.ZONE_ID,)),
}
LEVEL_NAMES = {"hour_cohort": "hour x cohort", "hour": "hour", "day_cohort": "day x cohort", "day": "day"}
VISITS_TOTAL = "utility_visits"
VISITOR_HOURS_TOTAL = "utility_visitor_hours"
_STARTING = "_visits_starting"


def visits_covered(level: str) -> str:
    return f"utility_visits_{level}"


def visitor_hours_covered(level: str) -> str:
    return f"utility_visitor_hours_{level}"


def coverage(visit_hours: DataFrame, grids: Mapping[Table, DataFrame]) -> DataFrame:
    """One row: the day's visits and visitor-hours, and per level those covered (the counts'
    names above). `visit_hours`: footfall.pipeline.aggregate.explode_visit_hours' rows, one per
    visit and local hour it overlaps; `grids`: the four grids of the day after disclosure
    control (status `published` or why the cell was withheld)."""
    rows = visit_hours.groupBy(C.PSEUDO_ID, C.ZONE_ID, C.HOUR_START, C.AGE_BAND, C.GENDER).agg(
        F.count(F.when(F.col(STARTS_HERE), 1)).alias(_STARTING))  # one row per visitor-hour
    totals: list[Column] = [F.count(F.lit(1)).alias(VISITOR_HOURS_TOTAL),
                            F.sum(_STARTING).alias(VISITS_TOTAL)]
    for table, (level, keys) in LEVELS.items():
        flag = f"_{level}"
        published = grids[table].where(F.col(C.STATUS) == STATUS_PUBLISHED).select(*keys, F.lit(True).alias(flag))
        rows = rows.join(published, list(keys), "left")
        totals += [F.count(F.col(flag)).alias(visitor_hours_covered(level)),
                   F.sum(F.when(F.col(flag), F.col(_STARTING))).alias(visits_covered(level))]
    return rows.agg(*totals)


def coverage_counts(visit_hours: DataFrame, grids: Mapping[Table, DataFrame]) -> dict[str, int]:
    """coverage() collected: the counts compute records in ops.runs."""
    row = coverage(visit_hours, grids).first()
    return {} if row is None else {name: int(value or 0) for name, value in row.asDict().items()}
