"""assign_zones: exact event x zone pairs, overlaps, edges, NULL positions and the join strategy;
the grid cover (footfall.zones.cover) against ST_Intersects."""

import datetime as dt

import numpy as np
import pytest
import shapely
from chispa import assert_df_equality

from footfall.schemas import EVENTS, ZONE_COVER, ZONES, C
from footfall.zones.cover import Cover, cover_level, cover_rows, zone_cover
from footfall.zones.join import assign_zones, index_join, use_broadcast

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


def _nullable_events(spark, rows):
    # restricted.events forbids NULL positions; the NULL row checks the join would not invent a match
    schema = EVENTS.struct
    for field in schema.fields:
        field.nullable = True
    return spark.createDataFrame(rows, schema)


@pytest.fixture(scope="module")
def events(spark):
    return _nullable_events(spark, [
        _event("p1", 13.05, 52.05),  # A only
        _event("p2", 13.15, 52.05),  # B only
        _event("p3", 13.09, 52.05),  # overlap: A and B
        _event("p4", 13.0, 52.05),  # on A's western edge: counts for A
        _event("p5", 15.0, 55.0),  # outside every zone
        _event("p6", None, None),  # no position: matches nothing
    ])


def _expected(spark):
    pairs = [("A", "p1"), ("B", "p2"), ("A", "p3"), ("B", "p3"), ("A", "p4")]
    return spark.createDataFrame(
        [("test_set", z, p, T) for z, p in pairs],
        f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.PSEUDO_ID} string, {C.EVENT_TIME} timestamp",
    )


def _points(events):
    return events.select(C.PSEUDO_ID, C.EVENT_TIME, C.LON, C.LAT)


