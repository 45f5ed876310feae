"""Primary and minimal secondary suppression, attacked by subtraction and by the LP auditor;
the one public status, attacked by the tests' own attacker (tests/attacker.py)."""

import datetime as dt

import pandas as pd
import pytest
from attacker import leaks, release_exposures
from chispa import assert_df_equality
from pyspark.errors import SparkRuntimeException
from pyspark.sql import functions as F

from footfall.privacy.audit import audit_zone
from footfall.privacy.relations import HOURLY, KIND, LONG_COLUMNS, TOTAL
from footfall.privacy.suppression import (
    protect_linked,
    public_status,
    suppress_against_release,
    suppress_primary,
    suppress_where,
    withheld_cells,
)
from footfall.privacy.visit_metrics import WHY
from footfall.schemas import (
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    WITHHELD_CELLS,
    WITHHELD_LINKED,
    WITHHELD_PRIMARY,
    WITHHELD_REPUBLISH,
    WITHHELD_SUBTRACTION,
    ZONE_DAILY,
    ZONE_DAILY_TOTAL,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
    grid_cols,
)

K = 20
DAY = dt.date(2026, 3, 29)  # spring forward: local hour 3 starts at 01:00 UTC with offset 120
HOUR_KEYS = [C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE, C.HOUR_START]
COHORTS = {"a": ("18-24", "F"), "b": ("25-34", "F"), "c": ("35-44", "M"), "d": ("45-54", "M")}


def hour(n: int) -> dt.datetime:
    return dt.datetime(2026, 3, 29, n, tzinfo=dt.UTC)


def _metrics(visitors: int | None) -> tuple:
    if visitors is None:
        return (None,) * 9
    return (visitors, visitors, 1, 12.0, 12.5, 1, visitors - 1, 0, 0)


def _schema(table, with_status: bool) -> str:
    names = [*grid_cols(table), C.STATUS] if with_status else grid_cols(table)
    return ", ".join(f"{c.name} {c.dtype.simpleString()}" for c in table.columns if c.name in names)


def _cell(h: int, cohort: str, visitors: int | None, status: str | None = None) -> tuple:
    row = ("s", "Z", DAY, hour(h), h + 2, 120, *COHORTS[cohort], *_metrics(visitors))
    return row if status is None else (*row, status)


def _total(h: int, visitors: int | None, status: str | None = None) -> tuple:
    row = ("s", "Z", DAY, hour(h), h + 2, 120, *_metrics(visitors))
    return row if status is None else (*row, status)


# visitors per hour and cohort; the total is their sum (each subscriber has one cohort)
TRUE = {
    1: {"a": 25, "b": 30, "c": 7},  # one suppressed cell: recomputable by subtraction
    2: {"a": 40, "b": 22, "c": 3, "d": 2},  # two suppressed cells summing to 5 < k
    3: {"a": 10, "b": 5},  # total 15 < k is suppressed itself: nothing to subtract from
    4: {"a": 25, "b": 0, "c": 0},  # suppressed cells sum to 0: reveals nobody
    5: {"a": 20, "b": 21, "c": 19, "d": 1},  # S = 20 = k over two cells: already protected
    6: {"a": 25, "b": 25, "c": 5},  # tie on the smallest: 18-24 goes first (cohort order)
}
# Inside disclosure control a withheld cell's status is why; public_status makes it `suppressed`.
P, S1, S2 = STATUS_PUBLISHED, WITHHELD_PRIMARY, WITHHELD_SUBTRACTION
AFTER = {
    1: {"a": S2, "b": P, "c": S1},
    2: {"a": P, "b": S2, "c": S1, "d": S1},
    3: {"a": S1, "b": S1},
    4: {"a": P, "b": S1, "c": S1},
    5: {"a": P, "b": P, "c": S1, "d": S1},
    6: {"a": S2, "b": P, "c": S1},
}


@pytest.fixture(scope="module")
def raw(spark):
    cells = spark.createDataFrame(
        [_cell(h, c, v) for h, cohorts in TRUE.items() for c, v in cohorts.items()] + [_cell(7, "a", None)],
        _schema(ZONE_HOURLY, with_status=False),
    )
    totals = spark.createDataFrame(
        [_total(h, sum(cohorts.values())) for h, cohorts in TRUE.items()], _schema(ZONE_HOURLY_TOTAL, False)
    )
    return cells, totals


def _status_of(visitors: int | None) -> str:
    return P if visitors is not None and visitors >= K else S1


