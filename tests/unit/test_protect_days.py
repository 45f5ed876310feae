"""protect.days_decide: a zone that publishes no hour cell is decided by its day cells alone, and
always as the full LP audit (footfall.privacy.audit) decides it."""

import math

import numpy as np
import pandas as pd

from footfall.privacy.audit import ZoneModel
from footfall.privacy.protect import days_decide, protect_zone
from footfall.privacy.relations import CATCHMENT, DAILY, DAILY_TOTAL, DAYPART, HOURLY, LONG_COLUMNS, MARGIN, TOTAL
from footfall.schemas import MARGIN_ALL, C

HOURS = ("2026-03-14 09:00:00", "2026-03-14 10:00:00", "2026-03-14 11:00:00")
PART_OF = {HOURS[0]: HOURS[0], HOURS[1]: HOURS[1], HOURS[2]: HOURS[1]}  # two day parts: 9, and 10-11
COHORTS = (("25-34", "F"), ("25-34", "M"), ("35-44", "F"), ("35-44", "M"))
HOMES = ("01", "02", "unknown")
P, S1 = "published", "primary"


def _zone(people, published):
    """The long-format cells of one zone from its people (cohort index, home index, hours present),
    each cell published if `published(kind, visitors)`, else withheld with its count hidden."""
    counts: dict[tuple, int] = {}

    def add(kind, hour, age, gender, n=1):
        counts[(kind, hour, age, gender)] = counts.get((kind, hour, age, gender), 0) + n

    for hour in HOURS:  # the full grid, zeros included
        add(TOTAL, hour, None, None, 0)
        for a, g in COHORTS:
            add(HOURLY, hour, a, g, 0)
            add(DAYPART, PART_OF[hour], a, g, 0)
    for a, g in COHORTS:
        add(DAILY, None, a, g, 0)
        add(MARGIN, None, a, MARGIN_ALL, 0)
        add(MARGIN, None, MARGIN_ALL, g, 0)
    add(DAILY_TOTAL, None, None, None, 0)
    for home in HOMES:
        add(CATCHMENT, None, home, None, 0)
    for cohort, home, hours in people:
        a, g = COHORTS[cohort]
        for hour in hours:
            add(HOURLY, hour, a, g)
            add(TOTAL, hour, None, None)
        for part in {PART_OF[h] for h in hours}:
            add(DAYPART, part, a, g)
        add(DAILY, None, a, g)
        add(MARGIN, None, a, MARGIN_ALL)
        add(MARGIN, None, MARGIN_ALL, g)
        add(DAILY_TOTAL, None, None, None)
        add(CATCHMENT, None, HOMES[home], None)
    rows = []
    for (kind, hour, a, g), v in counts.items():
        shown = published(kind, v)
        rows.append(("z1", kind, hour, a, g, float(v) if shown else math.nan, P if shown else S1))
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def _only_days(k):
    return lambda kind, v: kind in (DAILY_TOTAL, MARGIN, CATCHMENT, DAILY) and v >= k


def test_a_store_front_with_only_its_day_total_is_clean_and_decided_without_the_hours():
    """25 women 25-34 all day: the day total 25 is published, everything else is below k = 20
    or withheld as its partner. Every cohort may hold 0 to all 25 of the day, so every hour cell
    0 to 25: clean, and the day cells alone show it."""
    people = [(0, 0, HOURS)] * 25
    cells = _zone(people, lambda kind, v: kind == DAILY_TOTAL)
    assert days_decide(cells, 20)
    assert ZoneModel(cells).leaks(20) == []
    assert protect_zone(cells, 20).empty


def test_a_pinned_day_cell_leaves_the_decision_to_the_full_audit():
    """Day total 45 and the women 25-34 (25) published, every other cell withheld: the other
    three cohorts share 45 - 25 = 20 people, so each of their daily cells lies in [0, 20], and
    each of their hour cells too. Width 20: clean for k = 20. For k = 21 the same zone leaks
    (20 < 21, in the day cells and so in the hours), and days_decide must defer (False)."""
    people = [(0, 0, HOURS)] * 25 + [(3, 1, HOURS)] * 20
    cells = _zone(people, lambda kind, v: (kind, v) in ((DAILY_TOTAL, 45), (DAILY, 25)))
    assert days_decide(cells, 20)
    assert ZoneModel(cells).leaks(20) == []
    assert not days_decide(cells, 21)
    assert {leak.cell for leak in ZoneModel(cells).leaks(21)} >= {"daily 35-44/M", f"hourly {HOURS[0]} 35-44/M"}


def test_a_published_hour_total_always_defers_to_the_full_audit():
    people = [(0, 0, HOURS)] * 25
    cells = _zone(people, lambda kind, v: kind in (DAILY_TOTAL, TOTAL))
    assert ZoneModel(cells).leaks(20) == []  # clean, but the shortcut does not apply
    assert not days_decide(cells, 20)


def test_days_decide_agrees_with_the_full_audit_on_random_zones():
    """300 random zones of 0-40 people (cohort, home district and the hours present drawn at
    random) with k = 8, each day cell published when it reaches k and a coin says so, no hour
    cell published: days_decide is True exactly when the full LP audit finds no leak. Both
    outcomes occur (the counts are asserted), so the comparison is not vacuous."""
    rng = np.random.default_rng(7)
    k = 8
    outcomes = {True: 0, False: 0}
    for _ in range(300):
        people = []
        for _ in range(int(rng.integers(0, 41))):
            hours = tuple(h for h in HOURS if rng.random() < 0.5) or (HOURS[int(rng.integers(0, 3))],)
            people.append((int(rng.integers(0, len(COHORTS))), int(rng.integers(0, len(HOMES))), hours))
        coins = iter(rng.random(200))
        cells = _zone(people, lambda kind, v, coins=coins: _only_days(k)(kind, v) and next(coins) < 0.6)
        clean = ZoneModel(cells).leaks(k) == []
        assert days_decide(cells, k) == clean
        outcomes[clean] += 1
    assert outcomes[True] >= 30 and outcomes[False] >= 30, outcomes


def test_a_published_day_cell_below_k_bounds_its_hours_below_k_and_defers():
    """Primary suppression never publishes 0 < visitors < k, but days_decide does not rely on it:
    a published daily cell of 5 pins each of its cohort's withheld hours to [0, 5]."""
    people = [(0, 0, HOURS)] * 25 + [(3, 1, HOURS)] * 5
    cells = _zone(people, lambda kind, v: kind in (DAILY_TOTAL, DAILY) and v in (30, 5))
    assert f"hourly {HOURS[0]} 35-44/M" in {leak.cell for leak in ZoneModel(cells).leaks(20)}
    assert not days_decide(cells, 20)


def test_a_day_of_one_hour_defers_to_the_full_audit():
    """With one hour an hour cell cannot be set to 0 while its day keeps its people (each cohort's
    hour equals its day): the argument needs two hours, so the full audit decides."""
    cells = _zone([(0, 0, HOURS)] * 25, lambda kind, v: kind == DAILY_TOTAL)
    one_hour = cells[cells[C.HOUR_START].isna() | (cells[C.HOUR_START] == HOURS[0])].reset_index(drop=True)
    assert not days_decide(one_hour, 20)
