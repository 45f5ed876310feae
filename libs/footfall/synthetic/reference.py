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
from footfall.schemas import AGE_BANDS

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
    population: pd.DataFrame  # the district x gender x age band table, with the district's share_45_54
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
    # The register's district table has the bands 45-59 and 60-64, footfall's cohorts 45-54 and
    # 55-64: each district's split of 45-64 comes from the locality table, whose every row
    # (Schlachtensee included) has 45-54 and 55-64.
    ages = lpop.groupby("bezirk_id")[["age_45_54", "age_55_64"]].sum()
    population["share_45_54"] = population["bezirk_id"].map(ages["age_45_54"] / ages.sum(axis=1))
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


# footfall's known age bands (footfall.schemas.AGE_BANDS) as sums of the register's bands, and
# its genders as the register spells them. 45-54 and 55-64 have no register bands: they share
# the register's 45-64 = 45-59 + 60-64 (population_csv).
_REGISTER_BANDS = {"18-24": ("18-19", "20-24"), "25-34": ("25-29", "30-34"), "35-44": ("35-39", "40-44"),
                   "65+": ("65+",)}
_MIDDLE = ("45-59", "60-64")
_KNOWN_BANDS = tuple(b for b in AGE_BANDS if b != "unknown")
_REGISTER_GENDERS = {"F": "f", "M": "m"}


def population_csv(ref: Reference) -> str:
    """The landing population/population.csv (district_id, age_band, gender, population): the
    residents aged 18+ of each district by footfall's six known age bands and F/M, the frame of
    the population estimates (docs/definitions.md), sorted by district, band, gender.

    The register's district table (ref.population) has bands 45-59 and 60-64, which do not align
    with footfall's 45-54 and 55-64; its other bands sum into footfall's. So each gender's 45-64
    (45-59 + 60-64) is split in the district's proportion of 45-54 to 55-64 residents in the
    locality table: 45-54 = round(45-64 x share_45_54), 55-64 the rest. load_reference computes
    `share_45_54` from the locality CSV itself, summed over all the district's localities
    (Schlachtensee 0608 included, which ref.localities drops for lack of a polygon). The locality
    table has no gender, so both genders get the district's share. The split only moves people
    between 45-54 and 55-64: each district's residents 18+ per gender equal the register's."""
    pop = ref.population
    count = {(str(d), str(g), str(b)): int(n) for d, g, b, n in
             zip(pop["bezirk_id"], pop["gender"], pop["age_band"], pop["population"], strict=True)}
    shares = pop.groupby("bezirk_id")["share_45_54"].first().sort_index()
    lines = ["district_id,age_band,gender,population"]
    for district, share in shares.items():
        lines += [f"{district},{band},{gender},{_residents(count, str(district), spelled, band, float(share))}"
                  for band in _KNOWN_BANDS for gender, spelled in _REGISTER_GENDERS.items()]
    return "\n".join(lines) + "\n"


def _residents(count: dict[tuple[str, str, str], int], district: str, gender: str, band: str, share: float) -> int:
    """One stratum of population_csv: the register's bands summed, or its 45-64 split by `share`."""
    def n(*bands: str) -> int:
        return sum(count[(district, gender, b)] for b in bands)
    if band in _REGISTER_BANDS:
        return n(*_REGISTER_BANDS[band])
    middle = n(*_MIDDLE)
    younger = round(middle * share)
    return younger if band == "45-54" else middle - younger
