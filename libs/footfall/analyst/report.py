"""`footfall report --date D [--zone-set S]`: an offline HTML page of one day with six charts.

A choropleth of the zones by visitors (polygons from ref.zones drawn with matplotlib, no web
tiles), hourly and day-part profiles per cohort, the catchment, the dwell-time distribution and
the suppression rate; after the map, a table of the zones' visitors and estimated residents
(zone_daily_total's visitors_est). The PNGs are written next to the page and embedded in it as
base64, so the page alone is enough. Suppressed cells are never drawn or printed as zero: hatched
grey, with a legend entry "suppressed (k = ...)", or that label in the table.

Reading goes through the footfall catalog with Spark; the charts (footfall.analyst.charts) are
pure functions of small pandas frames.
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
    population_table,
    suppressed_label,
    suppression_rates,
)
from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError
from footfall.schemas import (
    PUBLISHED_TABLES,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONES,
    C,
)

DEFAULT_ZONE_SET = "districts"
POPULATION_ZONES = 25  # the rows of the table of visitors and estimated residents


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
    )


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


def _population_html(data: ReportData) -> str:
    """The section "Visitors and estimated residents per zone": the first POPULATION_ZONES rows of
    population_table, withheld zones labelled suppressed (never 0 or blank), a line for the rest."""
    table = population_table(data)
    withheld = (table[C.STATUS] != STATUS_PUBLISHED).tolist()

    def column(name: str, spec: str) -> list[str]:
        return [suppressed_label(data.k) if hidden else "no estimate" if pd.isna(v) else format(v, spec)
                for v, hidden in zip(table[name], withheld, strict=True)]

    shown = pd.DataFrame({
        "zone": table[C.ZONE_NAME], "visitors": column(C.VISITORS, ",.0f"),
        "visitors_est": column(C.VISITORS_EST, ",.0f"), "visitors_est / visitors": column("ratio", ".2f"),
    }).head(POPULATION_ZONES)
    notes = []
    if len(table) > POPULATION_ZONES:
        rest = withheld[POPULATION_ZONES:]
        notes.append(f"{_zones(len(rest), 'more ')} not shown ({sum(not h for h in rest):,} published, "
                     f"{sum(rest):,} suppressed).")
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


def write_report(data: ReportData, folder: Path) -> Path:
    """Write <chart>.png for every chart and index.html embedding them; returns the page."""
    folder.mkdir(parents=True, exist_ok=True)
    sections = []
    for name, title in CHARTS:
        png = _png(FIGURES[name](data))
        (folder / f"{name}.png").write_bytes(png)
        encoded = base64.b64encode(png).decode()
        sections.append(
            f'<section id="{name}"><h2>{html.escape(title)}</h2>'
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
            f'<p class="file">also as <a href="{name}.png">{name}.png</a></p></section>'
        )
        if name == "map":
            sections.append(_population_html(data))
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
