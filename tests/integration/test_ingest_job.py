"""load-reference + ingest end to end on a hand-written landing folder (gzip CSVs written here)."""

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from support import make_config

from footfall.errors import BadInputError, MissingKeyError
from footfall.pipeline import ingest, reference
from footfall.privacy.pseudonym import epoch_key
from footfall.schemas import EVENTS, MARKET_SHARE, REJECTED_EVENTS, RUNS, SUBSCRIBERS, ZONES, C

DAY = dt.date(2026, 6, 20)  # CEST: the local day is 2026-06-19T22:00Z .. 2026-06-20T22:00Z
MASTER = "a1" * 32
KEY_ENV = "FOOTFALL_PSEUDONYM_KEY"
EPOCH_DAYS = 28  # privacy.key_epoch_days of conf/base.yaml
HEADER = "msisdn,event_time,cell_id,event_type,lon,lat,accuracy_m"
ZONE_SET = "it_ingest"
NO_LANDING_DAY = dt.date(2026, 6, 21)  # ingest refuses it: no landing folder (a failed ops.runs row)
IMSI = "262070000000001"
EPOCH_MS = "1781946000000"  # 2026-06-20T09:00:00Z in epoch milliseconds: looks like an msisdn

PART0 = """\
491,2026-06-20T08:00:00Z,c1,attach,13.40,52.50,25
+49 1,2026-06-19T22:00:00Z,c1,sms,,,
491,2026-06-20T08:00:00Z,c1,attach,13.40,52.50,25
491,2026-06-20T22:00:00Z,c1,sms,,,
491,not-a-time,c1,sms,,,
491,2026-06-20T09:00:00Z,c9,sms,,,
491,2026-06-20T09:00:00Z,c1,,,,
491,2026-06-20T09:00:00Z,c1,attach,0.0,0.0,10
491,2026-06-20T09:00:00Z,c1
,2026-06-20T09:00:00Z,c1,attach,,,
262070000000001,491,2026-06-20T09:30:00Z,c1,attach,13.40,52.50,25
491,1781946000000,c1,sms,,,
"""
# The blank line is skipped by Spark's CSV reader: 495's NaN row is the 5th data row (line 7).
PART1 = """\

492,2026-06-20T10:00:00Z,c1,attach,,,
493,2026-06-20T10:00:00Z,c1,attach,,,
494,2026-06-20T10:00:00Z,c1,attach,,,
4999,2026-06-20T10:00:00Z,c1,attach,,,
495,2026-06-20T10:30:00Z,c2,detach,13.45,52.52,NaN
00496,2026-06-20T11:00:00Z,c2,detach,13.45,52.52,100
495,2026-06-20T12:00:00Z,c2,attach,,,
"""
SUBSCRIBERS_CSV = """\
msisdn,birth_date,gender,contract_type,postcode
491,1990-05-01,F,consumer,10115
492,1985-01-01,m,consumer,10117
493,,X,m2m,
494,2010-01-01,female,consumer,10119
495,1956-06-20,M,business,10115
495,1956-06-20,w,business,10115
+49 6,garbage,f,Consumer,
,1970-01-01,F,consumer,
"""
OPTOUTS_CSV = """\
msisdn,opted_out_at
492,2026-03-01T10:00:00Z
495,2026-06-19T22:00:00Z
4999,2026-01-01T00:00:00Z
"""
# 10117 is padded: trimmed on load. 10119 (494) is in no row, and 493, 496 have no postcode: unknown.
POSTCODES_CSV = """\
postcode,district_id
10115,01
 10117 ,02
10115,01
"""
# Two districts, 12 strata each: 10 residents per stratum in 01, 5 in 02 (P = 180).
POPULATION_CSV = "district_id,age_band,gender,population\n" + "".join(
    f"{d},{band},{g},{n}\n" for d, n in (("01", 10), ("02", 5))
    for band in ("18-24", "25-34", "35-44", "45-54", "55-64", "65+") for g in ("F", "M"))
CELLS_CSV = """\
cell_id,site_id,lon,lat,azimuth_deg,beamwidth_deg,range_m,radio,valid_from,valid_to
c1,s1,13.41,52.51,90,120,800,LTE,2020-01-01,
c2,s2,13.46,52.53,200,120,1200,NR,,
"""
ZONE = [[13.3, 52.4], [13.5, 52.4], [13.5, 52.6], [13.3, 52.6], [13.3, 52.4]]


