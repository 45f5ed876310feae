"""Subscribers: who they are (district, age, gender, kind), what the CRM says about them (with its
noise), their opt-outs, homes and anchors (work, school, university).

Everything is drawn on the driver from one generator seeded with (seed, STREAM_SUBSCRIBERS), in a
fixed order: the same seed gives the same subscribers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from footfall.synthetic import network
from footfall.synthetic.reference import Reference
from footfall.synthetic.vocabulary import (
    GENDER_SPELLINGS,
    SCHOOL,
    STREAM_SUBSCRIBERS,
    SUBSCRIBER_SHARES,
    UNI,
    WORK,
)

# Share of a band's residents who have their own SIM (children); adults 1.0.
OWNERSHIP = {"0-5": 0.0, "6-14": 0.5, "15-17": 0.95}
BUSINESS_SHARE = 0.08  # of people aged 25-64
UNKNOWN_GENDER = {"consumer": 0.02, "business": 0.35}
UNKNOWN_BIRTH = {"consumer": 0.02, "business": 0.40}
EMPTY_POSTCODE = 0.015
M2M_VEHICLE_SHARE = 0.4
# German mobile prefixes of Telefónica/O2 (E.164 without '+'), 8 subscriber digits each.
MSISDN_PREFIXES = (49176, 49179, 49159, 49177, 49178, 49157, 49163)


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

    The steps below draw from one generator in a fixed order; reordering them changes every
    subscriber of a seed.
    """
    shares = {**SUBSCRIBER_SHARES, **(shares or {})}
    rng = np.random.default_rng([seed, STREAM_SUBSCRIBERS])
    if first_day_start_utc is None:
        first_day_start_utc = int(dt.datetime.combine(first_date, dt.time(), dt.UTC).timestamp())
    msisdn_all = draw_msisdns(rng, 2 * n)
    kind = _draw_kinds(rng, n, round(n * shares["m2m"]))
    people = np.flatnonzero(kind != "m2m")
    m2m = np.flatnonzero(kind == "m2m")
    district, gender, age = _draw_residents(rng, ref.population, people, n)
    working = people[(age[people] >= 25) & (age[people] <= 64)]
    kind[working[rng.random(len(working)) < BUSINESS_SHARE]] = "business"
    birth_ord = _draw_birth_dates(rng, people, age, first_date)
    crm_birth, crm_gender = _crm_view(rng, kind, gender, birth_ord)
    opted, opted_at = _draw_optouts(rng, n, people, min(round(n * shares["opted_out"]), len(people)),
                                    first_day_start_utc)
    locality, home_lon, home_lat = _draw_homes(rng, ref, people, district, age)
    anchor, anchor_lon, anchor_lat = _draw_anchors(rng, ref, age, kind, home_lon, home_lat)
    m2m_mode = _place_devices(rng, ref, m2m, district, locality, (home_lon, home_lat), (anchor_lon, anchor_lat))
    postcode = _draw_postcodes(rng, ref, locality)
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


def _draw_kinds(rng: np.random.Generator, n: int, n_m2m: int) -> np.ndarray:
    """consumer or m2m per SIM, shuffled (business is decided later, by age)."""
    kind = np.array(["consumer"] * (n - n_m2m) + ["m2m"] * n_m2m, dtype=object)
    return kind[rng.permutation(n)]


