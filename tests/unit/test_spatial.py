"""assign_zones: exact event x zone pairs, overlaps, edges, NULL positions and the join strategy."""

import datetime as dt

import pytest
import shapely
from chispa import assert_df_equality

from footfall.schemas import EVENTS, ZONES, C
from footfall.zones.join import assign_zones, use_broadcast

T = dt.datetime(2026, 3, 14, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 14)


def _zone(zone_id: str, wkt: str) -> tuple:
    geometry = shapely.from_wkt(wkt)
    return ("test_set", zone_id, zone_id, "test", shapely.to_wkb(geometry), 1.0)


def _event(pseudo_id: str | None, lon: float | None, lat: float | None) -> tuple:
    return (DAY, pseudo_id, "k1", T, "c1", "attach", lon, lat, 10.0, "measured")


@pytest.fixture(scope="module")
def zones(spark):
    rows = [
        _zone("A", "POLYGON((13.0 52.0, 13.1 52.0, 13.1 52.1, 13.0 52.1, 13.0 52.0))"),
        _zone("B", "POLYGON((13.08 52.0, 13.2 52.0, 13.2 52.1, 13.08 52.1, 13.08 52.0))"),  # overlaps A
        _zone("C", "POLYGON((14.0 53.0, 14.1 53.0, 14.1 53.1, 14.0 53.1, 14.0 53.0))"),
    ]
    return spark.createDataFrame(rows, ZONES.struct)


@pytest.fixture(scope="module")
def events(spark):
    rows = [
        _event("p1", 13.05, 52.05),  # A only
        _event("p2", 13.15, 52.05),  # B only
        _event("p3", 13.09, 52.05),  # overlap: A and B
        _event("p4", 13.0, 52.05),  # on A's western edge: counts for A
        _event("p5", 15.0, 55.0),  # outside every zone
        _event("p6", None, None),  # no position: matches nothing
    ]
    # restricted.events forbids NULL positions; the NULL row checks the join would not invent a match
    schema = EVENTS.struct
    for field in schema.fields:
        field.nullable = True
    return spark.createDataFrame(rows, schema)


def _expected(spark):
    pairs = [("A", "p1"), ("B", "p2"), ("A", "p3"), ("B", "p3"), ("A", "p4")]
    return spark.createDataFrame(
        [("test_set", z, p, T) for z, p in pairs],
        f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.EVENT_TIME} timestamp",
    )


def _pairs(events, zones, broadcast: bool):
    """assign_zones keeps the points' columns and adds the zones': the pairs under test."""
    points = events.select(C.PSEUDO_ID, C.EVENT_TIME, C.LON, C.LAT)
    return assign_zones(points, zones, broadcast).select(C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, C.EVENT_TIME)


def _plan(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


def test_broadcast_join_returns_exact_pairs_with_a_broadcast_index_join(spark, events, zones):
    zoned = _pairs(events, zones, broadcast=True)
    plan = _plan(zoned)
    assert "BroadcastIndexJoin" in plan and "RangeJoin" not in plan
    assert_df_equality(zoned, _expected(spark), ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_partitioned_join_returns_the_same_pairs_with_a_range_join(spark, events, zones):
    zoned = _pairs(events, zones, broadcast=False)
    plan = _plan(zoned)
    assert "RangeJoin" in plan and "BroadcastIndexJoin" not in plan
    assert_df_equality(zoned, _expected(spark), ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


@pytest.mark.parametrize(("zone_count", "expected"), [(19999, True), (20000, True), (20001, False)])
def test_zone_sets_up_to_the_threshold_are_broadcast(zone_count, expected):
    assert use_broadcast(zone_count, 20000) is expected
