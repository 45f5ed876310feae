"""Zone files to rows of ref.zones: GeoJSON, GeoParquet or WKT CSV, validated on the driver.

Zone files are small (at most ~10k polygons per set), so they are validated with shapely and pyproj
before they reach Spark: lon/lat check with a CRS guess, repair of invalid polygons where the repair
is unambiguous, duplicate ids, area in EPSG:25833.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import shapely
from pyproj import CRS, Transformer

from footfall.errors import BadInputError
from footfall.schemas import C

log = logging.getLogger(__name__)

ZONE_SUFFIXES = (".geojson", ".json", ".parquet", ".csv")
# A repair may change the area by at most this fraction; more means the intended shape is unclear.
REPAIR_AREA_TOLERANCE = 0.01
# CRSs a zone file in the wrong coordinates is likely to use, tried in this order.
LIKELY_CRS = (25833, 25832, 31468, 3857)

_TO_UTM33 = Transformer.from_crs(4326, 25833, always_xy=True)


def in_utm33(geometry: Any) -> Any:
    """A lon/lat geometry (or array of them) in EPSG:25833 (UTM 33N), where lengths and areas are metres."""
    return shapely.transform(geometry, _TO_UTM33.transform, interleaved=False)


def _features_geojson(path: Path) -> Iterator[tuple[dict[str, Any], Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInputError(f"zone file {path} is not valid JSON: {exc}") from None
    if doc.get("type") != "FeatureCollection":
        raise BadInputError(f"zone file {path} must be a GeoJSON FeatureCollection")
    for feature in doc.get("features", []):
        geometry = feature.get("geometry")
        yield feature.get("properties") or {}, shapely.geometry.shape(geometry) if geometry else None


def _features_parquet(path: Path) -> Iterator[tuple[dict[str, Any], Any]]:
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        wkb = row.pop(C.GEOMETRY, None)
        yield row, shapely.from_wkb(wkb) if wkb is not None else None


def _features_csv(path: Path) -> Iterator[tuple[dict[str, Any], Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            wkt = row.pop("wkt", None) or row.pop(C.GEOMETRY, None)
            try:
                yield row, shapely.from_wkt(wkt) if wkt else None
            except shapely.errors.GEOSException:
                raise BadInputError(f"zone {row.get(C.ZONE_ID)!r} in {path} has unparseable WKT") from None


def _crs_guess(x: float, y: float) -> str:
    for code in LIKELY_CRS:
        crs = CRS.from_epsg(code)
        lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
        area = crs.area_of_use
        if area is not None and area.west <= lon <= area.east and area.south <= lat <= area.north:
            return f"looks like {crs.name} (EPSG:{code})"
    return "the coordinate system is not recognised"


def check_lon_lat(geometries: Sequence[Any], source: str) -> None:
    """Refuse coordinates that cannot be lon/lat, naming the CRS they most likely are in."""
    min_x, min_y, max_x, max_y = shapely.total_bounds(geometries)
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
        raise BadInputError(
            f"zone file {source} has coordinates that are not lon/lat (x ~ {cx:.0f}, y ~ {cy:.0f}): "
            f"{_crs_guess(cx, cy)}; reproject it to EPSG:4326"
        )


def area_m2(geometry: Any) -> float:
    return float(shapely.area(in_utm33(geometry)))


def repaired(geometry: Any, zone_id: str) -> Any:
    """The geometry, repaired when invalid and the repair is unambiguous; else BadInputError."""
    if geometry is None or geometry.is_empty:
        raise BadInputError(f"zone {zone_id!r} has no geometry")
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise BadInputError(f"zone {zone_id!r} is a {geometry.geom_type}; zones must be polygons")
    if geometry.is_valid:
        return geometry
    fixed = shapely.make_valid(geometry)
    if fixed.geom_type == "GeometryCollection":
        # Zero-area leftovers (lines, points of a spike) carry no area; keep the polygonal parts.
        parts = [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(parts) if parts else shapely.Polygon()
    before, after = area_m2(geometry), area_m2(fixed)
    polygonal = fixed.geom_type in ("Polygon", "MultiPolygon") and not fixed.is_empty
    if not polygonal or abs(after - before) > REPAIR_AREA_TOLERANCE * max(before, after):
        raise BadInputError(
            f"zone {zone_id!r} is an invalid polygon ({shapely.is_valid_reason(geometry)}) without an "
            "unambiguous repair: fix it in the source file"
        )
    log.warning("zone %r: invalid polygon repaired (%s)", zone_id, shapely.is_valid_reason(geometry))
    return fixed



def read_zone_file(path: Path, zone_set: str | None = None) -> list[tuple[Any, ...]]:
    """Rows of ref.zones for one zone file; the zone set defaults to the file stem."""
    readers = {".geojson": _features_geojson, ".json": _features_geojson,
               ".parquet": _features_parquet, ".csv": _features_csv}
    if path.suffix not in readers:
        raise BadInputError(f"zone file {path}: unknown format, use {', '.join(ZONE_SUFFIXES)}")
    if not path.is_file():
        raise BadInputError(f"zone file {path} is missing")
    features = list(readers[path.suffix](path))
    if not features:
        raise BadInputError(f"zone file {path} has no zones")
    name = zone_set or path.stem
    seen: set[str] = set()
    for props, _ in features:
        zone_id = props.get(C.ZONE_ID)
        if zone_id is None or str(zone_id).strip() == "":
            raise BadInputError(f"zone file {path} has a zone without '{C.ZONE_ID}': every zone needs one")
        if str(zone_id) in seen:
            raise BadInputError(f"zone file {path} has the zone id {str(zone_id)!r} twice: ids must be unique")
        seen.add(str(zone_id))
    check_lon_lat([g for _, g in features if g is not None], str(path))
    rows = []
    for props, geometry in features:
        zone_id = str(props[C.ZONE_ID])
        fixed = repaired(geometry, zone_id)
        rows.append((name, zone_id, props.get("name"), props.get(C.CATEGORY), shapely.to_wkb(fixed),
                     area_m2(fixed)))
    return rows


