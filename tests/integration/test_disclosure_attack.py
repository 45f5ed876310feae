"""Attacks on a published, generated day (footfall generate + footfall run, as subprocesses: the
session's `generated_day`, tests/integration/conftest.py).

- The attacker (tests/attacker.py: a linear program written for the tests, not footfall's own
  auditor footfall.privacy.audit) reads the published tables as an analyst does, through
  `footfall duckdb` (delta_scan of the published folders, no Spark), sees every published number
  of a zone (hourly cells, hourly totals, daily cells, the day total, the day's visitors by age
  band and by gender, by day part and cohort, and by home district) and its status, and narrows
  no suppressed cell below k.
- Negative control: the same attacker on the same day's cells with primary suppression only
  does find leaks, so the first test can fail. Those cells are counted here from
  restricted.visits with pandas, by the definitions in docs/definitions.md (a visitor of hour h
  has a visit with h <= visit_end and h + 1 h > visit_start; a visitor of a day part one of any
  of its hours; a home district's visitors those whose visits carry it, over every home district
  of the day's subscriber snapshot and unknown; k = 20), not with footfall's code.
- The published cells and the information loss the run reports are what those counts say.
- No msisdn, IMSI or IMEI pattern in any table, rejects row (the generator's shifted rows, an IMSI
  before the msisdn, among them) or log line of the run.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from attacker import VISIT_COUNTS, denominator_exposures, leaks, visit_exposures
from pyspark.sql import functions as F
from support import GENERATED_DATE, read_table, table_location

from footfall.analyst import duck
from footfall.schemas import (
    ALL_TABLES,
    REJECTED_EVENTS,
    RUNS,
    SUBSCRIBERS,
    VISITS,
    WITHHELD_CELLS,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONES,
    C,
)

pytestmark = pytest.mark.slow

DAY = GENERATED_DATE  # 2026-05-16, a Saturday in CEST (UTC+2): local midnight is 22:00 UTC the day before
HOURS = [pd.Timestamp(2026, 5, 15, 22) + pd.Timedelta(hours=h) for h in range(24)]
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")  # docs/definitions.md
GENDERS = ("F", "M", "unknown")
# Day parts by the local clock: (name, first local hour, end); HOURS[h] starts local hour h (DAY has
# no clock change, so every part has end - first hours).
DAY_PARTS = (("night", 0, 6), ("morning", 6, 10), ("midday", 10, 14), ("afternoon", 14, 18), ("evening", 18, 24))
# Districts only: with a few thousand subscribers they have both many published and many
# suppressed cells (smaller zones would have almost nothing published, nothing to attack with).
# (The day may compute more zone sets: the `published` fixture checks these are among them.)
ZONE_SETS = ("districts",)
K = 20
ALL = "all"  # zone_daily_margins: the key a margin adds up over
TABLES = (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY, ZONE_DAILY_TOTAL, ZONE_DAILY_MARGINS, ZONE_DAYPART,
          ZONE_CATCHMENT)
HOME_UNKNOWN = "unknown"  # docs/definitions.md, "Catchment"
# Raw identifiers: a German MSISDN (49 + 10-11 digits), an IMSI or IMEI (15 digits), standing alone
# (not the digits after a decimal point, e.g. of a coordinate in ops.runs parameters).
IDENTIFIER = r"(^|[^0-9A-Za-z.])(49[0-9]{10,11}|[0-9]{15})([^0-9A-Za-z]|$)"


@pytest.fixture(scope="module")
def published(generated_day):
    """The generated day (6,000 subscribers), run in its own data folder (its own catalog: nothing
    to claim): its data folder and the log of generate + run."""
    assert generated_day.day == DAY and set(ZONE_SETS) <= set(generated_day.zone_sets)
    return generated_day.data, generated_day.log


def _day(spark, data, table, zone_set) -> pd.DataFrame:
    df = read_table(spark, data, table)
    return df.where((F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == zone_set)).toPandas()


def _published(data, zone_set) -> tuple[pd.DataFrame, ...]:
    """The day's seven published tables as `footfall duckdb` shows them to an analyst."""
    con = duck.connect({t.name: str(table_location(data, t)) for t in TABLES})
    try:
        frames = [con.execute(f"SELECT * FROM {t.name} WHERE {C.EVENT_DATE} = ? AND {C.ZONE_SET} = ?",
                              [DAY, zone_set]).df() for t in TABLES]
    finally:
        con.close()
    # hour_start and part_start in nanoseconds, like the counts' hours (and Spark's toPandas)
    return tuple(f.astype({c: "datetime64[ns]" for c in (C.HOUR_START, C.PART_START) if c in f}) for f in frames)