def _gz(path: Path, body: str, header: str = HEADER) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(f"{header}\n{body}".encode()))


def _landing(root: Path) -> Path:
    landing = root / "landing"
    for name, body in (("subscribers/subscribers.csv", SUBSCRIBERS_CSV), ("optouts/optouts.csv", OPTOUTS_CSV),
                       ("cells/cells.csv", CELLS_CSV), ("postcodes/postcodes.csv", POSTCODES_CSV),
                       ("population/population.csv", POPULATION_CSV)):
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text(body)
    feature = {"type": "Feature", "properties": {"zone_id": "z1", "name": "Mitte-ish", "category": "test"},
               "geometry": {"type": "Polygon", "coordinates": [ZONE]}}
    (landing / "zones").mkdir()
    (landing / "zones" / f"{ZONE_SET}.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}))
    _gz(landing / "events" / f"date={DAY}" / "part-0.csv.gz", PART0)
    _gz(landing / "events" / f"date={DAY}" / "part-1.csv.gz", PART1)
    return landing


def _day(spark, table, column=C.EVENT_DATE, day=DAY):
    return spark.table(table.name).where(F.col(column) == F.lit(day))


def _latest_run(spark, job, day=DAY):
    return spark.table(RUNS.name).where((F.col(C.JOB) == job) & (F.col(C.EVENT_DATE) == F.lit(day))) \
        .orderBy(F.desc(C.STARTED_AT)).first()


@pytest.fixture(scope="module")
def loaded(spark, tmp_path_factory, catalog_claims, request):
    # load-reference replaces ref.cells as a whole: held until this module ends
    catalog_claims.claim_for(request, days=[DAY, NO_LANDING_DAY], zone_sets=[ZONE_SET], tables=["ref.cells"])
    root = tmp_path_factory.mktemp("ingest-job")
    _landing(root)
    cfg = make_config(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, MASTER)
        ref_counts = reference.run(spark, cfg, DAY)
        counts = ingest.run(spark, cfg, DAY)
    return cfg, ref_counts, counts


def test_reference_tables_and_counts(spark, loaded):
    _, ref_counts, _ = loaded
    key = epoch_key(bytes.fromhex(MASTER), DAY, EPOCH_DAYS)
    p = key.pseudonym
    expected = spark.createDataFrame(
        [(p("491"), key.key_id, "35-44", "F", "consumer", "01", None, DAY),
         (p("492"), key.key_id, "35-44", "M", "consumer", "02", "opted_out", DAY),
         (p("493"), key.key_id, "unknown", "unknown", "m2m", "unknown", "m2m", DAY),
         (p("494"), key.key_id, "unknown", "F", "consumer", "unknown", "under_18", DAY),
         (p("495"), key.key_id, "65+", "M", "business", "01", None, DAY),
         (p("496"), key.key_id, "unknown", "F", "consumer", "unknown", None, DAY)],
        SUBSCRIBERS.struct,
    )
    assert_df_equality(_day(spark, SUBSCRIBERS, C.SNAPSHOT_DATE), expected, ignore_row_order=True,
                       ignore_nullable=True, ignore_metadata=True)
    assert ref_counts == {
        f"zones.{ZONE_SET}": 1, "cells": 2, "subscribers.in": 8, "subscribers.stored": 6, "subscribers.included": 3,
        "subscribers.duplicates": 1, "subscribers.without_msisdn": 1, "subscribers.excluded.opted_out": 1,
        "subscribers.excluded.m2m": 1, "subscribers.excluded.under_18": 1,
        "postcodes": 2, "subscribers.home_unknown": 3,  # 10115 twice as one row; 493, 494, 496
        "population": 24,
        # included: 491 (01, 35-44, F), 495 (01, 65+, M), 496 (unknown, unknown, F). Each lies in
        # 2 x 2 x 2 groups (itself or `all` per attribute): 24, of which (01, all, all) twice,
        # (all, all, F) twice and (all, all, all) three times: 20 rows.
        "market_share": 20,
        "zone_unions": 0,  # one zone set of one zone: no zone is the union of others (ref.zone_relations)
    }
    # 3 subscribers, each below k = 20: none resolved, each stands for P / N = 180 / 3 = 60 residents.
    shares = {(r[C.HOME_DISTRICT], r[C.AGE_BAND], r[C.GENDER]): (r[C.POPULATION], r[C.SUBSCRIBER_COUNT], r[C.WEIGHT])
              for r in _day(spark, MARKET_SHARE, C.SNAPSHOT_DATE).collect()}
    assert shares[("all", "all", "all")] == (180, None, 60.0)
    assert shares[("01", "all", "all")] == (120, None, 60.0)
    assert shares[("all", "35-44", "F")] == (15, None, 60.0)
    assert shares[("all", "all", "F")] == (90, None, 60.0)
    assert shares[("unknown", "unknown", "F")] == (None, None, 60.0)
    assert ("02", "all", "all") not in shares  # nobody lives there
    zone = spark.table(ZONES.name).where(F.col(C.ZONE_SET) == ZONE_SET).first()
    # 0.2 x 0.2 degrees at 52.5 N: about 13.6 km x 22.3 km
    assert zone[C.ZONE_ID] == "z1" and zone[C.AREA_M2] == pytest.approx(13.58e3 * 22.26e3, rel=0.01)
    assert _latest_run(spark, "load-reference")[C.STATUS] == "ok"


def test_events_rejects_and_counts_of_the_day(spark, loaded):
    _, _, counts = loaded
    key = epoch_key(bytes.fromhex(MASTER), DAY, EPOCH_DAYS)
    p, kid = key.pseudonym, key.key_id
    events = spark.createDataFrame(
        [(DAY, p("491"), kid, dt.datetime(2026, 6, 20, 8), "c1", "attach", 13.40, 52.50, 25.0, "measured"),
         (DAY, p("491"), kid, dt.datetime(2026, 6, 19, 22), "c1", "sms", 13.41, 52.51, 800.0, "cell"),
         (DAY, p("496"), kid, dt.datetime(2026, 6, 20, 11), "c2", "detach", 13.45, 52.52, 100.0, "measured"),
         (DAY, p("495"), kid, dt.datetime(2026, 6, 20, 12), "c2", "attach", 13.46, 52.53, 1200.0, "cell")],
        EVENTS.struct,
    )
    assert_df_equality(_day(spark, EVENTS), events, ignore_row_order=True, ignore_nullable=True,
                       ignore_metadata=True)
    run_id = _latest_run(spark, "ingest")[C.RUN_ID]
    f0, f1 = "part-0.csv.gz", "part-1.csv.gz"
    t9 = "2026-06-20T09:00:00Z"
    rejects = spark.createDataFrame(
        [(DAY, "duplicate", p("491"), "2026-06-20T08:00:00Z", "c1", "attach", "13.40", "52.50", "25", f0, 3, run_id),
         (DAY, "outside_day", p("491"), "2026-06-20T22:00:00Z", "c1", "sms", None, None, None, f0, 4, run_id),
         (DAY, "bad_timestamp", p("491"), "not-a-time", "c1", "sms", None, None, None, f0, 5, run_id),
         (DAY, "unknown_cell", p("491"), t9, "c9", "sms", None, None, None, f0, 6, run_id),
         (DAY, "missing_field", p("491"), t9, "c1", None, None, None, None, f0, 7, run_id),
         (DAY, "bad_coordinates", p("491"), t9, "c1", "attach", "0.0", "0.0", "10", f0, 8, run_id),
         (DAY, "malformed", None, None, None, None, None, None, None, f0, 9, run_id),
         (DAY, "missing_field", None, t9, "c1", "attach", None, None, None, f0, 10, run_id),
         (DAY, "malformed", None, None, None, None, None, None, None, f0, 11, run_id),  # IMSI before the msisdn
         (DAY, "bad_timestamp", p("491"), "<scrubbed>", "c1", "sms", None, None, None, f0, 12, run_id),
         (DAY, "bad_coordinates", p("495"), "2026-06-20T10:30:00Z", "c2", "detach", "13.45", "52.52", "NaN", f1, 5,
          run_id)],
        REJECTED_EVENTS.struct,
    )
    assert_df_equality(_day(spark, REJECTED_EVENTS), rejects, ignore_row_order=True, ignore_nullable=True,
                       ignore_metadata=True)
    assert counts == {
        "in": 19, "accepted": 4, "rejected": 11, "excluded": 4,
        "rejected.malformed": 2, "rejected.missing_field": 2, "rejected.bad_timestamp": 2,
        "rejected.outside_day": 1, "rejected.bad_coordinates": 2, "rejected.unknown_cell": 1, "rejected.duplicate": 1,
        "excluded.opted_out": 1, "excluded.m2m": 1, "excluded.under_18": 1, "excluded.unknown_subscriber": 1,
    }
    manifest = _latest_run(spark, "ingest")
    assert manifest[C.STATUS] == "ok" and dict(manifest[C.COUNTS]) == counts
    assert set(manifest[C.INPUT_VERSIONS]) == {ZONES.name, "ref.cells", SUBSCRIBERS.name}


def test_no_raw_msisdn_lands_in_any_table(spark, loaded):
    """No delivered identifier, as a field or inside one, and no pseudonym of the IMSI that a
    shifted row carries where the msisdn belongs (issue 15, finding 5)."""
    key = epoch_key(bytes.fromhex(MASTER), DAY, EPOCH_DAYS)
    for table, column in ((EVENTS, C.EVENT_DATE), (REJECTED_EVENTS, C.EVENT_DATE), (SUBSCRIBERS, C.SNAPSHOT_DATE)):
        values = {str(v) for r in _day(spark, table, column).collect() for v in r}
        for raw in ("491", "4999", "+49 1", "00496", IMSI, EPOCH_MS, key.pseudonym(IMSI)):
            assert not any(raw == v or (len(raw) > 5 and raw in v) for v in values), (table.name, raw)
        assert not any(v.startswith("491,") for v in values), table.name


def _snapshot(spark):
    """The day's events and rejects (without the run id) as they are now, held on the driver."""
    keep = [c for c in REJECTED_EVENTS.names if c != C.RUN_ID]
    frames = (_day(spark, EVENTS), _day(spark, REJECTED_EVENTS).select(*keep))
    return [spark.createDataFrame(df.collect(), df.schema) for df in frames]


def _assert_unchanged(spark, before):
    for now, then in zip(_snapshot(spark), before, strict=True):
        assert_df_equality(now, then, ignore_row_order=True, ignore_nullable=True)


def test_rerun_leaves_the_tables_as_one_run(spark, loaded, monkeypatch):
    cfg, _, counts = loaded
    before = _snapshot(spark)
    monkeypatch.setenv(KEY_ENV, MASTER)
    assert ingest.run(spark, cfg, DAY) == counts
    _assert_unchanged(spark, before)
    assert _day(spark, REJECTED_EVENTS).select(C.RUN_ID).distinct().count() == 1


def _broken_landing(tmp_path: Path, part: str, body: str, header: str = HEADER):
    cfg = make_config(tmp_path)
    _gz(tmp_path / "landing" / "events" / f"date={DAY}" / part, body, header)
    return cfg


def test_bad_input_is_refused_and_writes_nothing(spark, loaded, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, MASTER)
    before = _snapshot(spark)

    with pytest.raises(BadInputError, match=r"no landing folder .*events/date=2026-06-21"):
        ingest.run(spark, loaded[0], NO_LANDING_DAY)

    empty = _broken_landing(tmp_path / "empty", "part-0.csv.gz", "")
    with pytest.raises(BadInputError, match=r"date=2026-06-20 holds no event rows"):
        ingest.run(spark, empty, DAY)

    wrong = _broken_landing(tmp_path / "wrong", "part-0.csv.gz", PART1, header="msisdn,time,cell")
    with pytest.raises(BadInputError, match=rf"part-0\.csv\.gz does not start with the header '{HEADER}'"):
        ingest.run(spark, wrong, DAY)

    truncated = _broken_landing(tmp_path / "trunc", "part-0.csv.gz", PART0)
    full = gzip.compress(f"{HEADER}\n{PART1 * 400}".encode())
    (tmp_path / "trunc" / "landing" / "events" / f"date={DAY}" / "part-1.csv.gz").write_bytes(full[: len(full) // 2])
    with pytest.raises(BadInputError, match=r"landing file \S*part-1\.csv\.gz is corrupt or truncated"):
        ingest.run(spark, truncated, DAY)
    assert _latest_run(spark, "ingest")[C.STATUS] == "failed"

    _assert_unchanged(spark, before)  # none of the failed runs touched the day


def test_missing_key_fails_before_any_work(spark, loaded, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    runs_before = spark.table(RUNS.name).count()
    with pytest.raises(MissingKeyError, match=KEY_ENV):
        ingest.run(spark, loaded[0], DAY)
    assert spark.table(RUNS.name).count() == runs_before
