"""The generator's three zone sets (districts, localities, store-front buffers) and their GeoJSON."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from footfall.config import SpatialSection
from footfall.synthetic.reference import Reference
from footfall.synthetic.vocabulary import DEFAULT_BUFFER_M, STOREFRONT_CATEGORIES
from footfall.zones.relations import near_duplicates


@dataclass(frozen=True)
class Zone:
    zone_set: str
    zone_id: str
    name: str
    category: str
    geometry: BaseGeometry
    raw: Mapping[str, Any] | None = None  # the source geometry, written verbatim (full precision)
    extra: Mapping[str, Any] = field(default_factory=dict)


def storefront_buffers(lon: np.ndarray, lat: np.ndarray, buffer_m: float) -> np.ndarray:
    """Buffers of `buffer_m` metres around points, computed in EPSG:25833 and returned in lon/lat."""
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)
    to_ll = Transformer.from_crs("EPSG:25833", "EPSG:4326", always_xy=True)
    x, y = to_utm.transform(lon, lat)
    polys = shapely.buffer(shapely.points(x, y), buffer_m, quad_segs=8)

    def back(coords: np.ndarray) -> np.ndarray:  # 8 decimals (~1 mm), like the source polygons
        bx, by = to_ll.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([bx, by]), 8)

    return np.asarray(shapely.transform(polys, back))


def build_zone_sets(ref: Reference, categories: Sequence[str] = STOREFRONT_CATEGORIES,
                    buffer_m: float = DEFAULT_BUFFER_M, storefronts: int | None = None) -> dict[str, list[Zone]]:
    """The three zone sets: 12 districts, 96 localities (real polygons) and store-front buffers
    around the POIs of `categories` inside Berlin (one zone per OSM id: the first row wins when an
    object is listed under two categories); `storefronts`: keep only that many (keep_storefronts)."""
    districts = [Zone("districts", r.zone_id, r.name, "district", r.geometry, r.raw)
                 for r in ref.districts.itertuples()]
    localities = [Zone("localities", r.zone_id, r.name, "locality", r.geometry, r.raw, {"district_id": r.district_id})
                  for r in ref.localities.itertuples()]
    shops = ref.pois[ref.pois["category"].isin(list(categories))].drop_duplicates("osm_id", keep="first")
    polys = storefront_buffers(shops["lon"].to_numpy(), shops["lat"].to_numpy(), buffer_m)
    stores = [
        Zone("storefronts", f"osm-{r.osm_id}", r.name or r.category, r.category, poly,
             extra={"osm_id": r.osm_id, "lon": r.lon, "lat": r.lat})
        for r, poly in zip(shops.itertuples(), polys, strict=True)
    ]
    stores.sort(key=lambda z: z.zone_id)
    return {"districts": districts, "localities": localities,
            "storefronts": keep_storefronts(distinct_zones(stores), storefronts)}


def keep_storefronts(zones: list[Zone], n: int | None) -> list[Zone]:
    """`n` of the store fronts, the same ones on every run and spread over the categories and the
    city as the full list is: those whose zone id has the smallest CRC-32 (a fixed hash, not
    Python's salted one); all of them if `n` is None or not smaller."""
    if n is None or n >= len(zones):
        return zones
    kept = {z.zone_id for z in sorted(zones, key=lambda z: (zlib.crc32(z.zone_id.encode()), z.zone_id))[:n]}
    return [z for z in zones if z.zone_id in kept]


def distinct_zones(zones: list[Zone], min_area_m2: float = SpatialSection.min_zone_difference_m2) -> list[Zone]:
    """The zones without near-duplicates, which load-reference would refuse (shops a few metres
    apart have buffers that differ by a sliver): of each such pair the later zone id is dropped."""
    pairs = near_duplicates([(z.zone_id, z.geometry) for z in zones], min_area_m2)
    dropped: set[str] = set()
    for first, second, _ in pairs:  # sorted: a zone is only dropped for one that is kept
        if first not in dropped:
            dropped.add(second)
    return [z for z in zones if z.zone_id not in dropped]


def zones_geojson(zones: Sequence[Zone]) -> str:
    """A GeoJSON FeatureCollection (lon/lat) with properties zone_id, name, category (+ extras)."""
    feats = []
    for z in zones:
        geom = dict(z.raw) if z.raw is not None else mapping(z.geometry)
        feats.append({"type": "Feature",
                      "properties": {"zone_id": z.zone_id, "name": z.name, "category": z.category, **z.extra},
                      "geometry": geom})
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False) + "\n"
