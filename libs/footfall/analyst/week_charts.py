"""The week of `footfall report` (footfall.analyst.report): the report day's ISO week, when its week
release is published for the zone set (ReportData.week). A table per zone of the week's visitors
(zone_weekly_total) beside its seven day totals (zone_daily_total), and a chart of those days as
lines for the zones with the most week visitors. Pure functions of small pandas frames; suppressed
numbers are never drawn or printed as zero: a gap in the line, hatched grey, "suppressed (k = ...)".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from footfall.analyst.charts import SUPPRESSED_STYLE, ReportData, Week, suppressed_label, zone_totals
from footfall.localtime import week_label
from footfall.schemas import STATUS_PUBLISHED, C

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # fixed, not strftime's: the locale's
WEEK_ZONES = 8  # the zones the trend chart draws: more lines than this are unreadable


def week_dates(monday: dt.date) -> list[dt.date]:
    return [monday + dt.timedelta(days=i) for i in range(len(WEEKDAYS))]


def _released(data: ReportData) -> Week:
    if data.week is None:
        raise ValueError(f"no week release in the report of {data.day}, {data.zone_set}")
    return data.week


def week_table(data: ReportData) -> pd.DataFrame:
    """zone_totals of the week's zone_weekly_total: week visitors descending, withheld zones last."""
    return zone_totals(_released(data).totals, data.zones)


def week_days(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(visitors, suppressed): the zones of week_table (in its order) by the week's seven dates, from
    their zone_daily_total rows. visitors is NaN where the day's total was withheld or the zone has
    no row that day (no visitor); suppressed is True only where it was withheld."""
    week = _released(data)
    zones, dates = week_table(data)[C.ZONE_ID], week_dates(week.monday)

    def wide(column: str) -> pd.DataFrame:
        # (one row per zone and day: pivot, not pivot_table, whose sum would turn NaN into 0)
        return week.days.pivot(index=C.ZONE_ID, columns=C.EVENT_DATE, values=column).reindex(
            index=zones, columns=dates)

    status = wide(C.STATUS)
    return (wide(C.VISITORS).astype(float).where(status == STATUS_PUBLISHED),
            status.notna() & (status != STATUS_PUBLISHED))


def week_trend(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """week_days of the WEEK_ZONES zones with the most published week visitors, in that order (a zone
    whose week total is withheld has no rank: not drawn)."""
    table = week_table(data)
    top = table.loc[table[C.STATUS] == STATUS_PUBLISHED, C.ZONE_ID].head(WEEK_ZONES)
    visitors, suppressed = week_days(data)
    return visitors.loc[top], suppressed.loc[top]


def week_figure(data: ReportData) -> Figure:
    """Per zone of week_trend a line of its day totals, Monday to Sunday. A suppressed day is a gap
    in the line, named in the zone's legend entry and marked by a hatched strip under the axis (as
    in the hourly chart), never a point at zero; a dotted line marks the report day."""
    monday = _released(data).monday
    visitors, suppressed = week_trend(data)
    names = week_table(data).set_index(C.ZONE_ID)
    fig = Figure(figsize=(12, 4.5))
    ax = fig.add_subplot()
    x = np.arange(len(WEEKDAYS))
    for i, zone in enumerate(visitors.index):
        hidden = [WEEKDAYS[j] for j in np.flatnonzero(suppressed.loc[zone].to_numpy())]
        label = f"{names.loc[zone, C.ZONE_NAME]} ({names.loc[zone, C.VISITORS]:,.0f} in the week)"
        label += f"\nsuppressed: {', '.join(hidden)}" if hidden else ""
        ax.plot(x, visitors.loc[zone].to_numpy(float), marker="o", markersize=4, color=f"C{i}", label=label)
    for j in np.flatnonzero(suppressed.any(axis=0).to_numpy()):
        ax.axvspan(j - 0.5, j + 0.5, ymin=0, ymax=0.04, **SUPPRESSED_STYLE, linewidth=0)
    ax.axvline((data.day - monday).days, color="#7f7f7f", linestyle=":", label=f"report day {data.day}")
    ax.set_xticks(x, [f"{name}\n{day:%m-%d}" for name, day in zip(WEEKDAYS, week_dates(monday), strict=True)])
    ax.set_xlim(-0.5, len(WEEKDAYS) - 0.5)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("visitors of the day (all cohorts)")
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(**SUPPRESSED_STYLE, label=f"{suppressed_label(data.k)}\n(a drawn zone's day; no point)"))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.7, 0.5), fontsize=8, title="zone")
    fig.suptitle(f"Visitors per day in the week {week_label(monday)}, {data.zone_set}: the zones with the most week "
                 f"visitors (at most {WEEK_ZONES})\n(day totals of footfall.zone_daily_total; ranked by "
                 "footfall.zone_weekly_total)", fontsize=10)
    fig.subplots_adjust(left=0.07, right=0.69, top=0.86, bottom=0.14)
    return fig