def _counted(spark, data, zone_set) -> tuple[pd.DataFrame, ...]:
    """The day's seven full grids (every zone x hour x cohort, ...) counted from restricted.visits,
    with primary suppression only: visitors < k -> suppressed, else published."""
    visits = _day(spark, data, VISITS, zone_set)
    zones = sorted(read_table(spark, data, ZONES).where(F.col(C.ZONE_SET) == zone_set)
                   .select(C.ZONE_ID).toPandas()[C.ZONE_ID])
    cohort = [C.AGE_BAND, C.GENDER]
    per_hour = []
    for hour in HOURS:
        there = visits[(visits[C.VISIT_START] < hour + pd.Timedelta(hours=1)) & (visits[C.VISIT_END] >= hour)]
        per_hour.append(there.assign(**{C.HOUR_START: hour}))
    present = pd.concat(per_hour, ignore_index=True)
    part_of = {hour: part for part, first, end in DAY_PARTS for hour in HOURS[first:end]}
    in_parts = present.assign(**{C.DAY_PART: present[C.HOUR_START].map(part_of)})
    cohorts = [(a, g) for a in AGE_BANDS for g in GENDERS]
    grids = (
        (present.groupby([C.ZONE_ID, C.HOUR_START, *cohort])[C.PSEUDO_ID].nunique(),
         pd.MultiIndex.from_tuples([(z, h, a, g) for z in zones for h in HOURS for a, g in cohorts],
                                   names=[C.ZONE_ID, C.HOUR_START, *cohort])),
        (present.groupby([C.ZONE_ID, C.HOUR_START])[C.PSEUDO_ID].nunique(),
         pd.MultiIndex.from_tuples([(z, h) for z in zones for h in HOURS], names=[C.ZONE_ID, C.HOUR_START])),
        (visits.groupby([C.ZONE_ID, *cohort])[C.PSEUDO_ID].nunique(),
         pd.MultiIndex.from_tuples([(z, a, g) for z in zones for a, g in cohorts], names=[C.ZONE_ID, *cohort])),
        (visits.groupby(C.ZONE_ID)[C.PSEUDO_ID].nunique(), pd.Index(zones, name=C.ZONE_ID)),
        (pd.concat([visits.assign(**{C.GENDER: ALL}), visits.assign(**{C.AGE_BAND: ALL})]).groupby(
            [C.ZONE_ID, *cohort])[C.PSEUDO_ID].nunique(),
         pd.MultiIndex.from_tuples([(z, a, ALL) for z in zones for a in AGE_BANDS]
                                   + [(z, ALL, g) for z in zones for g in GENDERS], names=[C.ZONE_ID, *cohort])),
        (in_parts.groupby([C.ZONE_ID, C.DAY_PART, *cohort])[C.PSEUDO_ID].nunique(),  # the union of its hours'
         pd.MultiIndex.from_tuples([(z, p, a, g) for z in zones for p, _, _ in DAY_PARTS for a, g in cohorts],
                                   names=[C.ZONE_ID, C.DAY_PART, *cohort])),
        (visits.groupby([C.ZONE_ID, C.HOME_DISTRICT])[C.PSEUDO_ID].nunique(),
         pd.MultiIndex.from_product([zones, _homes(spark, data)], names=[C.ZONE_ID, C.HOME_DISTRICT])),
    )
    out = []
    for counts, grid in grids:
        frame = counts.reindex(grid, fill_value=0).rename(C.VISITORS).reset_index()
        out.append(frame.assign(**{C.STATUS: frame[C.VISITORS].map(lambda v: "published" if v >= K
                                                                    else "suppressed")}))
    parts = pd.DataFrame([(p, HOURS[first], end - first) for p, first, end in DAY_PARTS],
                         columns=[C.DAY_PART, C.PART_START, C.PART_HOURS])
    out[5] = out[5].merge(parts, on=C.DAY_PART)  # zone_daypart's
    return tuple(out)


