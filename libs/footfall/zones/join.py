"""Points to zones: the Sedona spatial join.

A point (a stay's centroid, or an event of a travel observation) counts for every zone of the
set whose polygon it lies in or on (zones may overlap). Small zone sets are broadcast to every
executor and probed through an in-memory index (Sedona's BroadcastIndexJoin, no shuffle of the
points); large ones use Sedona's spatially partitioned join (RangeJoin), which shuffles both
sides by space instead of copying every polygon to every task. The threshold is
`spatial.broadcast_max_zones`; docs/definitions.md explains the default.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sedona.spark.sql import st_constructors as stc
from sedona.spark.sql import st_predicates as stp

from footfall.schemas import C

# Internal geometry columns: never written anywhere.
_POINT = "_point"
_SHAPE = "_shape"


def use_broadcast(zone_count: int, broadcast_max_zones: int) -> bool:
    """Broadcast the zones when the set is small enough to copy to every task."""
    return zone_count <= broadcast_max_zones


def assign_zones(points: DataFrame, zones: DataFrame, broadcast: bool,
                 zone_columns: Sequence[str] = (C.ZONE_SET, C.ZONE_ID)) -> DataFrame:
    """One row per (point, zone containing it): the point's columns (lon and lat among them),
    then the zone's `zone_columns` (ref.zones columns).

    `zones` holds the polygons of one zone set as WKB (ref.zones). A point without a position
    matches no zone. `broadcast` picks the join strategy (see `use_broadcast`).
    """
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