def test_primary_nulls_every_metric_below_k_and_a_null_count(spark, raw):
    cells, _ = raw
    expected = spark.createDataFrame(
        [_cell(h, c, v if v >= K else None, _status_of(v)) for h, cohorts in TRUE.items() for c, v in cohorts.items()]
        + [_cell(7, "a", None, S1)],
        _schema(ZONE_HOURLY, with_status=True),
    )
    assert_df_equality(suppress_primary(cells, K), expected, ignore_row_order=True, ignore_nullable=True)


def _secondary(raw):
    """The hourly cells after secondary suppression against their published totals."""
    cells, totals = raw
    grids = {ZONE_HOURLY: suppress_primary(cells, K), ZONE_HOURLY_TOTAL: suppress_primary(totals, K)}
    return protect_linked(grids, K)[ZONE_HOURLY]


def test_secondary_suppresses_the_smallest_published_cells_until_protected(spark, raw):
    expected = spark.createDataFrame(
        [_cell(h, c, TRUE[h][c] if s == P else None, s) for h, statuses in AFTER.items() for c, s in statuses.items()]
        + [_cell(7, "a", None, S1)],
        _schema(ZONE_HOURLY, with_status=True),
    )
    assert_df_equality(_secondary(raw), expected, ignore_row_order=True, ignore_nullable=True)


def _published_view(cells, totals) -> pd.DataFrame:
    """What an analyst sees, in the LP auditor's long format (visitors NaN when suppressed)."""
    rows = [(r[C.ZONE_ID], HOURLY, r[C.HOUR_START], r[C.AGE_BAND], r[C.GENDER], r[C.VISITORS], r[C.STATUS])
            for r in cells.collect()]
    rows += [(r[C.ZONE_ID], TOTAL, r[C.HOUR_START], None, None, r[C.VISITORS], r[C.STATUS]) for r in totals.collect()]
    view = pd.DataFrame(rows, columns=LONG_COLUMNS)
    view[C.VISITORS] = view[C.VISITORS].astype(float)
    return view


def _subtract(view: pd.DataFrame, h: int) -> tuple[int, int]:
    """The attacker: total - published cohort cells = sum of the suppressed cells of hour h."""
    at = view[view[C.HOUR_START] == pd.Timestamp(hour(h).replace(tzinfo=None))]
    total = at[at[KIND] == TOTAL][C.VISITORS].iloc[0]
    cohort = at[at[KIND] == HOURLY]
    hidden = cohort[cohort[C.STATUS] != P]
    return int(total - cohort[C.VISITORS].sum()), len(hidden)


def test_subtraction_recovers_a_suppressed_cell_after_primary_only_but_not_after_secondary(raw):
    cells, totals = raw
    primary_only = _published_view(suppress_primary(cells, K), suppress_primary(totals, K))
    # hour 1: one suppressed cell, so total - published = exactly its 7 visitors
    assert _subtract(primary_only, 1) == (TRUE[1]["c"], 1)
    # hour 2: two suppressed cells summing to 5, so each is pinned to [0, 5]
    assert _subtract(primary_only, 2) == (5, 2)
    leaks = audit_zone(primary_only, K, cross_table=False)
    assert {leak.cell for leak in leaks} == {
        f"hourly {pd.Timestamp(hour(1).replace(tzinfo=None))} 35-44/M",
        f"hourly {pd.Timestamp(hour(2).replace(tzinfo=None))} 35-44/M",
        f"hourly {pd.Timestamp(hour(2).replace(tzinfo=None))} 45-54/M",
        f"hourly {pd.Timestamp(hour(6).replace(tzinfo=None))} 35-44/M",
    }

    protected = _published_view(_secondary(raw), suppress_primary(totals, K))
    assert _subtract(protected, 1) == (25 + 7, 2)  # only the sum of two cells, >= k
    assert _subtract(protected, 2) == (22 + 3 + 2, 3)
    assert audit_zone(protected, K, cross_table=False) == []


def _daily(cohort: str, visitors: int | None, status: str) -> tuple:
    return ("s", "Z", DAY, *COHORTS[cohort], *_metrics(visitors), status)


def _day_total(visitors: int | None, status: str) -> tuple:
    estimates = (None,) * 6 if visitors is None else (40.0, 30.0, 0.1, 0.2, 0.3, 0.4)
    return ("s", "Z", DAY, *_metrics(visitors), *estimates, status)


def _linked_grids(spark, day_total: tuple) -> dict:
    hourly = spark.createDataFrame([
        _cell(1, "b", 50, P), _cell(1, "c", 30, P), _cell(1, "d", None, S1),
        _cell(2, "b", 35, P), _cell(2, "c", None, S1), _cell(2, "d", None, S1),
    ], _schema(ZONE_HOURLY, with_status=True))
    totals = spark.createDataFrame([_total(1, 80, P), _total(2, 60, P)], _schema(ZONE_HOURLY_TOTAL, with_status=True))
    daily = spark.createDataFrame([_daily("b", 60, P), _daily("c", 40, P), _daily("d", None, S1)],
                                  _schema(ZONE_DAILY, with_status=True))
    return {ZONE_HOURLY: hourly, ZONE_HOURLY_TOTAL: totals, ZONE_DAILY: daily,
            ZONE_DAILY_TOTAL: spark.createDataFrame([day_total], _schema(ZONE_DAILY_TOTAL, with_status=True))}