def _homes(spark, data) -> list[str]:
    """zone_catchment's home districts: those of the day's subscriber snapshot, and unknown."""
    snapshot = read_table(spark, data, SUBSCRIBERS).where(F.col(C.SNAPSHOT_DATE) == F.lit(DAY))
    found = set(snapshot.select(C.HOME_DISTRICT).distinct().toPandas()[C.HOME_DISTRICT].dropna())
    return sorted(found | {HOME_UNKNOWN})


@pytest.fixture(scope="module")
def counted(spark, published):
    data, _ = published
    return {zone_set: _counted(spark, data, zone_set) for zone_set in ZONE_SETS}


def _latest_compute_counts(spark, data, zone_set) -> dict:
    runs = read_table(spark, data, RUNS).where(
        (F.col(C.JOB) == "compute") & (F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == zone_set))
    return runs.orderBy(F.desc(C.STARTED_AT)).first()[C.COUNTS]


@pytest.mark.parametrize("zone_set", ZONE_SETS)
def test_the_lp_attacker_narrows_no_suppressed_cell_below_k_across_tables(published, zone_set):
    data, _ = published
    hourly, total, daily, day_total, margins, dayparts, catchment = _published(data, zone_set)
    statuses = pd.concat([hourly[C.STATUS], total[C.STATUS], daily[C.STATUS]])
    assert (statuses == "published").sum() > 100  # there is something to attack with
    assert (statuses != "published").sum() > 100  # and something to find
    for frame in (margins, dayparts, catchment):
        assert (frame[C.STATUS] == "published").any() and (frame[C.STATUS] != "published").any()
    assert leaks(hourly, total, daily, K, day_total, margins, dayparts, catchment) == []


@pytest.mark.parametrize("zone_set", ZONE_SETS)
def test_no_visit_count_of_fewer_than_k_is_published_or_derivable(published, zone_set):
    """Issue #15, finding 2: the tests' subtraction attacker (tests/attacker.py) on the visit
    counts of the published tables: the day minus its published hours, the day minus its
    published cohorts; and the denominators of dwell means. Their negative controls are in
    tests/unit/test_visit_metrics.py."""
    data, _ = published
    hourly, total, daily, day_total, *_ = _published(data, zone_set)
    assert hourly[[m for m in VISIT_COUNTS if m != "stays"]].isna().all().all()  # zone_hourly: visitors only
    keys = [C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE]
    assert visit_exposures(total, day_total, keys, K) == []
    assert visit_exposures(daily, day_total, keys, K) == []
    # no dwell mean gives its stays away beside a withheld histogram
    for frame, cell in ((total, [*keys, C.HOUR_START]), (daily, [*keys, C.AGE_BAND, C.GENDER]), (day_total, keys)):
        assert denominator_exposures(frame, cell, K) == []


def test_negative_control_primary_suppression_alone_leaks(counted):
    """The same attacker on the same day's seven grids with primary suppression only finds leaks.
    With the stay model nearly everyone is counted in every hour, so an hour's withheld cohort
    cells add up to k or more (the hourly tables alone leak nothing on this day); the leaks come
    through the day total, which pins the withheld daily cohort cells and, through them, hours."""
    hourly, total, daily, day_total, margins, dayparts, catchment = counted["districts"]
    found = leaks(hourly, total, daily, K, day_total, margins, dayparts, catchment)
    assert len(found) > 0
    assert all(leak.high - leak.low < K for leak in found)


