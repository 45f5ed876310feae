"""The tests' own attacker (tests/attacker.py) on hand-made cells, with the intervals derived by
hand: it must find what a subtraction or a linear argument finds, so that a clean audit of a
published day (tests/integration/test_disclosure_attack.py) means something."""

import math

import pandas as pd
import shapely
from attacker import leaks

K = 20
H1, H2 = "2026-03-14 09:00:00", "2026-03-14 10:00:00"
P, S = "published", "suppressed"


def _frame(rows, columns):
    return pd.DataFrame([("z1", *r[:-2], math.nan if r[-1] != P else float(r[-2]), r[-1]) for r in rows],
                        columns=["zone_id", *columns, "visitors", "status"])


def _tables(hourly, total, daily=()):
    return (_frame(hourly, ["hour_start", "age_band", "gender"]), _frame(total, ["hour_start"]),
            _frame(daily, ["age_band", "gender"]))


def _found(found):
    return {(leak.cell, leak.low, leak.high) for leak in found}


def test_a_single_suppressed_cell_under_a_published_total_is_pinned():
    # 30 - 25 = 5
    hourly, total, _ = _tables([(H1, "25-34", "F", 25, P), (H1, "35-44", "M", 5, S)], [(H1, 30, P)])
    assert _found(leaks(hourly, total, None, K)) == {(("hourly", H1, "35-44", "M"), 5.0, 5.0)}


def test_two_suppressed_cells_are_bounded_by_their_sum_and_a_known_zero_is_no_leak():
    # H1: the two suppressed cells add up to 30 - 25 = 5: each in [0, 5]. H2: 22 - 22 = 0: the
    # suppressed cell is pinned to nobody, which discloses no one.
    hourly, total, _ = _tables(
        [(H1, "25-34", "F", 25, P), (H1, "35-44", "M", 5, S), (H1, "45-54", "M", 0, S),
         (H2, "25-34", "F", 22, P), (H2, "35-44", "M", 0, S)],
        [(H1, 30, P), (H2, 22, P)])
    assert _found(leaks(hourly, total, None, K)) == {
        (("hourly", H1, "35-44", "M"), 0.0, 5.0), (("hourly", H1, "45-54", "M"), 0.0, 5.0)}


def test_cells_whose_suppressed_sum_is_at_least_k_are_safe():
    # the two suppressed cells add up to 50 - 25 = 25: each anywhere in [0, 25], at least k wide
    hourly, total, _ = _tables([(H1, "25-34", "F", 25, P), (H1, "35-44", "M", 15, S), (H1, "45-54", "M", 10, S)],
                               [(H1, 50, P)])
    assert leaks(hourly, total, None, K) == []


def test_each_hour_alone_is_safe_but_daily_and_hourly_together_leak():
    hourly, total, daily = _tables(
        [(H1, "25-34", "F", 50, P), (H1, "35-44", "M", 30, P), (H1, "45-54", "M", 0, S),
         (H2, "25-34", "F", 35, P), (H2, "35-44", "M", 12, S), (H2, "45-54", "M", 13, S)],
        [(H1, 80, P), (H2, 60, P)],
        [("25-34", "F", 60, P), ("35-44", "M", 40, P), ("45-54", "M", 13, S)])
    # H1: 80 - 50 - 30 = 0 pins 45-54/M to nobody; H2: x + y = 60 - 35 = 25: each [0, 25]
    assert leaks(hourly, total, None, K) == []
    # daily 35-44/M = 40 <= 30 (H1) + x, so x >= 10, and x <= 25; y = 25 - x in [0, 15];
    # daily 45-54/M lies between max(0, y) and 0 + y: equal to y, [0, 15]
    assert _found(leaks(hourly, total, daily, K)) == {
        (("hourly", H2, "35-44", "M"), 10.0, 25.0),
        (("hourly", H2, "45-54", "M"), 0.0, 15.0),
        (("daily", "45-54", "M"), 0.0, 15.0),
    }


