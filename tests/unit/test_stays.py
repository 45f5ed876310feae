"""The stay model on hand-built days: bursts and the moving test, stays across a quiet hour, the
night place, and interval-censored start and end (footfall.pipeline.bursts, stays, timeline).

Positions are given in metres of a local frame about (13.4, 52.5) and turned into lon/lat with
the frame's own inverse, so every expected centroid, distance and travel time is plain
arithmetic on the metres below. 2026-03-14 is CET (UTC+1): the local day starts 2026-03-13
23:00 UTC.
"""

import dataclasses
import datetime as dt
import math

import numpy as np
from chispa import assert_approx_df_equality
from pyspark.sql import functions as F

from footfall.config import SPLIT_MIDPOINT, VisitsSection
from footfall.pipeline import durations
from footfall.pipeline.bursts import LocalFrame, bursts, observations
from footfall.pipeline.day import day_bounds
from footfall.pipeline.stays import link_stays, with_night_place
from footfall.pipeline.timeline import HEAD, IS_STAY, TAIL, cut, items, with_windows
from footfall.schemas import EVENTS, C
from footfall.schemas.day import BURSTS, STAYS, D

DAY = dt.date(2026, 3, 14)
DAY_START, DAY_END = day_bounds(DAY, "Europe/Berlin")
FRAME = LocalFrame(13.4, 52.5)
P = VisitsSection()
# accuracy_m is then the per-axis sigma itself: the numbers below stay round.
P_UNIT = dataclasses.replace(P, accuracy_sigma_factor=1.0)
PRECISION = 1e-6


def at(hour: int, minute: int = 0, second: float = 0.0) -> float:
    """Local wall time of DAY as epoch seconds."""
    return DAY_START + hour * 3600 + minute * 60 + second


def _utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def _event(pid: str, t: float, x: float, y: float, accuracy: float | None, event_type: str = "attach",
           source: str = "measured") -> tuple:
    lon, lat = x / FRAME.m_per_lon + FRAME.lon0, y / FRAME.m_per_lat + FRAME.lat0
    return (DAY, pid, "k1", _utc(t), "c1", event_type, lon, lat, None if accuracy is None else float(accuracy), source)


def test_bursts_split_on_gaps_weigh_positions_and_flag_travel(spark):
    events = spark.createDataFrame([
        # a: four events, gaps 30, 30 and exactly burst_gap_s = 120 s: one burst. Equal sigma 10:
        # centroid (0, 10), sigma 10 / sqrt(4) = 5, chi2 = (200 + 200 + 400 + 0) / 100 = 8
        # < 22.46 (chi2 quantile 0.999, 6 degrees of freedom): at rest.
        _event("a", at(9), -10, 0, 10), _event("a", at(9, 0, 30), 10, 0, 10), _event("a", at(9, 1), 0, 30, 10),
        _event("a", at(9, 3), 0, 10, 10),
        # 121 s later: a burst of its own, one event (never moving: no scatter to test).
        _event("a", at(9, 5, 1), 100, 0, 10),
        # b: at rest but a handover: travel.
        _event("b", at(10), 0, 0, 10), _event("b", at(10, 0, 25), 0, 0, 10, "handover"),
        # c: 1 km apart within 25 s at sigma 10: chi2 = 2 x 500^2 / 100 = 5000 > 13.82: travel.
        _event("c", at(11), 0, 0, 10), _event("c", at(11, 0, 25), 1000, 0, 10),
        # d: the serving site only (range 1000 m): a burst of sigma 1000 (not measured).
        _event("d", at(12), 200, 0, 1000, source="cell"),
        # e: no accuracy: cannot be weighed, left out.
        _event("e", at(12), 0, 0, None),
    ], EVENTS.struct)
    got = observations(events, FRAME, P_UNIT).transform(bursts)
    expected = spark.createDataFrame([
        ("a", 1, at(9), at(9, 3), 4, 0.0, 10.0, 5.0, False),
        ("a", 2, at(9, 5, 1), at(9, 5, 1), 1, 100.0, 0.0, 10.0, False),
        ("b", 1, at(10), at(10, 0, 25), 2, 0.0, 0.0, 10 / math.sqrt(2), True),
        ("c", 1, at(11), at(11, 0, 25), 2, 500.0, 0.0, 10 / math.sqrt(2), True),
        ("d", 1, at(12), at(12), 1, 200.0, 0.0, 1000.0, False),
    ], got.schema)
    assert_approx_df_equality(got, expected, PRECISION, ignore_row_order=True, ignore_nullable=True)


