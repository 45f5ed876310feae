"""Stays and travel to visits: the sigma rule of placing a point in a zone, the pass-by rule,
redundant pass-bys, unobserved (virtual) stays, and the cohort (footfall.pipeline.visits)."""

import dataclasses
import datetime as dt
import math

import shapely
from chispa import assert_df_equality

from footfall.config import VisitsSection
from footfall.pipeline.bursts import LocalFrame
from footfall.pipeline.visits import (
    ZONE_STAY_COLUMNS,
    missing_subscribers,
    passby_visits,
    stay_visits,
    week_cohorts,
    with_cohort,
    zone_visits,
)
from footfall.schemas import SUBSCRIBERS, VISITS, ZONES, C
from footfall.schemas.day import OBSERVATIONS, STAY_POINTS, D
from footfall.zones.cover import zone_cover

DAY = dt.date(2026, 3, 14)
FRAME = LocalFrame(13.4, 52.5)
P = VisitsSection()
T0 = dt.datetime(2026, 3, 14, 9, 0, tzinfo=dt.UTC).timestamp()
VISIT_DDL = (
    f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.EVENT_DATE} date, {C.PSEUDO_ID} string, "
    f"{C.VISIT_START} timestamp, {C.VISIT_END} timestamp, {C.DWELL_S} long, {C.N_EVENTS} long, "
    f"{C.IS_PASSBY} boolean, {C.FIRST_SEEN} timestamp, {C.LAST_SEEN} timestamp"
)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return x / FRAME.m_per_lon + FRAME.lon0, y / FRAME.m_per_lat + FRAME.lat0


def _square(zone_id: str, half_m: float, area_m2: float) -> tuple:
    (x0, y0), (x1, y1) = _lonlat(-half_m, -half_m), _lonlat(half_m, half_m)
    return ("s", zone_id, zone_id, "test", shapely.to_wkb(shapely.box(x0, y0, x1, y1)), area_m2)


def _zones(spark):
    # A store front of the area of a 25 m circle: sigma limit 0.6 x 25 = 15 m. A district of
    # 10 km x 10 km: limit 0.6 x sqrt(1e8 / pi) = 3,385 m.
    return spark.createDataFrame([_square("shop", 25, math.pi * 25**2), _square("district", 5000, 1e8)],
                                 ZONES.struct)


def _point(pid: str, x: float, sigma: float) -> tuple:
    lon, lat = _lonlat(x, 0.0)
    return (pid, 1, lon, lat, sigma, T0, T0 + 600, T0, T0, T0 + 600, T0 + 600, T0, T0 + 600, 2, 8, False, 0.0)


def test_a_stay_is_placed_only_in_zones_whose_size_admits_its_sigma(spark):
    points = spark.createDataFrame([
        _point("p1", 0, 10.0),  # inside the shop, sigma 10 <= 15: shop and district
        _point("p2", 0, 20.0),  # inside the shop, sigma 20 > 15: district only
        _point("p3", 10, 14.99),  # sigma just within the shop's limit: shop and district
        _point("p4", 0, 4000.0),  # too coarse even for the district: nowhere
        _point("p5", 100, 5.0),  # outside the shop: district only
    ], STAY_POINTS.struct)
    got = stay_visits(points, _zones(spark), zone_cover(_zones(spark)), P)
    assert got.columns == list(ZONE_STAY_COLUMNS)
    assert sorted((r[C.ZONE_ID], r[C.PSEUDO_ID]) for r in got.collect()) == [
        ("district", "p1"), ("district", "p2"), ("district", "p3"), ("district", "p5"), ("shop", "p1"),
        ("shop", "p3")]
    # zone_sigma_factor scales the limit: at 1.0 the shop admits sigma 25, p2 too
    wider = stay_visits(points, _zones(spark), zone_cover(_zones(spark)), dataclasses.replace(P, zone_sigma_factor=1.0))
    assert sorted(r[C.PSEUDO_ID] for r in wider.where(f"{C.ZONE_ID} = 'shop'").collect()) == ["p1", "p2", "p3"]


def test_travel_events_make_one_pass_by_per_burst_and_zone(spark):
    def event(pid: str, burst: int, second: float, x: float, measured: bool = True) -> tuple:
        lon, lat = _lonlat(x, 0.0)
        return (pid, dt.datetime.fromtimestamp(T0 + second, dt.UTC), T0 + second, lon, lat, float(x), 0.0, 5.0,
                measured, burst, True)

    travel = spark.createDataFrame([
        event("a", 1, 0, -10), event("a", 1, 25, 10), event("a", 1, 50, 60),  # leaves the shop after 25 s
        event("a", 2, 600, 0),  # another burst: another pass-by
        event("b", 1, 0, 0, measured=False),  # the serving site: no position to place
    ], OBSERVATIONS.struct)
    got = passby_visits(travel, _zones(spark), zone_cover(_zones(spark)), P).where(f"{C.ZONE_ID} = 'shop'")
    assert sorted((r[C.PSEUDO_ID], r[D.START_S] - T0, r[D.END_S] - T0, r[C.N_EVENTS]) for r in got.collect()) == [
        ("a", 0.0, 25.0, 2), ("a", 600.0, 600.0, 1)]


