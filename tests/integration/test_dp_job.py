"""footfall compute in differential privacy mode on a hand-built day.

2026-06-06 is a Saturday in CEST (UTC+2). Zone set `it_dp` holds a shop
and a zone nobody visits. 30 subscribers (25-34, F) are seen at home (outside both zones) at 09:00
and 11:00 local and in the shop 10:00-10:12, so the stay model puts each in the shop for at most
the hours 09 to 10 (its start and end lie between the home observations and the shop ones);
H1 (45-54, M) is seen in the shop all day long, one visit overlapping all 24 hours, which the L0
bound cuts to 12 zone-hours.

The day is computed in dp mode; then a republish with suppression and a republish in dp mode
are both refused before any work (exit code 77): a day is released in one privacy mode, and a
zone set's share of the day's epsilon is spent once. After each refusal the tables, the ledger
and ops.runs hold exactly what the dp run left.
"""

import dataclasses
import datetime as dt

import pytest
import shapely
from chispa import assert_df_equality
from pyspark.sql import functions as F

from footfall.config import MODE_DP
from footfall.errors import ReleaseRefusedError
from footfall.pipeline import compute
from footfall.privacy.dp import Bounds, plan_budget
from footfall.schemas import (
    EVENTS,
    PRIVACY_BUDGET,
    RUNS,
    STATUS_DP,
    SUBSCRIBERS,
    ZONE_DAILY,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONES,
    C,
)
from footfall.tables import ensure_tables, replace_partition

DAY = dt.date(2026, 6, 6)
ZONE_SET = "it_dp"
SHOP = (13.40, 52.52)
HOME = (13.30, 52.45)
GRIDS = {ZONE_HOURLY: 2 * 24 * 21, ZONE_HOURLY_TOTAL: 2 * 24, ZONE_DAILY: 2 * 21}  # both zones, full grid
NOT_NOISED = (C.PASSERSBY, C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN, C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60,
              C.DWELL_60PLUS)


def local(hour: int, minute: int) -> dt.datetime:
    """Local CEST wall time on DAY as the UTC instant."""
    return dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=dt.UTC) - dt.timedelta(hours=2)


def _events() -> list[tuple]:
    visits = [(f"F{i}", [local(10, m) for m in range(0, 13, 2)]) for i in range(1, 31)]
    visits.append(("H1", [local(h, m) for h in range(24) for m in range(0, 60, 10)]))
    at_home = [(f"F{i}", t) for i in range(1, 31) for t in (local(9, 0), local(11, 0))]
    return ([(DAY, pid, "k1", t, "c1", "attach", *SHOP, 20.0, "measured") for pid, times in visits for t in times]
            + [(DAY, pid, "k1", t, "c1", "attach", *HOME, 20.0, "measured") for pid, t in at_home])


def _subscribers() -> list[tuple]:
    cohorts = {f"F{i}": ("25-34", "F") for i in range(1, 31)} | {"H1": ("45-54", "M")}
    return [(pid, "k1", age, gender, "consumer", "01", None, DAY) for pid, (age, gender) in cohorts.items()]


def _zones() -> list[tuple]:
    # area_m2 as load-reference computes it (it bounds the sigma of a point placed in the zone):
    # 0.001 deg of longitude at 52.52 N is 67.8 m, of latitude 111.3 m; 0.01 deg: 100 times that.
    shop = shapely.box(13.3995, 52.5195, 13.4005, 52.5205)
    far = shapely.box(13.60, 52.60, 13.61, 52.61)
    return [(ZONE_SET, z, z, "test", shapely.to_wkb(g), area)
            for z, g, area in (("shop", shop, 7_546.0), ("far", far, 754_600.0))]


@pytest.fixture(scope="module")
def seeded(spark, catalog_claims, request):
    catalog_claims.claim_for(request, days=[DAY], zone_sets=[ZONE_SET])
    ensure_tables(spark, (ZONES, SUBSCRIBERS, EVENTS, PRIVACY_BUDGET))
    replace_partition(spark.createDataFrame(_events(), EVENTS.struct), EVENTS, {C.EVENT_DATE: DAY})
    replace_partition(spark.createDataFrame(_subscribers(), SUBSCRIBERS.struct), SUBSCRIBERS, {C.SNAPSHOT_DATE: DAY})
    replace_partition(spark.createDataFrame(_zones(), ZONES.struct), ZONES, {C.ZONE_SET: ZONE_SET})
    return spark


