"""Movement: one subscriber's day as a list of stays (home, anchors, errands, evenings out), and
where the subscriber is at any second of it.

Each (subscriber, day) draws from its own generator seeded with (seed, STREAM_PLAN, subscriber,
date), so a day does not depend on which executor plans it or in which order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from footfall.synthetic import network
from footfall.synthetic.vocabulary import (
    CAT,
    DEPOT,
    DEVICE,
    HOME,
    POI,
    POI_CATEGORIES,
    SCHOOL,
    STREAM_PLAN,
    UNI,
    WORK,
)
from footfall.synthetic.world import Day, World

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
    """The true stays of subscriber `s` on `day`, from the plan stream (seed, s, date).

    The helpers below draw from the one generator in a fixed order (every draw, also those whose
    value goes unused, e.g. the stops of another day kind): reordering them changes the output.
    """
    rng = np.random.default_rng([w.seed, STREAM_PLAN, s, day.ordinal])
    hlon, hlat = float(w.home_lon[s]), float(w.home_lat[s])
    if w.is_m2m[s]:
        return _device_day(rng, w, s, day)
    anchor = int(w.anchor_type[s])
    kind = day.kind
    if rng.random() < _anchor_share(anchor, kind):
        acts = _anchor_day(rng, w, s, anchor, kind)
    else:
        acts = _free_day(rng, w, (hlon, hlat), kind)
    p_evening = {"weekday": 0.15, "saturday": 0.35, "sunday": 0.2}[kind] * (1.6 if day.weekday == 4 else 1.0)
    if rng.random() < p_evening:
        act = _poi_act(rng, w, _pick(rng, EVENING), hlon, hlat, _h(19.0 + 2.0 * rng.random()), ring=3)
        if act:
            acts.append(act)
    acts = _with_stations(rng, w, (hlon, hlat), acts)
    return _schedule(rng, day.length_s, (hlon, hlat, HOME), acts)


def _device_day(rng: np.random.Generator, w: World, s: int, day: Day) -> Stays:
    """An M2M SIM's day: a stationary device stays put; a vehicle leaves its depot for a few
    stops on weekdays and Saturdays."""
    L = day.length_s
    hlon, hlat = float(w.home_lon[s]), float(w.home_lat[s])
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


def _anchor_share(anchor: int, kind: str) -> float:
    """The probability that a subscriber with this anchor goes there on a day of this kind."""
    if anchor == WORK:
        return {"weekday": 0.82, "saturday": 0.12, "sunday": 0.05}[kind]
    if anchor == SCHOOL:
        return 0.95 if kind == "weekday" else 0.0
    if anchor == UNI:
        return 0.7 if kind == "weekday" else 0.03
    return 0.0


def _anchor_day(rng: np.random.Generator, w: World, s: int, anchor: int, kind: str) -> list[Act]:
    """A day at the anchor (work, school, university): the stay there, a weekday lunch out for
    some workers, then up to two errands (the first near the anchor, the next near home)."""
    alon, alat = float(w.anchor_lon[s]), float(w.anchor_lat[s])
    hlon, hlat = float(w.home_lon[s]), float(w.home_lat[s])
    acts: list[Act] = []
    arrive, leave = _anchor_hours(rng, anchor, kind)
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
    return acts


def _anchor_hours(rng: np.random.Generator, anchor: int, kind: str) -> tuple[int, int]:
    """Arrival at and departure from the anchor, in elapsed seconds of the day."""
    if anchor == SCHOOL:
        return _h(7.75 + 0.2 * rng.standard_normal()), _h(13.0 + 3.0 * rng.random())
    if anchor == UNI:
        arrive = _h(8.5 + 3.5 * rng.random())
        return arrive, arrive + _h(3 + 4 * rng.random())
    arrive = _h(min(max(8.5 + 0.9 * rng.standard_normal(), 6.0), 11.0))
    return arrive, arrive + (_h(7.5 + 2 * rng.random()) if kind == "weekday" else _h(4 + 4 * rng.random()))


def _free_day(rng: np.random.Generator, w: World, home: tuple[float, float], kind: str) -> list[Act]:
    """A day without the anchor: a few errands from late morning on, a quarter of them near
    another subscriber's anchor (somewhere people go) instead of near home."""
    hlon, hlat = home
    acts: list[Act] = []
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
    return acts


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