def test_the_moving_test_uses_the_accuracies(spark):
    # The same two positions 60 m apart: at sigma 10 chi2 = 2 x 30^2 / 100 = 18 > 13.82 (moving);
    # at sigma 20 chi2 = 4.5 < 13.82 (at rest: the scatter is what 20 m fixes do).
    events = spark.createDataFrame([
        _event("precise", at(9), 0, 0, 10), _event("precise", at(9, 0, 25), 60, 0, 10),
        _event("coarse", at(9), 0, 0, 20), _event("coarse", at(9, 0, 25), 60, 0, 20),
    ], EVENTS.struct)
    got = {r[C.PSEUDO_ID]: r[D.MOVING] for r in observations(events, FRAME, P_UNIT).transform(bursts).collect()}
    assert got == {"precise": True, "coarse": False}


def _bursts(spark, rows: list[tuple]) -> object:
    """(pid, burst_no, first, last, events, x, y, sigma, moving) rows as day.bursts."""
    return spark.createDataFrame(rows, BURSTS.struct)


def _weighted(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The inverse-variance mean of (x, sigma) pairs and its sigma."""
    sw = sum(1 / s**2 for _, s in points)
    return sum(x / s**2 for x, s in points) / sw, 1 / math.sqrt(sw)


BURST_ROWS = [
    # stay 1: 08:00 and 10:00 at 10 m of each other (sigma 5: same place below 25 + 3 x 7.07 m),
    # with nothing observed at 09:00: one stay across the quiet hour. The cell-only burst at
    # 10:30 (sigma 660: range 660 x 1.515 = 1000 m) is 295 m from it, no travel in between: joins.
    ("a", 1, at(8), at(8, 1), 4, 0.0, 0.0, 5.0, False),
    ("a", 2, at(10), at(10, 1), 4, 10.0, 0.0, 5.0, False),
    ("a", 3, at(10, 30), at(10, 30), 1, 300.0, 0.0, 660.0, False),
    # stay 2: 500 m away.
    ("a", 4, at(11), at(11, 1), 3, 500.0, 0.0, 5.0, False),
    # travel, then the same place again: a new stay (3), it was left in between.
    ("a", 5, at(12), at(12, 1), 2, 800.0, 0.0, 5.0, True),
    ("a", 6, at(13), at(13, 1), 3, 500.0, 0.0, 5.0, False),
    # cell-only, 6.4 km from stay 3 (beyond its 1060 m range), nothing after it: a coarse stay (-1).
    ("a", 7, at(15), at(15), 1, 5000.0, 5000.0, 700.0, False),
    # b: one stay all day, its first and last observation: the night place, no virtual stay.
    ("b", 1, at(12), at(12, 2), 4, 0.0, 0.0, 5.0, False),
]


def test_stays_continue_across_unobserved_time_and_break_on_travel_and_distance(spark):
    x1, s1 = _weighted([(0.0, 5.0), (10.0, 5.0), (300.0, 660.0)])
    expected = spark.createDataFrame([
        ("a", 1, at(8), at(10, 30), 3, 9, x1, 0.0, s1),
        ("a", 2, at(11), at(11, 1), 1, 3, 500.0, 0.0, 5.0),
        ("a", 3, at(13), at(13, 1), 1, 3, 500.0, 0.0, 5.0),
        ("a", -1, at(15), at(15), 1, 1, 5000.0, 5000.0, 700.0),
        ("b", 1, at(12), at(12, 2), 1, 4, 0.0, 0.0, 5.0),
    ], link_stays(_bursts(spark, BURST_ROWS), P).schema)
    got = link_stays(_bursts(spark, BURST_ROWS), P)
    assert_approx_df_equality(got, expected, PRECISION, ignore_row_order=True, ignore_nullable=True)


def test_the_night_place_closes_the_day_with_a_virtual_stay(spark):
    # a: first stay (08:00, 8 h after midnight) and last stay (15:00, 9 h before the next) differ;
    # the first is closer to its midnight, so it is the night place. The day starts there (no
    # virtual stay at the start) but ends elsewhere: a virtual stay at the night place at the
    # next midnight, number 4 (one above the largest). b starts and ends at home: nothing added.
    burst_rows = _bursts(spark, BURST_ROWS)
    got = with_night_place(link_stays(burst_rows, P), burst_rows, DAY_START, DAY_END, P)
    x1, s1 = _weighted([(0.0, 5.0), (10.0, 5.0), (300.0, 660.0)])
    rows = [(pid, no, home, virtual) for pid, no, home, virtual in got.select(
        C.PSEUDO_ID, D.STAY_NO, D.AT_HOME, D.VIRTUAL).collect()]
    assert sorted(rows) == sorted([
        ("a", 1, True, False), ("a", 2, False, False), ("a", 3, False, False), ("a", -1, False, False),
        ("a", 4, True, True), ("b", 1, True, False),
    ])
    virtual = got.where(F.col(D.VIRTUAL)).first()
    assert (virtual[D.FIRST_OBS], virtual[D.LAST_OBS], virtual[D.N_BURSTS]) == (DAY_END, DAY_END, 0)
    assert math.isclose(virtual[D.X_M], x1) and math.isclose(virtual[D.SIGMA_M], s1)


def _stays(spark, rows: list[tuple]) -> object:
    """(pid, stay_no, first, last, x, at_home, virtual) -> day.stays (y 0, sigma 5, no rates)."""
    return spark.createDataFrame([(pid, no, f, last, 1, 1, x, 0.0, 5.0, home, virtual, 0.0, 0.0)
                                  for pid, no, f, last, x, home, virtual in rows], STAYS.struct)


WINDOWS = [C.PSEUDO_ID, D.STAY_NO, D.START_S, D.END_S, D.START_LO, D.START_HI, D.END_LO, D.END_HI]

def _timeline(spark):
    stays = _stays(spark, [
        # a: 1,300 m apart (beyond walking: 1300 / 6.5 + 240 = 440 s by transit; the fastest
        # trip 0.9 x 440 = 396 s). Unobserved between them: 2 h - 440 s = 6,760 s.
        ("a", 1, at(8), at(8), 0.0, True, False),
        ("a", 2, at(10), at(10, 30), 1300.0, False, False),
        # b: a stay, a travel observation 650 m on at 09:00, a stay 650 m further at 10:00.
        ("b", 1, at(8), at(8, 30), 0.0, True, False),
        ("b", 2, at(10), at(10), 1300.0, False, False),
    ])
    travel = _bursts(spark, [("b", 7, at(9), at(9), 2, 650.0, 0.0, 5.0, True)])
    return items(stays, travel).transform(with_windows, DAY_START, DAY_END, P)


def test_start_and_end_are_interval_censored_and_cut_at_the_midpoint(spark):
    p = dataclasses.replace(P, split=SPLIT_MIDPOINT)
    got = _timeline(spark).transform(cut, DAY_START, DAY_END, p).where(F.col(IS_STAY)).select(*WINDOWS)
    expected = spark.createDataFrame([
        # a1 ends half-way through the 6,760 s (08:00 + 3,380 s); a2 starts one trip (440 s) later.
        # a1 may end no later than the fastest trip before 10:00; a2 start no earlier than after it.
        ("a", 1, DAY_START, at(8) + 3380, DAY_START, at(8), at(8), at(10) - 396, ),
        ("a", 2, at(8) + 3380 + 440, DAY_END, at(8) + 396, at(10), at(10, 30), DAY_END),
        # b1 next to a travel observation 650 m away: it ends the fastest-mode trip (650 / 6.5 =
        # 100 s) before it; its end window runs from 09:00 - (650 / 1 + 120) s to 09:00 - 650 / 8 s.
        ("b", 1, DAY_START, at(9) - 100, DAY_START, at(8), at(9) - 770, at(9) - 81.25),
        # b2 likewise after it: start 09:00 + 100 s, window 09:00 + 81.25 s .. 09:00 + 770 s.
        ("b", 2, at(9) + 100, DAY_END, at(9) + 81.25, at(9) + 770, at(10), DAY_END),
    ], got.schema)
    assert_approx_df_equality(got, expected, PRECISION, ignore_row_order=True, ignore_nullable=True)


def test_the_posterior_cut_shares_unobserved_time_by_expected_tail_and_head(spark):
    # Given E[tail of a1] = 3,000 s and E[head of a2] = 1,000 s, a1 takes 3/4 of the 6,760 s.
    timeline = _timeline(spark).where(F.col(C.PSEUDO_ID) == "a").withColumn(
        TAIL, F.when(F.col(D.STAY_NO) == 1, 3000.0).otherwise(0.0)).withColumn(
        HEAD, F.when(F.col(D.STAY_NO) == 2, 1000.0).otherwise(0.0))
    got = {r[D.STAY_NO]: (r[D.START_S], r[D.END_S]) for r in timeline.transform(cut, DAY_START, DAY_END, P).collect()}
    assert got[1][1] == at(8) + 5070 and got[2][0] == at(8) + 5070 + 440


def test_a_virtual_night_stay_claims_the_whole_gap_against_the_expected_head(spark):
    # A virtual stay at midnight (the night place) and a stay 1,300 m away observed at 09:00,
    # E[head] 1,000 s: the unobserved R = 9 h - 440 s = 32,000 s is shared R : 1,000.
    stays = _stays(spark, [("v", 0, DAY_START, DAY_START, 0.0, True, True), ("v", 1, at(9), at(9), 1300.0, False,
                                                                            False)])
    timeline = items(stays, _bursts(spark, [])).transform(with_windows, DAY_START, DAY_END, P).withColumn(
        TAIL, F.lit(0.0)).withColumn(HEAD, F.when(F.col(D.STAY_NO) == 1, 1000.0).otherwise(0.0))
    got = {r[D.STAY_NO]: (r[D.START_S], r[D.END_S]) for r in timeline.transform(cut, DAY_START, DAY_END, P).collect()}
    rest = 9 * 3600 - 440
    assert math.isclose(got[0][1], DAY_START + rest * rest / (rest + 1000), abs_tol=PRECISION)
    assert math.isclose(got[1][0], got[0][1] + 440, abs_tol=PRECISION)


def test_expected_tail_and_head_of_a_known_duration():
    # All prior weight on the grid bin [150, 155) min (mid 9,150 s). Start window [0, 3600]
    # (first observation 3,600), end window [7200, 14400] (last observation 7,200): the feasible
    # starts are [max(0, 7200 - 9150), min(3600, 14400 - 9150)] = [0, 3600], mean 1,800: head
    # 3,600 - 1,800 = 1,800 s, tail 1,800 + 9,150 - 7,200 = 3,750 s.
    prior = np.zeros(len(durations.MIDS))
    k = int(np.flatnonzero(durations.MIDS == 9150.0)[0])
    prior[k] = 1.0
    windows = durations.Windows(np.array([0.0]), np.array([3600.0]), np.array([7200.0]), np.array([14400.0]))
    tail, head = durations.expected_tail_head(windows, np.array([3600.0]), np.array([7200.0]), prior)
    assert (tail[0], head[0]) == (3750.0, 1800.0)


def test_detection_probability_grows_with_the_duration_and_is_floored():
    # rate 1 burst an hour, offset -60 s: p(D) = 1 - exp(-(D - 60) / 3600), at least p_min.
    p = durations.detection_probability(np.array([1 / 3600]), -60.0, 0.02)[0]
    mids = durations.MIDS
    assert p[0] == 0.02  # 30 s: a burst cannot fit
    k = int(np.flatnonzero(mids == 9150.0)[0])
    assert math.isclose(p[k], 1 - math.exp(-(9150 - 60) / 3600))
    assert np.all(np.diff(p) >= 0)