@pytest.fixture(scope="module")
def dp_config(test_config):
    return dataclasses.replace(test_config, privacy=dataclasses.replace(test_config.privacy, mode=MODE_DP))


def _mine(spark, table):
    return spark.table(table.name).where((F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == ZONE_SET))


def _statuses(spark) -> dict[str, set[str]]:
    return {t.name: {r[C.STATUS] for r in _mine(spark, t).select(C.STATUS).distinct().collect()} for t in GRIDS}


def _compute_runs(spark):
    return spark.table(RUNS.name).where(
        (F.col(C.JOB) == "compute") & (F.col(C.ZONE_SET) == ZONE_SET) & (F.col(C.EVENT_DATE) == F.lit(DAY)))


def _ledger(spark):
    return spark.table(PRIVACY_BUDGET.name).where(F.col(C.EVENT_DATE) == F.lit(DAY))


def _state(spark) -> dict:
    """What the day's grids, ledger and compute runs hold (the last run: the newest)."""
    return {"statuses": _statuses(spark), "run": _compute_runs(spark).orderBy(F.col(C.STARTED_AT).desc()).first(),
            "ledger": [r.asDict() for r in _ledger(spark).collect()],
            "rows": {t.name: _mine(spark, t).collect() for t in GRIDS}, "compute_runs": _compute_runs(spark).count()}


@pytest.fixture(scope="module")
def runs(seeded, test_config, dp_config):
    """dp, then a suppression republish and a dp republish (both refused), with what the tables,
    the ledger and ops.runs held after each step."""
    spark = seeded
    n_sets = spark.table(ZONES.name).select(C.ZONE_SET).distinct().count()
    steps = {"dp": {"counts": compute.run(spark, dp_config, DAY, [ZONE_SET])[ZONE_SET], **_state(spark)}}
    for name, cfg in (("suppress", test_config), ("dp_again", dp_config)):
        with pytest.raises(ReleaseRefusedError) as refused:
            compute.run(spark, cfg, DAY, [ZONE_SET], republish=True)
        steps[name] = {"error": refused.value, **_state(spark)}
    yield steps, n_sets
    for table in (*GRIDS, PRIVACY_BUDGET):
        spark.sql(f"DELETE FROM {table.name} WHERE {C.EVENT_DATE} = DATE'{DAY.isoformat()}'")


def test_dp_run_publishes_every_cell_noisy(runs):
    steps, _ = runs
    assert steps["dp"]["statuses"] == {t.name: {STATUS_DP} for t in GRIDS}
    rows = steps["dp"]["rows"]
    for table, n in GRIDS.items():
        assert len(rows[table.name]) == n, table.name  # the full public grid, empty cells included
        assert all(all(r[c] is None for c in NOT_NOISED) for r in rows[table.name]), table.name
        # Nearly every cell is truly empty: the far zone's, and in the shop all but the 25-34/F
        # cells of hours 09 and 10 and H1's at most 12 sampled hours (hourly: >= 1008 - 14;
        # totals: >= 48 - 13; daily: 42 - 2). A true 0 is published as max(0, round(0 + Laplace noise)), which is 0
        # with probability >= 1/2 and never negative: each table's smallest count is exactly 0
        # (all positive: P <= 2^-36), whereas unclamped noise would go below 0.
        for metric in (C.VISITORS, C.VISITS):
            values = [r[metric] for r in rows[table.name]]
            assert all(isinstance(v, int) for v in values) and min(values) == 0, (table.name, metric)