def test_a_published_day_total_pins_what_the_hours_leave_open():
    # One hour whose total is withheld: the 35-44/M and 45-54/M cells are bounded by nothing (the
    # total may be anything up to the cap). The day total 42 is the sum of the cohorts' daily
    # cells (30 + B + C, so B + C = 12), at least the hour's total and at most the sum of the
    # hours' totals (one hour: the total is 42). With one hour a daily cell equals its hourly
    # cell, so the two withheld cohorts lie in [0, 12] in both tables, the total at exactly 42.
    hourly, total, daily = _tables(
        [(H1, "25-34", "F", 30, P), (H1, "35-44", "M", 8, S), (H1, "45-54", "M", 4, S)], [(H1, 42, S)],
        [("25-34", "F", 30, P), ("35-44", "M", 8, S), ("45-54", "M", 4, S)])
    assert leaks(hourly, total, daily, K) == []
    day_total = pd.DataFrame([("z1", 42.0, P)], columns=["zone_id", "visitors", "status"])
    assert _found(leaks(hourly, total, daily, K, day_total)) == {
        (("hourly", H1, "35-44", "M"), 0.0, 12.0), (("hourly", H1, "45-54", "M"), 0.0, 12.0),
        (("daily", "35-44", "M"), 0.0, 12.0), (("daily", "45-54", "M"), 0.0, 12.0),
        (("total", H1), 42.0, 42.0),
    }


def test_a_status_that_says_why_narrows_the_withheld_cells():
    # Issue #15, finding 1. Hour total 62; a = 25 withheld to protect c = 7, b = 30 published:
    # a + c = 62 - 30 = 32. One status for both: each in [0, 32], at least k wide.
    rows = [(H1, "18-24", "F", 25, S), (H1, "25-34", "F", 30, P), (H1, "35-44", "M", 7, S)]
    hourly, total, _ = _tables(rows, [(H1, 62, P)])
    assert leaks(hourly, total, None, K) == []
    # A status saying a protects another cell (so a >= k): c = 32 - a in [0, 12], a in [20, 32].
    hourly["status"] = ["suppressed_secondary", P, "suppressed_primary"]
    assert _found(leaks(hourly, total, None, K)) == {
        (("hourly", H1, "18-24", "F"), 20.0, 32.0), (("hourly", H1, "35-44", "M"), 0.0, 12.0)}


AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
GENDERS = ("F", "M", "unknown")


def _margins(by_age, by_gender):
    """A zone's 10 rows of zone_daily_margins: {age band: (visitors, status)} (gender `all`) and
    {gender: (visitors, status)} (age band `all`); a group not given had nobody, published as 0."""
    rows = [(age, "all", *by_age.get(age, (0, P))) for age in AGE_BANDS]
    rows += [("all", gender, *by_gender.get(gender, (0, P))) for gender in GENDERS]
    return pd.DataFrame([("z1", age, gender, float(v) if s == P else math.nan, s) for age, gender, v, s in rows],
                        columns=["zone_id", "age_band", "gender", "visitors", "status"])


def _margin_day():
    # One hour, so a cohort's daily cell equals its hourly one. Cohorts 25-34/F 30 (published),
    # 25-34/M 5, 35-44/F 12, 35-44/M 14 (withheld); hour total and day total 61 (published).
    cohorts = [("25-34", "F", 30, P), ("25-34", "M", 5, S), ("35-44", "F", 12, S), ("35-44", "M", 14, S)]
    hourly, total, daily = _tables([(H1, *c) for c in cohorts], [(H1, 61, P)], cohorts)
    day_total = pd.DataFrame([("z1", 61.0, P)], columns=["zone_id", "visitors", "status"])
    return hourly, total, daily, day_total


def test_the_margins_pin_a_withheld_daily_cell():
    # Visitors by age band 25-34 (35) are its daily cells over the genders: 35 = 30 + 25-34/M
    # (no 25-34/unknown row: nobody), so 25-34/M is 5, and with one hour its hourly cell too.
    # The rest is open: 35-44/F + 35-44/M = 61 - 30 - 5 = 26 (also the published 35-44 margin),
    # each in [0, 26]; the withheld margins F = 30 + 35-44/F in [30, 56], M = 5 + 35-44/M in [5, 31].
    hourly, total, daily, day_total = _margin_day()
    margins = _margins({"25-34": (35, P), "35-44": (26, P)}, {"F": (42, S), "M": (19, S)})
    assert _found(leaks(hourly, total, daily, K, day_total, margins)) == {
        (("hourly", H1, "25-34", "M"), 5.0, 5.0), (("daily", "25-34", "M"), 5.0, 5.0)}


def test_without_the_margins_the_same_day_does_not_leak():
    # 25-34/M + 35-44/F + 35-44/M = 61 - 30 = 31: each in [0, 31], at least k wide
    hourly, total, daily, day_total = _margin_day()
    assert leaks(hourly, total, daily, K, day_total) == []


