"""`footfall report` renders every chart on hand-made data, offline."""

import base64
import datetime as dt
import io
import re

import matplotlib.image
import numpy as np
import shapely
from unit.test_analyst_data import DAY

from footfall.analyst.charts import (
    CHARTS,
    catchment_matrix,
    daypart_profiles,
    hourly_profiles,
    population_table,
    zone_values,
)
from footfall.analyst.report import _population_html, load, write_report
from footfall.schemas import STATUS_PUBLISHED, STATUS_SUPPRESSED, ZONE_DAILY, ZONE_DAILY_TOTAL, ZONES, C
from footfall.tables import ensure_tables, replace_partition


def _population_rows(page: str) -> list[list[str]]:
    """The cells of the body rows of the page's table "Visitors and estimated residents per zone"."""
    section = re.search(r'<section id="population">(.*?)</section>', page, re.S)
    assert section, "no population section"
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", section[1], re.S)
            if "<td>" in row]


def test_report_renders_all_charts_with_suppressed_cells_apart_from_zero(handmade_day, tmp_path):
    data = load(handmade_day, DAY, None, 20)
    assert data.zone_set == "districts"  # the default when it exists

    values = zone_values(data).set_index(C.ZONE_ID)
    assert values.loc["01", "visitors"] == 70 and values.loc["01", "state"] == "published"
    assert values.loc["03", "state"] == "no data"
    female = hourly_profiles(data)["F"]
    assert female.loc[14, "25-34"] == 71 and female.loc[15, "25-34"] == 25
    assert np.isnan(female.loc[15, "35-44"])  # suppressed: a gap, not zero
    parts = daypart_profiles(data)["F"]  # Mitte's afternoon: (25-34, F) 35, (35-44, F) withheld
    assert parts.loc["afternoon", "25-34"] == 35 and np.isnan(parts.loc["afternoon", "35-44"])
    assert parts.loc["morning"].isna().all()
    # F-K's catchment (the only zone with one): home 02 48, 01 22, 03 and unknown withheld
    visitors, suppressed = catchment_matrix(data)
    assert list(visitors.index) == ["Friedrichshain-Kreuzberg"] and list(visitors.columns) == ["01", "02", "03",
                                                                                                 "unknown"]
    assert visitors.iloc[0, :2].tolist() == [22, 48] and visitors.iloc[0, 2:].isna().all()
    assert suppressed.iloc[0].tolist() == [False, False, True, True]

    page = write_report(data, tmp_path / DAY.isoformat())
    text = page.read_text()
    for name, title in CHARTS:
        png = page.parent / f"{name}.png"
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 200 and image.shape[1] > 200
        assert float(image[..., :3].std()) > 0.02, f"{name}.png looks blank"
        encoded = base64.b64encode(png.read_bytes()).decode()
        assert f'src="data:image/png;base64,{encoded}"' in text
        assert f'href="{name}.png"' in text and title in text
        embedded = matplotlib.image.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
        assert embedded.shape == image.shape
    # suppressed shares of the districts: zone_hourly 3 of 7 cells, zone_hourly_total 1 of 4, zone_daily 2 of 5
    assert "<th>suppressed</th>" in text
    assert all(f"<td>{share}</td>" in text for share in ("42.9%", "25.0%", "40.0%"))

    # Visitors and estimated residents: the districts' only zone_daily_total row is DAY_TOTALS' F-K,
    # 90 visitors, published; write_handmade sets visitors_est = 90 x RESIDENTS_PER_VISITOR (40) = 3,600,
    # and 3,600 / 90 = 40.00. Mitte and Pankow have no row there (not 0, not suppressed): a note.
    assert _population_rows(text) == [["Friedrichshain-Kreuzberg", "90", "3,600", "40.00"]]
    assert "<p>2 zones of the set without a row in footfall.zone_daily_total for this day.</p>" in text
    assert text.index('id="map"') < text.index('id="population"') < text.index('id="hourly"')


POPULATION_DAY = dt.date(2026, 2, 7)
POPULATION_SET = "ut_report_population"


def test_report_table_shows_a_withheld_zone_as_suppressed(spark, claim):
    """A day of its own, read through Spark: a withheld zone_daily_total row (visitors and
    visitors_est NULL) is printed "suppressed (k = 20)", never 0 or blank, and comes last."""
    claim(days=[POPULATION_DAY], zone_sets=[POPULATION_SET])
    ensure_tables(spark, (ZONES, ZONE_DAILY, ZONE_DAILY_TOTAL))
    zones = [(POPULATION_SET, z, name, "district", shapely.to_wkb(shapely.box(x, 52.5, x + 0.05, 52.53)), 1e6)
             for x, z, name in ((13.3, "p1", "Nord"), (13.4, "p2", "Süd"), (13.5, "p3", "Ost"))]
    replace_partition(spark.createDataFrame(zones, ZONES.struct), ZONES, {C.ZONE_SET: POPULATION_SET})
    # load finds a zone set by its zone_daily rows: one suppressed cell (every metric NULL).
    daily = [(POPULATION_SET, "p1", POPULATION_DAY, "25-34", "F", *(None,) * 10, STATUS_SUPPRESSED)]
    replace_partition(spark.createDataFrame(daily, ZONE_DAILY.struct), ZONE_DAILY, {C.EVENT_DATE: POPULATION_DAY})
    # (zone, visitors, visitors_est, status); the visit metrics and dwell estimates (14 columns) NULL.
    # Nord: 64 visitors, 1000.6 residents -> 1,001; 1000.6 / 64 = 15.634 -> 15.63.
    # Süd: withheld. Ost: 30 visitors, published without a population reference -> "no estimate".
    # Visitors descending, withheld last: Nord, Ost, Süd.
    cells = (("p1", 64, 1000.6, STATUS_PUBLISHED), ("p2", None, None, STATUS_SUPPRESSED),
             ("p3", 30, None, STATUS_PUBLISHED))
    totals = [(POPULATION_SET, z, POPULATION_DAY, v, est, *(None,) * 14, status) for z, v, est, status in cells]
    replace_partition(spark.createDataFrame(totals, ZONE_DAILY_TOTAL.struct), ZONE_DAILY_TOTAL,
                      {C.EVENT_DATE: POPULATION_DAY})

    data = load(spark, POPULATION_DAY, POPULATION_SET, 20)
    table = population_table(data)
    assert table[C.ZONE_NAME].tolist() == ["Nord", "Ost", "Süd"]
    assert np.isnan(table[C.VISITORS].iloc[2]) and np.isnan(table[C.VISITORS_EST].iloc[2])  # not 0
    assert _population_rows(_population_html(data)) == [
        ["Nord", "64", "1,001", "15.63"],
        ["Ost", "30", "no estimate", "no estimate"],
        ["Süd", "suppressed (k = 20)", "suppressed (k = 20)", "suppressed (k = 20)"],
    ]
