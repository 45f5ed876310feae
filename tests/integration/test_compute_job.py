"""footfall compute end to end on a hand-built day, with the published numbers derived by hand.

2026-02-12 is a Thursday in CET (UTC+1): local hour h starts at (h - 1):00 UTC. Zone set
`it_compute` holds a shop and a zone far away that nobody visits.

- F1..F25 (25-34, F): events every 2 min 10:00-10:12 local (dwell 12 min) and again
  14:00-14:06 (dwell 6 min).
- P1..P3 (25-34, F): two events a minute apart at 10:30 (pass-bys, dwell 1 min).
- M1..M19 (35-44, M): events at 10:00, 10:05, 10:10 (dwell 10 min): 19 < k = 20.
- X1 (45-54, F): 10:50, 11:00, 11:10 (dwell 20 min): a visitor of hours 10 and 11, its visit
  counts in hour 10.
- N1 (55-64, M): 23:50 and 23:55 on the 12th, 00:05 on the 13th (in the 13th's partition):
  the visit of the 12th ends at 23:55 (dwell 5 min, not a pass-by).
- U1: no subscriber snapshot row -> cohort unknown/unknown; 14:00 and 14:10 (dwell 10 min).
- O1 (25-34, F): one event outside every zone.

Hour 10: (25-34, F) 28 visitors published; (35-44, M) 19 and (45-54, F) 1 suppressed; total 48
published, so the suppressed cells sum to S = 48 - 28 = 20 >= k over 20 cells: no secondary.
Hour 14: (25-34, F) 25, unknown 1, total 26 published: S = 1 < k would reveal the unknown
subscriber, so (25-34, F) is suppressed too (secondary) and S becomes 26.
"""

import datetime as dt
import json

import pytest
import shapely
from chispa import assert_df_equality
from pyspark.sql import functions as F

from footfall.cli import build_parser
from footfall.errors import BadInputError, PublishedDayError
from footfall.pipeline import compute
from footfall.schemas import (
    EVENTS,
    RUNS,
    STATUS_PRIMARY,
    STATUS_PUBLISHED,
    STATUS_SECONDARY,
    SUBSCRIBERS,
    VISITS,
    ZONE_DAILY,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONES,
    C,
)
from footfall.tables import ensure_tables, replace_partition, table_version

DAY = dt.date(2026, 2, 12)
NEXT = DAY + dt.timedelta(days=1)
NO_EVENTS = DAY - dt.timedelta(days=1)  # a subscriber snapshot but no events: compute refuses it
ZONE_SET = "it_compute"
SHOP = (13.40, 52.52)
NOWHERE = (13.30, 52.40)  # inside no zone
P, S1, S2 = STATUS_PUBLISHED, STATUS_PRIMARY, STATUS_SECONDARY


