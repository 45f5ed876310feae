"""footfall compute end to end on a hand-built day, with the published numbers derived by hand
from docs/definitions.md (the stay model, `visits.split: midpoint`).

2026-02-12 is a Thursday in CET (UTC+1): local hour h starts at (h - 1):00 UTC. Zone set
`it_compute` holds a mall and a zone far away that nobody visits.

Places. Every position lies on the meridian 13.40 E, so distances in the local metric frame are
north-south only and do not depend on where the frame is centred (m/degree of latitude varies by
3e-5 within Berlin). MALL (52.52 N) lies inside the mall zone, a box of about 679 m x 668 m;
its area_m2 453,000 gives the sigma limit 0.6 x sqrt(453000 / pi) = 227.8 m >= informative_sigma_m
(200): not a small zone, so visits take the timeline's cut, not the duration model. HOME lies
1,040 m north of MALL, outside every zone. Every event is measured with accuracy 20 m
(sigma 20 / 1.515 = 13.2 m), far inside the limit; a burst of identical positions never moves
by scatter. A trip HOME <-> MALL: d = 1,040 m <= walk_max_m, tau = 1040 / 1.3 = 800 s.

The cut (split midpoint): between stays A and B, R = f_B - l_A - tau; A ends at l_A + R / 2, B
starts tau later. Each mall stay below is preceded by a home burst whose last event is 1,400 s
(23:20) before the stay's first observation f, and followed by one whose first event is 1,400 s
after its last observation l: R = 600 s on both sides, so the visit is [f - 300 s, l + 300 s].
Home bursts are two events a minute apart; "H hh:mm:ss" below names the first event of one.

- F1..F25 (25-34, F): H 09:45:40 (last 09:46:40); MALL 10:10:00, 10:11:00; H 10:34:20;
  H 13:45:40 (last 13:46:40); MALL 14:10:00, 14:10:30; H 14:33:50. Stays: home, mall, home (the
  bursts of 10:34 and 13:45 are one stay: same place, no travel between), mall, home: 5.
  First and last stays are home, so the night place is home and no virtual stay is added.
  Visits [10:05:00, 10:16:00] (660 s, 11 min) and [14:05:00, 14:15:30] (630 s, 10.5 min).
- P1..P3 (25-34, F): H 07:00:00; two handover events at MALL, 10:30:00 and 10:31:00 (a moving
  burst: travel); H 18:00:00. Two home stays (a moving burst between them), no stay in the mall;
  the moving burst's events in the mall make a pass-by [10:30:00, 10:31:00] (60 s), kept: P has no
  stay visit in the mall within passby_merge_s.
- M1..M19 (35-44, M): H 09:55:40 (last 09:56:40); MALL 10:20:00, 10:21:30; H 10:44:50.
  Visit [10:15:00, 10:26:30] (690 s, 11.5 min). 19 < k = 20.
- X1 (45-54, F): H 10:25:40 (last 10:26:40); MALL 10:50:00, 10:51:00 and 11:10:00, 11:11:00 (two
  bursts, one stay across the unobserved 19 minutes); H 11:34:20. Visit [10:45:00, 11:16:00]
  (1,860 s, 31 min): a visitor of hours 10 and 11, its visit counts in hour 10.
- N1 (55-64, M): H 18:00:00 and H 23:25:40 (last 23:26:40: one home stay); MALL 23:50:00 and
  23:55:00 (two one-event bursts, 300 s apart, one stay), and 00:05 on the 13th (the 13th's
  partition, not read). First stay home (observed 18:00, 64,800 s after midnight), last stay the
  mall (last observed 300 s before midnight), not the same place: the night place is the one
  observed closer to its midnight, the mall. The day does not start there, so a virtual stay at
  the mall observed only at 00:00 is added. Timeline: virtual (0 s), home (64,800 .. 84,400 s),
  mall (85,800 .. 86,100 s).
  - virtual: starts at midnight; ends at 0 + (64,800 - 800) / 2 = 32,000 s = 08:53:20 (dwell
    32,000 s = 533.3 min; n_events 0, first/last seen NULL): a visitor of hours 0..8.
  - mall: starts at 85,800 - (1,400 - 800) / 2 = 85,500 s = 23:45:00; nothing follows, so it ends
    at the next local midnight: [23:45:00, 24:00:00], 900 s (15 min), cut at midnight: hour 23.
- U1: no subscriber snapshot row -> cohort unknown/unknown; H 13:55:40 (last 13:56:40); MALL
  14:20:00, 14:22:00 (exactly burst_gap_s apart: one burst); H 14:45:20. Visit [14:15:00, 14:27:00]
  (720 s, 12 min).
- O1 (25-34, F): one event outside every zone (one stay, in no zone).

Visitors per hour of the mall (a visitor of every hour its visit overlaps):
  hours 0..8: N1 (55-64, M) 1; hour 10: (25-34, F) 25 + 3 = 28, (35-44, M) 19, (45-54, F) 1,
  total 48; hour 11: X1 1; hour 14: (25-34, F) 25, unknown 1, total 26; hour 23: N1 1.
Hour 10: (25-34, F) published, the other cohort cells suppressed with S = 48 - 28 = 20 >= k over
20 cells: no secondary. Hour 14: (25-34, F) 25, unknown 1, total 26 published: S = 1 < k would
reveal the unknown subscriber, so (25-34, F) is suppressed too (secondary) and S becomes 26.
Day: (25-34, F) 28 published, the day total 50 published: S = 22 >= k.
Day parts (night 0-5, morning 6-9, midday 10-13, afternoon 14-17, evening 18-23): N1 in the
night, the morning and the evening; midday (25-34, F) 28, (35-44, M) 19, X1 1; afternoon
(25-34, F) 25, unknown 1. Published: midday and afternoon (25-34, F).
The LP attacker (docs/definitions.md, secondary pass 2) finds no interval narrower than k: the
hour-10 cells sum to 20, each in [0, 20]; hour 14's (25-34, F) lies in [26 - 22, 25] (the other
cohorts' day cells sum to 22; the afternoon's (25-34, F) is 25); every other suppressed cell is
bounded above by 22 or more.

Catchment (home districts of the day's snapshot: 01, 02, 03 and unknown): F1..F25 and X1 live in
01, P1..P3 and M1..M19 in 02, O1 in 03, N1's postcode maps to none (unknown), and U1 has no
snapshot row (unknown). The mall: 01 26, 02 22, 03 0, unknown 2 (N1, U1), adding up to the day's
50. 03 and unknown are below k; the day total minus 01 and 02 would count them as 2 < k, so 02,
the smaller published one, is withheld too (subtraction): 02 + 03 + unknown = 24, each in [0, 24].
"""

