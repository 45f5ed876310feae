"""The report's HTML tables (pure pandas, no Spark): cells by status; visitors and estimated
residents per zone; and the catchment chart's matrix."""

import datetime as dt
import re

import numpy as np
import pandas as pd

from footfall.analyst.charts import ReportData, catchment_figure, catchment_matrix, population_table
from footfall.analyst.report import TABLE_ZONES, _population_html, _suppression_html
from footfall.schemas import C


def test_the_suppression_table_prints_cell_counts_as_integers():
    status = pd.DataFrame(
        [("footfall.zone_hourly", "published", 3528), ("footfall.zone_hourly", "suppressed", 2646),
         ("footfall.zone_daily", "published", 12)],
        columns=["table_name", "status", "cells"],
    )
    empty = pd.DataFrame()
    page = _suppression_html(ReportData(dt.date(2026, 3, 14), "districts", 20, *[empty] * 6, status))
    assert "<th>table</th>" in page and "<th>suppressed share</th>" in page
    assert "<td>3,528</td>" in page and "<td>2,646</td>" in page
    assert "<td>42.9%</td>" in page  # 2,646 of 6,174 cells
    assert "<td>0</td>" in page and ".0<" not in page  # tables without a status count 0, never 0.0
    # zone_hourly, zone_hourly_total, zone_daily, zone_daily_total, zone_daily_margins, zone_daypart,
    # zone_catchment: one row each
    assert page.count("<tr>") == 7
    assert "status" not in page.replace("suppressed", "")  # no header row naming the pivoted columns


# ---------------------------------------------------------------------------------------------
# Visitors and estimated residents per zone (footfall.zone_daily_total)

DAY = dt.date(2026, 3, 14)
TOTAL_COLUMNS = [C.ZONE_ID, C.VISITORS, C.VISITORS_EST, C.STATUS]


def _day(zones: list[tuple[str, str]], totals: list[tuple]) -> ReportData:
    """A ReportData with only ref.zones (zone_id, zone_name) and zone_daily_total rows, k = 20."""
    empty = pd.DataFrame()
    return ReportData(DAY, "districts", 20, zones=pd.DataFrame(zones, columns=[C.ZONE_ID, C.ZONE_NAME]),
                      daily=empty, day_total=pd.DataFrame(totals, columns=TOTAL_COLUMNS), hourly=empty,
                      dayparts=empty, catchment=empty, status=empty)


def _cells(page: str) -> list[list[str]]:
    """The body rows of the page's table, as the text of their cells."""
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            if "<td>" in row]


# Five zones of ref.zones, four with a row, and a row of a zone ref.zones does not know (x9):
#   Alpha   30 visitors, visitors_est 1234.5 -> 1,235 (half up, as SQL's ROUND); 1234.5 / 30 = 41.15
#   Bravo   withheld (visitors and visitors_est NULL): "suppressed (k = 20)" in all three columns, last
#   Charlie 120, 3000.4 -> 3,000; 3000.4 / 120 = 25.00333 -> 25.00
#   Delta   45, published without a population reference (visitors_est NULL): "no estimate"
#   Echo    no row: not in the table, counted in a note
#   x9      25, 500.0 -> 500; 20.00; named by its id
# Visitors descending: Charlie 120, Delta 45, Alpha 30, x9 25; then Bravo.
ZONES = [("a", "Alpha"), ("b", "Bravo"), ("c", "Charlie"), ("d", "Delta"), ("e", "Echo")]
TOTALS = [("a", 30, 1234.5, "published"), ("b", None, None, "suppressed"), ("c", 120, 3000.4, "published"),
          ("d", 45, None, "published"), ("x9", 25, 500.0, "published")]


def test_population_table_sorts_by_visitors_with_withheld_zones_last_and_never_zero():
    table = population_table(_day(ZONES, TOTALS))
    assert table[C.ZONE_ID].tolist() == ["c", "d", "a", "x9", "b"]
    assert table[C.ZONE_NAME].tolist() == ["Charlie", "Delta", "Alpha", "x9", "Bravo"]
    assert table[C.STATUS].tolist() == ["published"] * 4 + ["suppressed"]
    np.testing.assert_array_equal(table[C.VISITORS], [120, 45, 30, 25, np.nan])
    np.testing.assert_array_equal(table[C.VISITORS_EST], [3000, np.nan, 1235, 500, np.nan])
    np.testing.assert_allclose(table["ratio"], [3000.4 / 120, np.nan, 41.15, 20.0, np.nan])