def test_a_published_day_total_that_pins_a_cohort_is_protected_too(spark):
    # Daily cohorts b 60 and c 40 published, d suppressed; a published day total of 110 would
    # give d = 110 - 60 - 40 = 10 exactly (day total = sum of the cohorts' daily cells). The
    # smallest published cohort goes too (subtraction): then d + c = 50 >= k over two cells.
    got = protect_linked(_linked_grids(spark, _day_total(110, P)), K)
    day_level = sorted((r[C.AGE_BAND], r[C.STATUS], r[C.VISITORS]) for r in got[ZONE_DAILY].collect())
    assert day_level == [("25-34", P, 60), ("35-44", S2, None), ("45-54", S1, None)]
    assert got[ZONE_DAILY_TOTAL].first()[C.STATUS] == P


def test_a_withheld_day_total_loses_its_dwell_estimates_with_its_counts(spark):
    day_total = spark.createDataFrame([_day_total(110, P)], _schema(ZONE_DAILY_TOTAL, with_status=True))
    withheld = suppress_where(day_total, F.lit(True), WITHHELD_LINKED).first()
    assert withheld[C.STATUS] == WITHHELD_LINKED
    assert withheld[C.STAYS_EST] is None and withheld[C.DWELL_EST_MEDIAN_MIN] is None and withheld[C.VISITORS] is None


def test_linked_protection_in_spark_suppresses_what_the_cross_table_attacker_needs(spark):
    """The day of tests/unit/test_audit.py (each hour alone safe, hourly + daily together leak),
    as Spark grids: protect_linked suppresses exactly the two hand-derived partner cells."""
    # The day total is withheld here: T = 100 + d has the width of d, which the hourly
    # suppression already protects, so it needs nothing more.
    grids = _linked_grids(spark, _day_total(None, S1))
    got = protect_linked(grids, K)
    expected = spark.createDataFrame([
        _cell(1, "b", 50, P), _cell(1, "c", None, WITHHELD_LINKED), _cell(1, "d", None, S1),
        _cell(2, "b", None, WITHHELD_LINKED), _cell(2, "c", None, S1), _cell(2, "d", None, S1),
    ], _schema(ZONE_HOURLY, with_status=True))
    assert_df_equality(got[ZONE_HOURLY], expected, ignore_row_order=True, ignore_nullable=True)
    for table in (ZONE_HOURLY_TOTAL, ZONE_DAILY, ZONE_DAILY_TOTAL):
        assert_df_equality(got[table], grids[table], ignore_row_order=True, ignore_nullable=True)


def _attacker_view(grid) -> pd.DataFrame:
    """A published grid as the tests' attacker reads it."""
    names = ["zone_id", "hour_start", "age_band", "gender", "visitors", "status"]
    return grid.select(*[c for c in names if c in grid.columns]).toPandas()


def test_the_public_status_hides_why_a_cell_was_withheld(spark, raw):
    """Issue #15, finding 1: a status per reason tells the attacker a secondary cell holds at
    least k, which pins its partners. Published with one status, nothing leaks."""
    _, totals = raw
    hourly, hour_totals = public_status(_secondary(raw)), public_status(suppress_primary(totals, K))
    assert {r[C.STATUS] for r in hourly.collect() + hour_totals.collect()} == {P, STATUS_SUPPRESSED}
    assert leaks(_attacker_view(hourly), _attacker_view(hour_totals), None, K) == []
    # Negative control, the statuses of earlier releases: suppressed_secondary >= k.
    legacy = _secondary(raw).withColumn(C.STATUS, F.when(F.col(C.STATUS) == S1, "suppressed_primary").when(
        F.col(C.STATUS) == S2, "suppressed_secondary").otherwise(F.col(C.STATUS)))
    at = {h: pd.Timestamp(hour(h).replace(tzinfo=None)) for h in (1, 2, 6)}
    # hour 1: a + c = 62 - 30 = 32 with a >= 20; hour 2: b + c + d = 67 - 40 = 27 with b >= 20;
    # hour 6: a + c = 55 - 25 = 30 with a >= 20
    assert {(leak.cell, leak.low, leak.high) for leak in leaks(_attacker_view(legacy), _attacker_view(hour_totals),
                                                                None, K)} == {
        (("hourly", at[1], *COHORTS["a"]), 20.0, 32.0), (("hourly", at[1], *COHORTS["c"]), 0.0, 12.0),
        (("hourly", at[2], *COHORTS["b"]), 20.0, 27.0), (("hourly", at[2], *COHORTS["c"]), 0.0, 7.0),
        (("hourly", at[2], *COHORTS["d"]), 0.0, 7.0),
        (("hourly", at[6], *COHORTS["a"]), 20.0, 30.0), (("hourly", at[6], *COHORTS["c"]), 0.0, 10.0),
    }


