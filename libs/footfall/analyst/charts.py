"""The charts of `footfall report` (footfall.analyst.report): pure functions of small pandas frames
(ReportData, one day and one zone set; the week's chart and table: footfall.analyst.week_charts).
Suppressed cells are never drawn as zero: hatched grey, with a legend entry "suppressed (k = ...)".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely.wkb
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from footfall.localtime import DAY_PARTS
from footfall.schemas import AGE_BANDS, GENDERS, PUBLISHED_TABLES, STATUS_PUBLISHED, STATUS_SUPPRESSED, C

DWELL_BUCKETS = ((C.DWELL_LT5, "< 5 min"), (C.DWELL_5_15, "5-15 min"), (C.DWELL_15_60, "15-60 min"),
                 (C.DWELL_60PLUS, "60+ min"))
SUPPRESSED_STYLE: dict[str, Any] = {"facecolor": "#d9d9d9", "edgecolor": "#7f7f7f", "hatch": "///"}
CHARTS = (
    ("map", "Visitors per zone"),
    ("hourly", "Hourly visitors per cohort"),
    ("daypart", "Visitors per day part and cohort"),
    ("catchment", "Where the visitors live"),
    ("dwell", "Dwell time"),
    ("suppression", "Suppression"),
)


@dataclasses.dataclass(frozen=True)
class Week:
    """The week release of the report day's ISO week for the zone set (footfall.analyst.week_charts)."""

    monday: dt.date  # week_start: the week is the local dates Monday to Sunday
    totals: pd.DataFrame  # zone_weekly_total: zone_id, visitors, visitors_est, status (a row per zone)
    days: pd.DataFrame  # zone_daily_total of the seven days: zone_id, event_date, visitors, status


@dataclasses.dataclass(frozen=True)
class ReportData:
    """Everything the charts need, for one day and one zone set."""

    day: dt.date
    zone_set: str
    k: int
    zones: pd.DataFrame  # zone_id, zone_name, geometry (WKB)
    daily: pd.DataFrame  # zone_daily: zone_id, age_band, gender, visitors, dwell buckets, status
    day_total: pd.DataFrame  # zone_daily_total: zone_id, visitors, visitors_est, status
    hourly: pd.DataFrame  # zone_hourly: zone_id, local_hour, age_band, gender, visitors, status
    dayparts: pd.DataFrame  # zone_daypart: zone_id, day_part, age_band, gender, visitors, status
    catchment: pd.DataFrame  # zone_catchment: zone_id, home_district, visitors, status
    status: pd.DataFrame  # table_name, status, cells
    week: Week | None = None  # None: the day's ISO week has no week release for the zone set