def local(hour: int, minute: int, day: dt.date = DAY) -> dt.datetime:
    """Local CET wall time as the UTC instant (CET = UTC+1 in February)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC) - dt.timedelta(hours=1)


def _events() -> list[tuple]:
    visits: list[tuple[str, list[dt.datetime]]] = []
    for i in range(1, 26):
        visits.append((f"F{i}", [local(10, m) for m in range(0, 13, 2)]))
        visits.append((f"F{i}", [local(14, m) for m in range(0, 7, 2)]))
    visits += [(f"P{i}", [local(10, 30), local(10, 31)]) for i in range(1, 4)]
    visits += [(f"M{i}", [local(10, 0), local(10, 5), local(10, 10)]) for i in range(1, 20)]
    visits.append(("X1", [local(10, 50), local(11, 0), local(11, 10)]))
    visits.append(("N1", [local(23, 50), local(23, 55), local(0, 5, NEXT)]))
    visits.append(("U1", [local(14, 0), local(14, 10)]))
    # an event's local date is the partition it lives in (as ingest writes it)
    rows = [(DAY if t < local(0, 0, NEXT) else NEXT, pid, t, *SHOP) for pid, times in visits for t in times]
    rows.append((DAY, "O1", local(12, 0), *NOWHERE))
    return [(d, pid, "k1", t, "c1", "attach", x, y, 20.0, "measured") for d, pid, t, x, y in rows]


def _subscribers() -> list[tuple]:
    cohorts = {f"F{i}": ("25-34", "F") for i in range(1, 26)}
    cohorts |= {f"P{i}": ("25-34", "F") for i in range(1, 4)}
    cohorts |= {f"M{i}": ("35-44", "M") for i in range(1, 20)}
    cohorts |= {"X1": ("45-54", "F"), "N1": ("55-64", "M"), "O1": ("25-34", "F")}
    return [(pid, "k1", age, gender, "consumer", None, DAY) for pid, (age, gender) in cohorts.items()]


def _zones() -> list[tuple]:
    shop = shapely.box(13.3995, 52.5195, 13.4005, 52.5205)
    far = shapely.box(13.60, 52.60, 13.61, 52.61)
    return [(ZONE_SET, zone_id, zone_id, "test", shapely.to_wkb(g), 100.0) for zone_id, g in (("shop", shop),
                                                                                            ("far", far))]


@pytest.fixture(scope="module")
def seeded(spark, catalog_claims, request):
    catalog_claims.claim_for(request, days=[NO_EVENTS, DAY, NEXT], zone_sets=[ZONE_SET])
    ensure_tables(spark, (ZONES, SUBSCRIBERS, EVENTS))
    events = spark.createDataFrame(_events(), EVENTS.struct)
    for day in (DAY, NEXT):
        replace_partition(events.where(F.col(C.EVENT_DATE) == F.lit(day)), EVENTS, {C.EVENT_DATE: day})
    replace_partition(spark.createDataFrame(_subscribers(), SUBSCRIBERS.struct), SUBSCRIBERS,
                      {C.SNAPSHOT_DATE: DAY})
    replace_partition(spark.createDataFrame(_zones(), ZONES.struct), ZONES, {C.ZONE_SET: ZONE_SET})
    return spark


@pytest.fixture(scope="module")
def first_run(seeded, test_config):
    return compute.run(seeded, test_config, DAY, [ZONE_SET])


def _published(spark, table):
    return spark.table(table.name).where(
        (F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == ZONE_SET)
    )


def _hour(h: int) -> tuple:
    return (local(h, 0), h, 60)


def _rows(rows):
    return [(ZONE_SET, "shop", DAY, *r) for r in rows]


NULLS = (None,) * 9
HOURLY_SHOWN = [  # every zone_hourly cell not suppressed_primary (all others are)
    # 25 x 12 min + 3 pass-bys of 1 min: median and mean of the 25 stays
    (*_hour(10), "25-34", "F", 28, 28, 3, 12.0, 12.0, 3, 25, 0, 0, P),
    (*_hour(14), "25-34", "F", *NULLS, S2),
]
TOTALS_SHOWN = [
    # 48 visitors; 48 visits start in hour 10 (X1's too); stays 19 x 10, 25 x 12, 1 x 20 min:
    # median = 23rd of 45 = 12, mean = 510 / 45
    (*_hour(10), 48, 48, 3, 12.0, 510 / 45, 3, 44, 1, 0, P),
    # 25 x 6 min + U1's 10 min: median 6, mean 160 / 26
    (*_hour(14), 26, 26, 0, 6.0, 160 / 26, 0, 26, 0, 0, P),
]
DAILY_SHOWN = [
    # 28 distinct subscribers, 53 visits: 25 x 12 and 25 x 6 min stays (median (6 + 12) / 2), 3 pass-bys
    ("25-34", "F", 28, 53, 3, 9.0, 9.0, 3, 50, 0, 0, P),
]


def test_published_numbers_match_the_hand_derived_day(spark, first_run):
    hourly = _published(spark, ZONE_HOURLY)
    assert hourly.count() == 2 * 24 * 21  # the full grid: both zones, 24 hours, 21 cohorts
    assert_df_equality(
        hourly.where(F.col(C.STATUS) != S1),
        spark.createDataFrame(_rows(HOURLY_SHOWN), ZONE_HOURLY.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )
    assert hourly.where((F.col(C.STATUS) == S1) & F.col(C.VISITORS).isNotNull()).count() == 0

    totals = _published(spark, ZONE_HOURLY_TOTAL)
    assert totals.count() == 2 * 24
    assert_df_equality(
        totals.where(F.col(C.STATUS) != S1),
        spark.createDataFrame(_rows(TOTALS_SHOWN), ZONE_HOURLY_TOTAL.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )

    daily = _published(spark, ZONE_DAILY)
    assert daily.count() == 2 * 21
    assert_df_equality(
        daily.where(F.col(C.STATUS) != S1),
        spark.createDataFrame(_rows(DAILY_SHOWN), ZONE_DAILY.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )


def test_visits_are_cut_at_local_midnight_and_unknown_subscribers_kept(spark, first_run):
    visits = _published(spark, VISITS).where(F.col(C.PSEUDO_ID).isin("N1", "U1", "X1"))
    expected = spark.createDataFrame(
        [
            (ZONE_SET, "shop", DAY, "N1", "55-64", "M", local(23, 50), local(23, 55), 300, 2, False),
            (ZONE_SET, "shop", DAY, "U1", "unknown", "unknown", local(14, 0), local(14, 10), 600, 2, False),
            (ZONE_SET, "shop", DAY, "X1", "45-54", "F", local(10, 50), local(11, 10), 1200, 3, False),
        ],
        VISITS.struct,
    )
    assert_df_equality(visits, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


EXPECTED_COUNTS = {
    "events_in": 25 * 7 + 25 * 4 + 3 * 2 + 19 * 3 + 3 + 2 + 2 + 1,  # 346; N1's 00:05 is the next day's
    "events_matched": 345,  # all but O1's, each in the shop only
    "visits": 25 + 25 + 3 + 19 + 1 + 1 + 1,
    "passby_visits": 3,
    "subscribers_missing": 1,
    "cells": 1008, "cells_published": 1, "cells_suppressed_primary": 1006, "cells_suppressed_secondary": 1,
    "total_cells": 48, "total_cells_published": 2, "total_cells_suppressed_primary": 46,
    "total_cells_suppressed_secondary": 0,
    "daily_cells": 42, "daily_cells_published": 1, "daily_cells_suppressed_primary": 41,
    "daily_cells_suppressed_secondary": 0,
    "visitors_total": 48 + 1 + 26 + 1,  # visitor-hours: hour 10, X1 in 11, hour 14, N1 in 23
    "visitors_in_suppressed_cells": 76 - 28,
    "visitors_in_secondary_cells": 25,  # hour 14's (25-34, F): published after primary, then secondary
}


def test_run_manifest_records_counts_and_input_versions(spark, first_run):
    assert first_run == {ZONE_SET: EXPECTED_COUNTS}
    row = (
        spark.table(RUNS.name)
        .where((F.col(C.JOB) == "compute") & (F.col(C.ZONE_SET) == ZONE_SET) & (F.col(C.EVENT_DATE) == F.lit(DAY)))
        .orderBy(C.STARTED_AT).first()
    )
    assert row[C.STATUS] == "ok" and row[C.K] == 20
    assert dict(row[C.COUNTS]) == EXPECTED_COUNTS
    assert set(row[C.INPUT_VERSIONS]) == {EVENTS.name, SUBSCRIBERS.name, ZONES.name}
    assert '"spatial_join": "broadcast_index"' in row[C.PARAMETERS]


def _snapshot(spark):
    """The day's visits and published tables as they are now, held on the driver."""
    frames = [_published(spark, t) for t in (VISITS, ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY)]
    return [spark.createDataFrame(df.collect(), df.schema) for df in frames]


