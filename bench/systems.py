"""Stage 1 of the benchmark: the spatial join of events to zones plus a count per zone and hour.

Every system reads the same Parquet files (the ingested events: pseudo_id, event_time, lon, lat)
and the same zone file (zone_set, zone_id, WKB geometry), and returns one row per (zone_id,
hour) with the number of events that lie in or on the zone (ST_Intersects, footfall's
predicate). `hour` is the UTC epoch hour, floor(epoch seconds / 3600), an integer every engine
computes the same way (no time-zone rules involved). Each function returns a pandas DataFrame
sorted by zone_id, hour with columns zone_id (str), hour (int64), n (int64).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

COLUMNS = ["zone_id", "hour", "n"]
SPARK_SYSTEMS = ("footfall_cover", "sedona_broadcast", "sedona_partitioned", "naive_udf")
# The run order: the fast ones first, so an interrupted run has the baselines.
SYSTEMS = ("duckdb", "sedonadb", "footfall_cover", "sedona_broadcast", "naive_udf", "sedona_partitioned")


def _normalised(df: pd.DataFrame) -> pd.DataFrame:
    out = df[COLUMNS].astype({"zone_id": str, "hour": "int64", "n": "int64"})
    return out.sort_values(["zone_id", "hour"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------- Spark


def prepared_cover(spark: Any, zones_file: str, zone_set: str) -> Any:
    """The zone set's grid cover, built and held in memory before the join is measured: the
    compute reads it from ref.zone_cover, where load-reference stored it."""
    from pyspark.sql import functions as F

    from footfall.schemas import C
    from footfall.zones.cover import Cover, zone_cover

    built = zone_cover(spark.read.parquet(zones_file).where(F.col(C.ZONE_SET) == zone_set))
    return Cover(built.level, built.cells.localCheckpoint())


def spark_counts(spark: Any, files: Sequence[str], zones_file: str, zone_set: str, system: str,
                 cover: Any = None) -> tuple[pd.DataFrame, str]:
    """footfall's own join (footfall.zones.join.assign_zones through the zone set's grid `cover`,
    built here if not given), Sedona's joins or the naive UDF; returns counts and the physical
    join operator seen in the executed plan."""
    from pyspark.sql import functions as F

    from footfall.schemas import C
    from footfall.zones.cover import zone_cover
    from footfall.zones.join import assign_zones, index_join

    points = spark.read.parquet(*files).select(C.PSEUDO_ID, C.EVENT_TIME, C.LON, C.LAT)
    zones = spark.read.parquet(zones_file).where(F.col(C.ZONE_SET) == zone_set)
    if system == "naive_udf":
        pairs = naive_pairs(spark, points, zones)
    elif system == "footfall_cover":
        pairs = assign_zones(points, zones, cover or zone_cover(zones))
    else:
        pairs = index_join(points, zones, broadcast=system == "sedona_broadcast")
    counts = pairs.groupBy(
        F.col(C.ZONE_ID).alias("zone_id"), F.floor(F.col(C.EVENT_TIME).cast("long") / 3600).alias("hour")
    ).agg(F.count(F.lit(1)).alias("n"))
    # Sedona broadcasts a small side by itself (sedona.join.autoBroadcastJoinThreshold follows
    # Spark's 10 MB): switched off for the partitioned system, so it really is the RangeJoin.
    no_broadcast = {"sedona.join.autoBroadcastJoinThreshold": "-1", "spark.sql.autoBroadcastJoinThreshold": "-1"}
    saved = {k: spark.conf.get(k, None) for k in no_broadcast}
    if system == "sedona_partitioned":
        for key, value in no_broadcast.items():
            spark.conf.set(key, value)
    try:
        result = counts.toPandas()
        plan = counts._jdf.queryExecution().executedPlan().toString()
    finally:
        for key, value in saved.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
    operators = [op for op in ("BroadcastIndexJoin", "RangeJoin", "DistanceJoin", "BatchEvalPython",
                               "ArrowEvalPython", "BroadcastHashJoin", "BroadcastNestedLoopJoin",
                               "CartesianProduct") if op in plan]
    return _normalised(result), ",".join(operators)


def naive_pairs(spark: Any, points: Any, zones: Any) -> Any:
    """What a first PySpark version often looks like: a row-at-a-time Python UDF with shapely.

    Not a straw man: the polygons are broadcast once, each Python worker builds one shapely
    STRtree over them, and each row is one tree query with the same predicate (intersects).
    The cost is the per-row Python call and pickling, which Sedona's JVM join avoids.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, StringType

    from footfall.schemas import C

    rows = zones.select(C.ZONE_ID, C.GEOMETRY).collect()
    shapes = spark.sparkContext.broadcast([(r[0], bytes(r[1])) for r in rows])
    cache: dict[str, Any] = {}

    def zones_of(lon: float | None, lat: float | None) -> list[str]:
        if lon is None or lat is None:
            return []
        if "tree" not in cache:
            import shapely

            ids = [z for z, _ in shapes.value]
            geoms = [shapely.from_wkb(w) for _, w in shapes.value]
            cache["ids"], cache["tree"] = ids, shapely.STRtree(geoms)
        import shapely

        hits = cache["tree"].query(shapely.Point(lon, lat), predicate="intersects")
        return [cache["ids"][i] for i in hits]

    udf = F.udf(zones_of, ArrayType(StringType()))
    return points.select(
        F.explode(udf(F.col(C.LON), F.col(C.LAT))).alias(C.ZONE_ID), C.PSEUDO_ID, C.EVENT_TIME
    )


