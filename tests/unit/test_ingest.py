import datetime as dt

import pytest
from chispa import assert_df_equality

from footfall.errors import FootfallError
from footfall.landing.events import (
    ACCEPTED,
    EXCLUDE_REASONS,
    REJECT_REASONS,
    STATUS,
    accepted_events,
    classify,
    rejected_rows,
    summarise,
)
from footfall.landing.files import CORRUPT, ROW_ID
from footfall.localtime import local_day_start_utc
from footfall.schemas import CELLS, EVENTS, REJECTED_EVENTS, C

DAY = dt.date(2026, 3, 14)
START, END = local_day_start_utc(DAY, "Europe/Berlin"), local_day_start_utc(DAY + dt.timedelta(days=1), "Europe/Berlin")
AREA = (13.0, 52.3, 13.8, 52.7)
T = "2026-03-14T08:00:00Z"
RAW_SCHEMA = ("msisdn string, event_time string, cell_id string, event_type string, lon string, lat string, "
              f"accuracy_m string, {CORRUPT} string, source_file string, {ROW_ID} long")

# (row id, msisdn, event_time, cell_id, event_type, lon, lat, accuracy_m, corrupt) -> expected status
CASES = [
    (1, "491", T, "c1", "attach", "13.4", "52.5", "20", None, ACCEPTED),
    (2, "+49 1", "2026-03-13T23:00:00Z", "c1", "sms", None, None, None, None, ACCEPTED),  # local midnight
    (3, "491", T, "c1", "attach", "13.4", "52.5", "20", None, "duplicate"),  # copy of row 1
    (4, "491", "2026-03-14T23:00:00Z", "c1", "sms", None, None, None, None, "outside_day"),  # next local day
    (5, "491", "2026-03-14 25:00", "c1", "sms", None, None, None, None, "bad_timestamp"),
    (6, "491", "2026-03-14 25:00", "c1", "sms", None, None, None, None, "bad_timestamp"),  # copy of a reject
    (7, "491", T, "c9", "attach", "13.4", "52.5", "20", None, "unknown_cell"),
    (8, "491", T, "c_old", "attach", None, None, None, None, "unknown_cell"),  # cell retired before the day
    (9, "491", T, "c1", None, "13.4", "52.5", "20", None, "missing_field"),
    (10, "491", T, "c1", "attach", "13.4", None, None, None, "missing_field"),  # half a position
    (11, "491", T, "c1", "attach", "NaN", "52.5", "20", None, "bad_coordinates"),
    (12, "491", T, "c1", "attach", "2.35", "48.85", "20", None, "bad_coordinates"),  # Paris
    (13, "491", T, "c1", "attach", "abc", "52.5", "20", None, "bad_coordinates"),
    (14, "491", T, "c1", "attach", "13.4", "52.5", "-5", None, "bad_coordinates"),
    (15, None, T, "c1", "attach", None, None, None, None, "missing_field"),
    (16, "491", "x", "c1", None, None, None, None, "491,x,c1", "malformed"),
    (17, "492", "garbage", "c1", "attach", None, None, None, None, "opted_out"),  # exclusion wins
    (18, "493", T, "c1", "attach", None, None, None, None, "m2m"),
    (19, "494", T, "c1", "attach", None, None, None, None, "under_18"),
    (20, "499", T, "c1", "attach", None, None, None, None, "unknown_subscriber"),
]


@pytest.fixture(scope="module")
def classified(spark):
    raw = spark.createDataFrame([(*c[1:9], "a.csv.gz", c[0]) for c in CASES], RAW_SCHEMA)
    lookup = spark.createDataFrame(
        [("491", "p1", "k1", None, True), ("492", "p2", "k1", "opted_out", True), ("493", "p3", "k1", "m2m", True),
         ("494", "p4", "k1", "under_18", True), ("499", "p9", "k1", None, False)],
        "msisdn string, pseudo_id string, key_id string, excluded_reason string, _known_subscriber boolean",
    )
    cells = spark.createDataFrame(
        [("c1", "s1", 13.41, 52.51, 90.0, 120.0, 800.0, "LTE", dt.date(2020, 1, 1), None),
         ("c_old", "s2", 13.5, 52.5, 0.0, 120.0, 500.0, "LTE", None, dt.date(2026, 3, 1))],
        CELLS.struct,
    )
    return raw.transform(classify, lookup, cells, DAY, START, END, AREA).cache()


