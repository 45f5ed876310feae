"""Hand-made published rows shared by the analyst and report tests (no tests in this module).

One Saturday, k = 20. Two districts and two store fronts (a supermarket and an S-Bahn stop),
with published and suppressed cells (below k, or withheld to protect another cell). Imported as
`unit.test_analyst_data` (tests/ is on pytest's pythonpath). The tests read it through the
session fixture `handmade_day` (tests/conftest.py), which claims the day and both zone sets in
the shared catalog and writes them once.
"""

from __future__ import annotations

import datetime as dt

import shapely
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from footfall.schemas import (
    EVENTS,
    MARKET_SHARE,
    PUBLISHED_TABLES,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    WEEK_TABLES,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONE_WEEKLY,
    ZONE_WEEKLY_CATCHMENT,
    ZONE_WEEKLY_MARGINS,
    ZONE_WEEKLY_TOTAL,
    ZONES,
    C,
)
from footfall.tables import ensure_tables, replace_partition

DAY = dt.date(2026, 3, 14)
MONDAY = dt.date(2026, 3, 9)  # of DAY's ISO week, whose release the store fronts have
# The zone set names docs/examples/*.sql query.
ZONE_SETS = ("districts", "storefronts")
OFFSET_MIN = 60  # Berlin in March before DST: UTC+1
# visitors_est of every published cell: as if each subscriber stood for 40 residents.
RESIDENTS_PER_VISITOR = 40.0


def _square(lon: float, lat: float, size: float) -> bytes:
    return shapely.to_wkb(shapely.box(lon, lat, lon + size, lat + size * 0.6))


ZONE_ROWS = [
    ("districts", "01", "Mitte", "district", _square(13.36, 52.50, 0.04), 39.5e6),
    ("districts", "02", "Friedrichshain-Kreuzberg", "district", _square(13.40, 52.50, 0.04), 20.2e6),
    ("districts", "03", "Pankow", "district", _square(13.38, 52.53, 0.04), 103.0e6),  # nothing counted there
    ("storefronts", "s1", "Supermarkt Torstr.", "supermarkets", _square(13.40, 52.529, 0.0005), 2000.0),
    ("storefronts", "s2", "S Alexanderplatz", "sbahn-stops", _square(13.411, 52.521, 0.0005), 2000.0),
]


def _metrics(visitors: int | None, lt5: int = 0, b5: int = 0, b15: int = 0, b60: int = 0,
             median: float | None = None) -> tuple:
    """visitors, visits, passersby, median, mean, four dwell buckets; all NULL when suppressed.
    Every count of visits is 0 or at least k, as the table guard demands (docs/privacy.md)."""
    if visitors is None:
        return (None,) * 9
    visits = lt5 + b5 + b15 + b60
    return (visitors, visits, lt5, median, None if median is None else median + 2.0, lt5, b5, b15, b60)


def _visitors_only(visitors: int | None, visits: int | None = None) -> tuple:
    """A published cell whose visit metrics are withheld (zone_hourly always; elsewhere fewer
    than k people behind a dwell bin), with its visit count if that is shown."""
    return (visitors, visits, *(None,) * 7) if visitors is not None else (None,) * 9


def _status(visitors: int | None) -> str:
    return STATUS_PUBLISHED if visitors is not None else STATUS_SUPPRESSED


def _hour(local_hour: int) -> tuple:
    start = dt.datetime.combine(DAY, dt.time(local_hour)) - dt.timedelta(minutes=OFFSET_MIN)
    return (start, local_hour, OFFSET_MIN)