def _assert_unchanged(spark, before):
    for now, then in zip(_snapshot(spark), before, strict=True):
        assert_df_equality(now, then, ignore_row_order=True, ignore_nullable=True)


def _compute_runs(spark):
    return spark.table(RUNS.name).where(
        (F.col(C.JOB) == "compute") & (F.col(C.ZONE_SET) == ZONE_SET) & (F.col(C.EVENT_DATE) == F.lit(DAY)))


def test_a_published_day_is_immutable_without_the_republish_flag(spark, test_config, first_run):
    before = _snapshot(spark)
    versions = {t.name: table_version(spark, t) for t in (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY)}
    first_id = _compute_runs(spark).where(F.col(C.STATUS) == "ok").orderBy(C.STARTED_AT).first()[C.RUN_ID]
    with pytest.raises(PublishedDayError, match=rf"2026-02-12 is already published for {ZONE_SET} \(compute run "
                       rf"{first_id}\).*--republish") as refused:
        compute.run(spark, test_config, DAY, [ZONE_SET])
    assert refused.value.exit_code == 73
    assert {t.name: table_version(spark, t) for t in (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY)} == versions
    _assert_unchanged(spark, before)


def test_republishing_leaves_the_tables_as_one_run_and_is_recorded(spark, test_config, first_run):
    before = _snapshot(spark)
    last_ok = _compute_runs(spark).where(F.col(C.STATUS) == "ok").orderBy(F.desc(C.STARTED_AT)).first()[C.RUN_ID]
    assert compute.run(spark, test_config, DAY, [ZONE_SET], republish=True) == first_run
    _assert_unchanged(spark, before)
    latest = _compute_runs(spark).orderBy(F.desc(C.STARTED_AT)).first()
    assert latest[C.STATUS] == "ok"
    assert json.loads(latest[C.PARAMETERS])["republish"] is True
    assert json.loads(latest[C.PARAMETERS])["replaces_run"] == last_ok


def test_unknown_zone_set_and_missing_events_say_what_to_do(seeded, test_config):
    with pytest.raises(BadInputError, match=r"unknown zone set\(s\) nope: the zone sets in ref.zones are .*it_compute"):
        compute.run(seeded, test_config, DAY, ["nope"])
    replace_partition(seeded.createDataFrame(_subscribers(), SUBSCRIBERS.struct)
                      .withColumn(C.SNAPSHOT_DATE, F.lit(NO_EVENTS)), SUBSCRIBERS, {C.SNAPSHOT_DATE: NO_EVENTS})
    with pytest.raises(BadInputError, match=r"no events for 2026-02-11 .*run footfall ingest --date 2026-02-11 first"):
        compute.run(seeded, test_config, NO_EVENTS, [ZONE_SET])


def test_command_line_arguments():
    args = build_parser("compute").parse_args(["compute", "--date", "2026-02-12", "--zone-set", "a", "--zone-set", "b"])
    assert args.date == DAY and args.zone_sets == ["a", "b"] and args.handler is compute.command
