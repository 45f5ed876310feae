"""Zones covered by a grid: the spatial join as an equi-join on a grid cell (issue 17).

Sedona's broadcast join tests every candidate polygon point by point over all its vertices
(~930 for a locality), which was 4 µs per event at bench L. Databricks' `h3_tessellateaswkb`
and Mosaic's `grid_tessellateexplode` do it differently, and so does this module: the zone set
is covered once (at load-reference, ref.zone_cover) by square lon/lat cells; a cell that lies
wholly in a zone is that zone's **core** cell, and an event in it needs no geometry test at
all; a cell that the zone's boundary crosses holds the zone's **piece** in it (the zone clipped
to the cell, a few vertices), and only events in such cells are tested, against that piece.

Exactness (the join must count exactly as ST_Intersects on the zone does, a point on an edge
included):
- the cell edge is 2^-level degrees, so lon * 2^level is exact in floating point, floor() of it
  is the point's cell without rounding, and the cell's bounds i * 2^-level are exact: a point
  always lies in the closed square of its own cell (and on a shared edge in one cell only,
  the one floor() picks, so each (point, zone) pair comes out once);
- a core cell is one the zone covers (ST_Covers: every point of the closed square, its edges
  included, lies in or on the zone);
- a piece is computed with rounding (clipping moves the cut points by an ulp), so a point
  within `EDGE_TOLERANCE` degrees of the piece's **rim** (the zone's boundary inside the cell
  and the cell's own outline) is tested against the zone itself, not the piece. Farther from
  the rim, the piece and the zone agree: the rounding is orders of magnitude below the
  tolerance. Such points are rare (1e-9 degrees is 0.1 mm), so the exact test costs nothing
  on average.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from sedona.spark.sql import st_constructors as stc
from sedona.spark.sql import st_predicates as stp

from footfall.schemas import ZONE_COVER, C

log = logging.getLogger(__name__)

# Degrees; see the module docstring. Far above the rounding of a clip (~1e-15 degrees), far
# below any position's precision.
EDGE_TOLERANCE = 1e-9
# The grid levels a cover may use (cells of 1/16 to 1/65,536 of a degree), and its largest size
# unless the config says otherwise (spatial.cover_max_cells).
LEVELS = range(4, 17)
MAX_COVER_CELLS = 1_000_000
MAX_CELLS_ACROSS = 256
CORE, PIECE, RIM, LEVEL, ZONES_HASH = C.CORE, C.PIECE, C.RIM, C.GRID_LEVEL, C.ZONES_HASH
# Internal, never written: the packed cell the join keys on, and the point.
CELL, _POINT = "_cell", "_point"
_ARROW = pa.schema([(C.ZONE_SET, pa.string()), (C.ZONE_ID, pa.string()), (LEVEL, pa.int32()), (C.CELL_X, pa.int32()),
                    (C.CELL_Y, pa.int32()), (CORE, pa.bool_()), (PIECE, pa.binary()), (RIM, pa.binary()),
                    (ZONES_HASH, pa.string())])


def cell_of(lon: Column, lat: Column, level: int) -> Column:
    """The grid cell of a position: floor(lon * 2^level) and floor(lat * 2^level) packed into
    one long, the join's key (exact: scaling by a power of two does not round). NULL without a
    position."""
    scale = float(2 ** level)
    return _pack(F.floor(lon * scale), F.floor(lat * scale))


def _pack(i: Column, j: Column) -> Column:
    # Longitude cells in the high 32 bits, latitude cells in the low ones (offset to be
    # non-negative): fine for every level up to 23 (2^23 cells of 180 degrees fit in 32 bits).
    return i.cast("long") * F.lit(1 << 32) + (j.cast("long") + F.lit(1 << 31))


@dataclasses.dataclass(frozen=True)
class Cover:
    """A zone set's cover: its cells (ref.zone_cover rows of the set) at grid `level`."""

    level: int
    cells: DataFrame


def zones_hash(zones: Sequence[tuple[str, bytes]]) -> str:
    """The fingerprint of a zone set's polygons, (zone_id, WKB) pairs: a cover stored for other
    polygons than ref.zones holds now is never used."""
    digest = hashlib.sha256()
    for zone_id, wkb in sorted(zones):
        digest.update(zone_id.encode() + b"\0" + hashlib.sha256(wkb).digest())
    return digest.hexdigest()


