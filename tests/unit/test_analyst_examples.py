"""Every docs/examples/*.sql query answers exactly what its question asks on the hand-made day
(tests/unit/test_analyst_data.py), through the convenience views, so the examples in
docs/analysts.md stay valid when tables or views change.

The hand-made day, as the examples read it (k = 20; S = suppressed; (lt5, 5-15, 15-60, 60+)
visits; median, and mean = median + 2):
  zone_daily     districts 01 Mitte: 25-34/F 40 (20, 21, 20, 0) 13.0; 25-34/M S primary;
                   35-44/F 30 (0, 20, 20, 0) 11.5
                 districts 02 Friedrichshain-Kreuzberg: 25-34/F 45 (20, 20, 20, 0); 65+/F S secondary
                 storefronts s1 (supermarkets): 35-44/F 21 (20, 20, 0, 0) 6.5; 65+/M 24 (0, 20, 20, 0) 9.0
                 storefronts s2 (sbahn-stops): 25-34/F 70 (60, 20, 0, 0) 5.0
  zone_hourly    (visitors only) districts 01: 14h 25-34/F 30, 15h 25-34/F 25, 14h 25-34/M S primary,
                   14h 35-44/F 22, 15h 35-44/F S secondary
                 districts 02: 14h 25-34/F 41, 15h 25-34/F S primary
                 storefronts s1: 10h 35-44/F 21, 10h 65+/M 24; s2: 8h 25-34/F 60, 8h 25-34/M S primary
  zone_hourly_total  districts 01: 14h 80, 15h 60; 02: 14h 55, 15h S primary
                 storefronts s1: 10h 49 (20, 22, 20, 0); s2: 8h 120 (100, 20, 0, 0),
                   9h 30 with 25 visits and the dwell histogram withheld
  zone_catchment districts 02: home 02 48, 01 22, 03 S, unknown S (its day total: 90);
                 storefronts s2: home 01 40, 02 S; s1: home 01 21
  zone_daypart   districts 01: afternoon 25-34/F 35, 35-44/F S; storefronts s1: midday 65+/F 23,
                   afternoon 65+/F S
  ref.zones      01 Mitte 39.5 km2, 02 Friedrichshain-Kreuzberg 20.2 km2, 03 Pankow (no cells);
                 s1 a 0.0005 x 0.0003 degree box at (13.40, 52.529), s2 at (13.411, 52.521)
"""

from pathlib import Path

import pytest
from chispa import assert_df_equality
from support import ROOT

from footfall.analyst.statements import split_statements
from footfall.analyst.views import VIEWS, spark_view_sql

EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.sql"))

