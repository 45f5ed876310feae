"""Events to zones: the Sedona spatial join.

An event counts for every zone of the set whose polygon it lies in or on (zones may overlap).
Small zone sets are broadcast to every executor and probed through an in-memory index
(Sedona's BroadcastIndexJoin, no shuffle of the events); large ones use Sedona's spatially
partitioned join (RangeJoin), which shuffles both sides by space instead of copying every
polygon to every task. The threshold is `spatial.broadcast_max_zones`; docs/definitions.md
explains the default.
"""

from __future__ import annotations

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


def assign_zones(events: DataFrame, zones: DataFrame, broadcast: bool) -> DataFrame:
    """One row per (event, zone containing it): zone_set, zone_id, pseudo_id, event_time.

    `zones` holds the polygons of one zone set as WKB (ref.zones). An event without a position
    matches no zone. `broadcast` picks the join strategy (see `use_broadcast`).
    """
    points = events.select(
        C.PSEUDO_ID, C.EVENT_TIME, stc.ST_Point(F.col(C.LON), F.col(C.LAT)).alias(_POINT)
    ).alias("e")
    shapes = zones.select(C.ZONE_SET, C.ZONE_ID, stc.ST_GeomFromWKB(F.col(C.GEOMETRY)).alias(_SHAPE)).alias("z")
    # ST_Intersects, not ST_Contains: a point exactly on a zone's edge counts for the zone
    # (polygons are closed sets). With ST_Contains a position on the shared border of two
    # adjacent districts would count for neither and vanish from every total; with
    # ST_Intersects it counts for both, like any other point in an overlap.
    joined = points.join(
        F.broadcast(shapes) if broadcast else shapes,
        stp.ST_Intersects(F.col(f"z.{_SHAPE}"), F.col(f"e.{_POINT}")),
        how="inner",
    )
    return joined.select(
        F.col(f"z.{C.ZONE_SET}").alias(C.ZONE_SET),
        F.col(f"z.{C.ZONE_ID}").alias(C.ZONE_ID),
        F.col(f"e.{C.PSEUDO_ID}").alias(C.PSEUDO_ID),
        F.col(f"e.{C.EVENT_TIME}").alias(C.EVENT_TIME),
    )