# (zone_set, zone_id, local hour, age band, gender, metrics); suppressed where visitors is None.
# zone_hourly publishes visitors only.
HOURLY = [
    ("districts", "01", 14, "25-34", "F", _visitors_only(30)),
    ("districts", "01", 15, "25-34", "F", _visitors_only(25)),
    ("districts", "01", 14, "25-34", "M", _visitors_only(None)),
    ("districts", "01", 14, "35-44", "F", _visitors_only(22)),
    ("districts", "01", 15, "35-44", "F", _visitors_only(None)),  # withheld to protect another cell
    ("districts", "02", 14, "25-34", "F", _visitors_only(41)),
    ("districts", "02", 15, "25-34", "F", _visitors_only(None)),
    ("storefronts", "s1", 10, "35-44", "F", _visitors_only(21)),
    ("storefronts", "s1", 10, "65+", "M", _visitors_only(24)),
    ("storefronts", "s2", 8, "25-34", "F", _visitors_only(60)),
    ("storefronts", "s2", 8, "25-34", "M", _visitors_only(None)),
]
TOTAL = [
    ("districts", "01", 14, _metrics(80, 20, 30, 20, 0, 14.0)),
    ("districts", "01", 15, _metrics(60, 20, 20, 20, 0, 13.0)),
    ("districts", "02", 14, _metrics(55, 20, 20, 20, 0, 15.0)),
    ("districts", "02", 15, _metrics(None)),
    ("storefronts", "s1", 10, _metrics(49, 20, 22, 20, 0, 8.0)),
    ("storefronts", "s2", 8, _metrics(120, 100, 20, 0, 0, 5.5)),
    ("storefronts", "s2", 9, _visitors_only(30, 25)),  # 25 visits; the dwell bins withheld
]
DAILY = [
    ("districts", "01", "25-34", "F", _metrics(40, 20, 21, 20, 0, 13.0)),
    ("districts", "01", "25-34", "M", _metrics(None)),
    ("districts", "01", "35-44", "F", _metrics(30, 0, 20, 20, 0, 11.5)),
    ("districts", "02", "25-34", "F", _metrics(45, 20, 20, 20, 0, 15.0)),
    ("districts", "02", "65+", "F", _metrics(None)),  # withheld to protect another cell
    ("storefronts", "s1", "35-44", "F", _metrics(21, 20, 20, 0, 0, 6.5)),
    ("storefronts", "s1", "65+", "M", _metrics(24, 0, 20, 20, 0, 9.0)),
    ("storefronts", "s2", "25-34", "F", _metrics(70, 60, 20, 0, 0, 5.0)),
    ("storefronts", "s2", "65+", "M", _metrics(None)),  # its gender's margin is published
    ("storefronts", "s1", "18-24", "F", _metrics(None)),  # nothing holding it is published
]
# The coarser levels (footfall.zone_daily_best picks among them): (zone_set, zone_id, age band,
# gender, visitors); Mitte's 25-34 beside its withheld (25-34, M), F-K's 65+ and women withheld.
MARGINS = [
    ("districts", "01", "25-34", "all", 65),
    ("districts", "02", "65+", "all", None),
    ("districts", "02", "all", "F", None),
    ("storefronts", "s2", "all", "M", 20),
]
DAY_TOTALS = [("districts", "02", 90)]  # visitors; the visit metrics withheld
# (zone_set, zone_id, day part, its first local hour, age band, gender, visitors)
DAYPARTS = [
    ("districts", "01", "afternoon", 14, "25-34", "F", 35),
    ("districts", "01", "afternoon", 14, "35-44", "F", None),
    ("storefronts", "s1", "midday", 10, "65+", "F", 23),
    ("storefronts", "s1", "afternoon", 14, "65+", "F", None),
]

# (zone_set, zone_id, home district, visitors): F-K's 90 visitors of the day by where they live,
# and the published home districts of the two store fronts (their day totals are not in the day).
CATCHMENT = [
    ("districts", "02", "02", 48),
    ("districts", "02", "01", 22),
    ("districts", "02", "03", None),
    ("districts", "02", "unknown", None),
    ("storefronts", "s2", "01", 40),
    ("storefronts", "s2", "02", None),
    ("storefronts", "s1", "01", 21),
]

