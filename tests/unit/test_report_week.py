"""The report's week (pure pandas and matplotlib, no Spark): the table per zone of the week release
beside its seven day totals, the trend chart's lines, and the sentence when no week is released."""

import datetime as dt
import io
import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Patch

from footfall.analyst.charts import ReportData, Week
from footfall.analyst.report import TABLE_ZONES, _week_html, _week_table_html
from footfall.analyst.week_charts import (
    WEEK_ZONES,
    week_days,
    week_figure,
    week_table,
    week_trend,
)
from footfall.localtime import week_label, week_start
from footfall.schemas import C

MONDAY = dt.date(2026, 3, 9)  # ISO week 2026-W11, Monday 03-09 to Sunday 03-15
DAY = dt.date(2026, 3, 14)  # the report's Saturday
S = "suppressed (k = 20)"


def _date(weekday: int) -> dt.date:
    return MONDAY + dt.timedelta(days=weekday)


def _report(zones: list[tuple[str, str]], totals: list[tuple], days: list[tuple],
            week: bool = True) -> ReportData:
    """A ReportData with only ref.zones (zone_id, zone_name) and the week, k = 20."""
    empty = pd.DataFrame()
    released = Week(MONDAY, pd.DataFrame(totals, columns=[C.ZONE_ID, C.VISITORS, C.VISITORS_EST, C.STATUS]),
                    pd.DataFrame(days, columns=[C.ZONE_ID, C.EVENT_DATE, C.VISITORS, C.STATUS]))
    return ReportData(DAY, "districts", 20, pd.DataFrame(zones, columns=[C.ZONE_ID, C.ZONE_NAME]),
                      *[empty] * 6, week=released if week else None)


def _cells(page: str) -> list[list[str]]:
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            if "<td>" in row]


# Five zones of ref.zones, four in the week release, and one it has that ref.zones does not know (x9):
#   Alpha   week 300, visitors_est 12000.4 -> 12,000; days Mon 40, Tue 45, Wed withheld, Thu 50, Fri 60,
#           Sat 70, Sun no row
#   Bravo   week withheld; days Sat 25 (published), Sun withheld, no other rows
#   Charlie week 500 without a population reference ("no estimate"); days 100, 110, 120, 130, Fri
#           withheld, 150, 160
#   Delta   week 150, 6000.5 -> 6,001 (half up); Mon 20, no other rows
#   Echo    not in the week: not in the table
#   x9      week 90, 100.0 -> 100; no day rows; named by its id
# Week visitors descending, withheld last: Charlie, Alpha, Delta, x9, Bravo.
ZONES = [("a", "Alpha"), ("b", "Bravo"), ("c", "Charlie"), ("d", "Delta"), ("e", "Echo")]
TOTALS = [("a", 300, 12000.4, "published"), ("b", None, None, "suppressed"), ("c", 500, None, "published"),
          ("d", 150, 6000.5, "published"), ("x9", 90, 100.0, "published")]
DAYS = ([("a", _date(i), v, "published") for i, v in ((0, 40), (1, 45), (3, 50), (4, 60), (5, 70))]
        + [("a", _date(2), None, "suppressed"), ("b", _date(5), 25, "published"), ("b", _date(6), None, "suppressed")]
        + [("c", _date(i), 100 + 10 * i, "published") for i in (0, 1, 2, 3, 5, 6)]
        + [("c", _date(4), None, "suppressed"), ("d", _date(0), 20, "published")])
NAN = np.nan


def test_the_week_of_a_day_is_its_iso_week():
    assert week_start(DAY) == MONDAY and week_start(MONDAY) == MONDAY and week_start(_date(6)) == MONDAY
    assert week_label(MONDAY) == "2026-W11"
    assert week_label(dt.date(2020, 12, 28)) == "2020-W53"  # the ISO year, not the calendar year
    assert week_label(week_start(dt.date(2027, 1, 1))) == "2026-W53"


def test_week_table_and_days_keep_withheld_numbers_apart_from_zero():
    data = _report(ZONES, TOTALS, DAYS)
    table = week_table(data)
    assert table[C.ZONE_NAME].tolist() == ["Charlie", "Alpha", "Delta", "x9", "Bravo"]
    np.testing.assert_array_equal(table[C.VISITORS], [500, 300, 150, 90, NAN])
    np.testing.assert_array_equal(table[C.VISITORS_EST], [NAN, 12000, 6001, 100, NAN])

    visitors, suppressed = week_days(data)
    assert visitors.index.tolist() == ["c", "a", "d", "x9", "b"]
    assert visitors.columns.tolist() == [_date(i) for i in range(7)]
    np.testing.assert_array_equal(visitors.to_numpy(), [
        [100, 110, 120, 130, NAN, 150, 160],
        [40, 45, NAN, 50, 60, 70, NAN],
        [20, NAN, NAN, NAN, NAN, NAN, NAN],
        [NAN] * 7,
        [NAN, NAN, NAN, NAN, NAN, 25, NAN],
    ])
    # Withheld days only; a day without a row (Alpha's Sunday, Delta's Tuesday) is not suppressed.
    assert suppressed.to_numpy().tolist() == [
        [False, False, False, False, True, False, False],
        [False, False, True, False, False, False, False],
        [False] * 7,
        [False] * 7,
        [False] * 6 + [True],
    ]