# ---------------------------------------------------------------------------------- DuckDB

DUCKDB_SQL = """
SELECT z.zone_id, CAST(floor(epoch(p.event_time) / 3600) AS BIGINT) AS hour, count(*) AS n
FROM read_parquet($files) AS p
JOIN (SELECT zone_id, ST_GeomFromWKB(geometry) AS shape FROM read_parquet($zones) WHERE zone_set = $zone_set) AS z
  ON ST_Intersects(z.shape, ST_Point(p.lon, p.lat))
GROUP BY ALL
"""


def duckdb_connection(threads: int) -> Any:
    import duckdb

    from footfall.analyst.duck import extension_file

    # The spatial extension from its pinned wheel, never downloaded (as footfall duckdb does).
    con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
    con.execute(f"LOAD '{extension_file('spatial')}'")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {threads}")
    return con


def duckdb_counts(files: Sequence[str], zones_file: str, zone_set: str, threads: int) -> tuple[pd.DataFrame, str]:
    con = duckdb_connection(threads)
    params = {"files": list(files), "zones": zones_file, "zone_set": zone_set}
    plan = "\n".join(str(r[1]) for r in con.execute("EXPLAIN " + DUCKDB_SQL, params).fetchall())
    result = con.execute(DUCKDB_SQL, params).df()
    con.close()
    operator = ",".join(op for op in ("SPATIAL_JOIN", "PIECEWISE_MERGE_JOIN", "NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN")
                        if op in plan)
    return _normalised(result), operator


# -------------------------------------------------------------------------------- SedonaDB

SEDONADB_SQL = """
SELECT z.zone_id, CAST(floor(CAST(date_part('epoch', p.event_time) AS DOUBLE) / 3600) AS BIGINT) AS hour,
       count(*) AS n
FROM points AS p
JOIN (SELECT zone_id, ST_GeomFromWKB(geometry) AS shape FROM zones WHERE zone_set = '{zone_set}') AS z
  ON ST_Intersects(z.shape, ST_Point(p.lon, p.lat))
GROUP BY z.zone_id, CAST(floor(CAST(date_part('epoch', p.event_time) AS DOUBLE) / 3600) AS BIGINT)
"""


def sedonadb_counts(files: Sequence[str], zones_file: str, zone_set: str, threads: int) -> tuple[pd.DataFrame, str]:
    import pyarrow as pa

    with warnings.catch_warnings():  # "Failed to configure GDAL": only raster/OGR reading needs it
        warnings.simplefilter("ignore")
        import sedonadb

        sd = sedonadb.connect()
    sd.sql(f"SET datafusion.execution.target_partitions = {threads}").execute()
    sd.read_parquet(list(files)).to_view("points")
    sd.read_parquet(zones_file).to_view("zones")
    if "'" in zone_set:
        raise ValueError(f"zone set name {zone_set!r}")
    query = SEDONADB_SQL.format(zone_set=zone_set)
    plan = str(pa.table(sd.sql("EXPLAIN " + query)).to_pandas().to_string())
    result = pa.table(sd.sql(query)).to_pandas()
    operator = ",".join(op for op in ("SpatialJoinExec", "NestedLoopJoinExec", "HashJoinExec") if op in plan)
    return _normalised(result), operator