@pytest.mark.parametrize("zone_set", ZONE_SETS)
def test_published_cells_and_reported_loss_are_what_the_visits_count(spark, published, counted, zone_set):
    data, _ = published
    run = _published(data, zone_set)
    withheld = _day(spark, data, WITHHELD_CELLS, zone_set)
    secondary = {}  # per table: the cells of k or more withheld to protect others
    counted = counted[zone_set]
    keys = ([C.ZONE_ID, C.HOUR_START, C.AGE_BAND, C.GENDER], [C.ZONE_ID, C.HOUR_START],
            [C.ZONE_ID, C.AGE_BAND, C.GENDER], [C.ZONE_ID], [C.ZONE_ID, C.AGE_BAND, C.GENDER],
            [C.ZONE_ID, C.PART_START, C.AGE_BAND, C.GENDER], [C.ZONE_ID, C.HOME_DISTRICT])
    for table, mine, theirs, key in zip(TABLES, counted, run, keys, strict=True):
        both = mine.merge(theirs[[*key, C.VISITORS, C.STATUS]], on=key, how="outer", suffixes=("", "_run"),
                          indicator=True)
        assert (both["_merge"] == "both").all(), table.name  # the same full grid
        # a cell below k is suppressed; every other cell is published with the count, or
        # suppressed to protect another (the same public status)
        primary = both[C.VISITORS] < K
        assert (both.loc[primary, "status_run"] == "suppressed").all(), table.name
        shown = both[~primary]
        assert shown["status_run"].isin(["published", "suppressed"]).all(), table.name
        published_run = shown[shown["status_run"] == "published"]
        assert (published_run["visitors_run"] == published_run[C.VISITORS]).all(), table.name
        of_table = withheld[withheld[C.TABLE_NAME] == table.name]
        # withheld_cells gives a day part's start as its hour_start
        of_table = of_table.rename(columns={C.HOUR_START: C.PART_START}) if C.PART_START in key else of_table
        # why, for the privacy officer: primary exactly where fewer than k were counted; the rows
        # for visit metrics alone (visits_*, histogram_*, dwell_*) only for published cells
        mine_withheld = of_table.merge(both, on=key, how="left")
        whole = mine_withheld[C.REASON].isin(["primary", "subtraction", "linked", "republish"])
        reasons = mine_withheld[whole]
        assert len(reasons) == (both["status_run"] == "suppressed").sum(), table.name
        assert ((reasons[C.REASON] == "primary") == (reasons[C.VISITORS] < K)).all(), table.name
        assert (mine_withheld.loc[~whole, "status_run"] == "published").all(), table.name
        secondary[table.name] = int((shown["status_run"] == "suppressed").sum())
    hourly, run_hourly = counted[0], run[0]
    final = int(run_hourly.loc[run_hourly[C.STATUS] == "published", C.VISITORS].sum())
    counts = _latest_compute_counts(spark, data, zone_set)
    assert counts["cells"] == len(hourly) == 12 * 24 * 21  # 12 districts x 24 hours x 21 cohorts
    assert counts["cells_suppressed_primary"] == int((hourly[C.VISITORS] < K).sum())
    assert counts["cells_suppressed_secondary"] == secondary[ZONE_HOURLY.name]
    assert counts["visitors_total"] == int(hourly[C.VISITORS].sum())
    primary_published = int(hourly.loc[hourly[C.VISITORS] >= K, C.VISITORS].sum())
    assert counts["visitors_in_secondary_cells"] == primary_published - final
    assert counts["visitors_in_suppressed_cells"] == counts["visitors_total"] - final


def test_no_raw_identifier_in_any_table_rejects_row_or_log_line(spark, published):
    data, log = published
    msisdns = set(pd.read_csv(data / "landing" / "subscribers" / "subscribers.csv", dtype=str)["msisdn"])
    assert msisdns and all(re.search(IDENTIFIER, m) for m in list(msisdns)[:100])  # the pattern finds them
    scanned = {}
    for table in ALL_TABLES:
        schema, name = table.name.split(".")
        if not (data / "warehouse" / f"{schema}.db" / name / "_delta_log").is_dir():
            continue  # never created in this mode (e.g. the dp budget ledger): holds nothing
        rows = read_table(spark, data, table).select(F.to_json(F.struct("*")).alias("row"))
        assert rows.where(F.col("row").rlike(IDENTIFIER)).count() == 0, table.name
        scanned[table.name] = rows.count()
    assert scanned["restricted.events"] > 0 and scanned["ops.rejected_events"] > 0
    # The rejects scanned include the generator's shifted rows (an IMSI before the msisdn), which
    # ingest rejects as malformed; before issue 15 their msisdn was stored as raw_event_time.
    faults = json.loads((data / "truth" / "report.json").read_text())["faults"]
    malformed = read_table(spark, data, REJECTED_EVENTS).where(F.col(C.REASON) == "malformed").count()
    assert faults["shifted_columns"] > 0 and malformed == faults["malformed"] + faults["shifted_columns"]
    text = log.read_text()
    assert "footfall-step" in text and "compute" in text  # the log is the run's
    assert [m.group(2) for m in re.finditer(IDENTIFIER, text, re.MULTILINE)] == []