def _zone_stay(pid: str, start: float, end: float, first: float, last: float, virtual: bool = False) -> tuple:
    return ("s", "A", "test", 15.0, pid, T0 + start, T0 + end, 0 if virtual else 4, T0 + first, T0 + last,
            T0 + start, T0 + first, T0 + last, T0 + end, virtual, 0.0, 1)


ZONE_STAY_DDL = ", ".join(f"{c} {t}" for c, t in zip(ZONE_STAY_COLUMNS, (
    "string", "string", "string", "double", "string", "double", "double", "long", "double", "double", "double",
    "double", "double", "double", "boolean", "double", "long"), strict=True))


def _ts(second: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(T0 + second, dt.UTC)


def test_dwell_is_the_estimated_stay_and_short_ones_are_pass_bys(spark):
    stays = spark.createDataFrame([
        _zone_stay("q1", 0, 299, 100, 150),  # 4:59 -> a pass-by
        _zone_stay("q2", 3600, 3900, 3700, 3800),  # exactly 5:00 -> not a pass-by
        _zone_stay("q3", -32400, -7200, -32400, -32400, virtual=True),  # the night place, unobserved
    ], ZONE_STAY_DDL)
    passbys = spark.createDataFrame([
        ("s", "A", "q2", T0 + 4500, T0 + 4530, 2),  # 600 s after q2's end (<= 900 s): q2 leaving, dropped
        ("s", "A", "q2", T0 + 3000, T0 + 3010, 2),  # 590 s before q2's start: q2 arriving, dropped
        ("s", "A", "q2", T0 + 5101, T0 + 5130, 2),  # 1,201 s after q2's end: a pass-by of its own
        ("s", "A", "q4", T0 + 3700, T0 + 3700, 1),  # no stay of q4 there: kept, dwell 0
    ], f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {D.START_S} double, {D.END_S} double, "
       f"{C.N_EVENTS} long")
    expected = spark.createDataFrame([
        ("s", "A", DAY, "q1", _ts(0), _ts(299), 299, 4, True, _ts(100), _ts(150)),
        ("s", "A", DAY, "q2", _ts(3600), _ts(3900), 300, 4, False, _ts(3700), _ts(3800)),
        ("s", "A", DAY, "q3", _ts(-32400), _ts(-7200), 25200, 0, False, None, None),
        ("s", "A", DAY, "q2", _ts(5101), _ts(5130), 29, 2, True, _ts(5101), _ts(5130)),
        ("s", "A", DAY, "q4", _ts(3700), _ts(3700), 0, 1, True, _ts(3700), _ts(3700)),
    ], VISIT_DDL)
    got = zone_visits(stays, passbys, DAY, P)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_with_cohort_keeps_visits_of_unknown_subscribers_as_unknown_cohort(spark):
    """p1's cohort and home district come from its snapshot row; p9 has none: unknown, home unknown."""
    d = dt.date(2026, 3, 14)
    start, end = utc(2026, 3, 14, 9, 0), utc(2026, 3, 14, 9, 10)
    visits = spark.createDataFrame(
        [("s", "A", d, "p1", start, end, 600, 3, False, start, end), ("s", "A", d, "p9", start, end, 600, 3, False,
                                                                      None, None)],
        VISIT_DDL,
    )
    subscribers = spark.createDataFrame(
        [("p1", "k1", "25-34", "F", "consumer", "07", None, d), ("p2", "k1", "65+", "M", "consumer", "01", None, d)],
        SUBSCRIBERS.struct,
    )
    expected = spark.createDataFrame(
        [
            ("s", "A", d, "p1", "25-34", "F", "07", start, end, 600, 3, False, start, end),
            ("s", "A", d, "p9", "unknown", "unknown", "unknown", start, end, 600, 3, False, None, None),
        ],
        VISITS.struct,
    )
    assert_df_equality(
        with_cohort(visits, subscribers), expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )
    assert [r[C.PSEUDO_ID] for r in missing_subscribers(visits, subscribers).collect()] == ["p9"]


def test_week_cohorts_fix_each_subscriber_to_the_first_snapshot_of_its_iso_week(spark):
    """Wednesday 2026-03-11: p1 turned 35 and moved on Wednesday, and keeps Monday's 25-34 and
    home 07 all week; p2 is in the week's snapshots from Wednesday; p3's Sunday row is of the week
    before, p1's Thursday row comes after the day: neither is read."""
    def row(pid: str, age: str, gender: str, home: str, day: int) -> tuple:
        return (pid, "k1", age, gender, "consumer", home, None, dt.date(2026, 3, day))

    snapshots = spark.createDataFrame([
        row("p1", "25-34", "F", "07", 9), row("p1", "35-44", "F", "01", 11), row("p1", "35-44", "M", "02", 12),
        row("p2", "65+", "M", "02", 11), row("p3", "18-24", "F", "03", 8),
    ], SUBSCRIBERS.struct)
    got = week_cohorts(snapshots, dt.date(2026, 3, 11))
    assert sorted(tuple(r) for r in got.collect()) == [("p1", "25-34", "F", "07"), ("p2", "65+", "M", "02")]
    assert got.columns == [C.PSEUDO_ID, C.AGE_BAND, C.GENDER, C.HOME_DISTRICT]
    # Monday: only Monday's rows; the week before's Sunday is another week.
    assert [tuple(r) for r in week_cohorts(snapshots, dt.date(2026, 3, 9)).collect()] == [("p1", "25-34", "F", "07")]
