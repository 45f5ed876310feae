"""The report's HTML table of cells by status (pure pandas, no Spark)."""

import datetime as dt

import pandas as pd

from footfall.analyst.charts import ReportData
from footfall.analyst.report import _suppression_html


def test_the_suppression_table_prints_cell_counts_as_integers():
    status = pd.DataFrame(
        [("footfall.zone_hourly", "published", 3528), ("footfall.zone_hourly", "suppressed", 2646),
         ("footfall.zone_daily", "published", 12)],
        columns=["table_name", "status", "cells"],
    )
    empty = pd.DataFrame()
    page = _suppression_html(ReportData(dt.date(2026, 3, 14), "districts", 20, *[empty] * 5, status))
    assert "<th>table</th>" in page and "<th>suppressed share</th>" in page
    assert "<td>3,528</td>" in page and "<td>2,646</td>" in page
    assert "<td>42.9%</td>" in page  # 2,646 of 6,174 cells
    assert "<td>0</td>" in page and ".0<" not in page  # tables without a status count 0, never 0.0
    # zone_hourly, zone_hourly_total, zone_daily, zone_daily_total, zone_daily_margins, zone_daypart,
    # zone_catchment: one row each
    assert page.count("<tr>") == 7
    assert "status" not in page.replace("suppressed", "")  # no header row naming the pivoted columns