import dataclasses
import datetime as dt
import json
from urllib.parse import urlparse

import pyarrow.parquet as pq
import pytest
import shapely
from chispa import assert_approx_df_equality, assert_df_equality
from py4j.protocol import Py4JJavaError
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from footfall.cli import build_parser
from footfall.config import SPLIT_MIDPOINT
from footfall.errors import BadInputError, PublishedDayError
from footfall.pipeline import compute
from footfall.pipeline.aggregate import ESTIMATES, METRICS
from footfall.schemas import (
    EVENTS,
    MARGIN_ALL,
    MARKET_SHARE,
    RUNS,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    SUBSCRIBERS,
    VISITS,
    WITHHELD_CELLS,
    WITHHELD_LINKED,
    WITHHELD_PRIMARY,
    WITHHELD_REPUBLISH,
    WITHHELD_SUBTRACTION,
    ZONE_CATCHMENT,
    ZONE_COVER,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
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
LON = 13.40
MALL_LAT = 52.52
# 1,040 m north of the mall: metres per degree of latitude at 52.56 N (the WGS84 series of
# docs/definitions.md's local frame) are 111,278; 3e-5 of it is 0.03 m here.
HOME_LAT = MALL_LAT + 1040.0 / 111_278.0
MALL = (LON, MALL_LAT)
HOME = (LON, HOME_LAT)
NOWHERE = (13.30, 52.40)  # inside no zone
MALL_AREA_M2 = 453_000.0  # the box below: 0.01 deg x 0.006 deg, about 679 m x 668 m
P, S = STATUS_PUBLISHED, STATUS_SUPPRESSED


def local(hour: int, minute: int, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    """Local CET wall time as the UTC instant (CET = UTC+1 in February)."""
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=dt.UTC) - dt.timedelta(hours=1)


def _home(hour: int, minute: int, second: int = 0) -> list[tuple]:
    """A home burst: two events a minute apart from the given local time."""
    first = local(hour, minute, second)
    return [(first, *HOME, "attach"), (first + dt.timedelta(minutes=1), *HOME, "attach")]


def _mall(*times: dt.datetime, event_type: str = "attach") -> list[tuple]:
    return [(t, *MALL, event_type) for t in times]


def _trajectories() -> list[tuple[str, list[tuple]]]:
    """(pseudo_id, [(event_time, lon, lat, event_type), ...]) as the module docstring lists them."""
    people = []
    for i in range(1, 26):
        people.append((f"F{i}", _home(9, 45, 40) + _mall(local(10, 10), local(10, 11)) + _home(10, 34, 20)
                       + _home(13, 45, 40) + _mall(local(14, 10), local(14, 10, 30)) + _home(14, 33, 50)))
    for i in range(1, 4):
        people.append((f"P{i}", _home(7, 0) + _mall(local(10, 30), local(10, 31), event_type="handover")
                       + _home(18, 0)))
    for i in range(1, 20):
        people.append((f"M{i}", _home(9, 55, 40) + _mall(local(10, 20), local(10, 21, 30)) + _home(10, 44, 50)))
    people.append(("X1", _home(10, 25, 40) + _mall(local(10, 50), local(10, 51), local(11, 10), local(11, 11))
                   + _home(11, 34, 20)))
    people.append(("N1", _home(18, 0) + _home(23, 25, 40)
                   + _mall(local(23, 50), local(23, 55), local(0, 5, day=NEXT))))
    people.append(("U1", _home(13, 55, 40) + _mall(local(14, 20), local(14, 22)) + _home(14, 45, 20)))
    people.append(("O1", [(local(12, 0), *NOWHERE, "attach")]))
    return people


def _events() -> list[tuple]:
    # an event's local date is the partition it lives in (as ingest writes it)
    return [(DAY if t < local(0, 0, day=NEXT) else NEXT, pid, "k1", t, "c1", kind, x, y, 20.0, "measured")
            for pid, events in _trajectories() for t, x, y, kind in events]


def _subscribers() -> list[tuple]:
    cohorts = {f"F{i}": ("25-34", "F") for i in range(1, 26)}
    cohorts |= {f"P{i}": ("25-34", "F") for i in range(1, 4)}
    cohorts |= {f"M{i}": ("35-44", "M") for i in range(1, 20)}
    cohorts |= {"X1": ("45-54", "F"), "N1": ("55-64", "M"), "O1": ("25-34", "F")}
    homes = {"X1": "01", "N1": "unknown", "O1": "03"} | {pid: "01" if pid[0] == "F" else "02" for pid in cohorts
                                                         if pid[0] in "FPM"}
    return [(pid, "k1", age, gender, "consumer", homes[pid], None, DAY) for pid, (age, gender) in cohorts.items()]


def _zones() -> list[tuple]:
    mall = shapely.box(13.395, 52.517, 13.405, 52.523)
    far = shapely.box(13.60, 52.60, 13.61, 52.61)
    return [(ZONE_SET, zone_id, zone_id, "test", shapely.to_wkb(g), area)
            for zone_id, g, area in (("mall", mall, MALL_AREA_M2), ("far", far, 750_000.0))]


@pytest.fixture(scope="module")
def cfg(test_config):
    """The test config with the midpoint cut, whose start and end can be derived by hand."""
    return dataclasses.replace(test_config, visits=dataclasses.replace(test_config.visits, split=SPLIT_MIDPOINT))


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
    ensure_tables(spark, (MARKET_SHARE,))
    replace_partition(spark.createDataFrame([(DAY, h, a, g, None, None, w) for h, a, g, w in WEIGHTS],
                                            MARKET_SHARE.struct), MARKET_SHARE, {C.SNAPSHOT_DATE: DAY})
    return spark


@pytest.fixture(scope="module")
def first_run(seeded, cfg):
    return compute.run(seeded, cfg, DAY, [ZONE_SET])


def _published(spark, table):
    return spark.table(table.name).where(
        (F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == ZONE_SET)
    )


def _hour(h: int) -> tuple:
    return (local(h, 0), h, 60)


def _rows(rows):
    return [(ZONE_SET, "mall", DAY, *r) for r in rows]


NULLS = (None,) * 10
# footfall.market_share of the day (home, age band, gender, weight), picked by hand: the mall's
# visitors_est below follow from them, its day total of 50 and its one published catchment row,
# home 01 with 26 (share 26 / 50 = 0.52). Mixed over the catchment, a group c weighs
# w(all, c) + 0.52 (w(01, c) - w(all, c)): all 50 + 0.52 (25 - 50) = 37; (25-34, F)
# 30 + 0.52 (5 - 30) = 17; (25-34, all) 35 (no weight of its own in 01: no shift).
WEIGHTS = [("all", "all", "all", 50.0), ("01", "all", "all", 25.0), ("all", "25-34", "F", 30.0),
           ("01", "25-34", "F", 5.0), ("all", "25-34", "all", 35.0)]
# Columns after the keys: visitors, visits, passersby, dwell median, mean, < 5, 5-15, 15-60, 60+ min, status.
VISITS_WITHHELD = (None,) * 8  # every visit metric of a published cell withheld
# its pass-bys, dwell statistics and dwell bins withheld
HISTOGRAM_WITHHELD = (None,) * 7
HOURLY_SHOWN = [  # the one published zone_hourly cell (all others are suppressed)
    # 28 visitors; zone_hourly publishes no visit metrics (docs/privacy.md, section 4)
    (*_hour(10), "25-34", "F", 28, 28 * 17.0, *VISITS_WITHHELD, P),
]
TOTALS_SHOWN = [
    # 48 visitors; 48 visits start in hour 10 (X1's too); stays 25 x 11, 19 x 11.5, 1 x 31 min:
    # median = 23rd of 45 = 11, mean = (275 + 218.5 + 31) / 45 = 524.5 / 45. The histogram is
    # withheld: 3 people (P1..P3) behind the pass-bys and the < 5 bin, 1 (X1) behind the 15-60 bin;
    # so are the dwell statistics (they need it: docs/privacy.md, section 4).
    (*_hour(10), 48, 48 * 37.0, 48, *HISTOGRAM_WITHHELD, P),
    # 25 x 10.5 min + U1's 12 min (median 10.5, mean 274.5 / 26), but withheld: the day's 76 visits
    # minus hours 10 and 14 are N1's 2 (hours 0 and 23), one person, so hour 14 hides its count too
    (*_hour(14), 26, 26 * 37.0, *VISITS_WITHHELD, P),
]
DAILY_SHOWN = [
    # 28 distinct subscribers, 53 visits: 25 x 11 and 25 x 10.5 min stays (median (10.5 + 11) / 2,
    # mean 537.5 / 50); 3 pass-bys of 3 people: the histogram is withheld, and with it the dwell
    # statistics. The day minus this cell:
    # 23 visits of 22 people in the other cohorts (19 + X1 + N1 + U1): nothing more to withhold.
    ("25-34", "F", 28, 28 * 17.0, 53, *HISTOGRAM_WITHHELD, P),
]
DAILY_TOTAL_SHOWN = [
    # 50 subscribers (28 + 19 + X1 + N1 + U1); 76 visits: 53 of (25-34, F), 19, X1's, N1's two, U1's.
    # The 73 stays: 25 x 10.5, 25 x 11, 19 x 11.5, U1 12, N1 15, X1 31, N1's night 533.3 min:
    # median = 37th = 11; mean = (262.5 + 275 + 218.5 + 12 + 15 + 31 + 32000 / 60) / 73 = (4042 / 3) / 73.
    # < 5 min: the 3 pass-bys; 5-15: 25 + 25 + 19 + U1 = 70; 15-60: N1's 15 and X1's 31; 60+: N1's night.
    # The histogram (3, 70, 2, 1 visits) is withheld: 3 people behind the pass-bys, 2 behind the
    # 15-60 bin, 1 behind the 60+ bin. 47 people stayed (50 - P1..P3), but the dwell statistics
    # need the histogram.
    (50, 50 * 37.0, 76, *HISTOGRAM_WITHHELD, P),
]
DAYPART_SHOWN = [  # (day part, its start, its hours, cohort, visitors, status): the module docstring
    ("midday", local(10, 0), 4, "25-34", "F", 28, 28 * 17.0, P),
    ("afternoon", local(14, 0), 4, "25-34", "F", 25, 25 * 17.0, P),
]
CATCHMENT_SHOWN = [("01", 26, 26 * 25.0, P)]  # the module docstring; its own district's weight
MARGINS_SHOWN = [
    # The day's 25-34: (25-34, F)'s 28, nobody else. Women: 28 + X1 = 29, men: 19 + N1 = 20 (>= k),
    # the unknown gender: U1. Women beside the published (25-34, F) would count the other women
    # as 1 (X1): withheld (subtraction). Men 20 and the day's 50 then give women + unknown = 30,
    # the women at least 28 (their published cohort): the unknown gender at most 2, so the men's
    # margin is withheld too (linked: only margin cells give way for a margin's leak).
    ("25-34", MARGIN_ALL, 28, 28 * 35.0, P),
]


def test_published_numbers_match_the_hand_derived_day(spark, first_run):
    hourly = _published(spark, ZONE_HOURLY)
    assert hourly.count() == 2 * 24 * 21  # the full grid: both zones, 24 hours, 21 cohorts
    assert_df_equality(
        hourly.where(F.col(C.STATUS) == P),
        spark.createDataFrame(_rows(HOURLY_SHOWN), ZONE_HOURLY.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )
    # every other cell is suppressed with every metric NULL: hour 14's (25-34, F) too, though it
    # had 25 >= k visitors (the public status does not say why; ops.withheld_cells does)
    suppressed = hourly.where(F.col(C.STATUS) != P).groupBy(C.STATUS).agg(
        F.count(F.lit(1)), *[F.count(c) for c in METRICS])  # count(c): the non-NULL values
    assert [tuple(r) for r in suppressed.collect()] == [(S, 2 * 24 * 21 - 1, *[0] * len(METRICS))]

    totals = _published(spark, ZONE_HOURLY_TOTAL)
    assert totals.count() == 2 * 24
    assert_df_equality(
        totals.where(F.col(C.STATUS) == P),
        spark.createDataFrame(_rows(TOTALS_SHOWN), ZONE_HOURLY_TOTAL.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )

    margins = _published(spark, ZONE_DAILY_MARGINS)
    assert margins.count() == 2 * (7 + 3)
    assert_df_equality(
        margins.where(F.col(C.STATUS) == P), spark.createDataFrame(_rows(MARGINS_SHOWN), ZONE_DAILY_MARGINS.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )
    assert margins.where((F.col(C.STATUS) != P) & F.col(C.VISITORS).isNotNull()).count() == 0

    catchment = _published(spark, ZONE_CATCHMENT)
    assert catchment.count() == 2 * 4
    assert_df_equality(
        catchment.where(F.col(C.STATUS) == P), spark.createDataFrame(_rows(CATCHMENT_SHOWN), ZONE_CATCHMENT.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )
    assert catchment.where((F.col(C.STATUS) != P) & F.col(C.VISITORS).isNotNull()).count() == 0

    dayparts = _published(spark, ZONE_DAYPART)
    assert dayparts.count() == 2 * 5 * 21
    assert_df_equality(
        dayparts.where(F.col(C.STATUS) == P), spark.createDataFrame(_rows(DAYPART_SHOWN), ZONE_DAYPART.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )
    assert dayparts.where((F.col(C.STATUS) != P) & F.col(C.VISITORS).isNotNull()).count() == 0

    daily = _published(spark, ZONE_DAILY)
    assert daily.count() == 2 * 21
    assert_df_equality(
        daily.where(F.col(C.STATUS) == P),
        spark.createDataFrame(_rows(DAILY_SHOWN), ZONE_DAILY.struct),
        ignore_row_order=True, ignore_nullable=True, ignore_metadata=True,
    )


def test_published_rows_are_written_in_key_order(spark, first_run):
    """Disclosure control leaves a zone-hour's cells ordered by status and visitors (published
    first, smallest first): in that order, a file would show which withheld cells were withheld
    to protect others. Each file of the day is sorted by its keys instead."""
    keys = [C.ZONE_SET, C.ZONE_ID, C.HOUR_START, C.LOCAL_HOUR, C.UTC_OFFSET_MIN, C.AGE_BAND, C.GENDER]
    files = [f for f in spark.table(ZONE_HOURLY.name).inputFiles() if f"{C.EVENT_DATE}={DAY.isoformat()}/" in f]
    assert files
    for file in files:
        # one file, as written: ParquetFile, since read_table would add event_date from the folder name
        rows = [tuple(r[k] for k in keys) for r in pq.ParquetFile(urlparse(file).path).read(columns=keys).to_pylist()]
        assert len(rows) > 0 and rows == sorted(rows), file


def test_why_each_cell_was_withheld_is_kept_for_the_privacy_officer(spark, first_run):
    """ops.withheld_cells: a row per suppressed cell of the four tables, with its reason. Hour 14's
    (25-34, F) was withheld to protect the unknown subscriber (the docstring); every other
    suppressed cell has fewer than k visitors."""
    withheld = _published(spark, WITHHELD_CELLS)
    by_reason = {(r[C.TABLE_NAME], r[C.REASON]): r["count"]
                 for r in withheld.groupBy(C.TABLE_NAME, C.REASON).count().collect()}
    assert by_reason == {
        (ZONE_HOURLY.name, WITHHELD_PRIMARY): 2 * 24 * 21 - 2, (ZONE_HOURLY.name, WITHHELD_SUBTRACTION): 1,
        (ZONE_HOURLY_TOTAL.name, WITHHELD_PRIMARY): 2 * 24 - 2, (ZONE_DAILY.name, WITHHELD_PRIMARY): 2 * 21 - 1,
        (ZONE_DAILY_TOTAL.name, WITHHELD_PRIMARY): 1,
        # visitors published: fewer than k people behind the pass-bys (hour 10, the day, its
        # 25-34/F), and hour 14's count against the day's (the comments of TOTALS_SHOWN)
        (ZONE_HOURLY_TOTAL.name, "histogram_primary"): 1, (ZONE_DAILY.name, "histogram_primary"): 1,
        (ZONE_DAILY_TOTAL.name, "histogram_primary"): 1, (ZONE_HOURLY_TOTAL.name, "visits_subtraction"): 1,
        # the margins (MARGINS_SHOWN): women 29 beside the published (25-34, F) 28 would count
        # the other women (X1) as 1; then men 20 and the day's 50 would give women + unknown =
        # 30, the women at least 28: the unknown gender at most 2 (linked)
        (ZONE_DAILY_MARGINS.name, WITHHELD_PRIMARY): 7 + 10, (ZONE_DAILY_MARGINS.name, WITHHELD_SUBTRACTION): 1,
        (ZONE_DAILY_MARGINS.name, WITHHELD_LINKED): 1,
        # day parts: all but DAYPART_SHOWN's two have fewer than k visitors
        (ZONE_DAYPART.name, WITHHELD_PRIMARY): 2 * 5 * 21 - 2,
        # catchment: the mall's 03 and unknown, the far zone's four; 02 against the day's total
        (ZONE_CATCHMENT.name, WITHHELD_PRIMARY): 2 + 4, (ZONE_CATCHMENT.name, WITHHELD_SUBTRACTION): 1,
    }
    run_id = _compute_runs(spark).where(F.col(C.STATUS) == "ok").orderBy(F.desc(C.STARTED_AT)).first()[C.RUN_ID]
    assert_df_equality(
        withheld.where(F.col(C.REASON).isin(WITHHELD_SUBTRACTION, WITHHELD_LINKED)),
        spark.createDataFrame([
            (ZONE_SET, "mall", DAY, ZONE_HOURLY.name, local(14, 0), "25-34", "F", None, WITHHELD_SUBTRACTION, run_id),
            (ZONE_SET, "mall", DAY, ZONE_DAILY_MARGINS.name, None, MARGIN_ALL, "F", None, WITHHELD_SUBTRACTION,
             run_id),
            (ZONE_SET, "mall", DAY, ZONE_DAILY_MARGINS.name, None, MARGIN_ALL, "M", None, WITHHELD_LINKED, run_id),
            (ZONE_SET, "mall", DAY, ZONE_CATCHMENT.name, None, None, None, "02", WITHHELD_SUBTRACTION, run_id),
        ], WITHHELD_CELLS.struct),
        ignore_nullable=True, ignore_metadata=True, ignore_row_order=True,
    )


def test_daily_total_and_no_dwell_estimate_outside_small_zones(spark, first_run):
    day_totals = _published(spark, ZONE_DAILY_TOTAL)
    assert day_totals.count() == 2  # the full grid: both zones
    counted = [c for c in ZONE_DAILY_TOTAL.struct.names if c not in ESTIMATES]
    expected = spark.createDataFrame(_rows(DAILY_TOTAL_SHOWN),
                                     StructType([f for f in ZONE_DAILY_TOTAL.struct.fields if f.name in counted]))
    # approximately: the mean of 73 dwells differs from 4042 / 219 in the last digit (summation order)
    assert_approx_df_equality(day_totals.where(F.col(C.STATUS) == P).select(*counted), expected, 1e-9,
                              ignore_nullable=True)
    # The estimates are only for small zones (docs/definitions.md): the mall's sigma limit
    # 227.8 m is above informative_sigma_m (200 m), so it has none though it has 73 >=
    # dwell_est_min_visits stay visits; the far zone has no visit and is suppressed.
    for zone_id, status in (("far", S), ("mall", P)):
        row = day_totals.where(F.col(C.ZONE_ID) == zone_id).first()
        assert row[C.STATUS] == status and all(row[c] is None for c in ESTIMATES), zone_id


def test_visits_follow_the_stay_model(spark, first_run):
    """Virtual night stay, the cut at midnight, an unknown subscriber, a stay over two hours, a pass-by."""
    visits = _published(spark, VISITS).where(F.col(C.PSEUDO_ID).isin("N1", "U1", "X1", "P1"))
    expected = spark.createDataFrame(
        [
            (ZONE_SET, "mall", DAY, "N1", "55-64", "M", "unknown", local(0, 0), local(8, 53, 20), 32000, 0, False,
             None, None),
            (ZONE_SET, "mall", DAY, "N1", "55-64", "M", "unknown", local(23, 45), local(0, 0, day=NEXT), 900, 2, False,
             local(23, 50), local(23, 55)),
            (ZONE_SET, "mall", DAY, "U1", "unknown", "unknown", "unknown", local(14, 15), local(14, 27), 720, 2, False,
             local(14, 20), local(14, 22)),
            (ZONE_SET, "mall", DAY, "X1", "45-54", "F", "01", local(10, 45), local(11, 16), 1860, 4, False,
             local(10, 50), local(11, 11)),
            (ZONE_SET, "mall", DAY, "P1", "25-34", "F", "02", local(10, 30), local(10, 31), 60, 2, True,
             local(10, 30), local(10, 31)),
        ],
        VISITS.struct,
    )
    assert_df_equality(visits, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


EXPECTED_COUNTS = {
    # events of the 12th: F 25 x 12, P 3 x 6, M 19 x 6, X1 8, N1 6 (its 00:05 is the 13th's), U1 6, O1 1
    "events_in": 300 + 18 + 114 + 8 + 6 + 6 + 1,  # 453
    "events_observed": 453,  # all have time, position and accuracy
    # F 25 x 6, P 3 x 3, M 19 x 3, X1 4, N1 4 (23:50 and 23:55 are two bursts), U1 3, O1 1
    "bursts": 150 + 9 + 57 + 4 + 4 + 3 + 1,  # 228
    "travel_events": 6,  # P1..P3's handover events
    # F 25 x 5, P 3 x 2, M 19 x 3, X1 3, N1 2 + the virtual one, U1 3, O1 1
    "stays": 125 + 6 + 57 + 3 + 3 + 3 + 1,  # 198
    # n_events of the visits: F 25 x (2 + 2), P 3 x 2, M 19 x 2, X1 4, N1 0 + 2, U1 2
    "events_matched": 100 + 6 + 38 + 4 + 2 + 2,  # 152
    "visits": 25 * 2 + 3 + 19 + 1 + 2 + 1,  # 76
    "passby_visits": 3,
    "subscribers_missing": 1,
    "cells": 1008, "cells_published": 1, "cells_suppressed_primary": 1006, "cells_suppressed_secondary": 1,
    "total_cells": 48, "total_cells_published": 2, "total_cells_suppressed_primary": 46,
    "total_cells_suppressed_secondary": 0,
    "daily_cells": 42, "daily_cells_published": 1, "daily_cells_suppressed_primary": 41,
    "daily_cells_suppressed_secondary": 0,
    "daily_total_cells": 2, "daily_total_cells_published": 1, "daily_total_cells_suppressed_primary": 1,
    "daily_total_cells_suppressed_secondary": 0,
    # zone_daily_margins (MARGINS_SHOWN): the mall's 25-34 published; 35-44, 45-54, 55-64 and
    # unknown (1 each or 19), 18-24 and 65+ (0), the unknown gender (1) and the far zone's 10
    # below k; women (29) and men (20) withheld to protect others
    "margin_cells": 20, "margin_cells_published": 1, "margin_cells_suppressed_primary": 7 + 10,
    "margin_cells_suppressed_secondary": 2,
    "daypart_cells": 210, "daypart_cells_published": 2, "daypart_cells_suppressed_primary": 208,
    "daypart_cells_suppressed_secondary": 0,
    # zone_catchment (CATCHMENT_SHOWN): 2 zones x 4 home districts
    "catchment_cells": 8, "catchment_cells_published": 1, "catchment_cells_suppressed_primary": 6,
    "catchment_cells_suppressed_secondary": 1,
    # published cells without a visit count / a histogram: zone_hourly's one (it has none); hour 14
    # (count and histogram), hour 10 (histogram); the daily cell (histogram); the day (histogram)
    "cells_visits_withheld": 1, "cells_histogram_withheld": 1, "total_cells_visits_withheld": 1,
    "total_cells_histogram_withheld": 2, "daily_cells_visits_withheld": 0, "daily_cells_histogram_withheld": 1,
    "daily_total_cells_visits_withheld": 0, "daily_total_cells_histogram_withheld": 1,
    "visitors_total": 9 + 48 + 1 + 26 + 1,  # visitor-hours: N1 in 0..8, hour 10, X1 in 11, hour 14, N1 in 23
    "visitors_in_suppressed_cells": 85 - 28,
    "visitors_in_secondary_cells": 25,  # hour 14's (25-34, F): published after primary, then secondary
    # Utility (footfall.pipeline.utility): the 76 visits by the hour they start in (hour 0: N1's
    # virtual one; 10: F 25, P 3, M 19, X1; 14: F 25, U1; 23: N1's) and the 85 visitor-hours, in a
    # cell with published visitors: hour 10's (25-34, F) 28 / 28; hours 10 and 14, 48 + 26 both
    # ways; the day's (25-34, F): F's 50 visits and visitor-hours (hours 10 and 14), P's 3; the
    # mall's day: everything.
    "utility_visits": 76, "utility_visitor_hours": 85,
    "utility_visits_hour_cohort": 28, "utility_visitor_hours_hour_cohort": 28,
    "utility_visits_hour": 48 + 26, "utility_visitor_hours_hour": 48 + 26,
    # the midday's and the afternoon's (25-34, F): hour 10's 28 and hour 14's 25
    "utility_visits_daypart_cohort": 28 + 25, "utility_visitor_hours_daypart_cohort": 28 + 25,
    "utility_visits_day_cohort": 50 + 3, "utility_visitor_hours_day_cohort": 50 + 3,
    "utility_visits_day": 76, "utility_visitor_hours_day": 85,
    # the mall's 25-34: the same 53 as its only cohort (25-34, F); no gender published; any cohort
    # level: hour 10's (25-34, F) 28 lies within the day's 53
    "utility_visits_day_age": 53, "utility_visitor_hours_day_age": 53,
    "utility_visits_day_gender": 0, "utility_visitor_hours_day_gender": 0,
    "utility_visits_any_cohort": 53, "utility_visitor_hours_any_cohort": 53,
    # the mall's home district 01: F1..F25's 50 visits in hours 10 and 14, X1's one over hours 10 and 11
    "utility_visits_day_home": 50 + 1, "utility_visitor_hours_day_home": 50 + 2,
    # the mall and the far zone; only the mall has a published cohort-level cell
    "utility_zones": 2, "utility_zones_any_cohort": 1,
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
    assert set(row[C.INPUT_VERSIONS]) == {EVENTS.name, SUBSCRIBERS.name, ZONES.name, ZONE_COVER.name, MARKET_SHARE.name}
    parameters = json.loads(row[C.PARAMETERS])
    assert parameters["spatial_join"] == "grid_cover"
    assert parameters["visits"]["split"] == SPLIT_MIDPOINT


PUBLISHED = (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY, ZONE_DAILY_TOTAL, ZONE_DAILY_MARGINS, ZONE_DAYPART,
             ZONE_CATCHMENT)


def _snapshot(spark):
    """The day's visits and published tables as they are now, held on the driver."""
    frames = [_published(spark, t) for t in (VISITS, *PUBLISHED)]
    return [spark.createDataFrame(df.collect(), df.schema) for df in frames]


def _assert_unchanged(spark, before):
    for now, then in zip(_snapshot(spark), before, strict=True):
        assert_df_equality(now, then, ignore_row_order=True, ignore_nullable=True)


def _compute_runs(spark):
    return spark.table(RUNS.name).where(
        (F.col(C.JOB) == "compute") & (F.col(C.ZONE_SET) == ZONE_SET) & (F.col(C.EVENT_DATE) == F.lit(DAY)))


def test_a_published_day_is_immutable_without_the_republish_flag(spark, cfg, first_run):
    before = _snapshot(spark)
    versions = {t.name: table_version(spark, t) for t in PUBLISHED}
    first_id = _compute_runs(spark).where(F.col(C.STATUS) == "ok").orderBy(C.STARTED_AT).first()[C.RUN_ID]
    with pytest.raises(PublishedDayError, match=rf"2026-02-12 is already published for {ZONE_SET} \(compute run "
                       rf"{first_id}\).*--republish") as refused:
        compute.run(spark, cfg, DAY, [ZONE_SET])
    assert refused.value.exit_code == 73
    assert {t.name: table_version(spark, t) for t in PUBLISHED} == versions
    _assert_unchanged(spark, before)


def test_republishing_leaves_the_tables_as_one_run_and_is_recorded(spark, cfg, first_run):
    before = _snapshot(spark)
    last_ok = _compute_runs(spark).where(F.col(C.STATUS) == "ok").orderBy(F.desc(C.STARTED_AT)).first()[C.RUN_ID]
    assert compute.run(spark, cfg, DAY, [ZONE_SET], republish=True) == first_run
    _assert_unchanged(spark, before)
    latest = _compute_runs(spark).orderBy(F.desc(C.STARTED_AT)).first()
    assert latest[C.STATUS] == "ok"
    assert json.loads(latest[C.PARAMETERS])["republish"] is True
    assert json.loads(latest[C.PARAMETERS])["replaces_run"] == last_ok


def test_unknown_zone_set_and_missing_events_say_what_to_do(seeded, cfg):
    with pytest.raises(BadInputError, match=r"unknown zone set\(s\) nope: the zone sets in ref.zones are .*it_compute"):
        compute.run(seeded, cfg, DAY, ["nope"])
    replace_partition(seeded.createDataFrame(_subscribers(), SUBSCRIBERS.struct)
                      .withColumn(C.SNAPSHOT_DATE, F.lit(NO_EVENTS)), SUBSCRIBERS, {C.SNAPSHOT_DATE: NO_EVENTS})
    with pytest.raises(BadInputError, match=r"no events for 2026-02-11 .*run footfall ingest --date 2026-02-11 first"):
        compute.run(seeded, cfg, NO_EVENTS, [ZONE_SET])


def test_command_line_arguments():
    args = build_parser("compute").parse_args(["compute", "--date", "2026-02-12", "--zone-set", "a", "--zone-set", "b"])
    assert args.date == DAY and args.zone_sets == ["a", "b"] and args.handler is compute.command


def test_a_day_a_crashed_compute_wrote_to_counts_as_published(seeded, cfg):
    """A compute that crashed after its first published write (zone_hourly) recorded no run, but
    its rows are readable: the day counts as published."""
    row = (ZONE_SET, "mall", NEXT, local(0, 0, day=NEXT), 0, 60, "25-34", "F", *NULLS, S)
    keys = {C.EVENT_DATE: NEXT, C.ZONE_SET: ZONE_SET}
    replace_partition(seeded.createDataFrame([row], ZONE_HOURLY.struct), ZONE_HOURLY, keys)
    try:
        with pytest.raises(PublishedDayError, match=r"^2026-02-13 is already published for it_compute \(compute "
                           r"run that did not finish\); published days are immutable. Rerun with --republish"):
            compute.run(seeded, cfg, NEXT, [ZONE_SET])
    finally:
        replace_partition(seeded.createDataFrame([], ZONE_HOURLY.struct), ZONE_HOURLY, keys)


def test_a_republish_is_suppressed_against_the_release_it_replaces(spark, cfg, first_run):
    """Issue #15, finding 4. The release replaced had hour 10's (25-34, F) at 30 (the day's is 28):
    published next to 28, the difference would count 2 people. It is withheld, and so is hour
    14's (25-34, F), withheld in the replaced release. Withheld, hour 10's (25-34, F) is x = 48 -
    (the other cohorts of hour 10), each at most its day cell, and those sum to 50 - 28 = 22: x in
    [26, 28], so the LP pass withholds the daily (25-34, F) too. The midday's (25-34, F), 28,
    would pin it again: the day's (25-34, F) is at least its midday's, so x >= 28 - 2 and x <= 28
    (an hour's visitors are at most its day part's). The midday cell is withheld (linked; 28 <
    hour 10's total 48). Then x is at least the afternoon's 25 minus 2: [23, 48], safe; but the
    25-34 margin (28) bounds the day's (25-34, F) from above, x in [23, 28]: the margin, which
    gives way first, is withheld (linked). The replaced files are vacuumed: the old version can
    no longer be read."""
    keys = {C.EVENT_DATE: DAY, C.ZONE_SET: ZONE_SET}
    hour_10 = ((F.col(C.ZONE_ID) == "mall") & (F.col(C.LOCAL_HOUR) == 10) & (F.col(C.AGE_BAND) == "25-34")
               & (F.col(C.GENDER) == "F"))
    old = _published(spark, ZONE_HOURLY).withColumn(C.VISITORS, F.when(hour_10, 30).otherwise(F.col(C.VISITORS)))
    replace_partition(spark.createDataFrame(old.collect(), ZONE_HOURLY.struct), ZONE_HOURLY, keys)
    replaced_version = table_version(spark, ZONE_HOURLY)
    counts = compute.run(spark, cfg, DAY, [ZONE_SET], republish=True)[ZONE_SET]
    hourly = _published(spark, ZONE_HOURLY).groupBy(C.STATUS).agg(F.count(F.lit(1)), F.count(C.VISITORS))
    assert [tuple(r) for r in hourly.collect()] == [(S, 2 * 24 * 21, 0)]
    withheld = _published(spark, WITHHELD_CELLS).groupBy(C.TABLE_NAME, C.REASON).count()
    assert {(r[C.TABLE_NAME], r[C.REASON]): r["count"] for r in withheld.collect()} == {
        (ZONE_HOURLY.name, WITHHELD_PRIMARY): 2 * 24 * 21 - 2, (ZONE_HOURLY.name, WITHHELD_REPUBLISH): 2,
        (ZONE_HOURLY_TOTAL.name, WITHHELD_PRIMARY): 2 * 24 - 2, (ZONE_DAILY.name, WITHHELD_PRIMARY): 2 * 21 - 1,
        (ZONE_DAILY.name, WITHHELD_LINKED): 1, (ZONE_DAILY_TOTAL.name, WITHHELD_PRIMARY): 1,
        # as before; hour 14's count, withheld in the replaced release, stays withheld
        (ZONE_HOURLY_TOTAL.name, "histogram_primary"): 1, (ZONE_HOURLY_TOTAL.name, "visits_republish"): 1,
        (ZONE_DAILY_TOTAL.name, "histogram_primary"): 1,
        # women and men were withheld before and stay so; the 25-34 margin and the midday's
        # (25-34, F) are withheld (linked) for hour 10's (25-34, F), as the docstring derives
        (ZONE_DAILY_MARGINS.name, WITHHELD_PRIMARY): 7 + 10, (ZONE_DAILY_MARGINS.name, WITHHELD_REPUBLISH): 2,
        (ZONE_DAILY_MARGINS.name, WITHHELD_LINKED): 1,
        (ZONE_DAYPART.name, WITHHELD_PRIMARY): 2 * 5 * 21 - 2, (ZONE_DAYPART.name, WITHHELD_LINKED): 1,
        # catchment: 02, withheld in the replaced release, stays withheld
        (ZONE_CATCHMENT.name, WITHHELD_PRIMARY): 2 + 4, (ZONE_CATCHMENT.name, WITHHELD_REPUBLISH): 1,
    }
    assert counts == EXPECTED_COUNTS | {"cells_published": 0, "cells_suppressed_secondary": 2,
                                        "visitors_in_secondary_cells": 28 + 25, "visitors_in_suppressed_cells": 85,
                                        "daily_cells_published": 0, "daily_cells_suppressed_secondary": 1,
                                        "cells_visits_withheld": 0, "cells_histogram_withheld": 0,
                                        "daily_cells_histogram_withheld": 0,
                                        "margin_cells_published": 0, "margin_cells_suppressed_secondary": 3,
                                        "daypart_cells_published": 1, "daypart_cells_suppressed_secondary": 1,
                                        # no hour or day cohort cell published, nor the 25-34 margin: of
                                        # the cohort levels only the afternoon's (25-34, F) covers
                                        # anything, hour 14's 25 visits and visitor-hours
                                        "utility_visits_hour_cohort": 0, "utility_visitor_hours_hour_cohort": 0,
                                        "utility_visits_day_cohort": 0, "utility_visitor_hours_day_cohort": 0,
                                        "utility_visits_day_age": 0, "utility_visitor_hours_day_age": 0,
                                        "utility_visits_daypart_cohort": 25, "utility_visitor_hours_daypart_cohort": 25,
                                        "utility_visits_any_cohort": 25, "utility_visitor_hours_any_cohort": 25}
    assert_df_equality(_published(spark, ZONE_HOURLY_TOTAL).where(F.col(C.STATUS) == P),
                       spark.createDataFrame(_rows(TOTALS_SHOWN), ZONE_HOURLY_TOTAL.struct),
                       ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)
    assert _published(spark, ZONE_DAILY).where(F.col(C.STATUS) == P).count() == 0
    # (Py4JJavaError: pyspark passes a SparkException of a failed read through unconverted)
    with pytest.raises(Py4JJavaError, match=r"\[FAILED_READ_FILE.FILE_NOT_EXIST\]"):
        spark.read.format("delta").option("versionAsOf", replaced_version).table(ZONE_HOURLY.name).where(
            F.col(C.ZONE_SET) == ZONE_SET).collect()
