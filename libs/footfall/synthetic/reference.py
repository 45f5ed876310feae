"""The Berlin reference data the generator builds on: districts and localities (polygons,
residents by age), points of interest, residents by district x gender x age band
(data/berlin/SOURCES.md)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from footfall.errors import BadInputError

FILES = {
    "districts": "berlin_bezirke.geojson.gz",
    "localities": "berlin_ortsteile.geojson.gz",
    "pois": "berlin_pois_osm_2026-02.csv",
    "population": "berlin_population_bezirk_gender_age_2024-12-31.csv",
    "locality_population": "berlin_population_ortsteil_age_2024-12-31.csv",
}


@dataclass(frozen=True)
class Reference:
    districts: pd.DataFrame  # zone_id, name, geometry (shapely), raw (GeoJSON geometry dict)
    localities: pd.DataFrame  # zone_id, name, district_id, geometry, raw, population + age columns
    pois: pd.DataFrame  # category, osm_id, name, zip_code, lat, lon (inside Berlin only: plr_id != "0")
    population: pd.DataFrame  # the district x gender x age band table
    berlin: BaseGeometry


def load_reference(folder: str | Path) -> Reference:
    """Read the Berlin reference files; raises BadInputError naming a missing file."""
    root = Path(folder)
    for name in FILES.values():
        if not (root / name).is_file():
            raise BadInputError(f"reference file {root / name} is missing: set paths.reference_dir")
    districts = _read_geojson(root / FILES["districts"], "id", "name")
    localities = _read_geojson(root / FILES["localities"], "ortsteil_id", "ortsteil", "bezirk_id")
    localities = localities.rename(columns={"bezirk_id": "district_id"})
    lpop = pd.read_csv(root / FILES["locality_population"], dtype={"ortsteil_id": str, "bezirk_id": str})
    # 0608 Schlachtensee has residents but no polygon (it lies inside 0604/0606 in the 2020 map):
    # the inner join drops it, so its district's residents live in the other localities.
    localities = localities.merge(lpop.drop(columns=["bezirk_id", "bezirk", "ortsteil"]),
                                  left_on="zone_id", right_on="ortsteil_id", how="inner")
    pois = pd.read_csv(root / FILES["pois"], dtype=str, keep_default_na=False)
    pois = pois[pois["plr_id"] != "0"].copy()
    pois["lon"] = pois["lon"].astype(float)
    pois["lat"] = pois["lat"].astype(float)
    pois = pois.reset_index(drop=True)
    population = pd.read_csv(root / FILES["population"], dtype={"bezirk_id": str}, keep_default_na=False)
    berlin = shapely.union_all(list(districts["geometry"]))
    return Reference(districts, localities, pois, population, berlin)


def _read_geojson(path: Path, id_key: str, name_key: str, *extra: str) -> pd.DataFrame:
    # The two GeoJSON files are kept gzip-compressed in data/berlin (data/berlin/SOURCES.md).
    data = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
    rows = []
    for feat in data["features"]:
        props = feat["properties"]
        rows.append({"zone_id": str(props[id_key]), "name": props[name_key],
                     **{k: str(props[k]) for k in extra},
                     "geometry": shape(feat["geometry"]), "raw": feat["geometry"]})
    return pd.DataFrame(rows).sort_values("zone_id").reset_index(drop=True)


def postcodes_csv(ref: Reference) -> str:
    """The landing postcodes/postcodes.csv (postcode, district_id) from the POIs: each zip code's
    district is the one most of its POIs lie in (by plr_id, whose first two digits are the
    district id; ties to the smaller id). A Berlin postcode can straddle a district boundary, so
    the mapping is the catchment's approximation, measured against the generator's true home
    districts (docs/definitions.md)."""
    pois = ref.pois[ref.pois["zip_code"].str.fullmatch(r"\d{5}")]
    counts = pois.assign(district_id=pois["plr_id"].str.zfill(8).str[:2]).groupby(
        ["zip_code", "district_id"]).size().rename("n").reset_index()
    best = counts.sort_values(["zip_code", "n", "district_id"], ascending=[True, False, True]).drop_duplicates(
        "zip_code")
    lines = ["postcode,district_id", *[f"{z},{d}" for z, d in zip(best["zip_code"], best["district_id"], strict=True)]]
    return "\n".join(lines) + "\n"