def test_run_counts_and_manifest_record_the_dp_mode(runs):
    steps, n_sets = runs
    counts = steps["dp"]["counts"]
    assert {k: counts[k] for k in ("cells", "cells_dp", "total_cells", "total_cells_dp", "daily_cells",
                                   "daily_cells_dp")} == {
        "cells": 1008, "cells_dp": 1008, "total_cells": 48, "total_cells_dp": 48, "daily_cells": 42,
        "daily_cells_dp": 42,
    }
    # zone_daily_total, zone_daily_margins, zone_daypart and zone_catchment have no dp release: emptied for the
    # day and zone set
    assert counts["daily_total_cells"] == 0 and counts["margin_cells"] == 0 and counts["daypart_cells"] == 0
    assert counts["catchment_cells"] == 0
    assert counts["visits"] == 31 and counts["events_in"] == 30 * (7 + 2) + 24 * 6  # home is in no zone
    run = steps["dp"]["run"]
    assert run[C.STATUS] == "ok" and steps["dp"]["compute_runs"] == 1
    assert '"privacy_mode": "dp"' in run[C.PARAMETERS] and '"epsilon_day": 1.0' in run[C.PARAMETERS]
    assert f'"zone_sets_sharing_epsilon": {n_sets}' in run[C.PARAMETERS]


def test_ledger_records_each_release_with_the_planned_epsilon(runs):
    steps, n_sets = runs
    plan = {(r.table.name, r.metric): r for r in plan_budget(1.0, n_sets, Bounds(max_visits_per_zone_hour=2))}
    ledger = steps["dp"]["ledger"]
    assert {r[C.RUN_ID] for r in ledger} == {steps["dp"]["run"][C.RUN_ID]}
    assert {(r[C.TABLE_NAME], r[C.METRIC]) for r in ledger} == set(plan) and len(ledger) == len(plan)
    for r in ledger:
        release = plan[(r[C.TABLE_NAME], r[C.METRIC])]
        assert r[C.ZONE_SET] == ZONE_SET and r[C.DELTA] == 0.0 and r[C.MECHANISM].startswith("laplace")
        assert r[C.EPSILON] == pytest.approx(release.epsilon)
        assert r[C.L1_SENSITIVITY] == pytest.approx(release.l1_sensitivity)
        assert r[C.NOISE_SCALE] == pytest.approx(release.scale)
        assert r[C.EPSILON_DAY_CUMULATIVE] == pytest.approx(1.0 / n_sets)  # the day's only spend
    assert sum(r[C.EPSILON] for r in ledger) == pytest.approx(1.0 / n_sets)


def _assert_unchanged(spark, steps, name: str) -> None:
    """After the refused run `name`: the grids, the ledger and ops.runs exactly as the dp run left them."""
    after, before = steps[name], steps["dp"]
    for table in GRIDS:
        assert_df_equality(spark.createDataFrame(after["rows"][table.name], table.struct),
                           spark.createDataFrame(before["rows"][table.name], table.struct),
                           ignore_row_order=True, ignore_nullable=True)
    ledgers = [spark.createDataFrame([tuple(r[c] for c in PRIVACY_BUDGET.names) for r in state["ledger"]],
                                     PRIVACY_BUDGET.struct) for state in (after, before)]
    assert_df_equality(*ledgers, ignore_row_order=True, ignore_nullable=True)
    assert after["compute_runs"] == 1 and after["run"][C.RUN_ID] == before["run"][C.RUN_ID]


def test_a_suppression_release_of_a_dp_day_is_refused_and_changes_nothing(spark, runs):
    steps, _ = runs
    error = steps["suppress"]["error"]
    assert error.exit_code == 77
    assert str(error).startswith(f"{DAY.isoformat()} is published in {ZONE_SET} (dp mode): a suppress release of "
                                 "the same day would stand beside it")
    _assert_unchanged(spark, steps, "suppress")


def test_a_second_dp_release_is_refused_by_the_budget_and_changes_nothing(spark, runs):
    """The dp run spent the zone set's whole share (1 / n_sets); a republish would spend it again."""
    steps, _ = runs
    error = steps["dp_again"]["error"]
    assert error.exit_code == 77
    assert str(error).startswith(f"privacy budget: {ZONE_SET} already released in dp mode on {DAY.isoformat()}")
    _assert_unchanged(spark, steps, "dp_again")
