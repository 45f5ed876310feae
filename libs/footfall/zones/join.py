"""Points to zones: the spatial join.

A point (a stay's centroid, or an event of a travel observation) counts for every zone of the
set whose polygon it lies in or on (zones may overlap). Zone sets up to
`spatial.broadcast_max_zones` zones are joined through their grid cover (footfall.zones.cover:
an equi-join on the point's grid cell, a geometry test only in the cells a zone boundary
crosses, broadcast, no shuffle of the points); larger ones use Sedona's spatially partitioned
join (RangeJoin), which shuffles both sides by space instead of copying every zone to every
task. docs/definitions.md explains the threshold. Sedona's own broadcast index join
(`index_join`) stays as the benchmark's baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sedona.spark.sql import st_constructors as stc
from sedona.spark.sql import st_predicates as stp

from footfall.schemas import C
from footfall.zones.cover import Cover, assign_by_cover

# Internal geometry columns: never written anywhere.
_POINT = "_point"
_SHAPE = "_shape"


def use_broadcast(zone_count: int, broadcast_max_zones: int) -> bool:
    """Join through the broadcast cover when the set is small enough to copy to every task."""
    return zone_count <= broadcast_max_zones


def assign_zones(points: DataFrame, zones: DataFrame, cover: Cover | None,
                 zone_columns: Sequence[str] = (C.ZONE_SET, C.ZONE_ID)) -> DataFrame:
    """One row per (point, zone containing it): the point's columns (lon and lat among them),
    then the zone's `zone_columns` (ref.zones columns).

    `zones` holds the polygons of one zone set as WKB (ref.zones). A point without a position
    matches no zone. With the set's `cover` the join is the cover's equi-join; without, Sedona's
    spatially partitioned join (see `use_broadcast`).
    """
    if cover is not None:
        return assign_by_cover(points, cover, zones, zone_columns)
    return index_join(points, zones, False, zone_columns)


def index_join(points: DataFrame, zones: DataFrame, broadcast: bool,
               zone_columns: Sequence[str] = (C.ZONE_SET, C.ZONE_ID)) -> DataFrame:
    """`assign_zones` by Sedona's join: its BroadcastIndexJoin if `broadcast`, else its RangeJoin."""
    kept = points.columns
    located = points.select(*kept, stc.ST_Point(F.col(C.LON), F.col(C.LAT)).alias(_POINT)).alias("e")
    shapes = zones.select(*zone_columns, stc.ST_GeomFromWKB(F.col(C.GEOMETRY)).alias(_SHAPE)).alias("z")
    # ST_Intersects, not ST_Contains: a point exactly on a zone's edge counts for the zone
    # (polygons are closed sets). With ST_Contains a position on the shared border of two
    # adjacent districts would count for neither and vanish from every total; with
    # ST_Intersects it counts for both, like any other point in an overlap.
    joined = located.join(
        F.broadcast(shapes) if broadcast else shapes,
        stp.ST_Intersects(F.col(f"z.{_SHAPE}"), F.col(f"e.{_POINT}")),
        how="inner",
    )
    return joined.select(*[F.col(f"e.{c}").alias(c) for c in kept],
                         *[F.col(f"z.{c}").alias(c) for c in zone_columns])