def _plan(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


def _check(zoned, spark, operator: str, absent: str) -> None:
    plan = _plan(zoned)
    assert operator in plan and absent not in plan
    assert_df_equality(zoned.select(C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, C.EVENT_TIME), _expected(spark),
                       ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_the_cover_join_returns_exact_pairs_with_a_hash_join_and_no_spatial_join(spark, events, zones):
    _check(assign_zones(_points(events), zones, zone_cover(zones)), spark, "BroadcastHashJoin", "BroadcastIndexJoin")


def test_without_a_cover_the_partitioned_join_returns_the_same_pairs_with_a_range_join(spark, events, zones):
    _check(assign_zones(_points(events), zones, None), spark, "RangeJoin", "BroadcastHashJoin")


def test_sedonas_broadcast_index_join_the_benchmarks_baseline_returns_the_same_pairs(spark, events, zones):
    _check(index_join(_points(events), zones, True), spark, "BroadcastIndexJoin", "RangeJoin")


@pytest.mark.parametrize(("zone_count", "expected"), [(19999, True), (20000, True), (20001, False)])
def test_zone_sets_up_to_the_threshold_are_broadcast(zone_count, expected):
    assert use_broadcast(zone_count, 20000) is expected


def test_a_square_degree_at_level_one_has_four_core_cells_and_five_it_only_touches():
    """The zone [13, 14] x [52, 53] on cells of half a degree: the four cells inside are core;
    the cells beyond its right and top edges are met along an edge (their piece is that edge),
    the one beyond its corner at a point."""
    square = shapely.box(13.0, 52.0, 14.0, 53.0)
    rows = cover_rows("s", [("z", shapely.to_wkb(square))], level=1)
    got = {(int(x), int(y)): (bool(core), None if p is None else shapely.from_wkb(p))
           for x, y, core, p in rows[[C.CELL_X, C.CELL_Y, C.CORE, C.PIECE]].itertuples(index=False)}
    assert {cell for cell, (core, _) in got.items() if core} == {(26, 104), (27, 104), (26, 105), (27, 105)}
    assert {cell: piece.normalize().wkt for cell, (core, piece) in got.items() if not core} == {
        cell: shapely.from_wkt(wkt).normalize().wkt for cell, wkt in {
            (28, 104): "LINESTRING (14 52, 14 52.5)", (28, 105): "LINESTRING (14 52.5, 14 53)",
            (26, 106): "LINESTRING (13 53, 13.5 53)", (27, 106): "LINESTRING (13.5 53, 14 53)",
            (28, 106): "POINT (14 53)"}.items()}
    assert set(rows[C.GRID_LEVEL]) == {1} and set(rows[C.ZONE_SET]) == {"s"}


def test_the_level_is_at_most_the_finest_whose_bounding_boxes_span_a_million_cells():
    # n boxes of 2^-7 degrees on the grid: (2^(l-7) + 1)^2 cells each at level l, and 2^(l-7)
    # cells across (the 256 across allow level 15). 50 boxes: 129^2 x 50 = 832,050 cells at 14,
    # 257^2 x 50 = 3,302,450 at 15; 100 boxes: 1,664,100 at 14, 65^2 x 100 = 422,500 at 13.
    side = 2.0 ** -7

    def boxes(n: int) -> np.ndarray:
        return np.array([[13 + k * 2 * side, 52.0, 13 + k * 2 * side + side, 52.0 + side] for k in range(n)])

    assert cover_level(boxes(50)) == 14
    assert cover_level(boxes(100)) == 13
    assert cover_level(boxes(50), max_cells=500_000) == 13  # spatial.cover_max_cells: 65^2 x 50 = 211,250


def test_the_level_gives_the_median_zone_at_most_256_cells_across():
    # 0.01 degrees: 163.84 cells at level 14, 327.68 at 15 (and only 27,225 cells in all at 14).
    assert cover_level(np.array([[13.40, 52.50, 13.41, 52.51]])) == 14


def test_the_cover_join_counts_exactly_as_st_intersects_on_edges_vertices_and_grid_lines(spark):
    """A jagged zone with a hole, at three levels: random points, its vertices, points on its
    edges and on grid lines. Sedona's ST_Intersects on the zone itself is the judge."""
    rng = np.random.default_rng(7)
    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    radius = 0.01 * (1 + 0.3 * rng.random(200))
    outer = np.c_[13.4 + radius * np.cos(angles), 52.5 + 0.6 * radius * np.sin(angles)]
    zone = shapely.Polygon(outer, [shapely.box(13.398, 52.499, 13.402, 52.501).exterior.coords])
    vertices = np.asarray(zone.exterior.coords)[:-1]
    on_edges = (vertices + np.roll(vertices, -1, axis=0)) / 2
    grid = 2.0 ** -12
    lines = np.c_[np.round(rng.uniform(13.385, 13.415, 200) / grid) * grid, rng.uniform(52.49, 52.51, 200)]
    spread = np.c_[rng.uniform(13.385, 13.415, 2000), rng.uniform(52.49, 52.51, 2000)]
    positions = np.vstack([vertices, on_edges, lines, lines[:, ::-1] * 0 + [[13.4, 52.5]], spread,
                           np.asarray(zone.interiors[0].coords)])
    events = _nullable_events(spark, [_event(f"p{n}", float(x), float(y)) for n, (x, y) in enumerate(positions)])
    zones = spark.createDataFrame([_zone("jagged", zone.wkt)], ZONES.struct)
    expected = index_join(_points(events), zones, True).select(C.PSEUDO_ID)
    assert expected.count() > 1000  # the scenario has points inside, outside and on the boundary
    for level in (10, 12, 14):
        cells = spark.createDataFrame(cover_rows("test_set", [("jagged", zone.wkb)], level)[list(ZONE_COVER.names)],
                                      ZONE_COVER.struct)
        got = assign_zones(_points(events), zones, Cover(level, cells)).select(C.PSEUDO_ID)
        assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_stored_cover_of_other_polygons_is_not_used(spark, zones):
    stale = zone_cover(zones.where(f"{C.ZONE_ID} = 'C'"))
    rebuilt = zone_cover(zones, stale.cells)
    assert rebuilt.cells.select(C.ZONE_ID).distinct().count() == 3
    kept = zone_cover(zones, rebuilt.cells)
    assert kept.cells is rebuilt.cells
