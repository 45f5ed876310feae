import datetime as dt
import gzip

import pytest
from chispa import assert_df_equality

from footfall.errors import FootfallError
from footfall.landing.events import (
    ACCEPTED,
    EXCLUDE_REASONS,
    FIRST_ID,
    REJECT_REASONS,
    ROWS_BEFORE,
    STATUS,
    accepted_events,
    block_offsets,
    classify,
    rejected_rows,
    scrubbed,
    summarise,
    with_source_row,
)
from footfall.landing.files import BLOCK_START, CORRUPT, EVENT_COLUMNS, ROW_ID, read_events
from footfall.localtime import local_day_start_utc
from footfall.schemas import CELLS, EVENTS, REJECTED_EVENTS, C

DAY = dt.date(2026, 3, 14)
START, END = local_day_start_utc(DAY, "Europe/Berlin"), local_day_start_utc(DAY + dt.timedelta(days=1), "Europe/Berlin")
AREA = (13.0, 52.3, 13.8, 52.7)
T = "2026-03-14T08:00:00Z"
RAW_SCHEMA = ("msisdn string, event_time string, cell_id string, event_type string, lon string, lat string, "
              f"accuracy_m string, {CORRUPT} string, source_file string, {ROW_ID} long, {BLOCK_START} long")
OFFSETS_SCHEMA = f"source_file string, {BLOCK_START} long, {FIRST_ID} long, {ROWS_BEFORE} long"
IMSI, MSISDN = "262071234567890", "4917612345678"
# A row with an IMSI before the msisdn, as Spark's CSV reader splits it (test below): flagged
# corrupt, its fields shifted by one (the IMSI in msisdn, the msisdn in event_time, accuracy lost).
SHIFTED = (IMSI, MSISDN, T, "c1", "attach", "13.4", "52.5", f"{IMSI},{MSISDN},{T},c1,attach,13.4,52.5,20")

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
    (21, *SHIFTED, "malformed"),
    (22, "491", T, "c1", "attach", MSISDN, "52.5", "20", None, "bad_coordinates"),  # an msisdn as lon
]


