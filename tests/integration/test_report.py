"""`footfall report` renders every chart on hand-made data, offline, and the week of the day."""

import base64
import datetime as dt
import io
import re

import matplotlib.image
import numpy as np
import shapely
from unit.test_analyst_data import DAY, MONDAY, RESIDENTS_PER_VISITOR

from footfall.analyst.charts import (
    CHARTS,
    catchment_matrix,
    daypart_profiles,
    hourly_profiles,
    population_table,
    zone_values,
)
from footfall.analyst.report import NO_ROW, _population_html, _week_html, load, write_report
from footfall.analyst.week_charts import week_days, week_table, week_trend
from footfall.schemas import (
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    ZONE_DAILY,
    ZONE_DAILY_TOTAL,
    ZONE_WEEKLY_TOTAL,
    ZONES,
    C,
)
from footfall.tables import ensure_tables, replace_partition


def _population_rows(page: str, section_id: str = "population") -> list[list[str]]:
    """The cells of the body rows of the page's table "Visitors and estimated residents per zone"
    (or of the table of another section)."""
    section = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert section, f"no {section_id} section"
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

    # The districts have no release of DAY's week (the store fronts have): one sentence, no chart.
    assert data.week is None
    assert ("<p>No week release for 2026-W11 in zone set districts: <code>footfall compute-week --week 2026-W11 "
            "--zone-set districts</code> publishes it once its seven days are.</p>") in text
    assert text.index('id="suppression"') < text.index('id="week"') and not (page.parent / "week.png").exists()


def test_report_shows_the_week_release_of_the_store_fronts(handmade_day, tmp_path):
    """The store fronts' week of DAY (WEEK_TOTALS: Supermarkt 130 visitors, S Alexanderplatz
    withheld); they have no zone_daily_total row that week (DAY_TOTALS is the districts' F-K,
    which must not leak in): every day "no row", no line has a point."""
    data = load(handmade_day, DAY, "storefronts", 20)
    assert data.week is not None and data.week.monday == MONDAY
    assert week_table(data)[C.ZONE_NAME].tolist() == ["Supermarkt Torstr.", "S Alexanderplatz"]
    visitors, suppressed = week_days(data)
    assert visitors.isna().all().all() and not suppressed.any().any()
    assert week_trend(data)[0].index.tolist() == ["s1"]  # s2's week is withheld: no line

    page = write_report(data, tmp_path / DAY.isoformat())
    text = page.read_text()
    assert (page.parent / "week.png").exists() and 'href="week.png"' in text
    assert "<h2>The week 2026-W11, 2026-03-09 to 2026-03-15</h2>" in text
    estimate = f"{130 * RESIDENTS_PER_VISITOR:,.0f}"  # 5,200
    assert _population_rows(text, "week") == [
        ["Supermarkt Torstr.", "130", estimate, *[NO_ROW] * 7],
        ["S Alexanderplatz", *["suppressed (k = 20)"] * 2, *[NO_ROW] * 7],
    ]


POPULATION_DAY = dt.date(2026, 2, 7)
POPULATION_SET = "ut_report_population"
ZONE_NAMES = ((13.3, "p1", "Nord"), (13.4, "p2", "Süd"), (13.5, "p3", "Ost"))


def _zone_set(spark, zone_set: str, day: dt.date) -> None:
    """The three zones of ZONE_NAMES in `zone_set`, and the one zone_daily cell of `day` by which
    load finds the set: suppressed (every metric NULL)."""
    ensure_tables(spark, (ZONES, ZONE_DAILY, ZONE_DAILY_TOTAL, ZONE_WEEKLY_TOTAL))
    zones = [(zone_set, z, name, "district", shapely.to_wkb(shapely.box(x, 52.5, x + 0.05, 52.53)), 1e6)
             for x, z, name in ZONE_NAMES]
    replace_partition(spark.createDataFrame(zones, ZONES.struct), ZONES, {C.ZONE_SET: zone_set})
    daily = [(zone_set, "p1", day, "25-34", "F", *(None,) * 10, STATUS_SUPPRESSED)]
    replace_partition(spark.createDataFrame(daily, ZONE_DAILY.struct), ZONE_DAILY, {C.EVENT_DATE: day})


def _day_totals(spark, zone_set: str, cells: list[tuple]) -> None:
    """zone_daily_total rows (zone, date, visitors, visitors_est, status); the visit metrics and
    dwell estimates (14 columns) NULL."""
    totals = [(zone_set, z, d, v, est, *(None,) * 14, status) for z, d, v, est, status in cells]
    replace_partition(spark.createDataFrame(totals, ZONE_DAILY_TOTAL.struct), ZONE_DAILY_TOTAL,
                      {C.EVENT_DATE: tuple(sorted({c[1] for c in cells}))})