def test_population_html_labels_withheld_zones_suppressed_and_notes_zones_without_a_row():
    page = _population_html(_day(ZONES, TOTALS))
    assert "<h2>Visitors and estimated residents per zone</h2>" in page
    assert "<th>visitors_est</th>" in page and "<th>visitors_est / visitors</th>" in page
    assert _cells(page) == [
        ["Charlie", "120", "3,000", "25.00"],
        ["Delta", "45", "no estimate", "no estimate"],
        ["Alpha", "30", "1,235", "41.15"],
        ["x9", "25", "500", "20.00"],
        ["Bravo", "suppressed (k = 20)", "suppressed (k = 20)", "suppressed (k = 20)"],
    ]
    assert "<p>1 zone of the set without a row in footfall.zone_daily_total for this day.</p>" in page  # Echo
    assert "more not shown" not in page


def test_population_html_shows_the_top_25_zones_and_counts_the_rest():
    # 30 published zones z00..z29 with 100 + i visitors (estimate 10 per visitor) and 2 withheld:
    # shown z29 (129) down to z05 (105); not shown z04..z00 (5 published) and w1, w2 (2 suppressed).
    zones = [(f"z{i:02}", f"zone {i:02}") for i in range(30)] + [("w1", "withheld 1"), ("w2", "withheld 2")]
    totals = ([(f"z{i:02}", 100 + i, 10.0 * (100 + i), "published") for i in range(30)]
              + [("w1", None, None, "suppressed"), ("w2", None, None, "suppressed")])
    page = _population_html(_day(zones, totals))
    rows = _cells(page)
    assert TABLE_ZONES == 25 and len(rows) == 25
    assert rows[0] == ["zone 29", "129", "1,290", "10.00"] and rows[-1] == ["zone 05", "105", "1,050", "10.00"]
    assert "<p>7 more zones not shown (5 published, 2 suppressed).</p>" in page
    assert "without a row" not in page


def test_population_html_says_so_when_the_day_has_no_zone_daily_total_rows():
    # (a day computed in dp mode, or before the table existed: `load` gives an empty frame)
    page = _population_html(_day([("a", "Alpha"), ("b", "Bravo")], []))
    assert "<p>No rows in footfall.zone_daily_total.</p>" in page and "<td>" not in page
    assert "<p>2 zones of the set without a row in footfall.zone_daily_total for this day.</p>" in page


# ---------------------------------------------------------------------------------------------
# Where the visitors live (footfall.zone_catchment)

# Alpha: home 01 40, 02 10 published, unknown suppressed (published sum 50).
# Bravo: home 01 30, unknown 25 published (sum 55), and no row for 02.
# Zones by published visitors: Bravo, Alpha; home districts sorted: 01, 02, unknown.
# Bravo's 02 is missing, not suppressed: NaN visitors, suppressed False (a blank cell, no hatch);
# Alpha's unknown is the one suppressed cell: NaN visitors (never 0), suppressed True.
CATCHMENT = [("a", "01", 40, "published"), ("a", "02", 10, "published"), ("a", "unknown", None, "suppressed"),
             ("b", "01", 30, "published"), ("b", "unknown", 25, "published")]


def _catchment_day() -> ReportData:
    empty = pd.DataFrame()
    return ReportData(DAY, "districts", 20, zones=pd.DataFrame([("a", "Alpha"), ("b", "Bravo")],
                                                               columns=[C.ZONE_ID, C.ZONE_NAME]),
                      daily=empty, day_total=empty, hourly=empty, dayparts=empty,
                      catchment=pd.DataFrame(CATCHMENT, columns=[C.ZONE_ID, C.HOME_DISTRICT, C.VISITORS, C.STATUS]),
                      status=empty)


def test_catchment_matrix_hatches_only_suppressed_cells_not_missing_rows():
    visitors, suppressed = catchment_matrix(_catchment_day())
    assert list(visitors.index) == list(suppressed.index) == ["Bravo", "Alpha"]
    assert list(visitors.columns) == list(suppressed.columns) == ["01", "02", "unknown"]
    np.testing.assert_array_equal(visitors.to_numpy(), [[30, np.nan, 25], [40, 10, np.nan]])
    assert suppressed.dtypes.eq(bool).all()
    assert suppressed.to_numpy().tolist() == [[False, False, False], [False, False, True]]


def test_catchment_figure_hatches_the_suppressed_cell_and_names_the_blank_one():
    fig = catchment_figure(_catchment_day())
    hatched = [p for p in fig.axes[0].patches if p.get_hatch() == "///"]
    assert [(p.get_x(), p.get_y()) for p in hatched] == [(1.5, 0.5)]  # Alpha (row 1) x unknown (column 2)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["suppressed (k = 20)", "no row in zone_catchment"]