def cover_level(bounds: np.ndarray, max_cells: int = MAX_COVER_CELLS) -> int:
    """The finest level (LEVELS) at which the zones' bounding boxes (an (n, 4) array of
    xmin, ymin, xmax, ymax) span at most `max_cells` cells, and the median zone at most
    MAX_CELLS_ACROSS cells along its longer side: finer cells leave fewer events in boundary
    cells, more cells cost more to build and to broadcast (docs/definitions.md)."""
    sides = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    extent = float(np.median(sides)) if len(sides) else 0.0
    chosen = LEVELS[0]
    for level in LEVELS:
        scale = 2.0 ** level
        spans = ((np.floor(bounds[:, 2] * scale) - np.floor(bounds[:, 0] * scale) + 1)
                 * (np.floor(bounds[:, 3] * scale) - np.floor(bounds[:, 1] * scale) + 1))
        if spans.sum() > max_cells or extent * scale > MAX_CELLS_ACROSS:
            break
        chosen = level
    return chosen


def cover_rows(zone_set: str, zones: Sequence[tuple[str, bytes]], level: int) -> pd.DataFrame:
    """The ref.zone_cover rows of one zone set from its (zone_id, WKB) pairs, at `level`
    (`wanted_level` chooses it).

    Built with shapely's vectorised GEOS calls on the driver rather than with Sedona: the same
    exact predicates (covers, intersects) on a few hundred thousand boxes take a second here
    against tens of seconds as a Spark job (measured on the localities, docs/benchmarks.md)."""
    shapes = shapely.from_wkb([wkb for _, wkb in zones])
    size, digest = 2.0 ** -level, zones_hash(zones)
    parts = []
    for (zone_id, _), shape in zip(zones, shapes, strict=True):
        x0, y0, x1, y1 = (np.floor(b * 2.0 ** level) for b in shape.bounds)
        i, j = (a.ravel() for a in np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1)))
        boxes = shapely.box(i * size, j * size, (i + 1) * size, (j + 1) * size)
        shapely.prepare(shape)
        hit = shapely.intersects(shape, boxes)
        core = shapely.covers(shape, boxes[hit])
        edge = boxes[hit][~core]
        pieces = np.full(len(core), None, dtype=object)
        rims = np.full(len(core), None, dtype=object)
        pieces[~core] = shapely.to_wkb(shapely.intersection(shape, edge))
        rims[~core] = shapely.to_wkb(shapely.union(shapely.intersection(shape.boundary, edge), shapely.boundary(edge)))
        parts.append(pd.DataFrame({C.ZONE_ID: zone_id, C.CELL_X: i[hit].astype(np.int32),
                                   C.CELL_Y: j[hit].astype(np.int32), CORE: core, PIECE: pieces, RIM: rims}))
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=[C.ZONE_ID, C.CELL_X, C.CELL_Y, CORE, PIECE, RIM])
    return rows.assign(**{C.ZONE_SET: zone_set, LEVEL: level, ZONES_HASH: digest})


def stored_level(stored: DataFrame, zones: Sequence[tuple[str, bytes]]) -> int | None:
    """The level of the `stored` cover (ref.zone_cover rows of one set) if it was built from these
    (zone_id, WKB) pairs, else None."""
    found = stored.select(LEVEL, ZONES_HASH).first()
    return int(found[LEVEL]) if found is not None and found[ZONES_HASH] == zones_hash(zones) else None


def wanted_level(zones: Sequence[tuple[str, bytes]], max_cells: int) -> int:
    """The level to cover these (zone_id, WKB) pairs at: `cover_level` within `max_cells` (no
    zones: the coarsest, an empty cover)."""
    return cover_level(shapely.bounds(shapely.from_wkb([wkb for _, wkb in zones])), max_cells) if zones else LEVELS[0]


