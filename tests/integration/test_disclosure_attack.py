"""Attacks on a published, generated day (footfall generate + footfall run, as subprocesses).

- The LP attacker sees every published number of a zone (hourly cells, hourly totals, daily
  cells) and narrows no suppressed cell below k.
- Negative control: the same attacker on the same day's cells with primary suppression only
  (recomputed here from restricted.visits with the library's transforms) does find leaks, so the
  first test can fail.
- The information loss the run reports equals what the tables show.
- No msisdn, IMSI or IMEI pattern in any table, rejects row or log line of the run.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from pyspark.sql import functions as F
from support import read_table, run_footfall

from footfall.localtime import day_hours
from footfall.pipeline.aggregate import (
    aggregate_cohort_days,
    aggregate_cohort_hours,
    aggregate_hours,
    bound_contributions,
    explode_visit_hours,
)
from footfall.privacy.audit import audit_cells, to_long
from footfall.privacy.suppression import suppress_primary
from footfall.schemas import ALL_TABLES, RUNS, VISITS, ZONE_DAILY, ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONES, C

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 5, 16)  # a Saturday no other test uses
# Districts only: with a few thousand subscribers they have both many published and many
# suppressed cells (smaller zones would have almost nothing published, nothing to attack with).
ZONE_SETS = ("districts",)
K, CAP, TZ = 20, 2, "Europe/Berlin"
MASTER = "cd" * 32
# Raw identifiers: a German MSISDN (49 + 10-11 digits), an IMSI or IMEI (15 digits), standing alone
# (not the digits after a decimal point, e.g. of a coordinate in ops.runs parameters).
IDENTIFIER = r"(^|[^0-9A-Za-z.])(49[0-9]{10,11}|[0-9]{15})([^0-9A-Za-z]|$)"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    data = tmp_path_factory.mktemp("attack")
    log = data / "run.log"
    run_footfall(data, log, MASTER, "generate", "--date", DAY.isoformat(), "--subscribers", "6000", "--seed", "5")
    zone_sets = [arg for zone_set in ZONE_SETS for arg in ("--zone-set", zone_set)]
    run_footfall(data, log, MASTER, "run", "--date", DAY.isoformat(), *zone_sets)
    return data, log


def _day(spark, data, table, zone_set):
    df = read_table(spark, data, table)
    return df.where((F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == zone_set))


def _published_cells(spark, data, zone_set) -> pd.DataFrame:
    return to_long(*[_day(spark, data, t, zone_set).toPandas() for t in (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY)])


def _primary_only_cells(spark, data, zone_set) -> tuple[pd.DataFrame, int]:
    """The day's three grids with primary suppression only, from the restricted visits; and the
    visitor-hours their published hourly cells hold."""
    visits = _day(spark, data, VISITS, zone_set).transform(bound_contributions, CAP)
    zones = read_table(spark, data, ZONES).where(F.col(C.ZONE_SET) == zone_set)
    hours = day_hours(DAY, TZ)
    visit_hours = visits.transform(explode_visit_hours, hours)
    hourly = visit_hours.transform(aggregate_cohort_hours, zones, DAY, hours).transform(suppress_primary, K)
    totals = visit_hours.transform(aggregate_hours, zones, DAY, hours).transform(suppress_primary, K)
    daily = visits.transform(aggregate_cohort_days, zones, DAY).transform(suppress_primary, K)
    frames = [g.toPandas() for g in (hourly, totals, daily)]
    published = frames[0].loc[frames[0][C.STATUS] == "published", C.VISITORS].sum()
    return to_long(*frames), int(published)


def _latest_compute_counts(spark, data, zone_set) -> dict:
    runs = read_table(spark, data, RUNS).where(
        (F.col(C.JOB) == "compute") & (F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == zone_set))
    return runs.orderBy(F.desc(C.STARTED_AT)).first()[C.COUNTS]


@pytest.mark.parametrize("zone_set", ZONE_SETS)
def test_the_lp_attacker_narrows_no_suppressed_cell_below_k_across_tables(spark, published, zone_set):
    data, _ = published
    cells = _published_cells(spark, data, zone_set)
    assert (cells[C.STATUS] == "published").sum() > 100  # there is something to attack with
    assert (cells[C.STATUS] != "published").sum() > 100  # and something to find
    assert audit_cells(cells, K, cross_table=True) == []


def test_negative_control_primary_suppression_alone_leaks(spark, published):
    data, _ = published
    cells, _ = _primary_only_cells(spark, data, "districts")
    leaks = audit_cells(cells, K, cross_table=True)
    assert len(leaks) > 0
    assert all(leak.width < K for leak in leaks)
    # The same leaks exist in the hourly table alone (subtraction from the total): the cheap
    # within-hour attack already works without secondary suppression.
    assert len(audit_cells(cells, K, cross_table=False)) > 0


@pytest.mark.parametrize("zone_set", ZONE_SETS)
def test_the_reported_information_loss_is_what_the_tables_show(spark, published, zone_set):
    data, _ = published
    counts = _latest_compute_counts(spark, data, zone_set)
    hourly = _day(spark, data, ZONE_HOURLY, zone_set)
    by_status = {r[C.STATUS]: r["count"] for r in hourly.groupBy(C.STATUS).count().collect()}
    assert counts["cells"] == sum(by_status.values())
    assert counts["cells_suppressed_secondary"] == by_status.get("suppressed_secondary", 0)
    assert counts["cells_suppressed_primary"] == by_status.get("suppressed_primary", 0)
    final = hourly.agg(F.sum(C.VISITORS)).first()[0] or 0
    _, primary_published = _primary_only_cells(spark, data, zone_set)
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
    text = log.read_text()
    assert "footfall-step" in text and "compute" in text  # the log is the run's
    assert [m.group(2) for m in re.finditer(IDENTIFIER, text, re.MULTILINE)] == []