def test_margins_withheld_enough_do_not_leak():
    # The same day with the 25-34 and 35-44 margins withheld too: they add up to 61 (the other age
    # bands publish 0), 25-34 = 30 + 25-34/M in [30, 61], 35-44 in [0, 31], F in [30, 61] and
    # M in [0, 31]; the daily cells as without margins, each in [0, 31].
    hourly, total, daily, day_total = _margin_day()
    margins = _margins({"25-34": (35, S), "35-44": (26, S)}, {"F": (42, S), "M": (19, S)})
    assert leaks(hourly, total, daily, K, day_total, margins) == []


def test_margins_bound_the_hours_without_daily_cells():
    # No zone_daily, no day total; one hour whose total is withheld: 25-34/F 20 published, 25-34/M
    # (2) and 35-44/F (30) withheld, each open up to the cap. The 25-34 margin (22) is at least the
    # hour's 25-34 cells and at most their sum over the hours (one hour): 20 + 25-34/M = 22, so
    # 25-34/M is 2; the withheld M margin is at least and at most the hour's M cells: 2 as well.
    # 35-44/F, its margin, the F margin (20 + 35-44/F) and the hour's total stay open.
    hourly, total, _ = _tables([(H1, "25-34", "F", 20, P), (H1, "25-34", "M", 2, S), (H1, "35-44", "F", 30, S)],
                               [(H1, 52, S)])
    margins = _margins({"25-34": (22, P), "35-44": (30, S)}, {"F": (50, S), "M": (2, S)})
    assert leaks(hourly, total, None, K) == []
    assert _found(leaks(hourly, total, None, K, None, margins)) == {
        (("hourly", H1, "25-34", "M"), 2.0, 2.0), (("margin", "all", "M"), 2.0, 2.0)}


# zone_daypart on 2026-03-14 (CET, UTC+1): (day part, part_start in UTC, part_hours). Midday is
# local 10:00-13:59, the UTC hours 09:00 (H1), 10:00 (H2), 11:00 and 12:00.
PARTS = (("night", "2026-03-13 23:00:00", 6), ("morning", "2026-03-14 05:00:00", 4), ("midday", H1, 4),
         ("afternoon", "2026-03-14 13:00:00", 4), ("evening", "2026-03-14 17:00:00", 6))
MIDDAY = PARTS[2]
BEFORE, AFTER = "2026-03-14 08:00:00", "2026-03-14 13:00:00"  # local 09:00 (morning), 14:00 (afternoon)
B, C = ("35-44", "M"), ("45-54", "M")


def _dayparts(rows):
    """zone_daypart rows: (day part, part_start, part_hours, age band, gender, visitors, status)."""
    return _frame(rows, ["day_part", "part_start", "part_hours", "age_band", "gender"])


def _midday(b_part_status):
    # H1 and H2 (midday's other two hours had nobody): 25-34/F 30 published, B = 35-44/M and
    # C = 45-54/M withheld (20 and 5), hour total 55: b + c = 25 in each hour. B has 30 visitors
    # (published) in the hours just before and after midday. B's midday: 40, C's: 8 (withheld).
    hourly, total, _ = _tables(
        [(h, *cohort, v, s) for h in (H1, H2) for cohort, v, s in ((("25-34", "F"), 30, P), (B, 20, S), (C, 5, S))]
        + [(BEFORE, *B, 30, P), (AFTER, *B, 30, P)], [(H1, 55, P), (H2, 55, P)])
    return hourly, total, _dayparts([(*MIDDAY, *B, 40, b_part_status), (*MIDDAY, *C, 8, S)])


def test_a_published_day_part_bounds_its_withheld_hours():
    hourly, total, dayparts = _midday(P)
    # Without the day parts each hour's b + c = 25: each in [0, 25], at least k wide.
    assert leaks(hourly, total, None, K) == []
    # B's midday visitors are in its midday hours: 40 <= b1 + b2 (08:00 and 13:00 UTC are not
    # midday's: with them, 40 <= 30 + b1 + b2 + 30 says nothing), and b1, b2 <= 25 (the totals),
    # so b1 >= 40 - b2 >= 15: b1, b2 in [15, 25] and c1, c2 = 25 - b in [0, 10]. C's midday is
    # at least each of c1, c2 and at most c1 + c2 = 50 - (b1 + b2) <= 10: in [0, 10] (0 at
    # b1 = b2 = 25; 10 at b1 = 15, b2 = 25).
    midday_c = ("daypart", *MIDDAY, *C)
    assert _found(leaks(hourly, total, None, K, dayparts=dayparts)) == {
        (("hourly", H1, *B), 15.0, 25.0), (("hourly", H2, *B), 15.0, 25.0),
        (("hourly", H1, *C), 0.0, 10.0), (("hourly", H2, *C), 0.0, 10.0), (midday_c, 0.0, 10.0)}


