"""Days and the world shipped to the executors: everything the executors need to generate events,
built on the driver and broadcast once."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from footfall.synthetic import network
from footfall.synthetic.reference import Reference
from footfall.synthetic.vocabulary import CAT, POI_CATEGORIES, STOREFRONT_CATEGORIES, ZONE_SETS
from footfall.synthetic.zones import Zone


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
                subscribers_per_file: int, only_zoned_shops: bool = False) -> World:
    """The world the event writers share. `only_zoned_shops`: the POIs of the store-front
    categories are only the store-front zones' (a city with fewer shops, each visited more: the
    demo's --storefronts), the other categories' POIs all stay."""
    crm = pd.to_datetime(subs["crm_birth_date"].replace("", None), format="%Y-%m-%d")
    birth_y = np.where(crm.isna(), -1, crm.dt.year.fillna(0)).astype(np.int32)
    birth_md = np.where(crm.isna(), 0, crm.dt.month.fillna(0) * 100 + crm.dt.day.fillna(0)).astype(np.int32)
    pois = ref.pois[ref.pois["category"].isin(POI_CATEGORIES)]
    if only_zoned_shops:
        zoned = {str(z.extra["osm_id"]) for z in zones["storefronts"]}
        pois = pois[~pois["category"].isin(STOREFRONT_CATEGORIES) | pois["osm_id"].astype(str).isin(zoned)]
    pois = pois.reset_index(drop=True)
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