# example -> (columns, rows in the query's order), each derived by hand from the day above.
ANSWERS: dict[str, tuple[list[str], list[tuple]]] = {
    # daily cohort cells per district: Mitte 40 + 30 (3 cells, 1 suppressed); F-K 45 (2 cells, 1)
    "01_busiest_districts": (
        ["zone_name", "visitors_in_published_cohorts", "cohort_cells", "suppressed_cells"],
        [("Mitte", 70, 3, 1), ("Friedrichshain-Kreuzberg", 45, 2, 1)],
    ),
    # 25-34/F at 14h and 15h: Mitte 30 and 25 (mean 27.5, 2 published); F-K 41 and suppressed
    "02_women_25_34_saturday_afternoon": (
        ["zone_name", "mean_visitors_per_hour", "peak_visitors", "hours_published"],
        [("Friedrichshain-Kreuzberg", 41.0, 41, 1), ("Mitte", 27.5, 30, 2)],
    ),
    # s1's daily cells: 35-44 median 6.5, (0 + 0) / 40 = 0.0; 65+ median 9.0, (20 + 0) / 40 = 0.5
    "03_supermarket_dwell_by_age": (
        ["age_band", "published_cells", "median_of_cell_medians_min", "share_15min_plus"],
        [("35-44", 1, 6.5, 0.0), ("65+", 1, 9.0, 0.5)],
    ),
    # s2 is the only S-Bahn stop; 8h: 100 of 120 visits pass-bys = 0.83; 9h: 25 visits, no histogram
    "04_station_passersby_per_hour": (
        ["zone_name", "local_hour", "visitors", "visits", "passersby", "passersby_share", "status"],
        [("S Alexanderplatz", 8, 120, 120, 100, 0.83, "published"),
         ("S Alexanderplatz", 9, 30, 25, None, None, "published")],
    ),
    # Mitte's totals: one day each for 14h (80) and 15h (60), both published
    "05_district_daily_profile": (
        ["local_hour", "days", "published_days", "visitors_mean", "visitors_max"],
        [(14, 1, 1, 80.0, 80), (15, 1, 1, 60.0, 60)],
    ),
    # cells (suppressed): catchment districts 4 (2); daily districts 5 (2), storefronts 5 (2); margins districts 3 (2),
    # storefronts 1 (0); the day total of one district; day parts districts 2 (1); hourly
    # districts 7 (3) = 3/7, storefronts 4 (1); totals districts 4 (1), storefronts 3 (0)
    "06_suppression_rate": (
        ["table_name", "zone_set", "cells", "suppressed", "suppressed_share"],
        [("footfall.zone_catchment", "districts", 4, 2, 0.5),
         ("footfall.zone_catchment", "storefronts", 3, 1, 0.333),
         ("footfall.zone_daily", "districts", 5, 2, 0.4),
         ("footfall.zone_daily", "storefronts", 5, 2, 0.4),
         ("footfall.zone_daily_margins", "districts", 3, 2, 0.667),
         ("footfall.zone_daily_margins", "storefronts", 1, 0, 0.0),
         ("footfall.zone_daily_total", "districts", 1, 0, 0.0),
         ("footfall.zone_daypart", "districts", 2, 1, 0.5),
         ("footfall.zone_daypart", "storefronts", 2, 1, 0.5),
         ("footfall.zone_hourly", "districts", 7, 3, 0.429),
         ("footfall.zone_hourly", "storefronts", 4, 1, 0.25),
         ("footfall.zone_hourly_total", "districts", 4, 1, 0.25),
         ("footfall.zone_hourly_total", "storefronts", 3, 0, 0.0)],
    ),
    # Mitte's published daily cells: 40 and 30 of 70
    "07_cohort_mix_of_a_district": (
        ["age_band", "gender", "visitors", "share_of_published"],
        [("25-34", "F", 40, 0.571), ("35-44", "F", 30, 0.429)],
    ),
    # published totals: Mitte 80 at 14h (60 at 15h); F-K 55 at 14h (15h suppressed)
    "08_busiest_hour_per_district": (
        ["zone_name", "busiest_local_hour", "visitors_then"],
        [("Mitte", 14, 80), ("Friedrichshain-Kreuzberg", 14, 55)],
    ),
    # peak total per km2: F-K 55 / 20.2 = 2.72; Mitte 80 / 39.5 = 2.03
    "09_visitor_density": (
        ["zone_name", "peak_hour_visitors", "area_km2", "peak_visitors_per_km2"],
        [("Friedrichshain-Kreuzberg", 55, 20.2, 2.7), ("Mitte", 80, 39.5, 2.0)],
    ),
    # totals with a histogram: s1 62 visits, 20 of 15-60 min (0.323), 20 pass-bys (0.323); s2 at 8h
    # 120, 0 (0.0), 100 (0.833); s2 at 9h (25 visits, no histogram) left out, else 145 and 0.690
    "10_longest_stays_by_category": (
        ["category", "store_fronts", "visits", "share_15min_plus", "passersby_share"],
        [("supermarkets", 1, 62, 0.323, 0.323), ("sbahn-stops", 1, 120, 0.0, 0.833)],
    ),
    # daily cells: s1 21 + 24 = 45 visitors, 24 of them 65+ (0.533); s2 70, none 65+
    "11_oldest_audience_by_category": (
        ["category", "visitors", "share_65plus"],
        [("supermarkets", 45, 0.533), ("sbahn-stops", 70, 0.0)],
    ),
    # daily visitors s2 70, s1 45; the centres of their boxes: (13.411 + 0.00025, 52.521 + 0.00015)
    # and (13.400 + 0.00025, 52.529 + 0.00015)
    "12_where_are_the_top_zones": (
        ["zone_name", "category", "visitors", "lon", "lat"],
        [("S Alexanderplatz", "sbahn-stops", 70, 13.41125, 52.52115),
         ("Supermarkt Torstr.", "supermarkets", 45, 13.40025, 52.52915)],
    ),
    # F-K's day: 90 visitors, 48 living in F-K (48 / 90 = 0.533), 22 in Mitte (0.244); Pankow and
    # unknown withheld
    "13_catchment_of_a_district": (
        ["home_district", "home_name", "visitors", "share_of_day"],
        [("02", "Friedrichshain-Kreuzberg", 48, 0.533), ("01", "Mitte", 22, 0.244)],
    ),
    # the only supermarket, s1: 65+/F at midday 23, afternoon withheld, no morning or evening row
    "14_supermarket_target_group_by_day_part": (
        ["zone_name", "morning", "midday", "afternoon", "evening"],
        [("Supermarkt Torstr.", None, 23, None, None)],
    ),
    # published catchment: s2 40 (home 01; 02 withheld), s1 21 (home 01): both, s2 first
    "15_where_store_front_visitors_live": (
        ["zone_name", "category", "home_district", "home_name", "visitors"],
        [("S Alexanderplatz", "sbahn-stops", "01", "Mitte", 40),
         ("Supermarkt Torstr.", "supermarkets", "01", "Mitte", 21)],
    ),
}


@pytest.fixture(scope="module")
def catalog(handmade_day):
    for view in VIEWS:
        handmade_day.sql(spark_view_sql(view))
    return handmade_day


def test_every_example_has_a_hand_derived_answer():
    assert [p.stem for p in EXAMPLES] == sorted(ANSWERS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_query_answers_as_derived_by_hand(catalog, path: Path):
    (statement,) = split_statements(path.read_text())
    answer = catalog.sql(statement)
    columns, rows = ANSWERS[path.stem]
    assert answer.columns == columns
    assert_df_equality(answer, catalog.createDataFrame(rows, answer.schema), ignore_nullable=True)