def test_week_table_html_labels_suppressed_numbers_and_days_without_a_row():
    page = _week_table_html(_report(ZONES, TOTALS, DAYS))
    assert re.findall(r"<th>(.*?)</th>", page) == [
        "zone", "week visitors", "week visitors_est", "Mon 03-09", "Tue 03-10", "Wed 03-11", "Thu 03-12",
        "Fri 03-13", "Sat 03-14", "Sun 03-15"]
    assert _cells(page) == [
        ["Charlie", "500", "no estimate", "100", "110", "120", "130", S, "150", "160"],
        ["Alpha", "300", "12,000", "40", "45", S, "50", "60", "70", "no row"],
        ["Delta", "150", "6,001", "20", *["no row"] * 6],
        ["x9", "90", "100", *["no row"] * 7],
        ["Bravo", S, S, *["no row"] * 5, "25", S],
    ]
    assert "not shown" not in page


def test_the_trend_draws_the_zones_with_most_week_visitors_and_no_suppressed_day():
    data = _report(ZONES, TOTALS, DAYS)
    visitors, suppressed = week_trend(data)
    assert visitors.index.tolist() == ["c", "a", "d", "x9"]  # Bravo's week is withheld: no rank, no line
    assert suppressed.index.tolist() == ["c", "a", "d", "x9"]

    fig = week_figure(data)
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("report day")]
    assert [line.get_label() for line in lines] == [
        "Charlie (500 in the week)\nsuppressed: Fri", "Alpha (300 in the week)\nsuppressed: Wed",
        "Delta (150 in the week)", "x9 (90 in the week)"]
    # Suppressed days (Charlie's Friday, Alpha's Wednesday) are gaps, as are days without a row.
    np.testing.assert_array_equal(lines[0].get_ydata(), [100, 110, 120, 130, NAN, 150, 160])
    np.testing.assert_array_equal(lines[1].get_ydata(), [40, 45, NAN, 50, 60, 70, NAN])
    legend = fig.legends[0]
    patches = [h for h in legend.legend_handles if isinstance(h, Patch)]
    assert [p.get_label() for p in patches] == [f"{S}\n(a drawn zone's day; no point)"]
    assert patches[0].get_hatch() == "///"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    image = matplotlib.image.imread(io.BytesIO(buffer.getvalue()), format="png")
    assert image.shape[0] > 200 and float(image[..., :3].std()) > 0.02


def test_a_long_week_shows_the_top_zones_and_counts_the_rest():
    # 30 published zones z00..z29 with 100 + i week visitors and Monday 10 + i; 2 withheld (w1, w2).
    zones = [(f"z{i:02}", f"zone {i:02}") for i in range(30)] + [("w1", "withheld 1"), ("w2", "withheld 2")]
    totals = ([(f"z{i:02}", 100 + i, 10.0 * (100 + i), "published") for i in range(30)]
              + [("w1", None, None, "suppressed"), ("w2", None, None, "suppressed")])
    days = [(f"z{i:02}", MONDAY, 10 + i, "published") for i in range(30)]
    data = _report(zones, totals, days)
    assert WEEK_ZONES == 8 and week_trend(data)[0].index.tolist() == [f"z{i}" for i in range(29, 21, -1)]
    page = _week_table_html(data)
    rows = _cells(page)
    assert TABLE_ZONES == 25 and len(rows) == 25
    assert rows[0] == ["zone 29", "129", "1,290", "39", *["no row"] * 6]
    assert "<p>7 more zones not shown (5 published, 2 suppressed).</p>" in page


def test_a_week_without_release_is_one_sentence_and_no_chart(tmp_path):
    data = _report(ZONES, [], [], week=False)
    page = _week_html(data, tmp_path)
    assert "<h2>The week 2026-W11, 2026-03-09 to 2026-03-15</h2>" in page
    assert ("<p>No week release for 2026-W11 in zone set districts: <code>footfall compute-week --week 2026-W11 "
            "--zone-set districts</code> publishes it once its seven days are.</p>") in page
    assert "<img" not in page and "<table" not in page and not (tmp_path / "week.png").exists()
    with pytest.raises(ValueError, match="no week release"):
        week_table(data)


def test_a_released_week_section_embeds_its_chart(tmp_path):
    page = _week_html(_report(ZONES, TOTALS, DAYS), tmp_path)
    assert (tmp_path / "week.png").exists() and 'href="week.png"' in page and "data:image/png;base64," in page
    assert page.index("<img") < page.index("<table")
