"""`footfall generate`: a synthetic operator landing folder for Berlin, with ground truth.

Built on the real Berlin reference data (districts, localities, points of interest, residents by
district x gender x age). Writes, below the landing folder, what an operator would deliver:

    events/date=YYYY-MM-DD/part-00000.csv.gz ...   (or .parquet with --format parquet)
    subscribers/subscribers.csv                    CRM snapshot
    optouts/optouts.csv
    cells/cells.csv                                synthetic O2-like network plan (footfall.network)
    zones/districts.geojson, localities.geojson, storefronts.geojson

and, apart from it (never read by the pipeline), the ground truth:

    visits/        Parquet: every true stay expanded to every zone that contains its position
    subscribers/   Parquet: true district, age, gender and kind of every subscriber
    report.json    exact counts of every injected fault, subscribers by kind, rows per file

Determinism: the driver draws the subscriber table and the network plan from the seed; the
executors generate each (subscriber, day) from a numpy generator seeded with (seed, stream,
subscriber index, date), so the output does not depend on partitioning or scheduling. Each
task writes one file; files are renamed to part-00000... and Spark's _SUCCESS/.crc files removed,
so the same seed gives byte-identical landing files. See docs/generator.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import json
import logging
import math
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from pyspark.accumulators import AccumulatorParam
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from footfall import network
from footfall.config import Config, SpatialSection
from footfall.errors import EXIT_OK, BadInputError, ConfigError
from footfall.observe import step
from footfall.zones.relations import near_duplicates

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# Vocabulary and defaults
# ----------------------------------------------------------------------------------------------

EVENT_COLUMNS = ("msisdn", "event_time", "cell_id", "event_type", "lon", "lat", "accuracy_m")
EVENT_HEADER = ",".join(EVENT_COLUMNS)
SUBSCRIBER_COLUMNS = ("msisdn", "birth_date", "gender", "contract_type", "postcode")
OPTOUT_COLUMNS = ("msisdn", "opted_out_at")
EVENT_TYPES = ("data_session", "voice_call", "sms", "handover", "location_update")
CONTRACT_TYPES = ("consumer", "business", "m2m")

DEFAULT_DATE = dt.date(2026, 3, 14)  # a Saturday
DEFAULT_MARKET_SHARE = 0.30
DEFAULT_EVENTS = 100.0
DEFAULT_SEED = 42
DEFAULT_BUFFER_M = 25.0
ROWS_PER_FILE_TARGET = 250_000  # subscribers per file = this / events per subscriber

FILES = {
    "districts": "berlin_bezirke.geojson.gz",
    "localities": "berlin_ortsteile.geojson.gz",
    "pois": "berlin_pois_osm_2026-02.csv",
    "population": "berlin_population_bezirk_gender_age_2024-12-31.csv",
    "locality_population": "berlin_population_ortsteil_age_2024-12-31.csv",
}
STOREFRONT_CATEGORIES = ("supermarkets", "convenience-stores", "marketplaces", "cafes", "sbahn-stops", "ubahn-stops")
ZONE_SETS = ("districts", "localities", "storefronts")

# Row faults, injected into rows of subscribers the pipeline would keep (consumer/business, not
# opted out, not under 18 by the CRM), at most one fault per row: rate = share of those rows.
ROW_FAULTS: dict[str, float] = {
    "malformed": 0.0005,  # wrong number of fields: cut line, ';' separated, extra field
    "missing_field": 0.001,  # a required field empty, or only part of lon/lat/accuracy_m present
    "bad_timestamp": 0.0005,  # event_time not ISO-8601 UTC (German format, month 13, epoch millis)
    "outside_day": 0.001,  # valid timestamp two days before/after the delivered local day
    "bad_coordinates": 0.001,  # NaN, (0,0), lat/lon swapped, or Munich: outside BERLIN_BBOX
    "unknown_cell": 0.0005,  # a well-formed ECGI that is not in cells.csv
    "duplicate": 0.002,  # the row is written twice (exact duplicate, next line)
    "unknown_msisdn": 0.001,  # msisdn replaced by one that is not in the CRM
}
# Subscriber-level shares, also settable with --fault NAME=SHARE.
SUBSCRIBER_SHARES: dict[str, float] = {"m2m": 0.03, "opted_out": 0.02}
# How each landing row is classified (first match wins); the report counts every category.
CLASSIFICATION_ORDER = (*ROW_FAULTS, "opted_out", "m2m", "under_18", "clean")
# Every natural position lies inside this box; every bad_coordinates position lies outside it.
BERLIN_BBOX = (13.0, 52.25, 13.9, 52.8)

# Share of a band's residents who have their own SIM (children); adults 1.0.
OWNERSHIP = {"0-5": 0.0, "6-14": 0.5, "15-17": 0.95}
BUSINESS_SHARE = 0.08  # of people aged 25-64
UNKNOWN_GENDER = {"consumer": 0.02, "business": 0.35}
UNKNOWN_BIRTH = {"consumer": 0.02, "business": 0.40}
GENDER_SPELLINGS = {
    "F": (("F", "f", "female", "w"), (0.82, 0.07, 0.06, 0.05)),
    "M": (("M", "m", "male"), (0.84, 0.08, 0.08)),
    "unknown": (("", "X", "d"), (0.5, 0.3, 0.2)),
}
EMPTY_POSTCODE = 0.015
CELL_ONLY_SHARE = 0.10  # rows without a measured position
M2M_VEHICLE_SHARE = 0.4
# German mobile prefixes of Telefónica/O2 (E.164 without '+'), 8 subscriber digits each.
MSISDN_PREFIXES = (49176, 49179, 49159, 49177, 49178, 49157, 49163)

# Points of interest: categories used for trips, dwell range in minutes.
POI_CATEGORIES = ("supermarkets", "convenience-stores", "marketplaces", "cafes", "sbahn-stops", "ubahn-stops",
                  "restaurants", "fast-food-restaurants", "cinemas", "museums")
CAT = {c: i for i, c in enumerate(POI_CATEGORIES)}
DWELL_MIN = {
    "supermarkets": (8, 35), "convenience-stores": (3, 12), "marketplaces": (20, 60), "cafes": (15, 75),
    "sbahn-stops": (2, 8), "ubahn-stops": (2, 8), "restaurants": (45, 120), "fast-food-restaurants": (10, 30),
    "cinemas": (110, 170), "museums": (60, 150),
}
ERRANDS = {  # daytime trips by day kind: category -> weight
    "weekday": {"supermarkets": 0.45, "convenience-stores": 0.15, "cafes": 0.25, "marketplaces": 0.05,
                "fast-food-restaurants": 0.07, "museums": 0.03},
    "saturday": {"supermarkets": 0.38, "convenience-stores": 0.1, "cafes": 0.28, "marketplaces": 0.12,
                 "fast-food-restaurants": 0.06, "museums": 0.06},
    "sunday": {"cafes": 0.5, "convenience-stores": 0.12, "fast-food-restaurants": 0.1, "museums": 0.18,
               "restaurants": 0.1},  # supermarkets and markets are closed on Sundays
}
EVENING = {"restaurants": 0.5, "cafes": 0.2, "cinemas": 0.2, "fast-food-restaurants": 0.1}

STAY_TYPES = ("home", "work", "school", "university", "poi", "device", "depot")
HOME, WORK, SCHOOL, UNI, POI, DEVICE, DEPOT = range(7)
ANCHOR_NONE = 0

# Relative intensity of event bursts per local (elapsed) hour, 25 values for the DST fall-back day.
PROFILE = {
    "weekday": np.array([0.25, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.2, 1.1, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0,
                         1.1, 1.2, 1.3, 1.3, 1.2, 1.0, 0.8, 0.5, 0.3]),
    "weekend": np.array([0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.1, 1.2, 1.2, 1.2, 1.2, 1.2,
                         1.2, 1.2, 1.2, 1.3, 1.3, 1.1, 0.9, 0.6, 0.4]),
}
BURST_MEAN = 4.0  # events per burst
BURST_GAP_S = 25.0  # mean seconds between events of a burst
ACCURACY_CLASSES = ((0.45, 5, 20), (0.80, 20, 50), (1.0, 50, 100))  # (cum share, min m, max m)
ACCURACY_SIGMA = 1.515  # accuracy_m is the 68% radius: sigma per axis = accuracy / sqrt(2 ln(1/0.32))

STREAM_SUBSCRIBERS, STREAM_PLAN, STREAM_EVENTS = 0, 1, 2


# ----------------------------------------------------------------------------------------------
# Reference data
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Zone sets
# ----------------------------------------------------------------------------------------------


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
                    buffer_m: float = DEFAULT_BUFFER_M) -> dict[str, list[Zone]]:
    """The three zone sets: 12 districts, 96 localities (real polygons) and store-front buffers
    around the POIs of `categories` inside Berlin (one zone per OSM id: the first row wins when an
    object is listed under two categories)."""
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
    return {"districts": districts, "localities": localities, "storefronts": distinct_zones(stores)}


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


# ----------------------------------------------------------------------------------------------
# Subscribers
# ----------------------------------------------------------------------------------------------


def expected_mix(population: pd.DataFrame) -> pd.DataFrame:
    """Expected share of people subscribers per (bezirk_id, gender, age_band): residents times
    the SIM ownership of the band (OWNERSHIP; 1 for adults), normalised."""
    mix = population[["bezirk_id", "gender", "age_band", "age_min", "age_max", "population"]].copy()
    mix["weight"] = mix["population"] * mix["age_band"].map(lambda b: OWNERSHIP.get(b, 1.0))
    mix["share"] = mix["weight"] / mix["weight"].sum()
    return mix.reset_index(drop=True)


def _shift_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _ages_in_band(rng: np.random.Generator, band: str, lo: int, hi: int | None, n: int) -> np.ndarray:
    if hi is None:  # 65+: declining towards 100
        ages = np.arange(65, 100)
        w = np.clip(1 - (ages - 65) / 35.0, 0.01, None) ** 1.3
    elif band == "6-14":  # children get their own phone mostly from about 10
        ages = np.arange(lo, hi + 1)
        w = np.array([0.1, 0.2, 0.35, 0.5, 0.7, 0.85, 0.95, 1.0, 1.0])[: len(ages)]
    else:
        ages = np.arange(lo, hi + 1)
        w = np.ones(len(ages))
    return rng.choice(ages, n, p=w / w.sum())


def draw_msisdns(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct German mobile numbers (E.164 digits, no '+'), e.g. 4917612345678."""
    space = len(MSISDN_PREFIXES) * 100_000_000
    pick = rng.choice(space, n, replace=False)
    prefix = np.asarray(MSISDN_PREFIXES, dtype=np.int64)[pick // 100_000_000]
    return prefix * 100_000_000 + pick % 100_000_000


def draw_subscribers(ref: Reference, n: int, seed: int, first_date: dt.date,
                     first_day_start_utc: int | None = None,
                     shares: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The subscriber table: one row per SIM with its CRM view and its truth (vectorised).

    People are drawn from the residents table by district x gender x age band (weighted by the
    band's SIM ownership), homes inside a locality of their district (chosen by the locality's
    residents of that age), near built-up places; anchors (work, school, university) by age.
    M2M SIMs (share `m2m`) are devices; `opted_out` of the people have opted out before the
    first day. CRM noise: messy gender spellings, some unknown gender/birth date, business SIMs.
    """
    shares = {**SUBSCRIBER_SHARES, **(shares or {})}
    rng = np.random.default_rng([seed, STREAM_SUBSCRIBERS])
    if first_day_start_utc is None:
        first_day_start_utc = int(dt.datetime.combine(first_date, dt.time(), dt.UTC).timestamp())
    n_m2m = round(n * shares["m2m"])
    n_people = n - n_m2m
    msisdn_all = draw_msisdns(rng, 2 * n)
    kind = np.array(["consumer"] * n_people + ["m2m"] * n_m2m, dtype=object)
    order = rng.permutation(n)
    kind = kind[order]
    people = np.flatnonzero(kind != "m2m")
    m2m = np.flatnonzero(kind == "m2m")

    mix = expected_mix(ref.population)
    cell = rng.choice(len(mix), len(people), p=mix["share"].to_numpy())
    district = np.full(n, "", dtype=object)
    gender = np.full(n, "", dtype=object)
    age = np.full(n, -1, dtype=np.int16)
    district[people] = mix["bezirk_id"].to_numpy()[cell]
    gender[people] = np.where(mix["gender"].to_numpy()[cell] == "f", "F", "M")
    for c in np.unique(cell):
        sel = people[cell == c]
        row = mix.iloc[c]
        hi = None if row["age_max"] in ("", None) or pd.isna(row["age_max"]) else int(row["age_max"])
        age[sel] = _ages_in_band(rng, row["age_band"], int(row["age_min"]), hi, len(sel))

    # Contract kind and CRM noise.
    working = people[(age[people] >= 25) & (age[people] <= 64)]
    business = working[rng.random(len(working)) < BUSINESS_SHARE]
    kind[business] = "business"
    birth_ord = np.full(n, -1, dtype=np.int64)
    first_ord = first_date.toordinal()
    for a in np.unique(age[people]):
        sel = people[age[people] == a]
        lo = _shift_years(first_date, -(int(a) + 1)).toordinal() + 1
        hi = _shift_years(first_date, -int(a)).toordinal()
        birth_ord[sel] = lo + (rng.random(len(sel)) * (hi - lo + 1)).astype(np.int64)
    assert (birth_ord[people] <= first_ord).all()
    u_birth = rng.random(n)
    u_gender = rng.random(n)
    known_birth = np.zeros(n, dtype=bool)
    known_gender = np.zeros(n, dtype=bool)
    for k in ("consumer", "business"):
        sel = kind == k
        known_birth[sel] = u_birth[sel] >= UNKNOWN_BIRTH[k]
        known_gender[sel] = u_gender[sel] >= UNKNOWN_GENDER[k]
    crm_gender = np.full(n, "", dtype=object)
    u_spell = rng.random(n)
    for g in ("F", "M", "unknown"):
        sel = (gender == g) & known_gender if g != "unknown" else (kind != "m2m") & ~known_gender
        spellings, p = GENDER_SPELLINGS[g]
        pick = np.minimum(np.searchsorted(np.cumsum(p), u_spell[sel], side="right"), len(p) - 1)
        crm_gender[sel] = np.asarray(spellings, dtype=object)[pick]
    crm_birth = np.full(n, "", dtype=object)
    kb = np.flatnonzero(known_birth)
    crm_birth[kb] = [dt.date.fromordinal(int(o)).isoformat() for o in birth_ord[kb]]

    # Opt-outs among people, before the first day.
    n_opt = min(round(n * shares["opted_out"]), len(people))
    opted = np.zeros(n, dtype=bool)
    opted[rng.choice(people, n_opt, replace=False)] = True
    opted_at = np.full(n, "", dtype=object)
    secs = first_day_start_utc - (3600 + rng.random(n_opt) * 364 * 86400).astype(np.int64)
    opted_at[opted] = pd.to_datetime(secs, unit="s").strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy()

    # Homes: a locality of the district, weighted by its residents of that age, near POIs.
    loc = ref.localities
    home_lon = np.zeros(n)
    home_lat = np.zeros(n)
    locality = np.full(n, "", dtype=object)
    band_col = np.select(
        [age < 6, age < 15, age < 18, age < 27, age < 45, age < 55, age < 65],
        ["age_0_5", "age_6_14", "age_15_17", "age_18_26", "age_27_44", "age_45_54", "age_55_64"], "age_65_plus")
    poi_lon = ref.pois["lon"].to_numpy()
    poi_lat = ref.pois["lat"].to_numpy()
    for d in sorted(set(district[people])):
        in_d = people[district[people] == d]
        rows = loc[loc["district_id"] == d]
        for col in np.unique(band_col[in_d]):
            sel = in_d[band_col[in_d] == col]
            w = rows[col].to_numpy(dtype=float)
            locality[sel] = rows["zone_id"].to_numpy()[rng.choice(len(rows), len(sel), p=w / w.sum())]
    geoms = dict(zip(loc["zone_id"], loc["geometry"], strict=True))
    for lid in sorted(set(locality[people])):
        sel = people[locality[people] == lid]
        home_lon[sel], home_lat[sel] = _built_up_points(ref, geoms[lid], len(sel), 200.0, 0.7, rng)

    # Anchors by age.
    anchor = np.zeros(n, dtype=np.int8)
    u_anchor = rng.random(n)
    a = age
    anchor[(a >= 6) & (a < 18)] = SCHOOL
    young = (a >= 18) & (a < 25)
    anchor[young & (u_anchor < 0.55)] = UNI
    anchor[young & (u_anchor >= 0.55) & (u_anchor < 0.9)] = WORK
    anchor[(a >= 25) & (a < 65) & (u_anchor < 0.78)] = WORK
    anchor[(a >= 65) & (u_anchor < 0.05)] = WORK
    anchor[kind == "business"] = WORK
    anchor_lon = home_lon.copy()
    anchor_lat = home_lat.copy()
    school = np.flatnonzero(anchor == SCHOOL)
    anchor_lon[school], anchor_lat[school] = network.sample_near(ref.berlin, home_lon[school], home_lat[school],
                                                                 800.0, rng)
    work = np.flatnonzero(anchor == WORK)
    local = work[rng.random(len(work)) < 0.35]
    city = np.setdiff1d(work, local)
    anchor_lon[local], anchor_lat[local] = network.sample_near(ref.berlin, home_lon[local], home_lat[local],
                                                               1500.0, rng)
    pick = rng.integers(0, len(poi_lon), len(city))
    anchor_lon[city], anchor_lat[city] = network.sample_near(ref.berlin, poi_lon[pick], poi_lat[pick], 150.0, rng)
    uni = np.flatnonzero(anchor == UNI)
    campus = np.flatnonzero(np.isin(ref.pois["plr_id"].str[:2].to_numpy(), ["01", "02", "04", "06"]))
    pick = campus[rng.integers(0, len(campus), len(uni))]
    anchor_lon[uni], anchor_lat[uni] = network.sample_near(ref.berlin, poi_lon[pick], poi_lat[pick], 150.0, rng)

    # M2M devices: stationary (meters, alarms) or vehicles with a depot.
    m2m_mode = np.zeros(n, dtype=np.int8)
    m2m_mode[m2m] = np.where(rng.random(len(m2m)) < M2M_VEHICLE_SHARE, 1, 0)
    pick = rng.integers(0, len(poi_lon), len(m2m))
    home_lon[m2m], home_lat[m2m] = network.sample_near(ref.berlin, poi_lon[pick], poi_lat[pick], 300.0, rng)
    anchor_lon[m2m], anchor_lat[m2m] = home_lon[m2m], home_lat[m2m]
    if len(m2m):
        district[m2m] = _zone_of(ref.districts, home_lon[m2m], home_lat[m2m])
        locality[m2m] = _zone_of(ref.localities, home_lon[m2m], home_lat[m2m])

    # Postcodes: drawn from the zip codes of the POIs in the home locality.
    postcode = np.full(n, "", dtype=object)
    zips = _zips_by_locality(ref)
    u_zip = rng.random(n)
    for lid in sorted(set(locality)):
        sel = np.flatnonzero(locality == lid)
        codes = zips.get(lid) or zips.get("*", ["10115"])
        postcode[sel] = np.asarray(codes, dtype=object)[(u_zip[sel] * len(codes)).astype(int) % len(codes)]
    postcode[rng.random(n) < EMPTY_POSTCODE] = ""

    activity = np.clip(rng.gamma(2.0, 0.5, n), 0.15, 4.0)
    return pd.DataFrame({
        "msisdn": msisdn_all[:n],
        "ghost_msisdn": msisdn_all[n:],  # the same person's events under an msisdn not in the CRM
        "kind": kind.astype(str),
        "m2m_mode": m2m_mode,
        "district_id": district.astype(str),
        "locality_id": locality.astype(str),
        "true_age": age,
        "true_gender": gender.astype(str),
        "birth_ordinal": birth_ord,
        "crm_birth_date": crm_birth.astype(str),
        "crm_gender": crm_gender.astype(str),
        "postcode": postcode.astype(str),
        "opted_out": opted,
        "opted_out_at": opted_at.astype(str),
        "home_lon": home_lon, "home_lat": home_lat,
        "anchor_type": anchor,
        "anchor_lon": anchor_lon, "anchor_lat": anchor_lat,
        "activity": activity,
    })


def _built_up_points(ref: Reference, geom: BaseGeometry, n: int, sigma_m: float, near_share: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` points inside `geom`: `near_share` of them near a random POI inside it, the rest uniform."""
    lon = ref.pois["lon"].to_numpy()
    lat = ref.pois["lat"].to_numpy()
    inside = np.flatnonzero(shapely.contains_xy(geom, lon, lat))
    n_near = round(n * near_share) if len(inside) >= 5 else 0
    x = np.empty(n)
    y = np.empty(n)
    if n_near:
        pick = inside[rng.integers(0, len(inside), n_near)]
        x[:n_near], y[:n_near] = network.sample_near(geom, lon[pick], lat[pick], sigma_m, rng)
    x[n_near:], y[n_near:] = network.sample_points_in(geom, n - n_near, rng)
    perm = rng.permutation(n)
    return x[perm], y[perm]


def _zone_of(zones: pd.DataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    out = np.full(len(lon), "", dtype=object)
    for r in zones.itertuples():
        hit = shapely.contains_xy(r.geometry, lon, lat) & (out == "")
        out[hit] = r.zone_id
    return out


def _zips_by_locality(ref: Reference) -> dict[str, list[str]]:
    pois = ref.pois[ref.pois["zip_code"].str.fullmatch(r"1[0-4]\d{3}")]
    lids = _zone_of(ref.localities, pois["lon"].to_numpy(), pois["lat"].to_numpy())
    out: dict[str, list[str]] = {}
    for lid, z in zip(lids, pois["zip_code"], strict=True):
        out.setdefault(lid, []).append(z)
    out["*"] = sorted(pois["zip_code"].tolist())
    return {k: sorted(v) for k, v in out.items() if k}


def crm_csv(subs: pd.DataFrame) -> str:
    """subscribers.csv: msisdn, birth_date, gender, contract_type, postcode."""
    out = pd.DataFrame({"msisdn": subs["msisdn"].astype(str), "birth_date": subs["crm_birth_date"],
                        "gender": subs["crm_gender"], "contract_type": subs["kind"], "postcode": subs["postcode"]})
    return str(out.to_csv(index=False, lineterminator="\n"))


def optouts_csv(subs: pd.DataFrame) -> str:
    opted = subs[subs["opted_out"]]
    out = pd.DataFrame({"msisdn": opted["msisdn"].astype(str), "opted_out_at": opted["opted_out_at"]})
    return str(out.to_csv(index=False, lineterminator="\n"))


# ----------------------------------------------------------------------------------------------
# The world shipped to the executors
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    date: str  # local date, YYYY-MM-DD
    ordinal: int
    start_utc: int  # epoch seconds of local midnight
    length_s: int  # 82800, 86400 or 90000 on DST days
    weekday: int  # 0 = Monday

    @property
    def kind(self) -> str:
        return "weekday" if self.weekday < 5 else ("saturday" if self.weekday == 5 else "sunday")


def make_days(first: dt.date, n: int, time_zone: str) -> list[Day]:
    tz = ZoneInfo(time_zone)
    days = []
    for i in range(n):
        d = first + dt.timedelta(days=i)
        start = dt.datetime.combine(d, dt.time(), tz).timestamp()
        end = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), tz).timestamp()
        days.append(Day(d.isoformat(), d.toordinal(), int(start), int(end - start), d.weekday()))
    return days


class PoiIndex:
    """POIs by category in ~800 m buckets, for 'a random POI of category c near here'."""

    DX, DY = 0.012, 0.008

    def __init__(self, lon: np.ndarray, lat: np.ndarray, cat: np.ndarray):
        self.lon, self.lat, self.cat = lon, lat, cat
        self.buckets: dict[tuple[int, int, int], np.ndarray] = {}
        gx = np.floor(lon / self.DX).astype(int)
        gy = np.floor(lat / self.DY).astype(int)
        keys: dict[tuple[int, int, int], list[int]] = {}
        for i, (c, x, y) in enumerate(zip(cat, gx, gy, strict=True)):
            keys.setdefault((int(c), int(x), int(y)), []).append(i)
        self.buckets = {k: np.asarray(v) for k, v in keys.items()}
        self.by_cat = {c: np.flatnonzero(cat == c) for c in range(len(POI_CATEGORIES))}

    def near(self, rng: np.random.Generator, c: int, lon: float, lat: float, ring: int = 1) -> int:
        """A random POI of category `c` within about `ring` buckets; wider if none; -1 if none."""
        gx, gy = math.floor(lon / self.DX), math.floor(lat / self.DY)
        for r in (ring, ring + 2, ring + 5):
            cand = self._around(c, gx, gy, r)
            if len(cand):
                return int(cand[int(rng.random() * len(cand))])
        allc = self.by_cat[c]
        return int(allc[int(rng.random() * len(allc))]) if len(allc) else -1

    def _around(self, c: int, gx: int, gy: int, r: int) -> np.ndarray:
        key = (c, gx, gy, r)
        cache = self.__dict__.setdefault("_cache", {})
        found = cache.get(key)
        if found is None:
            parts = [self.buckets[k] for x in range(gx - r, gx + r + 1) for y in range(gy - r, gy + r + 1)
                     if (k := (c, x, y)) in self.buckets]
            found = cache[key] = np.concatenate(parts) if parts else np.empty(0, np.int64)
        return found

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


@dataclass
class World:
    """Everything an executor needs, built on the driver and broadcast once."""

    seed: int
    days: list[Day]
    events_mean: float
    row_faults: dict[str, float]
    fmt: str
    subscribers_per_file: int
    # subscribers
    msisdn: np.ndarray
    ghost_msisdn: np.ndarray
    is_m2m: np.ndarray
    m2m_vehicle: np.ndarray
    opted_out: np.ndarray
    birth_y: np.ndarray  # CRM birth date parts, -1 when unknown
    birth_md: np.ndarray  # month * 100 + day
    home_lon: np.ndarray
    home_lat: np.ndarray
    anchor_type: np.ndarray
    anchor_lon: np.ndarray
    anchor_lat: np.ndarray
    activity: np.ndarray
    # points of interest and network
    poi_lon: np.ndarray
    poi_lat: np.ndarray
    poi_cat: np.ndarray
    poi_osm: np.ndarray
    pois: PoiIndex
    plan: network.CellPlan
    # zones for the truth
    zone_set: np.ndarray
    zone_id: np.ndarray
    zone_geom: np.ndarray

    @property
    def n(self) -> int:
        return len(self.msisdn)

    def n_chunks(self) -> int:
        return max(1, math.ceil(self.n / self.subscribers_per_file))

    def chunk(self, c: int) -> range:
        return range(c * self.subscribers_per_file, min((c + 1) * self.subscribers_per_file, self.n))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def under_18(self, subs: np.ndarray, day: Day) -> np.ndarray:
        """Whether the CRM birth date makes the subscriber younger than 18 on `day`."""
        d = dt.date.fromordinal(day.ordinal)
        by = self.birth_y[subs]
        age = d.year - by - ((d.month * 100 + d.day) < self.birth_md[subs])
        return (by >= 0) & (age < 18)


def build_world(ref: Reference, subs: pd.DataFrame, plan: network.CellPlan, zones: Mapping[str, Sequence[Zone]],
                days: list[Day], seed: int, events_mean: float, row_faults: Mapping[str, float], fmt: str,
                subscribers_per_file: int) -> World:
    crm = pd.to_datetime(subs["crm_birth_date"].replace("", None), format="%Y-%m-%d")
    birth_y = np.where(crm.isna(), -1, crm.dt.year.fillna(0)).astype(np.int32)
    birth_md = np.where(crm.isna(), 0, crm.dt.month.fillna(0) * 100 + crm.dt.day.fillna(0)).astype(np.int32)
    pois = ref.pois[ref.pois["category"].isin(POI_CATEGORIES)].reset_index(drop=True)
    cat = pois["category"].map(CAT).to_numpy().astype(np.int8)
    all_zones = [z for s in ZONE_SETS for z in zones[s]]
    return World(
        seed=seed, days=days, events_mean=events_mean, row_faults=dict(row_faults), fmt=fmt,
        subscribers_per_file=subscribers_per_file,
        msisdn=subs["msisdn"].to_numpy(np.int64), ghost_msisdn=subs["ghost_msisdn"].to_numpy(np.int64),
        is_m2m=(subs["kind"] == "m2m").to_numpy(), m2m_vehicle=(subs["m2m_mode"] == 1).to_numpy(),
        opted_out=subs["opted_out"].to_numpy(bool), birth_y=birth_y, birth_md=birth_md,
        home_lon=subs["home_lon"].to_numpy(), home_lat=subs["home_lat"].to_numpy(),
        anchor_type=subs["anchor_type"].to_numpy(np.int8),
        anchor_lon=subs["anchor_lon"].to_numpy(), anchor_lat=subs["anchor_lat"].to_numpy(),
        activity=subs["activity"].to_numpy(np.float32),
        poi_lon=pois["lon"].to_numpy(), poi_lat=pois["lat"].to_numpy(), poi_cat=cat,
        poi_osm=pois["osm_id"].to_numpy().astype(str),
        pois=PoiIndex(pois["lon"].to_numpy(), pois["lat"].to_numpy(), cat), plan=plan,
        zone_set=np.array([z.zone_set for z in all_zones]), zone_id=np.array([z.zone_id for z in all_zones]),
        zone_geom=np.array([z.geometry for z in all_zones], dtype=object),
    )


# ----------------------------------------------------------------------------------------------
# Movement: one subscriber's day as a list of stays
# ----------------------------------------------------------------------------------------------


@dataclass
class Stays:
    """A day as stays, sorted and non-overlapping, from 0 to the day's length (elapsed seconds
    since local midnight); the gaps between them are travel."""

    start: np.ndarray
    end: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    kind: np.ndarray  # STAY_TYPES index
    poi: np.ndarray  # index into the world's POIs, -1 when not a POI


# An activity: (wanted arrival or -1 = as soon as possible, until (absolute end) or -1, dwell s,
# lon, lat, stay kind, poi index or -1).
Act = tuple[int, int, int, float, float, int, int]


def _travel_s(rng: np.random.Generator, lon1: float, lat1: float, lon2: float, lat2: float) -> int:
    d = network.distance_m_scalar(lon1, lat1, lon2, lat2)
    if d < 40:
        base = 60.0
    elif d < 1200:
        base = d / 1.3  # walking
    else:
        base = d / 6.5 + 240.0  # transit or car, door to door
    return max(60, int(base * (0.9 + 0.35 * rng.random())))


def _schedule(rng: np.random.Generator, length: int, home: tuple[float, float, int],
              acts: list[Act]) -> Stays:
    """Turn wanted activities into stays. An activity is (wanted start or -1 for 'as soon as
    possible', until (absolute end) or -1, dwell s, lon, lat, stay kind, poi index). Travel time
    is distance based; the subscriber goes home in between when idle for more than 45 minutes
    away from home; activities that would end too late are dropped. Ends at home."""
    starts: list[int] = []
    ends: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    kinds: list[int] = []
    pois: list[int] = []
    hlon, hlat, hkind = home
    cur = (hlon, hlat, hkind, -1)
    cur_start, free = 0, 0

    def close(until: int) -> None:
        starts.append(cur_start)
        ends.append(until)
        lons.append(cur[0])
        lats.append(cur[1])
        kinds.append(cur[2])
        pois.append(cur[3])

    for want, until, dwell, lon, lat, kind, poi in acts:
        tt = _travel_s(rng, cur[0], cur[1], lon, lat)
        depart = max(free, cur_start + 60) if want < 0 else max(free, cur_start + 60, want - tt)
        at_home = cur[2] == hkind and cur[0] == hlon and cur[1] == hlat
        if not at_home and depart - free > 45 * 60:
            back = _travel_s(rng, cur[0], cur[1], hlon, hlat)
            if free + back + 600 < depart:
                close(free)
                cur = (hlon, hlat, hkind, -1)
                cur_start = free + back
                tt = _travel_s(rng, hlon, hlat, lon, lat)
                depart = max(cur_start + 300, want - tt)
        arrive = depart + tt
        end = max(until, arrive + 600) if until >= 0 else arrive + dwell
        if end + _travel_s(rng, lon, lat, hlon, hlat) >= length - 120:
            break
        close(depart)
        cur = (lon, lat, kind, poi)
        cur_start, free = arrive, end
    if cur[2] == hkind and cur[0] == hlon and cur[1] == hlat:
        close(length)
    else:
        back = _travel_s(rng, cur[0], cur[1], hlon, hlat)
        close(free)
        cur = (hlon, hlat, hkind, -1)
        cur_start = free + back
        close(length)
    return Stays(np.asarray(starts, np.int64), np.asarray(ends, np.int64), np.asarray(lons), np.asarray(lats),
                 np.asarray(kinds, np.int8), np.asarray(pois, np.int64))


def _pick(rng: np.random.Generator, weights: Mapping[str, float]) -> int:
    u = rng.random() * sum(weights.values())
    for name, w in weights.items():
        u -= w
        if u < 0:
            return CAT[name]
    return CAT[next(iter(weights))]


def _h(hours: float) -> int:
    return int(hours * 3600)


def _poi_act(rng: np.random.Generator, w: World, c: int, lon: float, lat: float, want: int,
             ring: int = 1) -> Act | None:
    p = w.pois.near(rng, c, lon, lat, ring)
    if p < 0:
        return None
    lo, hi = DWELL_MIN[POI_CATEGORIES[c]]
    dwell = int((lo + (hi - lo) * rng.random()) * 60)
    return (want, -1, dwell, float(w.poi_lon[p]), float(w.poi_lat[p]), POI, p)


def _with_stations(rng: np.random.Generator, w: World, origin: tuple[float, float],
                   acts: list[Act]) -> list[Act]:
    """Before a trip longer than 2.5 km, half the time wait a few minutes at a station near the origin."""
    out = []
    lon, lat = origin
    for a in acts:
        if network.distance_m_scalar(lon, lat, a[3], a[4]) > 2500 and rng.random() < 0.5:
            c = CAT["sbahn-stops"] if rng.random() < 0.35 else CAT["ubahn-stops"]
            st = _poi_act(rng, w, c, lon, lat, a[0] - 900 if a[0] >= 0 else -1, ring=2)
            if st is not None:
                out.append(st)
        out.append(a)
        lon, lat = a[3], a[4]
    return out


def plan_day(w: World, s: int, day: Day) -> Stays:
    """The true stays of subscriber `s` on `day`, from the plan stream (seed, s, date)."""
    rng = np.random.default_rng([w.seed, STREAM_PLAN, s, day.ordinal])
    L = day.length_s
    hlon, hlat = float(w.home_lon[s]), float(w.home_lat[s])
    if w.is_m2m[s]:
        if not w.m2m_vehicle[s]:
            return Stays(np.array([0]), np.array([L]), np.array([hlon]), np.array([hlat]),
                         np.array([DEVICE], np.int8), np.array([-1]))
        stops = {"weekday": 6 + int(rng.random() * 7), "saturday": int(rng.random() * 5), "sunday": 0}[day.kind]
        stops_acts: list[Act] = []
        lon, lat = hlon, hlat
        t = _h(6.5 + rng.random())
        for _ in range(stops):
            c = int(rng.random() * len(POI_CATEGORIES))
            p = w.pois.near(rng, c, lon, lat, ring=3)
            if p < 0:
                continue
            lon, lat = float(w.poi_lon[p]), float(w.poi_lat[p])
            stops_acts.append((t, -1, int((5 + 20 * rng.random()) * 60), lon, lat, POI, p))
            t = -1
        return _schedule(rng, L, (hlon, hlat, DEPOT), stops_acts)

    anchor = int(w.anchor_type[s])
    alon, alat = float(w.anchor_lon[s]), float(w.anchor_lat[s])
    kind = day.kind
    go = 0.0
    if anchor == WORK:
        go = {"weekday": 0.82, "saturday": 0.12, "sunday": 0.05}[kind]
    elif anchor == SCHOOL:
        go = 0.95 if kind == "weekday" else 0.0
    elif anchor == UNI:
        go = 0.7 if kind == "weekday" else 0.03
    acts: list[Act] = []
    if rng.random() < go:
        if anchor == SCHOOL:
            arrive, leave = _h(7.75 + 0.2 * rng.standard_normal()), _h(13.0 + 3.0 * rng.random())
        elif anchor == UNI:
            arrive = _h(8.5 + 3.5 * rng.random())
            leave = arrive + _h(3 + 4 * rng.random())
        else:
            arrive = _h(min(max(8.5 + 0.9 * rng.standard_normal(), 6.0), 11.0))
            leave = arrive + (_h(7.5 + 2 * rng.random()) if kind == "weekday" else _h(4 + 4 * rng.random()))
        if anchor == WORK and kind == "weekday" and rng.random() < 0.3:
            lunch = _h(12.0 + 1.5 * rng.random())
            c = CAT["cafes"] if rng.random() < 0.6 else CAT["fast-food-restaurants"]
            act = _poi_act(rng, w, c, alon, alat, lunch)
            acts.append((arrive, lunch if act else leave, 0, alon, alat, anchor, -1))
            if act:
                acts.append(act)
                acts.append((-1, leave, 0, alon, alat, anchor, -1))
        else:
            acts.append((arrive, leave, 0, alon, alat, anchor, -1))
        n_err = int(np.searchsorted([0.45, 0.85, 1.0], rng.random(), side="right"))
        for i in range(n_err):
            lon, lat = (alon, alat) if i == 0 else (hlon, hlat)
            act = _poi_act(rng, w, _pick(rng, ERRANDS[kind]), lon, lat, -1)
            if act:
                acts.append(act)
    else:
        n_trips = {"weekday": 1 + int(rng.random() * 3), "saturday": 1 + int(rng.random() * 4),
                   "sunday": int(rng.random() * 4)}[kind]
        t = _h(9.5 + 2.5 * rng.random())
        for _ in range(n_trips):
            centre = rng.random() < 0.25
            lon, lat = (float(w.anchor_lon[int(rng.random() * w.n)]), float(w.anchor_lat[int(rng.random() * w.n)])) \
                if centre else (hlon, hlat)
            act = _poi_act(rng, w, _pick(rng, ERRANDS[kind]), lon, lat, t)
            if act:
                acts.append(act)
            t += _h(1.0 + 3.0 * rng.random())
    p_evening = {"weekday": 0.15, "saturday": 0.35, "sunday": 0.2}[kind] * (1.6 if day.weekday == 4 else 1.0)
    if rng.random() < p_evening:
        act = _poi_act(rng, w, _pick(rng, EVENING), hlon, hlat, _h(19.0 + 2.0 * rng.random()), ring=3)
        if act:
            acts.append(act)
    acts = _with_stations(rng, w, (hlon, hlat), acts)
    return _schedule(rng, L, (hlon, hlat, HOME), acts)


def positions_at(stays: Stays, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True lon, lat at elapsed seconds `t`, and whether the subscriber is travelling then
    (linear interpolation between the stays)."""
    k = np.maximum(np.searchsorted(stays.start, t, side="right") - 1, 0)
    moving = t >= stays.end[k]
    lon = stays.lon[k].copy()
    lat = stays.lat[k].copy()
    if moving.any():
        km = k[moving]
        nxt = np.minimum(km + 1, len(stays.start) - 1)
        span = np.maximum(stays.start[nxt] - stays.end[km], 1)
        f = np.minimum((t[moving] - stays.end[km]) / span, 1.0)
        lon[moving] = stays.lon[km] + f * (stays.lon[nxt] - stays.lon[km])
        lat[moving] = stays.lat[km] + f * (stays.lat[nxt] - stays.lat[km])
    return lon, lat, moving


def event_times(rng: np.random.Generator, mean: float, length: int, profile: np.ndarray) -> np.ndarray:
    """Strictly increasing whole seconds in [0, length): Poisson(mean) events in bursts of about
    BURST_MEAN events BURST_GAP_S apart, burst starts following the hourly `profile`."""
    n = int(rng.poisson(mean))
    if n == 0:
        return np.empty(0, np.int64)
    hours = math.ceil(length / 3600)
    w = profile[:hours].copy()
    w[-1] *= (length - (hours - 1) * 3600) / 3600
    cum = np.cumsum(w) / w.sum()
    n_b = max(1, round(n / BURST_MEAN))
    hour = np.minimum(np.searchsorted(cum, rng.random(n_b), side="right"), hours - 1)
    centre = hour * 3600 + rng.random(n_b) * 3600
    b = np.sort(rng.integers(0, n_b, n))
    gaps = rng.exponential(BURST_GAP_S, n)
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(b[1:], b[:-1], out=first[1:])
    gaps[first] = 0.0
    cs = np.cumsum(gaps)
    group_start = np.maximum.accumulate(np.where(first, cs, 0.0))
    t = np.sort((centre[b] + cs - group_start).astype(np.int64))
    t = np.minimum(t, length - 1)
    i = np.arange(len(t))
    t = np.maximum.accumulate(t - i) + i  # strictly increasing seconds
    return t[t < length]


def _device_times(rng: np.random.Generator, mean: float, length: int) -> np.ndarray:
    """A stationary device: heartbeats every length/mean seconds with a little jitter."""
    n = max(1, round(mean))
    step = length / n
    t = (rng.random() * step + np.arange(n) * step + rng.uniform(-20, 20, n)).astype(np.int64)
    t = np.clip(np.sort(t), 0, length - 1)
    i = np.arange(len(t))
    t = np.maximum.accumulate(t - i) + i
    return t[t < length]


# ----------------------------------------------------------------------------------------------
# Events of one chunk (= one file) of one day
# ----------------------------------------------------------------------------------------------


@dataclass
class ChunkEvents:
    """One chunk's rows before formatting, in generation order (by subscriber, then time)."""

    sub: np.ndarray  # subscriber index
    t: np.ndarray  # elapsed seconds since local midnight
    lon: np.ndarray  # true position
    lat: np.ndarray
    moving: np.ndarray
    u: np.ndarray  # (n, 8) uniforms from the subscriber's event stream
    z: np.ndarray  # (n, 2) standard normals


def simulate_chunk(w: World, day: Day, subs: Sequence[int]) -> ChunkEvents:
    parts: list[tuple[np.ndarray, ...]] = []
    profile = PROFILE["weekday" if day.weekday < 5 else "weekend"]
    for s in subs:
        stays = plan_day(w, s, day)
        rng = np.random.default_rng([w.seed, STREAM_EVENTS, s, day.ordinal])
        if w.is_m2m[s] and not w.m2m_vehicle[s]:
            t = _device_times(rng, w.events_mean / 2 * float(w.activity[s]), day.length_s)
        else:
            t = event_times(rng, w.events_mean * float(w.activity[s]), day.length_s, profile)
        lon, lat, moving = positions_at(stays, t)
        parts.append((np.full(len(t), s, np.int64), t, lon, lat, moving, rng.random((len(t), 8)),
                      rng.standard_normal((len(t), 2))))
    cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    return ChunkEvents(*cols)


@dataclass
class Rows:
    """Formatted landing rows of one chunk plus what was injected where."""

    fields: dict[str, pa.Array]  # the seven landing columns as strings (null = empty)
    order: np.ndarray  # row indices in file order (duplicates repeated)
    fault: np.ndarray  # per generated row: index into ROW_FAULTS or -1
    category: np.ndarray  # per generated row: index into CLASSIFICATION_ORDER
    replaced_lines: dict[int, str]  # row -> replacement line (malformed rows, CSV only)


def _fmt_float(x: np.ndarray, digits: int, valid: np.ndarray) -> pa.Array:
    arr = pa.array(np.round(x, digits), mask=~valid)
    return pc.cast(arr, pa.string())


def iso_utc(epoch_s: np.ndarray) -> pa.Array:
    """Epoch seconds as ISO-8601 UTC strings like 2026-03-14T07:03:12Z (Arrow cast: fast)."""
    text = pc.cast(pa.array(np.asarray(epoch_s, np.int64).astype("datetime64[s]")), pa.string())
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), pa.scalar("Z"), "")