def test_day_parts_withheld_enough_do_not_leak():
    # The same day with B's midday withheld too: b + c = 25 in each hour as without the day parts
    # (each in [0, 25]); B's and C's midday between the larger hour and the sum: each in [0, 50].
    hourly, total, dayparts = _midday(S)
    assert leaks(hourly, total, None, K, dayparts=dayparts) == []


def test_a_day_part_is_at_least_each_of_its_hours():
    # B: 25 in H1 (published), its only midday hour with visitors, 8 in 18:00 UTC (withheld), its
    # only evening one; its midday m and evening e withheld, its day 30 published. m is at least
    # H1's 25 and at most the sum of its hours, 25: pinned. e equals its one hour h; the day is at
    # most the hours' sum and the parts' (30 <= 25 + h), h at most the day: e = h in [5, 30], safe.
    # (Without H1's lower bound on m: m in [0, 25], e = h in [5, 30], no leak.)
    hourly, total, daily = _tables([(H1, *B, 25, P), ("2026-03-14 18:00:00", *B, 8, S)], [], [(*B, 30, P)])
    dayparts = _dayparts([(*MIDDAY, *B, 25, S), (*PARTS[4], *B, 8, S)])
    assert _found(leaks(hourly, total, daily, K, dayparts=dayparts)) == {(("daypart", *MIDDAY, *B), 25.0, 25.0)}


def test_the_day_parts_add_up_to_at_least_the_daily_cell():
    # Daily 25-34/F 40 published, B (25) and C (35) withheld, day total 100: b + c = 60, each in
    # [0, 60]. B's day parts: morning 25, the other four 0 (published). B's parts are at most its
    # day (b >= 25: b in [25, 60], c in [0, 35], no leak alone), and its day at most their sum,
    # b <= 25: b is 25 and c 35, both pinned.
    _, _, daily = _tables([], [], [("25-34", "F", 40, P), (*B, 25, S), (*C, 35, S)])
    hourly, total, _ = _tables([], [])
    day_total = pd.DataFrame([("z1", 100.0, P)], columns=["zone_id", "visitors", "status"])
    dayparts = _dayparts([(*part, *B, 25 if part[0] == "morning" else 0, P) for part in PARTS])
    assert leaks(hourly, total, daily, K, day_total) == []
    assert _found(leaks(hourly, total, daily, K, day_total, dayparts=dayparts)) == {
        (("daily", *B), 25.0, 25.0), (("daily", *C), 35.0, 35.0)}


def test_without_daily_cells_the_day_total_and_margins_bound_the_day_parts():
    # No zone_daily and no hours; midday alone had visitors (the other parts: nobody): 25-34/F 30
    # published, 25-34/M x withheld. The day total 35 is at least midday's sum over the cohorts
    # (30 + x <= 35) and at most the sum over all parts (35 <= 30 + x): x = 5.
    hourly, total, _ = _tables([], [])
    dayparts = _dayparts([(*MIDDAY, "25-34", "F", 30, P), (*MIDDAY, "25-34", "M", 5, S)])
    day_total = pd.DataFrame([("z1", 35.0, P)], columns=["zone_id", "visitors", "status"])
    assert _found(leaks(hourly, total, None, K, day_total, dayparts=dayparts)) == {
        (("daypart", *MIDDAY, "25-34", "M"), 5.0, 5.0)}
    # The same with margins instead: 25-34 (35) published, F and M withheld. The age band pins
    # x = 5 as the day total did; the M margin is at least and at most x (5), the F one 30.
    # Without the day parts F + M = 35 (the age bands' sum) is all: each in [0, 35], no leak.
    margins = _margins({"25-34": (35, P)}, {"F": (30, S), "M": (5, S)})
    assert leaks(hourly, total, None, K, margins=margins) == []
    assert _found(leaks(hourly, total, None, K, margins=margins, dayparts=dayparts)) == {
        (("daypart", *MIDDAY, "25-34", "M"), 5.0, 5.0), (("margin", "all", "M"), 5.0, 5.0),
        (("margin", "all", "F"), 30.0, 30.0)}


