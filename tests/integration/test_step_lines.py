"""load-reference, ingest and compute each log one parseable `footfall-step` line per stage, with
the rows in and out derived by hand for a tiny landing folder written here (and equal to the
counts each job returns, which ops.runs records).

The day: 2026-09-09 (CEST, UTC+2), one zone `it_steps`, one cell, three subscribers.
- 491 (F, 35-44): events at 10:00, 10:05, 10:10 local inside the zone -> one stay, its only
  place and so its night place, which the timeline carries from local midnight to midnight (one
  visit of 24 h); and one row with an unparseable time -> rejected (bad_timestamp).
- 492 (M, 45-54): one event at 11:00 inside the zone -> likewise one stay, one visit of 24 h
  (not a pass-by).
- 493 (m2m): one event -> excluded (never stored).
So ingest reads 6 rows: 4 accepted, 1 rejected, 1 excluded. compute reads the 4 events (4
observations, each its own burst: 5 minutes apart is more than burst_gap_s = 120 s); no burst
moves (no handover, one event each: no scatter), so there are no travel points; 491's three
bursts at one place are one stay, 492's burst another, and each is its subscriber's only place,
so the night place adds no virtual stay: 2 stays, 2 stay points, both in the zone (2 stay visits,
2 visits), one zone category (`test`) for the duration priors, no zone with enough stay visits
for a dwell estimate (dwell_est_min_visits), 48 visitor-hours (2 visits of 24 h) for the utility
counts, and the full grids: 1 zone x 24 hours x 21 cohorts (hourly), 24 (totals), 21 (daily), 1
(daily total).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import time
from pathlib import Path

import pytest
from support import make_config

from footfall.observe import parse_step_line
from footfall.pipeline import compute, ingest, reference

DAY = dt.date(2026, 9, 9)
ZONE_SET = "it_steps"
KEY = "c3" * 32
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the jobs' format (footfall.cli)

EVENTS_CSV = """\
msisdn,event_time,cell_id,event_type,lon,lat,accuracy_m
491,2026-09-09T08:00:00Z,c1,attach,13.40,52.50,25
491,2026-09-09T08:05:00Z,c1,sms,13.40,52.50,25
491,2026-09-09T08:10:00Z,c1,sms,13.40,52.50,25
491,yesterday,c1,sms,13.40,52.50,25
492,2026-09-09T09:00:00Z,c1,attach,13.41,52.51,30
493,2026-09-09T09:00:00Z,c1,attach,13.41,52.51,30
"""
SUBSCRIBERS_CSV = """\
msisdn,birth_date,gender,contract_type,postcode
491,1990-01-01,F,consumer,10115
492,1980-01-01,M,consumer,10117
493,,,m2m,
"""
CELLS_CSV = """\
cell_id,site_id,lon,lat,azimuth_deg,beamwidth_deg,range_m,radio,valid_from,valid_to
c1,s1,13.41,52.51,90,120,800,LTE,2020-01-01,
"""
ZONE = [[13.3, 52.4], [13.5, 52.4], [13.5, 52.6], [13.3, 52.6], [13.3, 52.4]]

GRID = 24 * 21
EXPECTED = [  # (job, step, extra fields, rows_in, rows_out) in the order the jobs log them
    ("load-reference", "zones", {}, "1", "1"),
    ("load-reference", "cells", {}, "1", "1"),
    ("load-reference", "postcodes", {}, "1", "1"),
    ("load-reference", "population", {}, "0", "0"),  # the header only: no population estimates
    ("load-reference", "subscribers", {}, "3", "3"),
    ("load-reference", "market_share", {}, "2", "0"),  # 491 and 492 included; no residents, no weights
    ("ingest", "events", {}, "6", "4"),
    ("ingest", "rejected_events", {}, "6", "1"),
    ("compute", "read_events", {}, None, "4"),
    ("compute", "observations", {}, None, "4"),
    ("compute", "bursts", {}, "4", "4"),
    ("compute", "travel_points", {}, "4", "0"),
    ("compute", "stays", {}, "4", "2"),
    ("compute", "stay_points", {}, "2", "2"),
    ("compute", "stay_visits", {"zone_set": ZONE_SET}, None, "2"),
    ("compute", "dwell_priors", {"zone_set": ZONE_SET, "categories": "1"}, None, None),
    ("compute", "restricted.visits", {"zone_set": ZONE_SET}, None, "2"),
    ("compute", "dwell_estimates", {"zone_set": ZONE_SET}, None, "0"),
    ("compute", "utility", {"zone_set": ZONE_SET}, "48", None),  # visitor-hours: 2 visits of 24 h
    ("compute", "footfall.zone_hourly", {"zone_set": ZONE_SET}, None, str(GRID)),
    ("compute", "footfall.zone_hourly_total", {"zone_set": ZONE_SET}, None, "24"),
    ("compute", "footfall.zone_daily", {"zone_set": ZONE_SET}, None, "21"),
    ("compute", "footfall.zone_daily_total", {"zone_set": ZONE_SET}, None, "1"),
    ("compute", "footfall.zone_daily_margins", {"zone_set": ZONE_SET}, None, "10"),  # 7 age bands, 3 genders
    ("compute", "footfall.zone_daypart", {"zone_set": ZONE_SET}, None, "105"),  # 5 day parts x 21 cohorts
    ("compute", "footfall.zone_catchment", {"zone_set": ZONE_SET}, None, "2"),  # homes 01 (10115) and unknown
]


def _landing(root: Path) -> None:
    landing = root / "landing"
    for name, body in (("subscribers/subscribers.csv", SUBSCRIBERS_CSV),
                       ("optouts/optouts.csv", "msisdn,opted_out_at\n"), ("cells/cells.csv", CELLS_CSV),
                       ("postcodes/postcodes.csv", "postcode,district_id\n10115,01\n"),
                       ("population/population.csv", "district_id,age_band,gender,population\n")):
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text(body)
    feature = {"type": "Feature", "properties": {"zone_id": "z1", "name": "steps", "category": "test"},
               "geometry": {"type": "Polygon", "coordinates": [ZONE]}}
    (landing / "zones").mkdir()
    (landing / "zones" / f"{ZONE_SET}.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}))
    events = landing / "events" / f"date={DAY}" / "part-0.csv.gz"
    events.parent.mkdir(parents=True)
    events.write_bytes(gzip.compress(EVENTS_CSV.encode()))


@pytest.fixture(scope="module")
def logged(spark, tmp_path_factory, catalog_claims, request):
    """The three jobs on the landing folder; the driver log as the jobs' log format writes it,
    the counts the jobs return and the wall time around them."""
    # load-reference replaces ref.cells as a whole: held until this module ends
    catalog_claims.claim_for(request, days=[DAY], zone_sets=[ZONE_SET], tables=["ref.cells"])
    root = tmp_path_factory.mktemp("step-lines")
    _landing(root)
    cfg = make_config(root)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    step_log = logging.getLogger("footfall.step")
    level = step_log.level
    step_log.addHandler(handler)
    step_log.setLevel(logging.INFO)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("FOOTFALL_PSEUDONYM_KEY", KEY)
            t0 = time.monotonic()
            counts = {
                "load-reference": reference.run(spark, cfg, DAY),
                "ingest": ingest.run(spark, cfg, DAY),
                "compute": compute.run(spark, cfg, DAY, [ZONE_SET])[ZONE_SET],
            }
            wall = time.monotonic() - t0
    finally:
        step_log.removeHandler(handler)
        step_log.setLevel(level)
    return stream.getvalue(), counts, wall


def test_each_stage_logs_one_line_with_hand_derived_rows(logged):
    text, _, wall = logged
    lines = [line for line in text.splitlines() if "footfall-step" in line]
    steps = [parse_step_line(line) for line in lines]
    assert all(s is not None for s in steps), lines
    got, seconds = [], []
    for fields in steps:
        assert fields is not None
        assert fields.pop("status") == "ok", fields
        seconds.append(float(fields.pop("seconds")))
        job, name = fields.pop("job"), fields.pop("step")
        rows_in, rows_out = fields.pop("rows_in", None), fields.pop("rows_out", None)
        got.append((job, name, fields, rows_in, rows_out))
    assert got == EXPECTED
    # Each step took time (every one runs a Spark job or a write), and the steps run one after
    # another inside the three jobs: together no longer than the wall time around the jobs.
    assert all(t > 0 for t in seconds), seconds
    assert sum(seconds) <= wall, (seconds, wall)
    # the log format puts time, level and logger before the step line; the parser skips them
    assert all(line.split(" ", 4)[2:4] == ["INFO", "footfall.step:"] for line in lines), lines


def test_step_rows_agree_with_the_counts_the_jobs_record(logged):
    text, counts, _ = logged
    steps = {(f["job"], f["step"]): f for f in map(parse_step_line, text.splitlines()) if f is not None}
    ref, ing, comp = counts["load-reference"], counts["ingest"], counts["compute"]
    assert steps["load-reference", "zones"]["rows_out"] == str(ref[f"zones.{ZONE_SET}"])
    assert steps["load-reference", "cells"]["rows_out"] == str(ref["cells"])
    assert steps["load-reference", "subscribers"]["rows_out"] == str(ref["subscribers.stored"])
    assert (ing["in"], ing["accepted"], ing["rejected"], ing["excluded"]) == (6, 4, 1, 1)
    assert steps["ingest", "events"]["rows_in"] == str(ing["in"])
    assert steps["ingest", "events"]["rows_out"] == str(ing["accepted"])
    assert steps["ingest", "rejected_events"]["rows_out"] == str(ing["rejected"])
    assert steps["compute", "read_events"]["rows_out"] == str(comp["events_in"])
    assert steps["compute", "restricted.visits"]["rows_out"] == str(comp["visits"])
    assert steps["compute", "utility"]["rows_in"] == str(comp["utility_visitor_hours"])
    assert steps["compute", "footfall.zone_hourly"]["rows_out"] == str(comp["cells"])
    assert steps["compute", "footfall.zone_hourly_total"]["rows_out"] == str(comp["total_cells"])
    assert steps["compute", "footfall.zone_daily"]["rows_out"] == str(comp["daily_cells"])
