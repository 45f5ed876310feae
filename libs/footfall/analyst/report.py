"""`footfall report --date D [--zone-set S]`: an offline HTML page of one day with four charts.

A choropleth of the zones by visitors (polygons from ref.zones drawn with matplotlib, no web
tiles), hourly profiles per cohort, the dwell-time distribution and the suppression rate. The
PNGs are written next to the page and embedded in it as base64, so the page alone is enough.
Suppressed cells are never drawn as zero: hatched grey, with a legend entry "suppressed (k = ...)".

Reading goes through the footfall catalog with Spark; the charts are pure functions of small
pandas frames.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely.wkb
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError
from footfall.schemas import (
    AGE_BANDS,
    GENDERS,
    PUBLISHED_TABLES,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    ZONE_DAILY,
    ZONE_HOURLY,
    ZONES,
    C,
)

DEFAULT_ZONE_SET = "districts"
DWELL_BUCKETS = ((C.DWELL_LT5, "< 5 min"), (C.DWELL_5_15, "5-15 min"), (C.DWELL_15_60, "15-60 min"),
                 (C.DWELL_60PLUS, "60+ min"))
SUPPRESSED_STYLE: dict[str, Any] = {"facecolor": "#d9d9d9", "edgecolor": "#7f7f7f", "hatch": "///"}
CHARTS = (
    ("map", "Visitors per zone"),
    ("hourly", "Hourly visitors per cohort"),
    ("dwell", "Dwell time"),
    ("suppression", "Suppression"),
)


@dataclasses.dataclass(frozen=True)
class ReportData:
    """Everything the charts need, for one day and one zone set."""

    day: dt.date
    zone_set: str
    k: int
    zones: pd.DataFrame  # zone_id, zone_name, geometry (WKB)
    daily: pd.DataFrame  # zone_daily: zone_id, age_band, gender, visitors, dwell buckets, status
    hourly: pd.DataFrame  # zone_hourly: zone_id, local_hour, age_band, gender, visitors, status
    status: pd.DataFrame  # table_name, status, cells


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
        hourly=table(ZONE_HOURLY.name, [C.ZONE_ID, C.LOCAL_HOUR, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]),
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# Charts: pure functions of ReportData


def _suppressed_label(k: int) -> str:
    # Not "< k": a cell is also withheld to protect another one, and which it was is not public.
    return f"suppressed (k = {k})"


def _geometry_path(wkb: bytes) -> MplPath:
    """A (Multi)Polygon with holes as one matplotlib path."""
    geometry = shapely.wkb.loads(bytes(wkb))
    polygons = getattr(geometry, "geoms", [geometry])
    paths = [MplPath(np.asarray(ring.coords)[:, :2], closed=True)
             for polygon in polygons for ring in (polygon.exterior, *polygon.interiors)]
    return MplPath.make_compound_path(*paths)


def zone_values(data: ReportData) -> pd.DataFrame:
    """Per zone: visitors summed over its published cohort cells, and whether any cell was
    suppressed. A zone with cells but none published is 'suppressed', never zero."""
    daily = data.daily
    published = daily[daily[C.STATUS] == STATUS_PUBLISHED]
    per_zone = pd.DataFrame({
        "visitors": published.groupby(C.ZONE_ID)[C.VISITORS].sum(),
        "cells": daily.groupby(C.ZONE_ID).size(),
        "published_cells": published.groupby(C.ZONE_ID).size(),
    }).fillna({"published_cells": 0})
    out = data.zones[[C.ZONE_ID, C.ZONE_NAME]].merge(per_zone, left_on=C.ZONE_ID, right_index=True, how="left")
    out["state"] = np.where(out["cells"].isna(), "no data",
                            np.where(out["published_cells"] > 0, "published", "suppressed"))
    return out


def map_figure(data: ReportData) -> Figure:
    values = zone_values(data).set_index(C.ZONE_ID)
    fig = Figure(figsize=(9, 7.5))
    ax = fig.add_subplot()
    vmax = float(values["visitors"].max()) if values["visitors"].notna().any() else 1.0
    norm, cmap = Normalize(0, vmax), "YlOrRd"
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    lats = []
    for row in data.zones.itertuples(index=False):
        path = _geometry_path(getattr(row, C.GEOMETRY))
        lats.append(float(np.asarray(path.vertices)[:, 1].mean()))
        state = values.loc[getattr(row, C.ZONE_ID), "state"]
        style: dict[str, Any]
        if state == "published":
            style = {"facecolor": mappable.to_rgba(values.loc[getattr(row, C.ZONE_ID), "visitors"]),
                     "edgecolor": "#444444"}
        elif state == "suppressed":
            style = SUPPRESSED_STYLE
        else:
            style = {"facecolor": "white", "edgecolor": "#444444"}
        ax.add_patch(PathPatch(path, linewidth=0.6, **style))
        if len(data.zones) <= 30:  # labels stay readable for district-sized sets only
            x, y = shapely.wkb.loads(bytes(getattr(row, C.GEOMETRY))).representative_point().coords[0]
            value = values.loc[getattr(row, C.ZONE_ID), "visitors"]
            name = getattr(row, C.ZONE_NAME)
            label = f"{name}\n{int(value):,}" if state == "published" else name
            ax.annotate(label, (x, y), ha="center", va="center", fontsize=7)
    ax.autoscale_view()
    ax.set_aspect(1 / math.cos(math.radians(float(np.mean(lats)) if lats else 52.5)))
    ax.set_axis_off()
    fig.colorbar(mappable, ax=ax, shrink=0.7, label="visitors (sum of published cohort cells)")
    ax.legend(handles=[Patch(**SUPPRESSED_STYLE, label=_suppressed_label(data.k)),
                       Patch(facecolor="white", edgecolor="#444444", label="no visitors recorded")],
              loc="lower left", fontsize=8)
    ax.set_title(f"Visitors per zone, {data.zone_set}, {data.day}\n"
                 "sum of the published age x gender cells of footfall.zone_daily (a lower bound where "
                 "a cohort is suppressed)", fontsize=10)
    return fig


def hourly_profiles(data: ReportData) -> dict[str, pd.DataFrame]:
    """Per gender: a local hour x age band frame of visitors summed over the zones' published
    cells; NaN where every cell of that cohort and hour was suppressed (never zero)."""
    hourly = data.hourly
    hours = list(range(24))
    out = {}
    for gender in GENDERS:
        rows = hourly[hourly[C.GENDER] == gender]
        published = rows[rows[C.STATUS] == STATUS_PUBLISHED]
        sums = published.pivot_table(index=C.LOCAL_HOUR, columns=C.AGE_BAND, values=C.VISITORS, aggfunc="sum")
        out[gender] = sums.reindex(index=hours, columns=list(AGE_BANDS)).astype(float)
    return out


def hourly_figure(data: ReportData) -> Figure:
    profiles = hourly_profiles(data)
    fig = Figure(figsize=(12, 4.2))
    axes = fig.subplots(1, len(GENDERS), sharey=True)
    suppressed = data.hourly[data.hourly[C.STATUS] != STATUS_PUBLISHED]
    for ax, gender in zip(axes, GENDERS, strict=True):
        frame = profiles[gender]
        for band in AGE_BANDS:
            if frame[band].notna().any():
                ax.plot(frame.index, frame[band], marker="o", markersize=3, label=band)
        # Hours in which some cell of this gender was suppressed: a hatched strip under the axis.
        hidden = sorted(set(suppressed[suppressed[C.GENDER] == gender][C.LOCAL_HOUR]))
        for hour in hidden:
            ax.axvspan(hour - 0.5, hour + 0.5, ymin=0, ymax=0.04, **SUPPRESSED_STYLE, linewidth=0)
        ax.set_title(f"gender {gender}", fontsize=10)
        ax.set_xlabel("local hour")
        ax.set_xticks(range(0, 24, 3))
        ax.set_xlim(-0.5, 23.5)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("visitors (published cells, summed over zones)")
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    handles.append(Patch(**SUPPRESSED_STYLE, label=f"{_suppressed_label(data.k)}\n(a cell of that hour; no line)"))
    labels.append(handles[-1].get_label())
    axes[0].set_ylim(bottom=0)
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.77, 0.5), fontsize=8, title="age band")
    fig.suptitle(f"Hourly visitors per cohort, {data.zone_set}, {data.day} (footfall.zone_hourly)", fontsize=11)
    fig.subplots_adjust(left=0.07, right=0.76, top=0.84, bottom=0.14, wspace=0.08)
    return fig


def dwell_table(data: ReportData) -> pd.DataFrame:
    """Visits per dwell bucket and age band, from the published cells of zone_daily."""
    published = data.daily[data.daily[C.STATUS] == STATUS_PUBLISHED]
    sums = published.groupby(C.AGE_BAND)[[b for b, _ in DWELL_BUCKETS]].sum()
    return sums.reindex([b for b in AGE_BANDS if b in sums.index])


def dwell_figure(data: ReportData) -> Figure:
    table = dwell_table(data)
    labels = [label for _, label in DWELL_BUCKETS]
    fig = Figure(figsize=(12, 4.2))
    total_ax, band_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    totals = table.sum()
    total_ax.bar(labels, totals.values, color="#3b75af")
    for x, v in enumerate(totals.values):
        total_ax.annotate(f"{int(v):,}", (x, v), ha="center", va="bottom", fontsize=8)
    total_ax.set_ylabel("visits")
    total_ax.set_title("all published cohorts", fontsize=10)
    shares = table.div(table.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
    left = np.zeros(len(shares))
    colors = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")
    for (bucket, label), color in zip(DWELL_BUCKETS, colors, strict=True):
        band_ax.barh(shares.index, shares[bucket], left=left, color=color, label=label)
        left += shares[bucket].to_numpy()
    band_ax.set_xlim(0, 1)
    band_ax.set_xlabel("share of visits")
    band_ax.invert_yaxis()
    band_ax.legend(fontsize=8, loc="upper center", ncols=4, bbox_to_anchor=(0.5, -0.15))
    band_ax.set_title("by age band", fontsize=10, loc="left")
    fig.suptitle(f"Dwell time of visits, {data.zone_set}, {data.day} (published cells of footfall.zone_daily; "
                 "pass-bys are < 5 min)", fontsize=11)
    fig.subplots_adjust(top=0.84, bottom=0.22, wspace=0.3)
    return fig


def suppression_rates(data: ReportData) -> pd.DataFrame:
    """Per published table: cells by status and the share suppressed."""
    wide = data.status.pivot_table(index="table_name", columns=C.STATUS, values="cells", aggfunc="sum")
    wide = wide.reindex(index=[t.name for t in PUBLISHED_TABLES],
                        columns=[STATUS_PUBLISHED, STATUS_SUPPRESSED]).fillna(0).astype(int)
    wide["cells"] = wide.sum(axis=1)
    wide["suppressed_share"] = (1 - wide[STATUS_PUBLISHED] / wide["cells"].replace(0, np.nan)).fillna(0.0)
    return wide


def suppression_figure(data: ReportData) -> Figure:
    rates = suppression_rates(data)
    fig = Figure(figsize=(10, 3.2))
    ax = fig.add_subplot()
    names = list(rates.index)
    left = np.zeros(len(rates))
    styles: tuple[tuple[str, dict[str, Any], str], ...] = (
        (STATUS_PUBLISHED, {"color": "#3b75af"}, "published"),
        (STATUS_SUPPRESSED, SUPPRESSED_STYLE, _suppressed_label(data.k)),
    )
    for status, style, label in styles:
        share = (rates[status] / rates["cells"].replace(0, np.nan)).fillna(0).to_numpy()
        ax.barh(names, share, left=left, label=label, **style)
        left += share
    for y, (_, row) in enumerate(rates.iterrows()):
        ax.annotate(f"{row['suppressed_share']:.0%} suppressed of {int(row['cells']):,} cells", (1.01, y),
                    va="center", fontsize=8, annotation_clip=False)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of cells")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=2)
    ax.set_title(f"Suppression rate, {data.zone_set}, {data.day}", fontsize=11)
    fig.subplots_adjust(left=0.22, right=0.78, bottom=0.38)
    return fig


FIGURES = {"map": map_figure, "hourly": hourly_figure, "dwell": dwell_figure, "suppression": suppression_figure}


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