def _draw_residents(rng: np.random.Generator, population: pd.DataFrame, people: np.ndarray,
                    n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """District, gender and age of the people, from the residents table (expected_mix); empty and
    -1 for the M2M SIMs."""
    mix = expected_mix(population)
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
    return district, gender, age


def _draw_birth_dates(rng: np.random.Generator, people: np.ndarray, age: np.ndarray,
                      first_date: dt.date) -> np.ndarray:
    """Date ordinal of each person's birth, uniform among the days that give their age on the
    first day; -1 for the M2M SIMs."""
    birth_ord = np.full(len(age), -1, dtype=np.int64)
    for a in np.unique(age[people]):
        sel = people[age[people] == a]
        lo = _shift_years(first_date, -(int(a) + 1)).toordinal() + 1
        hi = _shift_years(first_date, -int(a)).toordinal()
        birth_ord[sel] = lo + (rng.random(len(sel)) * (hi - lo + 1)).astype(np.int64)
    assert (birth_ord[people] <= first_date.toordinal()).all()
    return birth_ord


def _crm_view(rng: np.random.Generator, kind: np.ndarray, gender: np.ndarray,
              birth_ord: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the CRM says: the birth date (empty when unknown) and the gender in one of its
    spellings (empty, X or d when unknown); M2M SIMs have neither."""
    n = len(kind)
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
    return crm_birth, crm_gender


def _draw_optouts(rng: np.random.Generator, n: int, people: np.ndarray, n_opt: int,
                  first_day_start_utc: int) -> tuple[np.ndarray, np.ndarray]:
    """Which of the `n` SIMs opted out (`n_opt` of the people), and when (ISO-8601 UTC, within
    the year before the first day)."""
    opted = np.zeros(n, dtype=bool)
    opted[rng.choice(people, n_opt, replace=False)] = True
    opted_at = np.full(n, "", dtype=object)
    secs = first_day_start_utc - (3600 + rng.random(n_opt) * 364 * 86400).astype(np.int64)
    opted_at[opted] = pd.to_datetime(secs, unit="s").strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy()
    return opted, opted_at


def _draw_homes(rng: np.random.Generator, ref: Reference, people: np.ndarray, district: np.ndarray,
                age: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Home locality and position of the people: a locality of their district, weighted by its
    residents of their age, and a point in it near built-up places."""
    n = len(age)
    loc = ref.localities
    home_lon = np.zeros(n)
    home_lat = np.zeros(n)
    locality = np.full(n, "", dtype=object)
    band_col = np.select(
        [age < 6, age < 15, age < 18, age < 27, age < 45, age < 55, age < 65],
        ["age_0_5", "age_6_14", "age_15_17", "age_18_26", "age_27_44", "age_45_54", "age_55_64"], "age_65_plus")
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
    return locality, home_lon, home_lat


def _draw_anchors(rng: np.random.Generator, ref: Reference, age: np.ndarray, kind: np.ndarray,
                  home_lon: np.ndarray, home_lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anchor kind (school, university, work or none) and position by age: schools near home,
    work near home or at a built-up place anywhere, universities at a campus district's POIs."""
    n = len(age)
    poi_lon = ref.pois["lon"].to_numpy()
    poi_lat = ref.pois["lat"].to_numpy()
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
    return anchor, anchor_lon, anchor_lat


def _place_devices(rng: np.random.Generator, ref: Reference, m2m: np.ndarray, district: np.ndarray,
                   locality: np.ndarray, home: tuple[np.ndarray, np.ndarray],
                   anchor: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """M2M devices: stationary (meters, alarms, mode 0) or vehicles with a depot (mode 1), placed
    near a built-up place. Writes their home = anchor position, district and locality in place;
    returns the mode per SIM."""
    (home_lon, home_lat), (anchor_lon, anchor_lat) = home, anchor
    poi_lon = ref.pois["lon"].to_numpy()
    poi_lat = ref.pois["lat"].to_numpy()
    m2m_mode = np.zeros(len(district), dtype=np.int8)
    m2m_mode[m2m] = np.where(rng.random(len(m2m)) < M2M_VEHICLE_SHARE, 1, 0)
    pick = rng.integers(0, len(poi_lon), len(m2m))
    home_lon[m2m], home_lat[m2m] = network.sample_near(ref.berlin, poi_lon[pick], poi_lat[pick], 300.0, rng)
    anchor_lon[m2m], anchor_lat[m2m] = home_lon[m2m], home_lat[m2m]
    if len(m2m):
        district[m2m] = _zone_of(ref.districts, home_lon[m2m], home_lat[m2m])
        locality[m2m] = _zone_of(ref.localities, home_lon[m2m], home_lat[m2m])
    return m2m_mode


def _draw_postcodes(rng: np.random.Generator, ref: Reference, locality: np.ndarray) -> np.ndarray:
    """A postcode per SIM from the zip codes of the POIs in its home locality; some empty."""
    n = len(locality)
    postcode = np.full(n, "", dtype=object)
    zips = _zips_by_locality(ref)
    u_zip = rng.random(n)
    for lid in sorted(set(locality)):
        sel = np.flatnonzero(locality == lid)
        codes = zips.get(lid) or zips.get("*", ["10115"])
        postcode[sel] = np.asarray(codes, dtype=object)[(u_zip[sel] * len(codes)).astype(int) % len(codes)]
    postcode[rng.random(n) < EMPTY_POSTCODE] = ""
    return postcode


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