def test_every_row_gets_the_expected_status(spark, classified):
    expected = spark.createDataFrame([(c[0], c[9]) for c in CASES], f"{ROW_ID} long, {STATUS} string")
    assert_df_equality(classified.select(ROW_ID, STATUS), expected, ignore_row_order=True, ignore_nullable=True,
                       ignore_metadata=True)
    assert C.MSISDN not in classified.columns


def test_accepted_rows_become_events_with_measured_or_cell_position(spark, classified):
    expected = spark.createDataFrame(
        [(DAY, "p1", "k1", dt.datetime(2026, 3, 14, 8), "c1", "attach", 13.4, 52.5, 20.0, "measured"),
         (DAY, "p1", "k1", dt.datetime(2026, 3, 13, 23), "c1", "sms", 13.41, 52.51, 800.0, "cell")],
        EVENTS.struct,
    )
    assert_df_equality(accepted_events(classified, DAY), expected, ignore_row_order=True, ignore_nullable=True,
                       ignore_metadata=True)


def test_rejected_rows_keep_delivered_fields_with_a_pseudonym(spark, classified):
    rejects = rejected_rows(classified, DAY, "run1")
    assert rejects.count() == 14  # every CASES row with a reject reason
    picked = rejects.where(f"{C.REASON} IN ('duplicate', 'missing_field', 'malformed', 'bad_coordinates')"
                           f" AND ({C.RAW_LON} IS NULL OR {C.RAW_LON} IN ('abc', '13.4'))")
    expected = spark.createDataFrame(
        [(DAY, "duplicate", "p1", T, "c1", "attach", "13.4", "52.5", "20", "a.csv.gz", "run1"),
         (DAY, "missing_field", "p1", T, "c1", None, "13.4", "52.5", "20", "a.csv.gz", "run1"),
         (DAY, "missing_field", "p1", T, "c1", "attach", "13.4", None, None, "a.csv.gz", "run1"),
         (DAY, "missing_field", None, T, "c1", "attach", None, None, None, "a.csv.gz", "run1"),
         (DAY, "malformed", "p1", "x", "c1", None, None, None, None, "a.csv.gz", "run1"),
         (DAY, "bad_coordinates", "p1", T, "c1", "attach", "abc", "52.5", "20", "a.csv.gz", "run1"),
         (DAY, "bad_coordinates", "p1", T, "c1", "attach", "13.4", "52.5", "-5", "a.csv.gz", "run1")],
        REJECTED_EVENTS.struct,
    )
    assert_df_equality(picked, expected, ignore_row_order=True, ignore_nullable=True,
                       ignore_metadata=True)


def _observed(**overrides: int) -> dict[str, int]:
    counts = dict.fromkeys((ACCEPTED, *REJECT_REASONS, *EXCLUDE_REASONS), 0)
    counts.update(overrides)
    return counts


def test_summary_adds_up_or_raises():
    counts = summarise(_observed(**{"in": 10, ACCEPTED: 5, "duplicate": 2, "opted_out": 3}), rejected_written=2)
    assert (counts["in"], counts["accepted"], counts["rejected"], counts["excluded"]) == (10, 5, 2, 3)
    assert counts["rejected.duplicate"] == 2 and counts["excluded.opted_out"] == 3
    with pytest.raises(FootfallError, match=r"do not add up \(in=11, accepted=5, rejected=2"):
        summarise(_observed(**{"in": 11, ACCEPTED: 5, "duplicate": 2, "opted_out": 3}), rejected_written=2)
    with pytest.raises(FootfallError, match="rejected=2 of which written 1"):
        summarise(_observed(**{"in": 10, ACCEPTED: 5, "duplicate": 2, "opted_out": 3}), rejected_written=1)