def format_chunk(w: World, day: Day, ev: ChunkEvents) -> Rows:
    """Measurement noise, serving cell, event type and faults for every row of the chunk."""
    n = len(ev.t)
    u = ev.u
    is_device = w.is_m2m[ev.sub] & ~w.m2m_vehicle[ev.sub]
    measured = u[:, 0] >= np.where(is_device, 0.8, CELL_ONLY_SHARE)
    cls = np.searchsorted([c[0] for c in ACCURACY_CLASSES], u[:, 1], side="right").clip(0, 2)
    lo = np.array([c[1] for c in ACCURACY_CLASSES])[cls]
    hi = np.array([c[2] for c in ACCURACY_CLASSES])[cls]
    acc = np.round(lo + (hi - lo) * u[:, 2])
    sigma = acc / ACCURACY_SIGMA
    m_lon, m_lat = network.metres_per_degree(ev.lat)
    obs_lon = ev.lon + ev.z[:, 0] * sigma / m_lon
    obs_lat = ev.lat + ev.z[:, 1] * sigma / m_lat
    cell = w.plan.serving_cells(ev.lon, ev.lat, u[:, 3])
    night = ev.t < 6 * 3600
    u4 = u[:, 4]
    travel_type = np.array([3, 0, 1, 2])[np.searchsorted([0.45, 0.9, 0.95], u4, side="right")]
    night_type = np.array([4, 0, 2])[np.searchsorted([0.5, 0.95], u4, side="right")]
    day_type = np.array([0, 1, 2, 4])[np.searchsorted([0.75, 0.85, 0.93], u4, side="right")]
    etype = np.where(ev.moving, travel_type, np.where(night, night_type, day_type))
    etype = np.where(is_device, np.where(u[:, 4] < 0.7, 0, 4), etype)

    # Who the row belongs to, as the pipeline would see it.
    opted = w.opted_out[ev.sub]
    m2m = w.is_m2m[ev.sub]
    minor = w.under_18(ev.sub, day)
    category = np.full(n, CLASSIFICATION_ORDER.index("clean"), np.int8)
    category[minor] = CLASSIFICATION_ORDER.index("under_18")
    category[m2m] = CLASSIFICATION_ORDER.index("m2m")
    category[opted] = CLASSIFICATION_ORDER.index("opted_out")
    eligible = ~(opted | m2m | minor)
    fault = np.full(n, -1, np.int8)
    rates = np.array([w.row_faults.get(f, 0.0) for f in ROW_FAULTS])
    if rates.sum() > 0:
        f = np.searchsorted(np.cumsum(rates), u[:, 5], side="right")
        hit = eligible & (f < len(ROW_FAULTS))
        fault[hit] = f[hit]
        category[hit] = f[hit]

    abs_t = day.start_utc + ev.t
    fields = {
        "msisdn": pc.cast(pa.array(w.msisdn[ev.sub]), pa.string()),
        "event_time": iso_utc(abs_t),
        "cell_id": pa.array(w.plan.cell_id[cell], pa.string()),
        "event_type": pa.array(np.asarray(EVENT_TYPES, dtype=object)[etype], pa.string()),
        "lon": _fmt_float(obs_lon, 6, measured),
        "lat": _fmt_float(obs_lat, 6, measured),
        "accuracy_m": pc.cast(pa.array(acc.astype(np.int64), mask=~measured), pa.string()),
    }
    replaced = _inject(w, day, ev, fields, fault, measured, abs_t)
    dup = fault == list(ROW_FAULTS).index("duplicate")
    order = np.lexsort((ev.sub, abs_t))
    order = np.repeat(order, np.where(dup[order], 2, 1))
    return Rows(fields, order, fault, category, replaced)