# The week of MONDAY, store fronts only (footfall.zone_weekly_best picks among its levels):
# (zone_set, zone_id, age band, gender, visitors) for the cohorts and the margins.
WEEKLY = [
    ("storefronts", "s1", "18-24", "F", 26),
    ("storefronts", "s1", "35-44", "F", None),  # its gender's margin is published
    ("storefronts", "s1", "65+", "M", None),  # its age band's margin withheld: the week total
    ("storefronts", "s2", "25-34", "M", None),  # its age band's margin is published
    ("storefronts", "s2", "65+", "F", None),  # nothing holding it is published
]
WEEK_MARGINS = [
    ("storefronts", "s1", "all", "F", 60),
    ("storefronts", "s1", "65+", "all", None),
    ("storefronts", "s2", "25-34", "all", 40),
    ("storefronts", "s2", "65+", "all", None),
    ("storefronts", "s2", "all", "F", None),
]
WEEK_TOTALS = [("storefronts", "s1", 130), ("storefronts", "s2", None)]
WEEK_CATCHMENT = [("storefronts", "s1", "01", 25), ("storefronts", "s1", "unknown", None)]


def write_handmade(spark: SparkSession) -> None:
    """Create the tables (every published one: analysts see them all) and replace the day with
    the rows above (idempotent)."""
    ensure_tables(spark, (ZONES, *PUBLISHED_TABLES, *WEEK_TABLES, MARKET_SHARE, EVENTS))
    for zone_set in ZONE_SETS:
        zones = [r for r in ZONE_ROWS if r[0] == zone_set]
        replace_partition(spark.createDataFrame(zones, ZONES.struct), ZONES, {C.ZONE_SET: zone_set})
    hourly = [(zs, z, DAY, *_hour(h), a, g, *m, _status(m[0])) for zs, z, h, a, g, m in HOURLY]
    total = [(zs, z, DAY, *_hour(h), *m, _status(m[0])) for zs, z, h, m in TOTAL]
    daily = [(zs, z, DAY, a, g, *m, _status(m[0])) for zs, z, a, g, m in DAILY]
    margins = [(zs, z, DAY, a, g, v, _status(v)) for zs, z, a, g, v in MARGINS]
    day_totals = [(zs, z, DAY, *_visitors_only(v), *(None,) * 6, _status(v)) for zs, z, v in DAY_TOTALS]
    parts = [(zs, z, DAY, part, _hour(h)[0], 4, a, g, v, _status(v)) for zs, z, part, h, a, g, v in DAYPARTS]
    homes = [(zs, z, DAY, home, v, _status(v)) for zs, z, home, v in CATCHMENT]
    week = {ZONE_WEEKLY: [(zs, z, MONDAY, a, g, v, _status(v)) for zs, z, a, g, v in WEEKLY],
            ZONE_WEEKLY_MARGINS: [(zs, z, MONDAY, a, g, v, _status(v)) for zs, z, a, g, v in WEEK_MARGINS],
            ZONE_WEEKLY_TOTAL: [(zs, z, MONDAY, v, _status(v)) for zs, z, v in WEEK_TOTALS],
            ZONE_WEEKLY_CATCHMENT: [(zs, z, MONDAY, h, v, _status(v)) for zs, z, h, v in WEEK_CATCHMENT]}
    for table, rows in ((ZONE_HOURLY, hourly), (ZONE_HOURLY_TOTAL, total), (ZONE_DAILY, daily),
                        (ZONE_DAILY_MARGINS, margins), (ZONE_DAILY_TOTAL, day_totals), (ZONE_DAYPART, parts),
                        (ZONE_CATCHMENT, homes), *week.items()):
        counted = StructType([f for f in table.struct.fields if f.name != C.VISITORS_EST])
        cells = spark.createDataFrame(rows, counted).withColumn(C.VISITORS_EST, F.when(
            F.col(C.STATUS) == STATUS_PUBLISHED, F.col(C.VISITORS) * RESIDENTS_PER_VISITOR))
        replace_partition(cells, table, {C.WEEK_START: MONDAY} if table in WEEK_TABLES else {C.EVENT_DATE: DAY})
    # One restricted row, to show that analysts cannot reach it.
    event = (DAY, "p-secret", "k1", dt.datetime(2026, 3, 14, 9, 0), "c1", "data", 13.4, 52.52, 50.0, "measured")
    replace_partition(spark.createDataFrame([event], EVENTS.struct), EVENTS, {C.EVENT_DATE: DAY})
