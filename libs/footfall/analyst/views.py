"""The analyst catalog's convenience views: one SQL text that Spark (`footfall sql`, `thrift`) and
DuckDB (`footfall duckdb`) read the same way (docs/analysts.md, "Views")."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from footfall.schemas import (
    MARGIN_ALL,
    PUBLISHED_TABLES,
    STATUS_PUBLISHED,
    WEEK_TABLES,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_HOURLY_TOTAL,
    ZONE_WEEKLY,
    ZONE_WEEKLY_MARGINS,
    ZONE_WEEKLY_TOTAL,
    ZONES,
    C,
    Table,
)


@dataclasses.dataclass(frozen=True)
class View:
    name: str
    comment: str
    body: str  # a SELECT in the subset of SQL that Spark and DuckDB read the same way
    needs: tuple[str, ...]


def _named(table: Table) -> View:
    on = " AND ".join(f"t.{k} = z.{k}" for k in (C.ZONE_SET, C.ZONE_ID))
    return View(
        f"{table.name}_named",
        f"{table.name} with the zone name and category from {ZONES.name}",
        f"SELECT t.*, z.{C.ZONE_NAME}, z.{C.CATEGORY} FROM {table.name} t LEFT JOIN {ZONES.name} z ON {on}",
        (table.name, ZONES.name),
    )


def _daily_profile() -> View:
    t = ZONE_HOURLY_TOTAL
    keys = f"t.{C.ZONE_SET}, t.{C.ZONE_ID}, z.{C.ZONE_NAME}, z.{C.CATEGORY}, t.{C.LOCAL_HOUR}"
    on = " AND ".join(f"t.{k} = z.{k}" for k in (C.ZONE_SET, C.ZONE_ID))
    return View(
        "footfall.zone_daily_profile",
        "Per zone and local hour of the day over all published days: visitors mean, min and max over the days "
        "in which the hour was published",
        f"SELECT {keys}, COUNT(DISTINCT t.{C.EVENT_DATE}) AS days, "
        f"COUNT(DISTINCT CASE WHEN t.{C.STATUS} = '{STATUS_PUBLISHED}' THEN t.{C.EVENT_DATE} END) AS published_days, "
        f"AVG(t.{C.VISITORS}) AS visitors_mean, MIN(t.{C.VISITORS}) AS visitors_min, "
        f"MAX(t.{C.VISITORS}) AS visitors_max "
        f"FROM {t.name} t LEFT JOIN {ZONES.name} z ON {on} GROUP BY {keys}",
        (t.name, ZONES.name),
    )


def _cell_status() -> View:
    parts = [
        f"SELECT {C.EVENT_DATE}, {C.ZONE_SET}, '{t.name}' AS table_name, {C.STATUS}, COUNT(*) AS cells "
        f"FROM {t.name} GROUP BY {C.EVENT_DATE}, {C.ZONE_SET}, {C.STATUS}"
        for t in PUBLISHED_TABLES
    ]
    return View(
        "footfall.cell_status",
        "Cells per day, zone set, published table and status: how much was suppressed",
        " UNION ALL ".join(parts),
        tuple(t.name for t in PUBLISHED_TABLES),
    )


def _best(name: str, period: str, key: str, tables: tuple[Table, Table, Table]) -> View:
    """Per zone, period (day or week) and cohort, the finest published number that holds the
    cohort: its own cell (`tables`: cohorts, margins, total), else its age band's or its
    gender's margin, else the zone's total."""
    cohorts, margins, total = tables
    # The levels finest first: the table's alias, the level's name, the join's cohort part (issue 16).
    levels = (("d", f"{period} x cohort", None),
              ("a", f"{period} x age band", f"a.{C.AGE_BAND} = d.{C.AGE_BAND} AND a.{C.GENDER} = '{MARGIN_ALL}'"),
              ("g", f"{period} x gender", f"g.{C.AGE_BAND} = '{MARGIN_ALL}' AND g.{C.GENDER} = d.{C.GENDER}"),
              ("t", period, None))
    on = " AND ".join(f"{{a}}.{k} = d.{k}" for k in (C.ZONE_SET, C.ZONE_ID, key))
    joins = "".join(f" LEFT JOIN {margins.name if cohort else total.name} {alias} ON " + on.format(a=alias)
                    + (f" AND {cohort}" if cohort else "") for alias, _, cohort in levels[1:])
    shown = [(f"{alias}.{C.STATUS} = '{STATUS_PUBLISHED}'", alias, level) for alias, level, _ in levels]
    level = " ".join(f"WHEN {cond} THEN '{name}'" for cond, _, name in shown)
    visitors = " ".join(f"WHEN {cond} THEN {alias}.{C.VISITORS}" for cond, alias, _ in shown)
    keys = ", ".join(f"d.{k}" for k in (C.ZONE_SET, C.ZONE_ID, key, C.AGE_BAND, C.GENDER))
    return View(
        name,
        f"Per zone, {period} and cohort the finest published number holding the cohort: its own cell, else its "
        "age band, else its gender, else the zone (answer_level none: nothing published)",
        f"SELECT {keys}, CASE {level} ELSE 'none' END AS answer_level, CASE {visitors} END AS {C.VISITORS} "
        f"FROM {cohorts.name} d{joins}",
        tuple(t.name for t in tables),
    )


VIEWS: tuple[View, ...] = (
    *(_named(t) for t in (*PUBLISHED_TABLES, *WEEK_TABLES)), _daily_profile(), _cell_status(),
    _best("footfall.zone_daily_best", "day", C.EVENT_DATE, (ZONE_DAILY, ZONE_DAILY_MARGINS, ZONE_DAILY_TOTAL)),
    _best("footfall.zone_weekly_best", "week", C.WEEK_START, (ZONE_WEEKLY, ZONE_WEEKLY_MARGINS, ZONE_WEEKLY_TOTAL)),
)


def views_for(paths: Mapping[str, str]) -> list[View]:
    """The views whose tables exist."""
    return [v for v in VIEWS if all(n in paths for n in v.needs)]


def spark_view_sql(view: View) -> str:
    return f"CREATE OR REPLACE VIEW {view.name} COMMENT '{view.comment}' AS {view.body}"


def duckdb_view_sql(view: View) -> str:
    return f"CREATE OR REPLACE VIEW {view.name} AS {view.body}"
