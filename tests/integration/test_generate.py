"""`footfall generate` end to end on the real Berlin reference data, tiny: a few hundred
subscribers x ~20 events over two days (one of them the 23-hour DST day).

The fault counts are checked by classifying every written line here, with Python's gzip and csv
and the rules stated in report.json, independently of the generator's code.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import shape
from support import REFERENCE_DIR, make_config

from footfall.synthetic import job as generator
from footfall.synthetic.job import GenerateParams
from footfall.synthetic.population import draw_subscribers, expected_mix
from footfall.synthetic.reference import load_reference
from footfall.synthetic.vocabulary import (
    BERLIN_BBOX,
    CLASSIFICATION_ORDER,
    DEFAULT_DATE,
    EVENT_COLUMNS,
    EVENT_HEADER,
    EVENT_TYPES,
    ROW_FAULTS,
    STOREFRONT_CATEGORIES,
    SUBSCRIBER_COLUMNS,
    ZONE_SETS,
)

pytestmark = pytest.mark.slow

FIRST = dt.date(2026, 3, 28)  # Saturday; Sunday 2026-03-29 has 23 hours
FAULTS = {name: 0.01 for name in ROW_FAULTS}  # high enough that every type appears


def params(**kw: object) -> GenerateParams:
    base: dict[str, object] = dict(first_date=FIRST, days=2, subscribers=400, events_per_subscriber=20, seed=42,
                                   faults=FAULTS, subscribers_per_file=150)
    base.update(kw)
    return GenerateParams(**base)  # type: ignore[arg-type]


def generate(spark, root: Path, p: GenerateParams) -> tuple[Path, Path, dict]:
    cfg = make_config(root)
    land, truth = Path(cfg.path("landing_dir")), Path(cfg.path("truth_dir"))
    report = generator.run(spark, p, str(REFERENCE_DIR), str(land), str(truth), cfg.time_zone)
    return land, truth, report


@pytest.fixture(scope="module")
def first(spark, tmp_path_factory):
    return generate(spark, tmp_path_factory.mktemp("gen-a"), params())


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------- an independent classifier


def classify(land: Path, time_zone: str = "Europe/Berlin") -> dict[str, Counter]:
    """Every data line of every events file -> one category, by the rules in report.json."""
    crm = {r["msisdn"]: r for r in csv.DictReader((land / "subscribers" / "subscribers.csv").open())}
    opted = {r["msisdn"] for r in csv.DictReader((land / "optouts" / "optouts.csv").open())}
    cells = {r["cell_id"] for r in csv.DictReader((land / "cells" / "cells.csv").open())}
    x0, y0, x1, y1 = BERLIN_BBOX
    out: dict[str, Counter] = {}
    for folder in sorted((land / "events").iterdir()):
        day = dt.date.fromisoformat(folder.name.removeprefix("date="))
        tz = ZoneInfo(time_zone)
        start = dt.datetime.combine(day, dt.time(), tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)
        seen: set[str] = set()
        for f in sorted(folder.iterdir()):
            counts: Counter = Counter()
            with gzip.open(f, "rt", newline="") as fh:
                assert fh.readline().rstrip("\n") == EVENT_HEADER
                for raw in fh:
                    line = raw.rstrip("\n")
                    counts[_category(line, seen, crm, opted, cells, start, end, day, (x0, y0, x1, y1))] += 1
                    seen.add(line)
            out[f"events/{folder.name}/{f.name}"] = counts
    return out


def _category(line, seen, crm, opted, cells, start, end, day, bbox) -> str:
    fields = next(csv.reader([line]))
    if (len(fields) == 8 and re.fullmatch(r"26207[0-9]{10}", fields[0])
            and _category(",".join(fields[1:]), seen, crm, opted, cells, start, end, day, bbox) == "clean"):
        return "shifted_columns"  # an IMSI before a clean row
    if len(fields) != 7:
        return "malformed"
    msisdn, ts, cell, etype, lon, lat, acc = fields
    pos = [lon != "", lat != "", acc != ""]
    if "" in (msisdn, ts, cell, etype) or (any(pos) and not all(pos)):
        return "missing_field"
    try:
        t = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return "bad_timestamp"
    if not start <= t < end:
        return "outside_day"
    if all(pos):
        x, y = float(lon), float(lat)
        if not (bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]):  # NaN fails every comparison
            return "bad_coordinates"
    if cell not in cells:
        return "unknown_cell"
    if line in seen:
        return "duplicate"
    if msisdn not in crm:
        return "unknown_msisdn"
    if msisdn in opted:
        return "opted_out"
    row = crm[msisdn]
    if row["contract_type"] == "m2m":
        return "m2m"
    if row["birth_date"]:
        b = dt.date.fromisoformat(row["birth_date"])
        if day.year - b.year - ((day.month, day.day) < (b.month, b.day)) < 18:
            return "under_18"
    return "clean"


# ------------------------------------------------------------------------------------------ tests


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(spark, first, tmp_path):
    land_a, _, report_a = first
    land_b, _, report_b = generate(spark, tmp_path / "b", params())
    a, b = digests(land_a), digests(land_b)
    assert a == b
    assert report_a["files"] == report_b["files"]
    names = sorted(a)
    assert "cells/cells.csv" in names and "subscribers/subscribers.csv" in names and "optouts/optouts.csv" in names
    assert [n for n in names if n.startswith("zones/")] == [
        "zones/districts.geojson", "zones/localities.geojson", "zones/storefronts.geojson"]
    assert [n for n in names if n.startswith("events/")] == [
        f"events/date={d}/part-{i:05d}.csv.gz" for d in ("2026-03-28", "2026-03-29") for i in range(3)]

    # Another seed (one day, and the last file cut in half): other subscribers, other events.
    land_c, _, report_c = generate(spark, tmp_path / "c", params(seed=7, days=1, truncated_gzip=True))
    c = digests(land_c)
    for name in ("subscribers/subscribers.csv", "optouts/optouts.csv", "cells/cells.csv",
                 "events/date=2026-03-28/part-00000.csv.gz", "events/date=2026-03-28/part-00001.csv.gz"):
        assert c[name] != a[name], name
    assert c["zones/districts.geojson"] == a["zones/districts.geojson"]  # reference data, not random
    cut = report_c["truncated_file"]
    assert cut["file"] == "events/date=2026-03-28/part-00002.csv.gz"
    assert (land_c / cut["file"]).stat().st_size == cut["bytes_kept"] < cut["bytes_original"]
    with pytest.raises(EOFError), gzip.open(land_c / cut["file"], "rt") as fh:
        fh.read()
    with gzip.open(land_c / "events/date=2026-03-28/part-00001.csv.gz", "rt") as fh:
        assert sum(1 for _ in fh) - 1 == report_c["files"]["events/date=2026-03-28/part-00001.csv.gz"]["rows"]


def test_every_fault_appears_exactly_as_often_as_the_report_says(first):
    land, truth, report = first
    assert json.loads((truth / "report.json").read_text()) == report
    found = classify(land)
    assert set(found) == set(report["files"])
    total: Counter = Counter()
    for name, counts in found.items():
        expected = {k: v for k, v in report["files"][name].items() if k in CLASSIFICATION_ORDER and v}
        assert dict(counts) == expected, name
        assert sum(counts.values()) == report["files"][name]["rows"]
        total += counts
    assert {k: total[k] for k in CLASSIFICATION_ORDER} == report["faults"]
    for name in (*ROW_FAULTS, "opted_out", "m2m", "under_18"):
        assert report["faults"][name] > 0, name
    assert sum(report["events"]["rows_by_day"].values()) == sum(sum(c.values()) for c in found.values())
    subs = report["subscribers"]
    assert subs["total"] == 400 and subs["m2m"] == 12 and subs["opted_out"] == 8  # 3% and 2%, exact
    assert subs["consumer"] + subs["business"] + subs["m2m"] == 400


def test_landing_rows_look_like_an_operator_export(first):
    land, _, _ = first
    with gzip.open(land / "events" / "date=2026-03-28" / "part-00000.csv.gz", "rt") as fh:
        rows = [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in csv.reader(fh) if len(r) == 7][1:]
    assert len(rows) > 1000
    assert all(len(r["msisdn"]) == 13 and r["msisdn"].startswith("49") for r in rows if r["msisdn"])
    assert {r["event_type"] for r in rows} <= {*EVENT_TYPES, ""}
    only_cell = sum(r["lon"] == "" and r["lat"] == "" and r["accuracy_m"] == "" for r in rows) / len(rows)
    assert 0.05 < only_cell < 0.2
    times = [r["event_time"] for r in rows if len(r["event_time"]) == 20]
    assert times[0].startswith("2026-03-27T23:")  # local midnight in UTC
    subs = pd.read_csv(land / "subscribers" / "subscribers.csv", dtype=str, keep_default_na=False)
    assert list(subs.columns) == list(SUBSCRIBER_COLUMNS)
    assert set(subs["contract_type"]) == {"consumer", "business", "m2m"}
    assert subs["msisdn"].is_unique
    cells = pd.read_csv(land / "cells" / "cells.csv", dtype=str, keep_default_na=False)
    assert list(cells.columns) == ["cell_id", "site_id", "lon", "lat", "azimuth_deg", "beamwidth_deg", "range_m",
                                   "radio", "valid_from", "valid_to"]
    zones = json.loads((land / "zones" / "storefronts.geojson").read_text())["features"]
    assert 4500 < len(zones) < 5100
    assert {f["properties"]["category"] for f in zones} == set(STOREFRONT_CATEGORIES)
    assert all(f["properties"]["zone_id"].startswith("osm-") for f in zones)
    loc = json.loads((land / "zones" / "localities.geojson").read_text())["features"]
    assert len(loc) == 96 and all(shape(f["geometry"]).is_valid for f in loc)
    source = json.loads(gzip.decompress((REFERENCE_DIR / "berlin_ortsteile.geojson.gz").read_bytes()))
    src = {f["properties"]["ortsteil_id"]: f["geometry"] for f in source["features"]}
    assert all(f["geometry"] == src[f["properties"]["zone_id"]] for f in loc)  # full precision, verbatim


def test_every_truth_visit_lies_inside_its_zone(first):
    land, truth, _ = first
    visits = pq.read_table(truth / "visits").to_pandas()
    geoms = {}
    for zset in ZONE_SETS:
        for f in json.loads((land / "zones" / f"{zset}.geojson").read_text())["features"]:
            geoms[(zset, f["properties"]["zone_id"])] = shape(f["geometry"])
    assert set(visits["zone_set"]) == set(ZONE_SETS)
    zone = np.array([geoms[(s, z)] for s, z in zip(visits["zone_set"], visits["zone_id"], strict=True)])
    assert shapely.contains_xy(zone, visits["lon"].to_numpy(), visits["lat"].to_numpy()).all()
    assert (visits["start"] < visits["end"]).all()
    tz = ZoneInfo("Europe/Berlin")
    local_start = visits["start"].dt.tz_convert(tz).dt.date
    local_end = (visits["end"] - pd.Timedelta(seconds=1)).dt.tz_convert(tz).dt.date
    assert (local_start == visits["event_date"]).all() and (local_end == visits["event_date"]).all()
    # Every subscriber's day is covered by stays in exactly one district at a time, home at midnight.
    d = visits[visits["zone_set"] == "districts"].sort_values(["msisdn", "start"])
    assert d.groupby(["msisdn", "event_date"]).size().min() >= 1
    assert (d.groupby(["msisdn", "event_date"])["stay_type"].first().isin(["home", "device", "depot"])).all()
    crm = pd.read_csv(land / "subscribers" / "subscribers.csv", dtype=str)
    assert set(d["msisdn"]) == set(crm["msisdn"])
    subs = pq.read_table(truth / "subscribers").to_pandas()
    assert len(subs) == 400 and set(subs["kind"]) == {"consumer", "business", "m2m"}
    homes = d[d["stay_type"] == "home"].merge(subs, on="msisdn")
    assert (homes["zone_id"] == homes["district_id"]).all()  # a home lies inside its district
    # A stay at a store-front POI is a visit to that POI's zone (and to any other buffer it lies in).
    stores = {z for (zset, z) in geoms if zset == "storefronts"}
    at_store = d[(d["stay_type"] == "poi") & ("osm-" + d["poi_osm_id"]).isin(stores)]
    sv = visits[visits["zone_set"] == "storefronts"]
    got = set(zip(sv["msisdn"], sv["start"], sv["zone_id"], strict=True))
    want = set(zip(at_store["msisdn"], at_store["start"], "osm-" + at_store["poi_osm_id"], strict=True))
    assert len(want) > 100 and want <= got


def test_spark_reads_the_landing_events_with_the_expected_header(spark, first):
    land, _, report = first
    df = spark.read.csv(str(land / "events" / "date=2026-03-29"), header=True)
    assert df.columns == list(EVENT_COLUMNS)
    assert df.count() == report["events"]["rows_by_day"]["2026-03-29"]


def test_parquet_events_have_the_same_columns_as_strings(spark, tmp_path):
    only_duplicates = {**dict.fromkeys(ROW_FAULTS, 0.0), "duplicate": 0.02}
    land, _, report = generate(spark, tmp_path / "p", params(days=1, subscribers=200, fmt="parquet",
                                                             faults=only_duplicates))
    files = sorted((land / "events" / "date=2026-03-28").iterdir())
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet"]
    table = pq.ParquetFile(files[0]).read()
    assert table.column_names == list(EVENT_COLUMNS) and all(str(t) == "string" for t in table.schema.types)
    assert table.num_rows == report["files"]["events/date=2026-03-28/part-00000.parquet"]["rows"]
    faults = report["faults"]
    assert faults["malformed"] == faults["shifted_columns"] == 0 and faults["duplicate"] > 0
    lon = table.column("lon").to_pylist()
    assert None in lon and all(v is None or 13.0 < float(v) < 13.9 for v in lon)  # cell-only rows are NULL


def test_subscriber_mix_matches_the_population_table():
    """200,000 SIMs: each district x gender x age-band share of the people is within 0.001 of
    the population table's share (weighted by SIM ownership for children); total variation
    distance below 1.5%. Expected noise: one standard deviation is at most 0.0003."""
    ref = load_reference(REFERENCE_DIR)
    subs = draw_subscribers(ref, 200_000, 42, DEFAULT_DATE)
    people = subs[subs["kind"] != "m2m"]
    mix = expected_mix(ref.population)
    edges = sorted({int(a) for a in mix["age_min"]})
    band_of = np.searchsorted(edges, people["true_age"].to_numpy(), side="right") - 1
    labels = mix.drop_duplicates("age_min").set_index(mix.drop_duplicates("age_min")["age_min"].astype(int))
    got = pd.DataFrame({"bezirk_id": people["district_id"].to_numpy(),
                        "gender": np.where(people["true_gender"] == "F", "f", "m"),
                        "age_band": labels.loc[np.asarray(edges)[band_of], "age_band"].to_numpy()})
    share = got.value_counts(normalize=True).rename("got").reset_index()
    cmp = mix.merge(share, on=["bezirk_id", "gender", "age_band"], how="left").fillna({"got": 0.0})
    assert (cmp["got"] - cmp["share"]).abs().max() < 0.001
    assert 0.5 * (cmp["got"] - cmp["share"]).abs().sum() < 0.015
    assert (subs["kind"] == "m2m").sum() == 6000 and subs["opted_out"].sum() == 4000
    assert 0.05 < (people["kind"] == "business").mean() < 0.06  # 8% of the 25-64 year olds
    assert people["true_age"].between(6, 99).all()