def test_report_table_shows_a_withheld_zone_as_suppressed(spark, claim):
    """A day of its own, read through Spark: a withheld zone_daily_total row (visitors and
    visitors_est NULL) is printed "suppressed (k = 20)", never 0 or blank, and comes last."""
    claim(days=[POPULATION_DAY], zone_sets=[POPULATION_SET])
    _zone_set(spark, POPULATION_SET, POPULATION_DAY)
    # Nord: 64 visitors, 1000.6 residents -> 1,001; 1000.6 / 64 = 15.634 -> 15.63.
    # Süd: withheld. Ost: 30 visitors, published without a population reference -> "no estimate".
    # Visitors descending, withheld last: Nord, Ost, Süd.
    _day_totals(spark, POPULATION_SET, [("p1", POPULATION_DAY, 64, 1000.6, STATUS_PUBLISHED),
                                        ("p2", POPULATION_DAY, None, None, STATUS_SUPPRESSED),
                                        ("p3", POPULATION_DAY, 30, None, STATUS_PUBLISHED)])

    data = load(spark, POPULATION_DAY, POPULATION_SET, 20)
    table = population_table(data)
    assert table[C.ZONE_NAME].tolist() == ["Nord", "Ost", "Süd"]
    assert np.isnan(table[C.VISITORS].iloc[2]) and np.isnan(table[C.VISITORS_EST].iloc[2])  # not 0
    assert _population_rows(_population_html(data)) == [
        ["Nord", "64", "1,001", "15.63"],
        ["Ost", "30", "no estimate", "no estimate"],
        ["Süd", "suppressed (k = 20)", "suppressed (k = 20)", "suppressed (k = 20)"],
    ]


WEEK_SET = "ut_report_week"
WEEK_MONDAY = dt.date(2026, 2, 16)  # 2026-W08; the report's day is its Sunday
WEEK_DAY = WEEK_MONDAY + dt.timedelta(days=6)


def test_report_reads_the_week_release_and_its_seven_days(spark, claim, tmp_path):
    """A week of its own, read through Spark from a Sunday: zone_weekly_total of its Monday, and
    the zone_daily_total rows of Monday to Sunday only (not the Sunday before)."""
    before, wednesday = WEEK_MONDAY - dt.timedelta(days=1), WEEK_MONDAY + dt.timedelta(days=2)
    claim(days=[before, WEEK_MONDAY, wednesday, WEEK_DAY], zone_sets=[WEEK_SET])
    _zone_set(spark, WEEK_SET, WEEK_DAY)
    published, withheld = STATUS_PUBLISHED, STATUS_SUPPRESSED
    _day_totals(spark, WEEK_SET, [
        ("p1", before, 999, None, published),  # the week before: not in the table
        ("p1", WEEK_MONDAY, 50, None, published), ("p2", WEEK_MONDAY, None, None, withheld),
        ("p1", wednesday, None, None, withheld), ("p2", wednesday, 40, None, published),
        ("p3", wednesday, 30, None, published), ("p1", WEEK_DAY, 70, None, published)])
    # (zone, visitors, visitors_est, status): Nord 200 (4000.0 -> 4,000), Süd withheld, Ost 120
    # without a population reference. Week visitors descending, withheld last: Nord, Ost, Süd.
    weeks = [(WEEK_SET, "p1", WEEK_MONDAY, 200, 4000.0, published), (WEEK_SET, "p2", WEEK_MONDAY, None, None, withheld),
             (WEEK_SET, "p3", WEEK_MONDAY, 120, None, published)]
    replace_partition(spark.createDataFrame(weeks, ZONE_WEEKLY_TOTAL.struct), ZONE_WEEKLY_TOTAL,
                      {C.WEEK_START: WEEK_MONDAY, C.ZONE_SET: WEEK_SET})

    data = load(spark, WEEK_DAY, WEEK_SET, 20)
    assert data.week is not None and data.week.monday == WEEK_MONDAY
    visitors = week_trend(data)[0]
    assert visitors.index.tolist() == ["p1", "p3"]  # Süd's week is withheld: no line
    np.testing.assert_array_equal(visitors.loc["p1"], [50, np.nan, np.nan, np.nan, np.nan, np.nan, 70])
    s = "suppressed (k = 20)"
    page = _week_html(data, tmp_path)
    assert "<h2>The week 2026-W08, 2026-02-16 to 2026-02-22</h2>" in page and (tmp_path / "week.png").exists()
    assert _population_rows(page, "week") == [
        ["Nord", "200", "4,000", "50", NO_ROW, s, *[NO_ROW] * 3, "70"],
        ["Ost", "120", "no estimate", NO_ROW, NO_ROW, "30", *[NO_ROW] * 4],
        ["Süd", s, s, s, NO_ROW, "40", *[NO_ROW] * 4],
    ]
