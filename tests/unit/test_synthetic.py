"""The generator's pure pieces on a toy geography (two square districts near Berlin's centre).

No Spark here: the job end to end on the real Berlin data is tests/integration/test_generate.py.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box, mapping

from footfall.errors import ConfigError
from footfall.synthetic import network
from footfall.synthetic.days import Stays, plan_day, positions_at
from footfall.synthetic.events import (
    CELL_ONLY_SHARE,
    PROFILE,
    chunk_output,
    event_times,
    format_chunk,
    imsi,
    iso_utc,
    simulate_chunk,
)
from footfall.synthetic.job import GenerateParams, _validate, add_arguments, default_subscribers, params_from_args
from footfall.synthetic.population import draw_msisdns, draw_subscribers, expected_mix
from footfall.synthetic.reference import Reference
from footfall.synthetic.truth import zones_containing
from footfall.synthetic.vocabulary import (
    CAT,
    CLASSIFICATION_ORDER,
    DEFAULT_DATE,
    DEFAULT_SEED,
    DEPOT,
    DEVICE,
    EVENT_HEADER,
    GENDER_SPELLINGS,
    HOME,
    POI,
    POI_CATEGORIES,
    ROW_FAULTS,
    STOREFRONT_CATEGORIES,
)
from footfall.synthetic.world import World, build_world, make_days
from footfall.synthetic.zones import build_zone_sets, storefront_buffers

BANDS = [("0-5", 0, 5), ("6-14", 6, 14), ("15-17", 15, 17), ("18-19", 18, 19), ("20-24", 20, 24),
         ("25-29", 25, 29), ("30-34", 30, 34), ("35-39", 35, 39), ("40-44", 40, 44), ("45-59", 45, 59),
         ("60-64", 60, 64), ("65+", 65, None)]
DAY = dt.date(2026, 3, 14)  # a Saturday
AGE_COLS = ["age_0_5", "age_6_14", "age_15_17", "age_18_26", "age_27_44", "age_45_54", "age_55_64", "age_65_plus"]


def toy_reference() -> Reference:
    """Districts 01 (west) and 02 (east), each split into a dense north and a sparse south locality."""
    d1, d2 = box(13.30, 52.48, 13.36, 52.52), box(13.36, 52.48, 13.42, 52.52)
    districts = pd.DataFrame([
        {"zone_id": "01", "name": "West", "geometry": d1, "raw": mapping(d1)},
        {"zone_id": "02", "name": "East", "geometry": d2, "raw": mapping(d2)},
    ])
    rows = []
    for did, (x0, x1) in (("01", (13.30, 13.36)), ("02", (13.36, 13.42))):
        for k, (y0, y1, pop) in enumerate(((52.50, 52.52, 40000), (52.48, 52.50, 4000))):
            g = box(x0, y0, x1, y1)
            rows.append({"zone_id": f"{did}0{k + 1}", "name": f"L{did}{k}", "district_id": did, "geometry": g,
                         "raw": mapping(g), "ortsteil_id": f"{did}0{k + 1}", "population": pop,
                         **{c: pop // 8 for c in AGE_COLS}, "female": pop // 2, "male": pop // 2})
    localities = pd.DataFrame(rows)
    rng = np.random.default_rng(3)
    n = 80
    pois = pd.DataFrame({
        "category": [POI_CATEGORIES[i % len(POI_CATEGORIES)] for i in range(n)],
        "osm_id": [str(1000 + i) for i in range(n)],
        "name": [f"poi{i}" if i % 7 else "" for i in range(n)],
        "street": "", "zip_code": ["10115" if i % 2 else "10117" for i in range(n)],
        "lat": rng.uniform(52.481, 52.519, n), "lon": rng.uniform(13.301, 13.419, n),
        "plr_id": "01100101",
    })
    population = pd.DataFrame([
        {"bezirk_id": did, "bezirk": did, "gender": g, "age_band": b, "age_min": lo,
         "age_max": "" if hi is None else str(hi), "population": 1000 * (2 if did == "01" else 1)}
        for did in ("01", "02") for g in ("m", "f") for b, lo, hi in BANDS
    ])
    return Reference(districts, localities, pois, population, shapely.union_all([d1, d2]))


@pytest.fixture(scope="module")
def ref() -> Reference:
    return toy_reference()


@pytest.fixture(scope="module")
def plan(ref: Reference) -> network.CellPlan:
    locs = ref.localities
    return network.build_cell_plan(list(locs["geometry"]), locs["population"].to_numpy(float), ref.berlin,
                                   ref.pois["lon"].to_numpy(), ref.pois["lat"].to_numpy(), 1, DAY)


def make_world(ref: Reference, plan: network.CellPlan, n: int = 60, faults: dict[str, float] | None = None,
               days: int = 1, first: dt.date = DAY, events: float = 100.0) -> tuple[World, pd.DataFrame]:
    zones = build_zone_sets(ref, STOREFRONT_CATEGORIES, 25.0)
    day_list = make_days(first, days, "Europe/Berlin")
    subs = draw_subscribers(ref, n, 7, first, day_list[0].start_utc, {"m2m": 0.1, "opted_out": 0.1})
    faults = ROW_FAULTS if faults is None else faults
    return build_world(ref, subs, plan, zones, day_list, 7, events, faults, "csv", 25), subs


@pytest.fixture(scope="module")
def world(ref: Reference, plan: network.CellPlan) -> World:
    return make_world(ref, plan)[0]


# ------------------------------------------------------------------------------ subscribers


def test_msisdns_are_distinct_german_mobile_numbers():
    m = draw_msisdns(np.random.default_rng(1), 5000)
    assert len(set(m.tolist())) == 5000
    for x in m[:200]:
        text = str(x)
        assert re.fullmatch(r"49(176|179|159|177|178|157|163)\d{8}", text), text


def test_expected_mix_weights_children_by_sim_ownership(ref: Reference):
    mix = expected_mix(ref.population)
    assert mix["share"].sum() == pytest.approx(1.0)
    by_band = mix.groupby("age_band")["share"].sum()
    assert by_band["0-5"] == 0.0
    assert by_band["6-14"] == pytest.approx(by_band["18-19"] * 0.5)  # same residents, half own a SIM
    assert by_band["15-17"] == pytest.approx(by_band["18-19"] * 0.95)


def test_subscribers_follow_the_table_and_carry_crm_noise(ref: Reference):
    day = make_days(DAY, 1, "Europe/Berlin")[0]
    subs = draw_subscribers(ref, 4000, 11, DAY, day.start_utc, {"m2m": 0.05, "opted_out": 0.02})
    assert (subs["kind"] == "m2m").sum() == 200  # exact shares
    assert subs["opted_out"].sum() == 80
    assert not (subs["opted_out"] & (subs["kind"] == "m2m")).any()
    people = subs[subs["kind"] != "m2m"]
    # District 01 has twice the residents of 02.
    share01 = (people["district_id"] == "01").mean()
    assert share01 == pytest.approx(2 / 3, abs=0.03)
    assert people["true_age"].min() >= 6  # nobody under 6 has a SIM
    # Homes lie inside their district; the locality belongs to the district.
    for did, geom in zip(ref.districts["zone_id"], ref.districts["geometry"], strict=True):
        sel = people[people["district_id"] == did]
        assert shapely.contains_xy(geom, sel["home_lon"], sel["home_lat"]).all()
        assert sel["locality_id"].str[:2].eq(did).all()
    # Dense localities (40,000 residents) get about ten times the homes of sparse ones (4,000).
    dense = people["locality_id"].str.endswith("1").mean()
    assert dense == pytest.approx(10 / 11, abs=0.03)
    # CRM birth dates give the true age on the first day; unknown ones are empty.
    known = people[people["crm_birth_date"] != ""]
    born = pd.to_datetime(known["crm_birth_date"])
    age = DAY.year - born.dt.year - ((DAY.month * 100 + DAY.day) < (born.dt.month * 100 + born.dt.day))
    assert (age.to_numpy() == known["true_age"].to_numpy()).all()
    assert 0.005 < (people["crm_birth_date"] == "").mean() < 0.08
    spellings = {s for v in GENDER_SPELLINGS.values() for s in v[0]}
    assert set(subs["crm_gender"]) <= spellings
    assert {"F", "f", "female", "w", "M", "m", "male", "X", ""} <= set(subs["crm_gender"])
    opted = subs[subs["opted_out"]]
    assert (pd.to_datetime(opted["opted_out_at"]).astype("int64") // 10**9 < day.start_utc).all()
    assert set(subs["postcode"]) <= {"10115", "10117", ""}


def test_default_subscribers_is_market_share_times_residents(ref: Reference):
    assert default_subscribers(ref.population, 0.3) == round(0.3 * 2 * 2 * 12 * 1500)


# --------------------------------------------------------------------------------- days, time


def test_days_know_their_utc_start_and_dst_length():
    days = make_days(dt.date(2026, 3, 28), 2, "Europe/Berlin") + make_days(dt.date(2026, 10, 25), 1,
                                                                           "Europe/Berlin")
    assert days[0].start_utc == int(dt.datetime(2026, 3, 27, 23, tzinfo=dt.UTC).timestamp())
    assert [d.length_s for d in days] == [86400, 82800, 90000]
    assert [d.kind for d in days] == ["saturday", "sunday", "sunday"]


def test_event_times_are_strictly_increasing_inside_the_day_and_bursty():
    counts = []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        for length in (82800, 86400, 90000):
            t = event_times(rng, 100.0, length, PROFILE["weekday"])
            assert (np.diff(t) > 0).all()
            assert t.min() >= 0 and t.max() < length
            if length == 86400:
                counts.append(len(t))
                gaps = np.diff(t)
    assert np.mean(counts) == pytest.approx(100.0, rel=0.05)
    assert (gaps < 60).mean() > 0.4  # bursts: a Poisson stream of 100/day would have ~7% under a minute


def test_iso_utc_formats_whole_seconds_with_z():
    assert iso_utc(np.array([1773442800, 0])).to_pylist() == ["2026-03-13T23:00:00Z", "1970-01-01T00:00:00Z"]


# ------------------------------------------------------------------------------------ movement


def test_positions_interpolate_between_stays():
    stays = Stays(np.array([0, 1000]), np.array([600, 2000]), np.array([13.0, 13.2]), np.array([52.0, 52.2]),
                  np.array([HOME, POI], np.int8), np.array([-1, 3]))
    lon, lat, moving = positions_at(stays, np.array([0, 599, 600, 800, 1000, 1999]))
    assert moving.tolist() == [False, False, True, True, False, False]
    assert lon.tolist() == pytest.approx([13.0, 13.0, 13.0, 13.1, 13.2, 13.2])
    assert lat[3] == pytest.approx(52.1)


def test_day_plans_cover_the_day_from_home_to_home(world: World):
    for day in make_days(dt.date(2026, 3, 13), 3, "Europe/Berlin"):  # Friday, Saturday, Sunday
        trips = 0
        for s in range(world.n):
            st = plan_day(world, s, day)
            assert st.start[0] == 0 and st.end[-1] == day.length_s
            assert (st.end > st.start).all()
            assert (st.start[1:] >= st.end[:-1]).all()  # travel gaps, never overlaps
            home = DEVICE if world.is_m2m[s] and not world.m2m_vehicle[s] else (
                DEPOT if world.is_m2m[s] else HOME)
            assert st.kind[0] == home and st.kind[-1] == home
            assert (st.lon[0], st.lat[0]) == (world.home_lon[s], world.home_lat[s])
            poi = st.poi[st.kind == POI]
            assert (world.poi_lon[poi] == st.lon[st.kind == POI]).all()
            trips += len(poi)
            dwell_min = (st.end - st.start)[st.kind == POI] / 60
            assert dwell_min.min(initial=2) >= 2 and dwell_min.max(initial=0) <= 180
            if day.kind == "sunday":
                cats = world.poi_cat[poi]
                assert not np.isin(cats, [CAT["supermarkets"], CAT["marketplaces"]]).any() or world.is_m2m[s]
        assert trips > world.n  # more than one POI stay per subscriber and day on average


# ------------------------------------------------------------------------------------- network


def test_cell_plan_has_three_sectors_per_site_more_sites_where_people_live(ref: Reference,
                                                                           plan: network.CellPlan):
    rows = plan.cells_csv().splitlines()
    assert rows[0] == ",".join(network.CELLS_HEADER)
    body = [r.split(",") for r in rows[1:]]
    ids = [r[0] for r in body]
    assert len(ids) == len(set(ids)) == 3 * plan.n_sites + len(plan.retired_rows)
    assert all(re.fullmatch(r"262-07-\d{6}-\d{1,2}", i) for i in ids)
    active = [r for r in body if r[9] == ""]
    assert len(active) == 3 * plan.n_sites
    assert {r[7] for r in active} <= {"LTE", "NR"}
    assert all(r[7] == "UMTS" and r[9] == "2021-12-31" for r in body if r[9] != "")
    assert all(r[8] < DAY.isoformat() for r in active)
    per_site = pd.Series([r[1] for r in active]).value_counts()
    assert (per_site == 3).all()
    assert shapely.contains_xy(ref.berlin, plan.site_lon, plan.site_lat).all()
    dense = [g for g, p in zip(ref.localities["geometry"], ref.localities["population"], strict=True) if p == 40000]
    in_dense = sum(shapely.contains_xy(g, plan.site_lon, plan.site_lat).sum() for g in dense)
    assert in_dense > 0.75 * plan.n_sites  # 40,000 vs 4,000 residents per locality of equal area


def test_serving_cell_is_in_reach_and_its_sector_faces_the_position(ref: Reference, plan: network.CellPlan):
    rng = np.random.default_rng(5)
    lon, lat = network.sample_points_in(ref.berlin, 4000, rng)
    cell = plan.serving_cells(lon, lat, rng.random(4000))
    site, sector = cell // 3, cell % 3
    d = network.distance_m(lon, lat, plan.site_lon[site], plan.site_lat[site])
    nearest = network._nearest_three(lon, lat, plan.site_lon, plan.site_lat)[0][:, 0]
    assert ((d <= plan.range_m[site]) | (site == nearest)).all()
    assert (site == nearest).mean() > 0.6
    brg = network.bearing_deg(plan.site_lon[site], plan.site_lat[site], lon, lat)
    off = np.abs((brg - plan.azimuth[site, sector] + 180) % 360 - 180)
    assert (off <= network.BEAMWIDTH_DEG / 2 + 1e-9).all()


def _nearest_by_brute_force(lon, lat, site_lon, site_lat, k):
    """Every site's distance to every point, at the point's own metres per degree."""
    m_lon, m_lat = network.metres_per_degree(lat)
    dx = (site_lon[None, :] - lon[:, None]) * m_lon[:, None]
    dy = (site_lat[None, :] - lat[:, None]) * m_lat[:, None]
    d2 = dx * dx + dy * dy
    order = np.lexsort((np.broadcast_to(np.arange(len(site_lon)), d2.shape), d2), axis=1)[:, :k]
    return order, np.sqrt(np.take_along_axis(d2, order, axis=1))


@pytest.mark.parametrize(("n_sites", "lat_range"), [(3, (52.4, 52.6)), (13, (52.4, 52.6)), (1500, (52.33, 52.68)),
                                                    (200, (40.0, 65.0))])
def test_nearest_sites_are_those_of_a_brute_force_search(n_sites: int, lat_range: tuple[float, float]):
    """The k-d tree's answer equals comparing every site, also where the latitude (and so the
    metres per degree) varies far more than across Berlin."""
    rng = np.random.default_rng(n_sites)
    site_lon, site_lat = rng.uniform(13.08, 13.77, n_sites), rng.uniform(*lat_range, n_sites)
    lon = np.concatenate([rng.uniform(12.9, 13.95, 5000), site_lon])  # the sites themselves too
    lat = np.concatenate([rng.uniform(lat_range[0] - 0.1, lat_range[1] + 0.1, 5000), site_lat])
    idx, dist = network._nearest_three(lon, lat, site_lon, site_lat)
    want_idx, want_dist = _nearest_by_brute_force(lon, lat, site_lon, site_lat, 3)
    assert np.array_equal(idx, want_idx)
    assert np.array_equal(dist, want_dist)


def test_storefront_buffers_have_the_requested_radius():
    lon, lat = np.array([13.4050, 13.3777]), np.array([52.5200, 52.5163])
    polys = storefront_buffers(lon, lat, 25.0)
    geod = Geod(ellps="WGS84")
    for x, y, poly in zip(lon, lat, polys, strict=True):
        assert poly.contains(shapely.Point(x, y))
        vx, vy = np.asarray(poly.exterior.coords).T
        _, _, dist = geod.inv(np.full(len(vx), x), np.full(len(vy), y), vx, vy)
        assert np.allclose(dist, 25.0, atol=0.2)  # UTM 33N scale error is ~0.04% here


def test_storefront_zones_are_unique_per_osm_object(ref: Reference):
    pois = pd.concat([ref.pois, ref.pois.iloc[[0]].assign(category="cafes")])  # one object in two categories
    zones = build_zone_sets(Reference(ref.districts, ref.localities, pois, ref.population, ref.berlin))
    ids = [z.zone_id for z in zones["storefronts"]]
    assert len(ids) == len(set(ids))
    assert all(z.category in STOREFRONT_CATEGORIES for z in zones["storefronts"])
    assert [z.zone_id for z in zones["districts"]] == ["01", "02"]


def test_storefronts_keeps_the_same_subset_and_the_world_visits_only_those_shops(ref: Reference, plan):
    """--storefronts N: N of the store fronts (the smallest CRC-32 of the zone id: the same on every
    run), and the world's POIs of the store-front categories are those N; the other categories'
    POIs all stay. N at or above the count keeps every store front."""
    every = build_zone_sets(ref)["storefronts"]
    kept = build_zone_sets(ref, storefronts=5)["storefronts"]
    assert len(every) == 48  # POIs 0..79 cycle through 10 categories, the first 6 are store fronts
    by_hash = sorted(every, key=lambda z: zlib.crc32(z.zone_id.encode()))[:5]
    assert kept == sorted(by_hash, key=lambda z: z.zone_id)
    assert build_zone_sets(ref, storefronts=48)["storefronts"] == every
    zones = {**build_zone_sets(ref), "storefronts": kept}
    day_list = make_days(DAY, 1, "Europe/Berlin")
    subs = draw_subscribers(ref, 20, 7, DAY, day_list[0].start_utc, {"m2m": 0.0, "opted_out": 0.0})
    world = build_world(ref, subs, plan, zones, day_list, 7, 10.0, {}, "csv", 25, only_zoned_shops=True)
    shops = np.isin(world.poi_cat, [CAT[c] for c in STOREFRONT_CATEGORIES])
    assert sorted(world.poi_osm[shops]) == sorted(str(z.extra["osm_id"]) for z in kept)
    assert (~shops).sum() == 80 - 48
    with pytest.raises(ConfigError, match="--storefronts 0: give a positive number"):
        _validate(GenerateParams(storefronts=0))


# -------------------------------------------------------------------------- noise and faults


def test_measured_positions_scatter_as_accuracy_says(ref: Reference, plan: network.CellPlan):
    w, _ = make_world(ref, plan, n=80, faults={})
    day = w.days[0]
    ev = simulate_chunk(w, day, range(w.n))
    rows = format_chunk(w, day, ev)
    lon = np.array(rows.fields["lon"].to_pylist(), dtype=float)
    lat = np.array(rows.fields["lat"].to_pylist(), dtype=float)
    acc = np.array(rows.fields["accuracy_m"].to_pylist(), dtype=float)
    measured = ~np.isnan(lon)
    device = w.is_m2m[ev.sub] & ~w.m2m_vehicle[ev.sub]
    share = measured[~device].mean()
    assert share == pytest.approx(1 - CELL_ONLY_SHARE, abs=0.02)
    assert np.isnan(lat[~measured]).all() and np.isnan(acc[~measured]).all()  # all three or none
    assert acc[measured].min() >= 5 and acc[measured].max() <= 100
    err = network.distance_m(ev.lon[measured], ev.lat[measured], lon[measured], lat[measured])
    within = (err <= acc[measured]).mean()
    assert within == pytest.approx(0.68, abs=0.03)  # accuracy_m is the 68% radius
    assert rows.fault.max() == -1 and len(rows.order) == len(ev.t)


def test_every_row_fault_is_injected_once_and_counted(ref: Reference, plan: network.CellPlan):
    rates = dict.fromkeys(ROW_FAULTS, 0.02)
    w, subs = make_world(ref, plan, n=60, faults=rates)
    day = w.days[0]
    batch, counts = chunk_output(w, day, 0)
    lines = batch.column(0).to_pylist()
    assert lines[0] == EVENT_HEADER
    body = lines[1:]
    assert counts["rows"] == len(body) == sum(counts[k] for k in CLASSIFICATION_ORDER)
    for name in ROW_FAULTS:
        assert counts[name] > 0, name
    # Structural checks that need no knowledge of the generator's internals.
    assert sum(len(line.split(",")) != 7 for line in body) == counts["malformed"] + counts["shifted_columns"]
    # Shifted: an IMSI (262 07 + 10 digits) before a complete row of a CRM msisdn, the same IMSI per SIM.
    shifted = [f for f in (line.split(",") for line in body)
               if len(f) == 8 and re.fullmatch(r"26207[0-9]{10}", f[0]) and f[1] in set(subs["msisdn"].astype(str))]
    assert len(shifted) == counts["shifted_columns"]
    assert all(imsi(int(f[1])) == f[0] for f in shifted)
    assert len({f[0] for f in shifted}) == len({f[1] for f in shifted})  # one IMSI per SIM
    seen: set[str] = set()
    repeats = 0
    for line in body:
        repeats += line in seen
        seen.add(line)
    assert repeats == counts["duplicate"]
    crm = set(subs["msisdn"].astype(str))
    fields = [line.split(",") for line in body if len(line.split(",")) == 7]
    ghosts = sum(f[0] != "" and f[0] not in crm for f in fields)
    assert ghosts == counts["unknown_msisdn"]
    cells = {r.split(",")[0] for r in plan.cells_csv().splitlines()[1:]}
    assert sum(f[2] != "" and f[2] not in cells for f in fields) == counts["unknown_cell"]
    # Excluded subscribers' rows carry no injected fault: every faulty row is an eligible one.
    excluded = set(subs.loc[subs["opted_out"] | (subs["kind"] == "m2m"), "msisdn"].astype(str))
    assert not any(f[0] in excluded for f in fields if f[2] != "" and f[2] not in cells)
    assert counts["opted_out"] == sum(f[0] in set(subs.loc[subs["opted_out"], "msisdn"].astype(str)) for f in fields)


# ---------------------------------------------------------------------------------------- CLI


def test_options_parse_and_bad_values_are_refused():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--fault", "duplicate=0.01", "--fault", "m2m=0.05", "--days", "2"])
    p = params_from_args(args)
    assert p.row_faults()["duplicate"] == 0.01 and p.shares()["m2m"] == 0.05 and p.days == 2
    assert p.first_date == DEFAULT_DATE and p.seed == DEFAULT_SEED and p.subscribers is None
    assert GenerateParams(fmt="parquet").row_faults()["malformed"] == 0.0
    assert GenerateParams(fmt="parquet").row_faults()["shifted_columns"] == 0.0
    with pytest.raises(ConfigError, match="shifted_columns lines exist only with --format csv"):
        _validate(GenerateParams(fmt="parquet", faults={"shifted_columns": 0.01}))
    with pytest.raises(ConfigError, match="unknown fault 'typo'"):
        _validate(GenerateParams(faults={"typo": 0.1}))
    with pytest.raises(ConfigError, match="csv"):
        _validate(GenerateParams(fmt="parquet", truncated_gzip=True))
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        _validate(GenerateParams(faults={"duplicate": 1.5}))
    with pytest.raises(SystemExit):
        parser.parse_args(["--fault", "duplicate"])


def test_under_18_uses_the_crm_birth_date_on_each_day(world: World):
    w = world
    w2 = World(**{**w.__dict__, "birth_y": np.array([2008, 2008, -1]), "birth_md": np.array([314, 315, 0])})
    day = make_days(DAY, 1, "Europe/Berlin")[0]  # 2026-03-14: born 2008-03-14 turns 18 today
    assert w2.under_18(np.array([0, 1, 2]), day).tolist() == [False, True, False]
    assert math.isclose(day.length_s / 3600, 24)


def test_zones_containing_matches_shapely_contains(world: World):
    rng = np.random.default_rng(9)
    lon = np.r_[rng.uniform(13.29, 13.43, 300), 13.36, 13.36, world.poi_lon[:20]]  # 13.36: on a border
    lat = np.r_[rng.uniform(52.47, 52.53, 300), 52.49, 52.49, world.poi_lat[:20]]
    lon[1], lat[1] = lon[0], lat[0]  # a repeated position
    point_i, zone_i = zones_containing(world, lon, lat)
    want = [(p, z) for p in range(len(lon)) for z in range(len(world.zone_geom))
            if world.zone_geom[z].contains(shapely.Point(lon[p], lat[p]))]
    assert list(zip(point_i.tolist(), zone_i.tolist(), strict=True)) == want
    assert not any(world.zone_set[z] == "districts" for p, z in want if p in (300, 301))