def _inject(w: World, day: Day, ev: ChunkEvents, fields: dict[str, pa.Array], fault: np.ndarray,
            measured: np.ndarray, abs_t: np.ndarray) -> dict[int, str]:
    """Apply the row faults in place (Python on the few faulty rows); returns malformed lines."""
    rows = np.flatnonzero(fault >= 0)
    if len(rows) == 0:
        return {}
    names = list(ROW_FAULTS)
    vals = {k: pc.take(v, pa.array(rows)).to_pylist() for k, v in fields.items()}
    u = ev.u[rows]
    malformed: dict[int, str] = {}
    for j, r in enumerate(rows):
        kind = names[fault[r]]
        v6, v7 = float(u[j, 6]), float(u[j, 7])
        rec = {k: vals[k][j] for k in EVENT_COLUMNS}
        if kind == "malformed":
            line = ",".join("" if rec[k] is None else str(rec[k]) for k in EVENT_COLUMNS)
            if v6 < 0.4:  # cut: at most 5 fields
                commas = [i for i, ch in enumerate(line) if ch == ","]
                cut = commas[4]
                line = line[: max(5, int(cut * (0.3 + 0.7 * v7)))]
            elif v6 < 0.7:
                line = line.replace(",", ";")
            else:
                line = line + ",extra"
            malformed[int(r)] = line
        elif kind == "missing_field":
            opts = ["msisdn", "event_time", "cell_id", "event_type"]
            if measured[r]:
                opts += ["lon", "lat", "accuracy_m"]
            rec[opts[int(v6 * len(opts))]] = None
        elif kind == "bad_timestamp":
            ts = dt.datetime.fromtimestamp(int(abs_t[r]), dt.UTC)
            if v6 < 0.4:
                rec["event_time"] = ts.strftime("%d.%m.%Y %H:%M:%S")
            elif v6 < 0.7:
                rec["event_time"] = ts.strftime("%Y-13-%dT%H:%M:%SZ")
            else:
                rec["event_time"] = str(int(abs_t[r]) * 1000)
        elif kind == "outside_day":
            shift = 2 * 86400 if v6 < 0.5 else -2 * 86400
            rec["event_time"] = dt.datetime.fromtimestamp(int(abs_t[r]) + shift, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif kind == "bad_coordinates":
            lon, lat = float(w.home_lon[ev.sub[r]]), float(w.home_lat[ev.sub[r]])
            variants = (("NaN", "NaN"), ("0.0", "0.0"), (f"{lat:.6f}", f"{lon:.6f}"), ("11.575382", "48.137108"))
            rec["lon"], rec["lat"] = variants[int(v6 * 4)]
            if rec["accuracy_m"] is None:
                rec["accuracy_m"] = "50"
        elif kind == "unknown_cell":
            rec["cell_id"] = network.unknown_cell_id(int(v7 * 1e6))
        elif kind == "unknown_msisdn":
            rec["msisdn"] = str(int(w.ghost_msisdn[ev.sub[r]]))
        for k in EVENT_COLUMNS:
            vals[k][j] = rec[k]
    mask = np.zeros(len(fault), bool)
    mask[rows] = True
    for k in EVENT_COLUMNS:
        fields[k] = pc.replace_with_mask(fields[k], pa.array(mask), pa.array(vals[k], pa.string()))
    return malformed


def chunk_output(w: World, day: Day, c: int) -> tuple[pa.RecordBatch, dict[str, int]]:
    """The file content of chunk `c` of `day` as one record batch, and its counts."""
    ev = simulate_chunk(w, day, w.chunk(c))
    rows = format_chunk(w, day, ev)
    order = pa.array(rows.order)
    if w.fmt == "csv":
        line = pc.binary_join_element_wise(*(rows.fields[k] for k in EVENT_COLUMNS), ",",
                                           null_handling="replace", null_replacement="")
        if rows.replaced_lines:
            mask = np.zeros(len(line), bool)
            idx = sorted(rows.replaced_lines)
            mask[idx] = True
            line = pc.replace_with_mask(line, pa.array(mask), pa.array([rows.replaced_lines[i] for i in idx]))
        body = pc.take(line, order)
        batch = pa.RecordBatch.from_arrays([pa.concat_arrays([pa.array([EVENT_HEADER]), body])], names=["value"])
    else:
        batch = pa.RecordBatch.from_arrays([pc.take(rows.fields[k], order) for k in EVENT_COLUMNS],
                                           names=list(EVENT_COLUMNS))
    counts = {name: int((rows.category == i).sum()) for i, name in enumerate(CLASSIFICATION_ORDER)}
    # A duplicated row is written twice: the first copy is clean, the second counts as duplicate.
    counts["clean"] += int((rows.fault == list(ROW_FAULTS).index("duplicate")).sum())
    counts["rows"] = len(rows.order)
    return batch, counts


# ----------------------------------------------------------------------------------------------
# Ground truth of one chunk
# ----------------------------------------------------------------------------------------------

def _zone_tree(w: World) -> Any:
    """The STRtree of all zones (prepared), built once per World object (not pickled)."""
    tree = w.__dict__.get("_tree")
    if tree is None:
        shapely.prepare(w.zone_geom)
        tree = w.__dict__["_tree"] = shapely.STRtree(w.zone_geom)
    return tree


def zones_containing(w: World, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point index, zone index) pairs for every zone that contains a point (boundary excluded),
    sorted by point then zone; each distinct position is tested once."""
    xy = np.column_stack([lon, lat])
    uniq, inverse = np.unique(xy, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    cand_p, cand_z = _zone_tree(w).query(shapely.points(uniq[:, 0], uniq[:, 1]))
    hit = shapely.contains_xy(w.zone_geom[cand_z], uniq[cand_p, 0], uniq[cand_p, 1])
    up, uz = cand_p[hit], cand_z[hit]
    # expand distinct positions back to the input points
    order = np.argsort(up, kind="stable")
    up, uz = up[order], uz[order]
    starts = np.searchsorted(up, np.arange(len(uniq)))
    counts = np.searchsorted(up, np.arange(len(uniq)), side="right") - starts
    per_point = counts[inverse]
    point_i = np.repeat(np.arange(len(lon)), per_point)
    first = np.repeat(starts[inverse], per_point)
    offset = np.arange(len(point_i)) - np.repeat(np.cumsum(per_point) - per_point, per_point)
    zone_i = uz[first + offset]
    o = np.lexsort((zone_i, point_i))
    return point_i[o], zone_i[o]


TRUTH_SCHEMA = pa.schema([
    ("msisdn", pa.string()), ("event_date", pa.date32()), ("zone_set", pa.string()), ("zone_id", pa.string()),
    ("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC")),
    ("stay_type", pa.string()), ("poi_osm_id", pa.string()), ("lon", pa.float64()), ("lat", pa.float64()),
])


TRUTH_DDL = ("msisdn string, event_date date, zone_set string, zone_id string, `start` timestamp, `end` timestamp, "
             "stay_type string, poi_osm_id string, lon double, lat double")


def truth_chunk(w: World, day: Day, subs: Sequence[int]) -> pa.RecordBatch:
    """Every true stay of the chunk's subscribers on `day`, once per zone containing its position."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("sub", "start", "end", "lon", "lat", "kind", "poi")}
    for s in subs:
        st = plan_day(w, s, day)
        cols["sub"].append(np.full(len(st.start), s, np.int64))
        for k in ("start", "end", "lon", "lat", "kind", "poi"):
            cols[k].append(getattr(st, k))
    if not cols["sub"]:
        return pa.RecordBatch.from_pylist([], schema=TRUTH_SCHEMA)
    a = {k: np.concatenate(v) for k, v in cols.items()}
    stay_i, zone_i = zones_containing(w, a["lon"], a["lat"])
    sub = a["sub"][stay_i]
    poi = a["poi"][stay_i]
    to_ts = pa.timestamp("us", tz="UTC")
    return pa.RecordBatch.from_arrays([
        pc.cast(pa.array(w.msisdn[sub]), pa.string()),
        pa.array(np.full(len(sub), day.ordinal - dt.date(1970, 1, 1).toordinal(), np.int32), pa.date32()),
        pa.array(w.zone_set[zone_i]), pa.array(w.zone_id[zone_i]),
        pa.array((day.start_utc + a["start"][stay_i]) * 1_000_000, pa.int64()).cast(to_ts),
        pa.array((day.start_utc + a["end"][stay_i]) * 1_000_000, pa.int64()).cast(to_ts),
        pa.array(np.asarray(STAY_TYPES)[a["kind"][stay_i]]),
        pa.array(w.poi_osm[np.maximum(poi, 0)], pa.string(), mask=poi < 0),
        pa.array(a["lon"][stay_i]), pa.array(a["lat"][stay_i]),
    ], schema=TRUTH_SCHEMA)


# ----------------------------------------------------------------------------------------------
# Spark: the job
# ----------------------------------------------------------------------------------------------


def default_subscribers(population: pd.DataFrame, market_share: float) -> int:
    """SIMs in the CRM when --subscribers is not given: market share x Berlin's residents."""
    return round(market_share * int(population["population"].sum()))


@functools.lru_cache(maxsize=2)
def prepare(reference_dir: str, seed: int, first_date: dt.date, buffer_m: float,
            ) -> tuple[Reference, dict[str, list[Zone]], network.CellPlan]:
    """Reference data, zone sets and the cell plan (memoised: tests generate several times)."""
    ref = load_reference(reference_dir)
    zones = build_zone_sets(ref, STOREFRONT_CATEGORIES, buffer_m)
    locs = ref.localities
    plan = network.build_cell_plan(list(locs["geometry"]), locs["population"].to_numpy(float), ref.berlin,
                                   ref.pois["lon"].to_numpy(), ref.pois["lat"].to_numpy(), seed, first_date)
    return ref, zones, plan


@dataclass(frozen=True)
class GenerateParams:
    first_date: dt.date = DEFAULT_DATE
    days: int = 1
    subscribers: int | None = None
    market_share: float = DEFAULT_MARKET_SHARE
    events_per_subscriber: float = DEFAULT_EVENTS
    seed: int = DEFAULT_SEED
    fmt: str = "csv"
    storefront_buffer_m: float = DEFAULT_BUFFER_M
    faults: Mapping[str, float] = field(default_factory=dict)
    truncated_gzip: bool = False
    subscribers_per_file: int | None = None

    def row_faults(self) -> dict[str, float]:
        rates = {k: float(self.faults.get(k, v)) for k, v in ROW_FAULTS.items()}
        if self.fmt == "parquet":
            rates["malformed"] = 0.0  # a Parquet file has no lines to break
        return rates

    def shares(self) -> dict[str, float]:
        return {k: float(self.faults.get(k, v)) for k, v in SUBSCRIBER_SHARES.items()}


def _validate(p: GenerateParams) -> None:
    unknown = set(p.faults) - set(ROW_FAULTS) - set(SUBSCRIBER_SHARES)
    if unknown:
        names = ", ".join([*ROW_FAULTS, *SUBSCRIBER_SHARES])
        raise ConfigError(f"unknown fault {sorted(unknown)[0]!r}: use one of {names}")
    for k, v in p.faults.items():
        if not 0.0 <= v < 1.0:
            raise ConfigError(f"fault rate {k}={v} must be in [0, 1)")
    if sum(p.row_faults().values()) > 0.5:
        raise ConfigError("the row fault rates add up to more than 0.5: lower them")
    if p.fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format {p.fmt!r}: use csv or parquet")
    if p.fmt == "parquet" and (p.truncated_gzip or p.faults.get("malformed", 0) > 0):
        raise ConfigError("--truncated-gzip and malformed lines exist only with --format csv")
    if p.days < 1 or (p.subscribers is not None and p.subscribers < 1) or p.events_per_subscriber <= 0:
        raise ConfigError("--days, --subscribers and --events-per-subscriber must be positive")
    if not 0 < p.market_share <= 1:
        raise ConfigError("--market-share must be in (0, 1]")


class CountsParam(AccumulatorParam):
    """Accumulator of {key: {name: int}}. Spark merges a result task's updates once, when the
    task first succeeds, so retried or speculative tasks do not double count."""

    def zero(self, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        return {}

    def addInPlace(self, a: dict[str, dict[str, int]], b: dict[str, dict[str, int]]
                   ) -> dict[str, dict[str, int]]:
        for key, counts in b.items():
            slot = a.setdefault(key, {})
            for name, v in counts.items():
                slot[name] = slot.get(name, 0) + v
        return a


def _events_udf(bc: Any, acc: Any, day_idx: int) -> Any:
    def gen(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        w: World = bc.value
        day = w.days[day_idx]
        for b in batches:
            for c in b.column(0).to_pylist():
                batch, counts = chunk_output(w, day, int(c))
                acc.add({f"{day.date}/{int(c):05d}": counts})
                yield batch
    return gen


def _truth_udf(bc: Any) -> Any:
    def gen(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        w: World = bc.value
        n_chunks = w.n_chunks()
        for b in batches:
            for task in b.column(0).to_pylist():
                day = w.days[int(task) // n_chunks]
                yield truth_chunk(w, day, w.chunk(int(task) % n_chunks))
    return gen


def _local(path: str) -> Path:
    if "://" in path and not path.startswith("file://"):
        raise ConfigError(f"footfall generate writes to a local or shared file system path, not {path}")
    return Path(path.removeprefix("file://"))


def _finish_spark_dir(folder: Path, ext: str) -> list[str]:
    """Rename part-NNNNN-<uuid>...<ext> to part-NNNNN.<new ext>, drop _SUCCESS and .crc files."""
    names = []
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") or f.name.startswith("_"):
            f.unlink()
            continue
        part = f.name.split("-")[1]
        new = folder / f"part-{part}{ext}"
        f.rename(new)
        names.append(new.name)
    return sorted(names)


def run(spark: Any, params: GenerateParams, reference_dir: str, landing: str, truth: str,
        time_zone: str = "Europe/Berlin") -> dict[str, Any]:
    """Generate the landing folder and the ground truth; returns the report (also written)."""
    _validate(params)
    started = time.time()
    land, tru = _local(landing).resolve(), _local(truth).resolve()
    if tru == land or land in tru.parents or tru in land.parents:
        raise ConfigError(f"the truth folder {tru} must be apart from the landing folder {land}")
    ref, zones, plan = prepare(str(reference_dir), params.seed, params.first_date, params.storefront_buffer_m)
    n = params.subscribers or default_subscribers(ref.population, params.market_share)
    days = make_days(params.first_date, params.days, time_zone)
    spf = params.subscribers_per_file or max(1, round(ROWS_PER_FILE_TARGET / params.events_per_subscriber))
    log.info("generate: %d subscribers x %d day(s) from %s, seed %d", n, params.days, params.first_date, params.seed)

    subs = draw_subscribers(ref, n, params.seed, params.first_date, days[0].start_utc, params.shares())
    world = build_world(ref, subs, plan, zones, days, params.seed, params.events_per_subscriber,
                        params.row_faults(), params.fmt, spf)

    for sub in ("events", "subscribers", "optouts", "cells", "zones"):
        shutil.rmtree(land / sub, ignore_errors=True)
    shutil.rmtree(tru / "visits", ignore_errors=True)
    shutil.rmtree(tru / "subscribers", ignore_errors=True)
    (tru / "report.json").unlink(missing_ok=True)
    for sub in ("subscribers", "optouts", "cells", "zones"):
        (land / sub).mkdir(parents=True, exist_ok=True)
    tru.mkdir(parents=True, exist_ok=True)
    (land / "cells" / "cells.csv").write_text(plan.cells_csv())
    (land / "subscribers" / "subscribers.csv").write_text(crm_csv(subs))
    (land / "optouts" / "optouts.csv").write_text(optouts_csv(subs))
    for name in ZONE_SETS:
        (land / "zones" / f"{name}.geojson").write_text(zones_geojson(zones[name]), encoding="utf-8")

    sc = spark.sparkContext
    bc = sc.broadcast(world)
    acc = sc.accumulator({}, CountsParam())
    n_chunks = world.n_chunks()
    event_schema = "value string" if params.fmt == "csv" else ", ".join(f"{c} string" for c in EVENT_COLUMNS)
    files: dict[str, dict[str, int]] = {}
    t_events = time.time()
    for d, day in enumerate(days):
        out = land / "events" / f"date={day.date}"
        df = spark.range(0, n_chunks, 1, n_chunks).mapInArrow(_events_udf(bc, acc, d), event_schema)
        with step("generate", f"events {day.date}", spark) as events_step:
            if params.fmt == "csv":
                df.write.mode("overwrite").option("compression", "gzip").text(str(out))
                names = _finish_spark_dir(out, ".csv.gz")
            else:
                df.write.mode("overwrite").parquet(str(out))
                names = _finish_spark_dir(out, ".parquet")
            counts = acc.value
            events_step.record(files=len(names))
        for name in names:
            part = name.split(".")[0].split("-")[1]
            files[f"events/date={day.date}/{name}"] = counts[f"{day.date}/{part}"]
    events_s = time.time() - t_events

    truth_df = spark.range(0, n_chunks * len(days), 1, n_chunks * len(days)).mapInArrow(
        _truth_udf(bc), TRUTH_DDL)
    # TIMESTAMP_MICROS (UTC-adjusted) rather than Spark's INT96, so pyarrow/DuckDB see UTC instants.
    previous = spark.conf.get("spark.sql.parquet.outputTimestampType")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    try:
        with step("generate", "ground truth", spark):
            truth_df.write.mode("overwrite").parquet(str(tru / "visits"))
    finally:
        spark.conf.set("spark.sql.parquet.outputTimestampType", previous)
    _finish_spark_dir(tru / "visits", ".parquet")
    (tru / "subscribers").mkdir()
    pq.write_table(pa.Table.from_pandas(_truth_subscribers(subs), preserve_index=False),
                   tru / "subscribers" / "part-00000.parquet")
    bc.unpersist()

    truncated = None
    if params.truncated_gzip:
        victim = sorted(files)[-1]
        path = land / victim
        data = path.read_bytes()
        keep = max(64, len(data) // 2)
        path.write_bytes(data[:keep])
        truncated = {"file": victim, "bytes_original": len(data), "bytes_kept": keep,
                     "rows_written": files[victim]["rows"]}

    report = _report(params, n, days, subs, files, truncated, plan, zones, spf, events_s, time.time() - started)
    (tru / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    return report


def _truth_subscribers(subs: pd.DataFrame) -> pd.DataFrame:
    t = subs[["msisdn", "kind", "district_id", "locality_id", "true_age", "true_gender", "crm_birth_date",
              "crm_gender", "opted_out", "anchor_type", "home_lon", "home_lat", "anchor_lon", "anchor_lat"]].copy()
    t["msisdn"] = t["msisdn"].astype(str)
    t["true_age"] = t["true_age"].astype(int)
    t["anchor_type"] = np.asarray(STAY_TYPES, dtype=object)[t["anchor_type"].to_numpy()]
    t.loc[subs["anchor_type"].to_numpy() == ANCHOR_NONE, "anchor_type"] = ""
    return t


def _report(params: GenerateParams, n: int, days: list[Day], subs: pd.DataFrame, files: dict[str, dict[str, int]],
            truncated: dict[str, Any] | None, plan: network.CellPlan, zones: Mapping[str, Sequence[Zone]],
            spf: int, events_s: float, total_s: float) -> dict[str, Any]:
    people = subs["kind"] != "m2m"
    first = dt.date.fromordinal(days[0].ordinal)
    crm = pd.to_datetime(subs["crm_birth_date"].replace("", None), format="%Y-%m-%d")
    crm_age = first.year - crm.dt.year - ((first.month * 100 + first.day) < (crm.dt.month * 100 + crm.dt.day))
    known = {s.lower() for s in (*GENDER_SPELLINGS["F"][0], *GENDER_SPELLINGS["M"][0])}
    faults = dict.fromkeys(CLASSIFICATION_ORDER, 0)
    by_day: dict[str, int] = {}
    for name, c in files.items():
        for k in CLASSIFICATION_ORDER:
            faults[k] += c[k]
        day = name.split("/")[1].removeprefix("date=")
        by_day[day] = by_day.get(day, 0) + c["rows"]
    return {
        "generator": "footfall generate",
        "parameters": {**{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(params).items()},
                       "subscribers": n, "subscribers_per_file": spf,
                       "row_fault_rates": params.row_faults(), "subscriber_shares": params.shares()},
        "subscribers": {
            "total": n,
            "consumer": int((subs["kind"] == "consumer").sum()),
            "business": int((subs["kind"] == "business").sum()),
            "m2m": int((subs["kind"] == "m2m").sum()),
            "opted_out": int(subs["opted_out"].sum()),
            "under_18_true": int((people & (subs["true_age"] < 18)).sum()),
            "under_18_crm": int((crm_age < 18).sum()),
            "unknown_gender": int((people & ~subs["crm_gender"].str.lower().isin(known)).sum()),
            "unknown_birth_date": int((people & (subs["crm_birth_date"] == "")).sum()),
            "note": "unknown_* count people (consumer + business); M2M SIMs have neither. Gender spellings "
                    "F/f/female/w mean F and M/m/male mean M; ''/X/d are unknown. under_18_crm uses the CRM "
                    "birth date on the first day.",
        },
        "events": {"rows": sum(by_day.values()), "rows_by_day": by_day},
        "faults": faults,
        "classification_order": list(CLASSIFICATION_ORDER),
        "classification": {
            "malformed": "the line does not have exactly 7 comma-separated fields",
            "missing_field": "msisdn/event_time/cell_id/event_type empty, or lon/lat/accuracy_m partly empty",
            "bad_timestamp": "event_time is not YYYY-MM-DDTHH:MM:SSZ with a valid date and time",
            "outside_day": "event_time is not within the folder's local day (Europe/Berlin)",
            "bad_coordinates": f"lon/lat NaN or outside the box {BERLIN_BBOX}",
            "unknown_cell": "cell_id not in cells/cells.csv",
            "duplicate": "the line repeats an earlier line of the same day exactly",
            "unknown_msisdn": "msisdn not in subscribers/subscribers.csv",
            "opted_out": "msisdn in optouts/optouts.csv",
            "m2m": "contract_type m2m",
            "under_18": "CRM birth date gives an age under 18 on the folder's date",
            "clean": "none of the above",
        },
        "files": files,
        "truncated_file": truncated,
        "network": {"sites": plan.n_sites, "active_cells": len(plan.cell_id), "retired_cells": len(plan.retired_rows)},
        "zones": {k: len(v) for k, v in zones.items()},
        "seconds": {"events": round(events_s, 1), "total": round(total_s, 1)},
    }


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------


def _fault_arg(text: str) -> tuple[str, float]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=RATE, e.g. duplicate=0.01")
    name, rate = text.split("=", 1)
    try:
        return name.strip(), float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: RATE must be a number") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=dt.date.fromisoformat, default=DEFAULT_DATE,
                        help=f"first local date (default {DEFAULT_DATE}, a Saturday)")
    parser.add_argument("--days", type=int, default=1, help="number of days (default 1)")
    parser.add_argument("--subscribers", type=int, default=None,
                        help="SIMs in the CRM (default: market share x Berlin's residents)")
    parser.add_argument("--market-share", type=float, default=DEFAULT_MARKET_SHARE,
                        help=f"share of residents who are subscribers, used without --subscribers "
                             f"(default {DEFAULT_MARKET_SHARE})")
    parser.add_argument("--events-per-subscriber", type=float, default=DEFAULT_EVENTS,
                        help=f"mean events per subscriber and day (default {DEFAULT_EVENTS:g})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default="csv",
                        help="events as gzipped CSV (default) or Parquet (all columns strings)")
    parser.add_argument("--storefront-buffer-m", type=float, default=DEFAULT_BUFFER_M,
                        help=f"store-front zone radius in metres (default {DEFAULT_BUFFER_M:g})")
    parser.add_argument("--fault", type=_fault_arg, action="append", default=[], metavar="NAME=RATE",
                        help="a fault rate (repeatable): row faults " + ", ".join(
                            f"{k} ({v:g})" for k, v in ROW_FAULTS.items())
                        + "; subscriber shares " + ", ".join(f"{k} ({v:g})" for k, v in SUBSCRIBER_SHARES.items()))
    parser.add_argument("--truncated-gzip", action="store_true", help="cut the last events file in half")
    parser.add_argument("--subscribers-per-file", type=int, default=None,
                        help=f"subscribers per events file (default {ROWS_PER_FILE_TARGET:,} / events per subscriber)")
    parser.add_argument("--output", help="landing folder (default paths.landing_dir)")
    parser.add_argument("--truth", help="ground-truth folder (default paths.truth_dir)")


def params_from_args(args: argparse.Namespace) -> GenerateParams:
    return GenerateParams(
        first_date=args.date, days=args.days, subscribers=args.subscribers, market_share=args.market_share,
        events_per_subscriber=args.events_per_subscriber, seed=args.seed, fmt=args.fmt,
        storefront_buffer_m=args.storefront_buffer_m, faults=dict(args.fault), truncated_gzip=args.truncated_gzip,
        subscribers_per_file=args.subscribers_per_file,
    )


def command(args: argparse.Namespace, cfg: Config) -> int:
    from footfall.session import build_session

    params = params_from_args(args)
    _validate(params)
    spark = build_session(cfg)
    landing = args.output or cfg.path("landing_dir")
    truth = args.truth or cfg.path("truth_dir")
    report = run(spark, params, cfg.paths.reference_dir, landing, truth, cfg.time_zone)
    faults = {k: v for k, v in report["faults"].items() if k != "clean"}
    print(f"landing: {landing}")
    print(f"truth:   {truth} (report.json)")
    print(f"subscribers: {report['subscribers']['total']:,}; event rows: {report['events']['rows']:,} "
          f"in {len(report['files'])} file(s); {report['seconds']['events']} s for the events")
    print("counted:", ", ".join(f"{k}={v:,}" for k, v in faults.items()))
    if report["truncated_file"]:
        print("truncated:", report["truncated_file"]["file"])
    return EXIT_OK


__all__ = ["GenerateParams", "add_arguments", "command", "run"]