def zone_cover(zones: DataFrame, stored: DataFrame | None = None, max_cells: int = MAX_COVER_CELLS) -> Cover:
    """The cover of one zone set's ref.zones rows: the `stored` one (ref.zone_cover rows of the
    set, written by load-reference) if it was built from these very polygons, whatever its
    level, else built now within `max_cells` (tests and the benchmark pass none; a stale or
    missing stored cover is logged)."""
    pairs = [(r[C.ZONE_ID], bytes(r[C.GEOMETRY])) for r in zones.select(C.ZONE_ID, C.GEOMETRY).collect()]
    if stored is not None:
        level = stored_level(stored, pairs)
        if level is not None:
            return Cover(level, stored)
        log.warning("ref.zone_cover holds no cover of these polygons: built now (footfall load-reference stores it)")
    first = zones.select(C.ZONE_SET).first()
    level = wanted_level(pairs, max_cells)
    return Cover(level, cover_frame(zones.sparkSession, cover_rows(first[0] if first else "", pairs, level)))


def cover_frame(spark: SparkSession, rows: pd.DataFrame) -> DataFrame:
    """`cover_rows` as a DataFrame of ref.zone_cover's schema. Through an Arrow table: PySpark
    converts a pandas frame row by row unless Arrow is switched on for the whole session, which
    took seconds per hundred thousand cover rows."""
    table = pa.Table.from_pandas(rows[list(ZONE_COVER.names)], schema=_ARROW, preserve_index=False)
    return spark.createDataFrame(table, ZONE_COVER.struct)


def assign_by_cover(points: DataFrame, cover: Cover, zones: DataFrame, zone_columns: Sequence[str]) -> DataFrame:
    """One row per (point, zone containing it): the point's columns, then `zone_columns` of
    `zones` (ref.zones rows of the set): exactly the pairs of ST_Intersects(zone, point).

    `cover`: the set's cover (see `zone_cover`)."""
    kept = points.columns
    keys = [C.ZONE_SET, C.ZONE_ID]
    located = points.select(*kept, cell_of(F.col(C.LON), F.col(C.LAT), cover.level).alias(CELL))
    attributes = zones.select(*dict.fromkeys((*keys, *zone_columns)))
    shaped = cover.cells.join(attributes, on=keys).select(
        *dict.fromkeys((*keys, *zone_columns)), _pack(F.col(C.CELL_X), F.col(C.CELL_Y)).alias(CELL), CORE,
        stc.ST_GeomFromWKB(PIECE).alias(PIECE), stc.ST_GeomFromWKB(RIM).alias(RIM))
    # The point is built once per row of a boundary cell (a core cell needs none), not once per test.
    located_in_cells = located.join(F.broadcast(shaped), on=CELL).select(
        "*", F.when(~F.col(CORE), stc.ST_Point(F.col(C.LON), F.col(C.LAT))).alias(_POINT))
    # True: a core cell, or clearly inside the piece; False: clearly outside; NULL: near the
    # rim, where only the zone itself can tell.
    verdict = (F.when(F.col(CORE), F.lit(True))
               .when(stp.ST_DWithin(RIM, _POINT, EDGE_TOLERANCE), F.lit(None).cast("boolean"))
               .otherwise(stp.ST_Intersects(PIECE, _POINT)))
    judged = located_in_cells.select(*kept, *dict.fromkeys((*keys, *zone_columns)), _POINT,
                                     verdict.alias("_in")).alias("j")
    # The zones' polygons join only the rows near a rim (the condition), so no other row
    # carries a polygon.
    shapes = zones.select(*keys, stc.ST_GeomFromWKB(C.GEOMETRY).alias("_zone")).alias("z")
    near = (F.col("j._in").isNull() & (F.col(f"j.{C.ZONE_SET}") == F.col(f"z.{C.ZONE_SET}"))
            & (F.col(f"j.{C.ZONE_ID}") == F.col(f"z.{C.ZONE_ID}")))
    asked = judged.join(F.broadcast(shapes), near, how="left")
    inside = F.coalesce(F.col("j._in"), stp.ST_Intersects(F.col("z._zone"), F.col(f"j.{_POINT}")))
    return asked.where(inside).select(*[F.col(f"j.{c}").alias(c) for c in (*kept, *zone_columns)])
