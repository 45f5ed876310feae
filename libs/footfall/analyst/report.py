"""`footfall report --date D [--zone-set S]`: an offline HTML page of one day with six charts, and its week.

A choropleth of the zones by visitors (polygons from ref.zones drawn with matplotlib, no web
tiles), hourly and day-part profiles per cohort, the catchment, the dwell-time distribution and
the suppression rate; after the map, a table of the zones' visitors and estimated residents
(zone_daily_total's visitors_est). Last, "The week": when the ISO week of D (Monday to Sunday) has
a week release for the zone set, a chart of its seven day totals for the zones with the most week
visitors and a table per zone of the week's visitors and visitors_est (zone_weekly_total) beside
the seven day totals; otherwise one sentence naming the compute-week that would publish it. The
PNGs are written next to the page and embedded in it as base64, so the page alone is enough.
Suppressed cells are never drawn or printed as zero: hatched grey, with a legend entry
"suppressed (k = ...)", or that label in the tables.

Reading goes through the footfall catalog with Spark; the charts (footfall.analyst.charts and
footfall.analyst.week_charts) are pure functions of small pandas frames.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import io
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from footfall.analyst.charts import (
    CHARTS,
    DWELL_BUCKETS,
    FIGURES,
    ReportData,
    Week,
    population_table,
    suppressed_label,
    suppression_rates,
)
from footfall.analyst.week_charts import (
    WEEK_ZONES,
    WEEKDAYS,
    week_dates,
    week_days,
    week_figure,
    week_table,
)
from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError
from footfall.localtime import week_label, week_start
from footfall.schemas import (
    PUBLISHED_TABLES,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_WEEKLY_TOTAL,
    ZONES,
    C,
)

DEFAULT_ZONE_SET = "districts"
TABLE_ZONES = 25  # the rows of the tables per zone (the day's visitors and estimated residents, the week)
NO_ROW = "no row"  # a day of the week table without a zone_daily_total row: the zone had no visitor that day


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat, help="local date YYYY-MM-DD")
    parser.add_argument("--zone-set", help=f"zone set to draw (default: {DEFAULT_ZONE_SET}, else the first)")


def command(args: argparse.Namespace, cfg: Config) -> int:
    from footfall.session import build_session

    page = write_report(load(build_session(cfg), args.date, args.zone_set, cfg.privacy.k),
                        Path(cfg.path("report_dir")) / args.date.isoformat())
    print(f"report: {page}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# Reading


def load(spark: SparkSession, day: dt.date, zone_set: str | None, k: int) -> ReportData:
    if not spark.catalog.tableExists(ZONE_DAILY.name):
        raise BadInputError("no published tables yet: run `make run` (or `footfall run --date YYYY-MM-DD`) first")

    on_day = F.col(C.EVENT_DATE) == F.lit(day)
    sets = sorted(r[C.ZONE_SET] for r in
                  spark.table(ZONE_DAILY.name).where(on_day).select(C.ZONE_SET).distinct().collect())
    if not sets:
        raise BadInputError(f"nothing published for {day}: run `footfall run --date {day}` first")
    chosen = zone_set or (DEFAULT_ZONE_SET if DEFAULT_ZONE_SET in sets else sets[0])
    if chosen not in sets:
        raise BadInputError(f"zone set '{chosen}' has nothing published for {day}: choose one of {', '.join(sets)}")
    selected = on_day & (F.col(C.ZONE_SET) == chosen)

    def table(name: str, columns: list[str]) -> pd.DataFrame:
        # (days computed before a table existed have no rows in it: its chart is empty)
        if not spark.catalog.tableExists(name):
            return pd.DataFrame(columns=columns)
        return spark.table(name).where(selected).select(*columns).toPandas()

    dwell = [b for b, _ in DWELL_BUCKETS]
    status = pd.concat([
        spark.table(t.name).where(selected).groupBy(C.STATUS).agg(F.count("*").alias("cells"))
        .withColumn("table_name", F.lit(t.name)).toPandas()
        for t in PUBLISHED_TABLES if spark.catalog.tableExists(t.name)  # days computed before a table existed
    ], ignore_index=True)
    zones = spark.table(ZONES.name).where(F.col(C.ZONE_SET) == chosen).select(C.ZONE_ID, C.ZONE_NAME, C.GEOMETRY)
    return ReportData(
        day, chosen, k,
        zones=zones.toPandas(),
        daily=table(ZONE_DAILY.name, [C.ZONE_ID, C.AGE_BAND, C.GENDER, C.VISITORS, *dwell, C.STATUS]),
        day_total=table(ZONE_DAILY_TOTAL.name, [C.ZONE_ID, C.VISITORS, C.VISITORS_EST, C.STATUS]),
        hourly=table(ZONE_HOURLY.name, [C.ZONE_ID, C.LOCAL_HOUR, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]),
        dayparts=table(ZONE_DAYPART.name, [C.ZONE_ID, C.DAY_PART, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]),
        catchment=table(ZONE_CATCHMENT.name, [C.ZONE_ID, C.HOME_DISTRICT, C.VISITORS, C.STATUS]),
        status=status,
        week=_week(spark, day, chosen),
    )


def _week(spark: SparkSession, day: dt.date, zone_set: str) -> Week | None:
    """The week release of the ISO week of `day` for the zone set, with the zone_daily_total rows of
    its seven days; None when it has none (compute-week writes a zone_weekly_total row per zone)."""
    monday = week_start(day)
    if not spark.catalog.tableExists(ZONE_WEEKLY_TOTAL.name):  # a catalog from before the week release
        return None
    in_set = F.col(C.ZONE_SET) == zone_set
    totals = spark.table(ZONE_WEEKLY_TOTAL.name).where(in_set & (F.col(C.WEEK_START) == F.lit(monday))).select(
        C.ZONE_ID, C.VISITORS, C.VISITORS_EST, C.STATUS).toPandas()
    if len(totals) == 0:
        return None
    dates = week_dates(monday)
    days = spark.table(ZONE_DAILY_TOTAL.name).where(in_set & F.col(C.EVENT_DATE).between(dates[0], dates[-1]))
    return Week(monday, totals, days.select(C.ZONE_ID, C.EVENT_DATE, C.VISITORS, C.STATUS).toPandas())


# ---------------------------------------------------------------------------------------------
# Writing


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _suppression_html(data: ReportData) -> str:
    """Cells by status and the suppressed share of each published table, as an HTML table."""
    rates = suppression_rates(data)
    counts = [STATUS_PUBLISHED, STATUS_SUPPRESSED]
    shown = rates[[*counts, "suppressed_share"]].rename(columns={"suppressed_share": "suppressed share"})
    # No index and no name over the columns (pivot_table named them "status"): one header row.
    return shown.rename_axis(index="table", columns=None).reset_index().to_html(
        index=False, border=0,
        formatters={**{c: (lambda v: f"{int(v):,}") for c in counts}, "suppressed share": "{:.1%}".format},
    )


def _zones(n: int, adjective: str = "") -> str:
    return f"{n:,} {adjective}zone{'' if n == 1 else 's'}"


def _formatted(values: pd.Series, hidden: list[bool] | pd.Series, k: int, missing: str,
               spec: str = ",.0f") -> list[str]:
    """A table column's cells: the suppressed label where hidden (never 0 or blank), `missing`
    where a shown number is NaN, else the number as `spec`."""
    return [suppressed_label(k) if h else missing if pd.isna(v) else format(v, spec)
            for v, h in zip(values, hidden, strict=True)]


def _rest_notes(withheld: list[bool]) -> list[str]:
    """Under a table cut at TABLE_ZONES rows: how many zones more, published and suppressed."""
    rest = withheld[TABLE_ZONES:]
    if not rest:
        return []
    return [f"{_zones(len(rest), 'more ')} not shown ({sum(not h for h in rest):,} published, "
            f"{sum(rest):,} suppressed)."]


def _population_html(data: ReportData) -> str:
    """The section "Visitors and estimated residents per zone": the first TABLE_ZONES rows of
    population_table, withheld zones labelled suppressed (never 0 or blank), a line for the rest."""
    table = population_table(data)
    withheld = (table[C.STATUS] != STATUS_PUBLISHED).tolist()

    def column(name: str, spec: str) -> list[str]:
        return _formatted(table[name], withheld, data.k, "no estimate", spec)

    shown = pd.DataFrame({
        "zone": table[C.ZONE_NAME], "visitors": column(C.VISITORS, ",.0f"),
        "visitors_est": column(C.VISITORS_EST, ",.0f"), "visitors_est / visitors": column("ratio", ".2f"),
    }).head(TABLE_ZONES)
    notes = _rest_notes(withheld)
    missing = len(set(data.zones[C.ZONE_ID]) - set(table[C.ZONE_ID]))
    if missing:
        notes.append(f"{_zones(missing)} of the set without a row in {ZONE_DAILY_TOTAL.name} for this day.")
    body = shown.to_html(index=False, border=0) if len(shown) else f"<p>No rows in {ZONE_DAILY_TOTAL.name}.</p>"
    return ('<section id="population"><h2>Visitors and estimated residents per zone</h2>\n'
            f"<p>From {ZONE_DAILY_TOTAL.name}: visitors are the zone's distinct subscribers of the day over all "
            "cohorts (at least the map's sum of published cohort cells); visitors_est the residents they stand "
            "for by the operator's market share, rounded to whole people: an estimate, k applies to visitors "
            "(docs/definitions.md, Population estimates). Visitors descending, suppressed zones last.</p>\n"
            f"{body}\n" + "".join(f"<p>{html.escape(n)}</p>" for n in notes) + "</section>")


def _chart_html(fig: Figure, folder: Path, name: str, title: str) -> str:
    """Write the chart as <name>.png and return it embedded, with a link to the file."""
    png = _png(fig)
    (folder / f"{name}.png").write_bytes(png)
    encoded = base64.b64encode(png).decode()
    return (f'<img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
            f'<p class="file">also as <a href="{name}.png">{name}.png</a></p>')


def _week_table_html(data: ReportData) -> str:
    """The week's table: the first TABLE_ZONES rows of week_table with their seven day totals;
    withheld numbers labelled suppressed (never 0 or blank), NO_ROW a day without a row."""
    table = week_table(data)
    withheld = (table[C.STATUS] != STATUS_PUBLISHED).tolist()
    visitors, suppressed = week_days(data)
    days = {f"{name} {day:%m-%d}": _formatted(visitors[day], suppressed[day], data.k, NO_ROW)
            for name, day in zip(WEEKDAYS, visitors.columns, strict=True)}
    shown = pd.DataFrame({
        "zone": table[C.ZONE_NAME], "week visitors": _formatted(table[C.VISITORS], withheld, data.k, NO_ROW),
        "week visitors_est": _formatted(table[C.VISITORS_EST], withheld, data.k, "no estimate"), **days,
    }).head(TABLE_ZONES)
    return shown.to_html(index=False, border=0) + "".join(f"<p>{html.escape(n)}</p>" for n in _rest_notes(withheld))


def _week_html(data: ReportData, folder: Path) -> str:
    """The section "The week": the trend chart (week.png) and the week's table, or one sentence
    saying how to publish the week when it has no release for the zone set."""
    monday = week_start(data.day)
    label, zone_set = week_label(monday), html.escape(data.zone_set)
    head = f'<section id="week"><h2>The week {label}, {monday} to {week_dates(monday)[-1]}</h2>\n'
    if data.week is None:
        return (f"{head}<p>No week release for {label} in zone set {zone_set}: <code>footfall compute-week --week "
                f"{label} --zone-set {zone_set}</code> publishes it once its seven days are.</p></section>")
    chart = _chart_html(week_figure(data), folder, "week", f"Visitors per day in the week {label}")
    return (f"{head}<p>The zones with the most week visitors (at most {WEEK_ZONES}), their day totals "
            "(footfall.zone_daily_total) as lines; a suppressed day is a gap in its line, named in the legend and "
            f"hatched under the axis.</p>\n{chart}\n"
            "<p>From footfall.zone_weekly_total: week visitors are the zone's distinct subscribers with a visit on "
            "any day of the week, over all cohorts (each counted once: at most the sum of the days); visitors_est "
            "the residents they stand for, rounded to whole people (docs/definitions.md). Week visitors descending, "
            f"suppressed zones last; beside them the day totals, \"{NO_ROW}\" where the zone has no row that day "
            f"(no visitor).</p>\n{_week_table_html(data)}</section>")


def write_report(data: ReportData, folder: Path) -> Path:
    """Write <chart>.png for every chart and index.html embedding them; returns the page."""
    folder.mkdir(parents=True, exist_ok=True)
    sections = []
    for name, title in CHARTS:
        sections.append(f'<section id="{name}"><h2>{html.escape(title)}</h2>'
                        f"{_chart_html(FIGURES[name](data), folder, name, title)}</section>")
        if name == "map":
            sections.append(_population_html(data))
    sections.append(_week_html(data, folder))
    page = folder / "index.html"
    page.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>footfall {data.day} — {html.escape(data.zone_set)}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
img{{max-width:100%}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
.file{{font-size:.8em;color:#666}}</style></head><body>
<h1>footfall — {data.day}, zone set {html.escape(data.zone_set)}</h1>
<p>Published cells only. A cell (zone x hour x cohort) is published when it has at least k = {data.k} distinct
subscribers; suppressed cells have no numbers and are drawn hatched grey, never as zero. Definitions:
docs/definitions.md; tables and example queries: docs/analysts.md.</p>
{_suppression_html(data)}
{"".join(sections)}
</body></html>
""")
    return page