def suppressed_label(k: int) -> str:
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
    ax.legend(handles=[Patch(**SUPPRESSED_STYLE, label=suppressed_label(data.k)),
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
    handles.append(Patch(**SUPPRESSED_STYLE, label=f"{suppressed_label(data.k)}\n(a cell of that hour; no line)"))
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


def zone_totals(totals: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    """Per zone with a row in `totals` (zone_daily_total's or zone_weekly_total's zone_id, visitors,
    visitors_est, status): zone_id, zone_name (ref.zones', else the id), visitors, visitors_est
    (rounded half up to whole people, as SQL's ROUND), ratio (the unrounded visitors_est / visitors)
    and status; visitors descending, then name, the withheld zones last (by name). The numbers are
    NaN where the zone is withheld (status not published): suppressed, never zero; visitors_est and
    ratio are also NaN for a published zone without a population reference."""
    rows = totals.merge(zones[[C.ZONE_ID, C.ZONE_NAME]], on=C.ZONE_ID, how="left")
    rows[C.ZONE_NAME] = rows[C.ZONE_NAME].fillna(rows[C.ZONE_ID])
    shown = rows[C.STATUS] == STATUS_PUBLISHED
    visitors = rows[C.VISITORS].where(shown).astype(float)
    estimate = rows[C.VISITORS_EST].where(shown).astype(float)
    out = pd.DataFrame({
        C.ZONE_ID: rows[C.ZONE_ID], C.ZONE_NAME: rows[C.ZONE_NAME], C.VISITORS: visitors,
        C.VISITORS_EST: np.floor(estimate + 0.5), "ratio": estimate / visitors.replace(0, np.nan),
        C.STATUS: rows[C.STATUS], "withheld": ~shown,
    })
    out = out.sort_values(["withheld", C.VISITORS, C.ZONE_NAME], ascending=[True, False, True], kind="stable")
    return out.drop(columns="withheld").reset_index(drop=True)


def population_table(data: ReportData) -> pd.DataFrame:
    """zone_totals of the day's zone_daily_total."""
    return zone_totals(data.day_total, data.zones)


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
        (STATUS_SUPPRESSED, SUPPRESSED_STYLE, suppressed_label(data.k)),
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


def daypart_profiles(data: ReportData) -> dict[str, pd.DataFrame]:
    """Per gender: a day part x age band frame of visitors summed over the zones' published cells
    of zone_daypart; NaN where every cell of that cohort and day part was suppressed (never zero)."""
    parts = [name for name, _, _ in DAY_PARTS]
    out = {}
    for gender in GENDERS:
        rows = data.dayparts[(data.dayparts[C.GENDER] == gender) & (data.dayparts[C.STATUS] == STATUS_PUBLISHED)]
        sums = rows.pivot_table(index=C.DAY_PART, columns=C.AGE_BAND, values=C.VISITORS, aggfunc="sum")
        out[gender] = sums.reindex(index=parts, columns=list(AGE_BANDS)).astype(float)
    return out


def daypart_figure(data: ReportData) -> Figure:
    """Grouped bars per gender: day parts along x, one bar per age band with a published cell; a
    hatched grey bar where some zone's cell of that cohort and part was suppressed and none published."""
    profiles = daypart_profiles(data)
    fig = Figure(figsize=(12, 4.2))
    axes = fig.subplots(1, len(GENDERS), sharey=True)
    suppressed = data.dayparts[data.dayparts[C.STATUS] != STATUS_PUBLISHED]
    width = 0.8 / len(AGE_BANDS)
    top = max([float(np.nanmax(f.to_numpy())) for f in profiles.values() if f.notna().any().any()] or [1.0])
    for ax, gender in zip(axes, GENDERS, strict=True):
        frame = profiles[gender]
        hidden = set(zip(*(suppressed.loc[suppressed[C.GENDER] == gender, c] for c in (C.DAY_PART, C.AGE_BAND)),
                         strict=True))
        for i, band in enumerate(AGE_BANDS):
            x = np.arange(len(frame)) - 0.4 + (i + 0.5) * width
            ax.bar(x, frame[band].fillna(0).to_numpy(), width, label=band, color=f"C{i}")
            gaps = [j for j, part in enumerate(frame.index) if np.isnan(frame.loc[part, band])
                    and (part, band) in hidden]
            ax.bar(x[gaps], [top * 0.04] * len(gaps), width, **SUPPRESSED_STYLE, linewidth=0)
        ax.set_xticks(range(len(frame)), list(frame.index), fontsize=8)
        ax.set_title(f"gender {gender}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("visitors (published cells, summed over zones)")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Patch(**SUPPRESSED_STYLE, label=f"{suppressed_label(data.k)}\n(no cell of it published)"))
    labels.append(handles[-1].get_label())
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.77, 0.5), fontsize=8, title="age band")
    fig.suptitle(f"Visitors per day part and cohort, {data.zone_set}, {data.day} (footfall.zone_daypart)",
                 fontsize=11)
    fig.subplots_adjust(left=0.07, right=0.76, top=0.84, bottom=0.14, wspace=0.08)
    return fig


CATCHMENT_ZONES = 12  # the zones the catchment chart shows: those with the most published visitors


def catchment_matrix(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(visitors, suppressed): zone name x home district frames over the CATCHMENT_ZONES zones with
    the most visitors in published catchment cells; visitors NaN where the cell was suppressed (and
    suppressed True there only) or where the zone has no row for the district (not suppressed: blank)."""
    rows = data.catchment.merge(data.zones[[C.ZONE_ID, C.ZONE_NAME]], on=C.ZONE_ID, how="left")
    rows[C.ZONE_NAME] = rows[C.ZONE_NAME].fillna(rows[C.ZONE_ID])
    shown = rows[C.STATUS] == STATUS_PUBLISHED
    top = rows[shown].groupby(C.ZONE_NAME)[C.VISITORS].sum().sort_values(ascending=False).index[:CATCHMENT_ZONES]
    rows = rows[rows[C.ZONE_NAME].isin(top)]
    homes = sorted(rows[C.HOME_DISTRICT].unique())
    # (one row per zone and home district: pivot, not pivot_table, whose sum would turn NaN into 0)
    visitors = rows.assign(v=rows[C.VISITORS].where(rows[C.STATUS] == STATUS_PUBLISHED).astype(float)).pivot(
        index=C.ZONE_NAME, columns=C.HOME_DISTRICT, values="v")
    status = rows.pivot(index=C.ZONE_NAME, columns=C.HOME_DISTRICT, values=C.STATUS)
    order = list(top)
    # A (zone, home district) pair without a row is NaN here, not a suppressed cell (NaN as bool is True).
    suppressed = status.reindex(index=order, columns=homes).eq(STATUS_SUPPRESSED)
    return visitors.reindex(index=order, columns=homes), suppressed


def catchment_figure(data: ReportData) -> Figure:
    """A heatmap, zones by home district, of the published catchment cells as a share of the
    zone's published ones; suppressed cells hatched grey, never a colour of zero; a zone without a
    row for a district left blank."""
    visitors, suppressed = catchment_matrix(data)
    fig = Figure(figsize=(10, 2.2 + 0.35 * max(len(visitors), 3)), layout="constrained")
    ax = fig.add_subplot()
    share = visitors.div(visitors.sum(axis=1).replace(0, np.nan), axis=0)
    image = ax.imshow(np.ma.masked_invalid(share.to_numpy(float)), cmap="viridis", vmin=0, aspect="auto")
    for i, j in zip(*np.nonzero(suppressed.to_numpy()), strict=True):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, **SUPPRESSED_STYLE, linewidth=0))
    ax.set_xticks(range(share.shape[1]), list(share.columns), fontsize=8)
    ax.set_yticks(range(share.shape[0]), list(share.index), fontsize=8)
    ax.set_xlabel("home district of the visitors")
    fig.colorbar(image, ax=ax, label="share of the zone's published visitors")
    handles = [Patch(**SUPPRESSED_STYLE, label=suppressed_label(data.k))]
    if (visitors.isna() & ~suppressed).any().any():
        handles.append(Patch(facecolor="white", edgecolor="#7f7f7f", label="no row in zone_catchment"))
    fig.legend(handles=handles, loc="outside lower right", fontsize=8)
    ax.set_title(f"Where the visitors live, {data.zone_set}, {data.day} (footfall.zone_catchment; the "
                 f"{CATCHMENT_ZONES} zones with most)", fontsize=10)
    return fig


FIGURES = {"map": map_figure, "hourly": hourly_figure, "daypart": daypart_figure, "catchment": catchment_figure,
           "dwell": dwell_figure, "suppression": suppression_figure}