def test_withheld_cells_keep_why_for_the_privacy_officer(spark, raw):
    got = withheld_cells(_secondary(raw), ZONE_HOURLY.name, "run-1")
    expected = spark.createDataFrame([
        ("s", "Z", DAY, ZONE_HOURLY.name, hour(h), *COHORTS[c], None, s, "run-1")
        for h, statuses in {**AFTER, 7: {"a": S1}}.items() for c, s in statuses.items() if s != P
    ], WITHHELD_CELLS.struct)
    assert expected.count() == 14
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_public_status_refuses_a_status_disclosure_control_does_not_make(spark, raw):
    cells, _ = raw
    noisy = suppress_primary(cells, K).withColumn(C.STATUS, F.lit("dp"))
    with pytest.raises(SparkRuntimeException, match="disclosure control produced status dp: a bug, nothing is "
                                                    "published"):
        public_status(noisy).collect()


def test_a_republish_withholds_what_the_replaced_release_would_give_away(spark):
    """Issue #15, finding 4: cells now (after primary suppression) against the release they
    replace (as published). Metrics of a cell: visitors v, visits v, 1 pass-by, median 12.0,
    mean 12.5, dwell bins (1, v - 1, 0, 0)."""
    now = {"a": 30, "b": 45, "c": 50, "d": 25}
    before = {"a": (30, P), "b": (41, P), "c": (20, P), "d": (None, STATUS_SUPPRESSED)}
    # hour 2, c: the same 40 visitors and visits, but a mean dwell of 12.5 minutes, 13.0 before;
    # d: 45 visitors (25 more than before: enough), but 45 visits where there were 44
    c_now, d_now = _cell(2, "c", 40), _cell(2, "d", 45)
    c_before = (*c_now[:-5], 13.0, *c_now[-4:], P)
    d_before = (*_cell(2, "d", 20)[:8], 20, 44, *_cell(2, "d", 20)[10:], P)
    cells = spark.createDataFrame([_cell(1, c, v) for c, v in now.items()]
                                  + [_cell(2, "a", 22), _cell(2, "b", 10), c_now, d_now],
                                  _schema(ZONE_HOURLY, with_status=False))
    previous = spark.createDataFrame([_cell(1, c, v, status) for c, (v, status) in before.items()]
                                     + [_cell(2, "b", 30, P), c_before, d_before],
                                     _schema(ZONE_HOURLY, with_status=True))
    got = suppress_against_release(suppress_primary(cells, K), previous, [*HOUR_KEYS, C.AGE_BAND, C.GENDER],
                                   K).drop(*WHY)  # tested in test_visit_metrics
    expected = spark.createDataFrame([
        _cell(1, "a", 30, P),  # unchanged: the difference 0 tells nothing
        _cell(1, "b", None, WITHHELD_REPUBLISH),  # 45 - 41 = 4 people, fewer than k
        _cell(1, "c", 50, P),  # 50 - 20 = 30 >= k
        _cell(1, "d", None, WITHHELD_REPUBLISH),  # withheld before: stays withheld
        _cell(2, "a", 22, P),  # not in the replaced release
        _cell(2, "b", None, S1),  # below k now: primary, as before the check
        _cell(2, "c", None, WITHHELD_REPUBLISH),  # the same visits, another mean: it tells a visit's dwell
        _cell(2, "d", None, WITHHELD_REPUBLISH),  # one visit more: a count 1 apart
    ], _schema(ZONE_HOURLY, with_status=True))
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    # The tests' own two-release attacker, on the old release and the new one as published
    keys = [C.HOUR_START, C.AGE_BAND]
    old = previous.toPandas()
    assert release_exposures(old, public_status(got).toPandas(), keys, K) == {}
    # negative control: published without the check, cells b (4 people), c (a dwell) and d (a visit)
    naive = public_status(suppress_primary(cells, K)).toPandas()
    assert {(key[0].hour, key[1]): m for key, m in release_exposures(old, naive, keys, K).items()} == {
        (1, "25-34"): C.VISITORS, (2, "35-44"): C.DWELL_MEAN_MIN, (2, "45-54"): C.VISITS}