def _catchment(rows):
    """zone_catchment rows: (home district, visitors, status)."""
    return _frame(rows, ["home_district"])


def _day_total(visitors, status=P):
    return _frame([(visitors, status)], [])


UNKNOWN = ("catchment", "unknown")


def test_the_day_total_pins_a_single_withheld_home_district():
    # Every visitor has one home district: 01 + 02 + unknown = the day's 40, so unknown is
    # 40 - 25 - 12 = 3: [3, 3]. Without the day total the catchment alone bounds nothing
    # (unknown up to the cap); without the catchment nothing is withheld.
    hourly, total, _ = _tables([], [])
    catchment = _catchment([("01", 25, P), ("02", 12, P), ("unknown", 3, S)])
    assert _found(leaks(hourly, total, None, K, _day_total(40), catchment=catchment)) == {(UNKNOWN, 3.0, 3.0)}
    assert leaks(hourly, total, None, K, catchment=catchment) == []
    assert leaks(hourly, total, None, K, _day_total(40)) == []


def test_withheld_home_districts_adding_up_to_k_or_more_are_safe():
    # 02 + unknown = 50 - 25 = 25: each anywhere in [0, 25], at least k wide.
    hourly, total, _ = _tables([], [])
    catchment = _catchment([("01", 25, P), ("02", 15, S), ("unknown", 10, S)])
    assert leaks(hourly, total, None, K, _day_total(50), catchment=catchment) == []
    # The same with a day of 44: 02 + unknown = 44 - 25 = 19 < k: each in [0, 19], both leak.
    catchment = _catchment([("01", 25, P), ("02", 15, S), ("unknown", 4, S)])
    assert _found(leaks(hourly, total, None, K, _day_total(44), catchment=catchment)) == {
        (("catchment", "02"), 0.0, 19.0), (UNKNOWN, 0.0, 19.0)}


def test_without_a_day_total_the_home_districts_add_up_to_the_daily_cells():
    # No zone_daily_total frame. Daily 25-34/F 30 and 35-44/M 12, both published (no other
    # cohort row: nobody), so the day had 42 visitors: unknown = 42 - 39 = 3, [3, 3].
    hourly, total, daily = _tables([], [], [("25-34", "F", 30, P), ("35-44", "M", 12, P)])
    catchment = _catchment([("01", 39, P), ("unknown", 3, S)])
    assert _found(leaks(hourly, total, daily, K, catchment=catchment)) == {(UNKNOWN, 3.0, 3.0)}
    # The other way round: a published catchment (40 + 7 = 47) pins the one withheld cohort,
    # 45-54/M = 47 - 30 - 12 = 5: [5, 5]. Without the catchment it is open (up to the cap).
    hourly, total, daily = _tables([], [], [("25-34", "F", 30, P), ("35-44", "M", 12, P), ("45-54", "M", 5, S)])
    catchment = _catchment([("01", 40, P), ("02", 7, P)])
    assert leaks(hourly, total, daily, K) == []
    assert _found(leaks(hourly, total, daily, K, catchment=catchment)) == {(("daily", "45-54", "M"), 5.0, 5.0)}


def test_a_published_catchment_pins_a_withheld_day_total():
    # The day total withheld, every home district published: it is their sum, 25 + 12 + 3 = 40,
    # [40, 40]: narrower than k, a leak (as a withheld hour total pinned by its hour's cells).
    hourly, total, _ = _tables([], [])
    catchment = _catchment([("01", 25, P), ("02", 12, P), ("unknown", 3, P)])
    assert _found(leaks(hourly, total, None, K, _day_total(40, S), catchment=catchment)) == {
        (("day_total",), 40.0, 40.0)}


def test_the_attacker_finds_unions_of_zones_from_the_polygons_alone():
    from attack_day import attacker_unions

    def box(x0: float, x1: float) -> bytes:
        return shapely.to_wkb(shapely.box(13.40 + x0, 52.50, 13.40 + x1, 52.51))

    zones = pd.DataFrame([("big", "u", box(0, 0.02)), ("small", "a", box(0, 0.01)), ("small", "b", box(0.01, 0.02)),
                          ("big", "v", box(0.1, 0.12)), ("small", "c", box(0.1, 0.11))],
                         columns=["zone_set", "zone_id", "geometry"])
    # u is a + b; v is twice c (c covers half of it); a and c are nobody's union
    assert attacker_unions(zones) == {("big", "u"): ("small", ["a", "b"])}