@pytest.fixture(scope="module")
def classified(spark):
    raw = spark.createDataFrame([(*c[1:9], "a.csv.gz", c[0], 0) for c in CASES], RAW_SCHEMA)
    lookup = spark.createDataFrame(
        [("491", "p1", "k1", None, True), ("492", "p2", "k1", "opted_out", True), ("493", "p3", "k1", "m2m", True),
         ("494", "p4", "k1", "under_18", True), ("499", "p9", "k1", None, False), (IMSI, "p21", "k1", None, False)],
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


def test_rejected_rows_keep_scrubbed_fields_with_a_pseudonym_and_malformed_ones_none(spark, classified):
    offsets = spark.createDataFrame([("a.csv.gz", 0, 1, 0)], OFFSETS_SCHEMA)
    rejects = rejected_rows(classified.transform(with_source_row, offsets), DAY, "run1")
    r = "run1"
    expected = spark.createDataFrame(
        [(DAY, "duplicate", "p1", T, "c1", "attach", "13.4", "52.5", "20", "a.csv.gz", 3, r),
         (DAY, "outside_day", "p1", "2026-03-14T23:00:00Z", "c1", "sms", None, None, None, "a.csv.gz", 4, r),
         (DAY, "bad_timestamp", "p1", "2026-03-14 25:00", "c1", "sms", None, None, None, "a.csv.gz", 5, r),
         (DAY, "bad_timestamp", "p1", "2026-03-14 25:00", "c1", "sms", None, None, None, "a.csv.gz", 6, r),
         (DAY, "unknown_cell", "p1", T, "c9", "attach", "13.4", "52.5", "20", "a.csv.gz", 7, r),
         (DAY, "unknown_cell", "p1", T, "c_old", "attach", None, None, None, "a.csv.gz", 8, r),
         (DAY, "missing_field", "p1", T, "c1", None, "13.4", "52.5", "20", "a.csv.gz", 9, r),
         (DAY, "missing_field", "p1", T, "c1", "attach", "13.4", None, None, "a.csv.gz", 10, r),
         (DAY, "bad_coordinates", "p1", T, "c1", "attach", "NaN", "52.5", "20", "a.csv.gz", 11, r),
         (DAY, "bad_coordinates", "p1", T, "c1", "attach", "2.35", "48.85", "20", "a.csv.gz", 12, r),
         (DAY, "bad_coordinates", "p1", T, "c1", "attach", "abc", "52.5", "20", "a.csv.gz", 13, r),
         (DAY, "bad_coordinates", "p1", T, "c1", "attach", "13.4", "52.5", "-5", "a.csv.gz", 14, r),
         (DAY, "missing_field", None, T, "c1", "attach", None, None, None, "a.csv.gz", 15, r),
         (DAY, "malformed", None, None, None, None, None, None, None, "a.csv.gz", 16, r),
         (DAY, "malformed", None, None, None, None, None, None, None, "a.csv.gz", 21, r),  # the shifted row
         (DAY, "bad_coordinates", "p1", T, "c1", "attach", "<scrubbed>", "52.5", "20", "a.csv.gz", 22, r)],
        REJECTED_EVENTS.struct,
    )
    assert_df_equality(rejects, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_a_shifted_row_stores_no_identifier_and_no_pseudonym_of_its_imsi(spark, classified):
    """The finding (issue 15, 5): the IMSI was hashed as if it were the msisdn (p21 here) and the
    raw msisdn stored as raw_event_time."""
    offsets = spark.createDataFrame([("a.csv.gz", 0, 1, 0)], OFFSETS_SCHEMA)
    rejects = rejected_rows(classified.transform(with_source_row, offsets), DAY, "run1")
    text = " ".join(str(v) for row in rejects.collect() for v in row)
    assert MSISDN not in text and IMSI not in text and "p21" not in text


def test_spark_flags_a_row_with_one_field_too_many_as_corrupt_and_splits_it_by_position(spark, tmp_path):
    """Spark 4.0's CSV reader (PERMISSIVE, the all-string schema of read_events) on a row with an
    IMSI before the msisdn: the row is corrupt (8 tokens, schema of 7) and its first 7 tokens are
    still put into the columns by position; the blank line is skipped without a trace."""
    day = tmp_path / "date=2026-03-14"
    day.mkdir()
    good = f"{MSISDN},{T},c1,attach,13.4,52.5,20"
    shifted = f"{IMSI},{good}"
    cut = f"{MSISDN},{T},c1"
    body = "\n".join((",".join(EVENT_COLUMNS), good, shifted, "", cut)) + "\n"
    (day / "part-0.csv.gz").write_bytes(gzip.compress(body.encode()))
    read = read_events(spark, day)
    expected = spark.createDataFrame(
        [(MSISDN, T, "c1", "attach", "13.4", "52.5", "20", None, "part-0.csv.gz", 0, 0),
         (IMSI, MSISDN, T, "c1", "attach", "13.4", "52.5", shifted, "part-0.csv.gz", 1, 0),
         (MSISDN, T, "c1", None, None, None, None, cut, "part-0.csv.gz", 2, 0)],
        RAW_SCHEMA,
    )
    assert_df_equality(read, expected, ignore_nullable=True, ignore_metadata=True)


def test_source_row_counts_the_rows_of_earlier_blocks_of_the_same_file(spark):
    """Rows of a file read in two blocks (splits) by two partitions, and of another file packed
    into the first partition after it: row ids are partition << 33 + position in the partition."""
    p1 = 1 << 33
    rows = [("a.csv", 0, 0), ("a.csv", 0, 1), ("a.csv", 0, 2), ("b.csv.gz", 0, 3), ("b.csv.gz", 0, 4),
            ("a.csv", 1000, p1), ("a.csv", 1000, p1 + 1)]
    df = spark.createDataFrame(rows, f"source_file string, {BLOCK_START} long, {ROW_ID} long")
    got = df.transform(with_source_row, block_offsets(df)).select(C.SOURCE_FILE, ROW_ID, C.SOURCE_ROW)
    expected = spark.createDataFrame(
        [("a.csv", 0, 1), ("a.csv", 1, 2), ("a.csv", 2, 3), ("b.csv.gz", 3, 1), ("b.csv.gz", 4, 2),
         ("a.csv", p1, 4), ("a.csv", p1 + 1, 5)],
        f"source_file string, {ROW_ID} long, source_row long",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


# Delivered values -> stored value. Legitimate values as the generator and operators write them
# survive; digit runs that could be an MSISDN, IMSI or IMEI (10+ digits) do not.
SCRUB_CASES = [
    ("2026-03-14T07:03:12Z", "2026-03-14T07:03:12Z"),  # ISO-8601 UTC
    ("2026-03-14T08:03:12.123+01:00", "2026-03-14T08:03:12.123+01:00"),
    ("14.03.2026 08:13:22", "14.03.2026 08:13:22"),  # the generator's bad timestamps
    ("2026-13-14T08:13:22Z", "2026-13-14T08:13:22Z"),
    ("13.404954", "13.404954"),  # coordinates with the generator's 6 decimals
    ("52.5200001234567", "52.5200001234567"),  # or many more: decimals are kept
    ("NaN", "NaN"),
    ("-5", "-5"),
    ("262-07-1040001-11", "262-07-1040001-11"),  # ECGI cell id of the generator
    ("data_session", "data_session"),
    ("123456789", "123456789"),  # 9 digits: kept
    ("4917612345678", "<scrubbed>"),  # MSISDN
    ("+4917612345678", "<scrubbed>"),
    ("+49 176 12345678", "<scrubbed>"),
    ("tel:004917612345678;cell 7", "tel:<scrubbed>;cell 7"),
    ("262071234567890", "<scrubbed>"),  # IMSI
    ("35693803564380", "<scrubbed>"),  # IMEI without check digit
    ("1773476002000", "<scrubbed>"),  # epoch milliseconds look like an msisdn: scrubbed too
    ("13.4 4917612345678", "13.4 <scrubbed>"),
]


def test_scrub_keeps_timestamps_coordinates_and_cell_ids_and_removes_identifier_like_runs(spark):
    df = spark.createDataFrame([(v,) for v, _ in SCRUB_CASES], "v string")
    assert [r[0] for r in df.select(scrubbed("v")).collect()] == [w for _, w in SCRUB_CASES]


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
