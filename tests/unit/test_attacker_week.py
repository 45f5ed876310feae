"""The week attacker (tests/attacker_week.py) on hand-made weeks: what a published week reveals
about the withheld cells of its days and of itself, with a negative control."""

import datetime as dt

from attacker_week import week_leaks

K = 20
AGES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
GENDERS = ("F", "M", "unknown")
COHORTS = [(a, g) for a in AGES for g in GENDERS]
DAYS = [(dt.date(2026, 3, 9) + dt.timedelta(days=i)).isoformat() for i in range(7)]  # Monday to Sunday


def _days(published: dict[tuple[str, tuple], float]) -> dict[str, dict[tuple, float | None]]:
    """Seven days of daily cells and a day total, withheld except `published` ((day, name) -> visitors)."""
    names = [("daily", *c) for c in COHORTS] + [("day_total",)]
    return {day: {name: published.get((day, name)) for name in names} for day in DAYS}


def _week(published: dict[tuple, float]) -> dict[tuple, float | None]:
    names = [("weekly", *c) for c in COHORTS] + [("week_total",)]
    return {name: published.get(name) for name in names}


def test_a_published_week_total_and_cohort_pin_the_other_cohorts_with_a_day_cell():
    """Week total 46, women 25-34 25 published: the other 20 cohorts hold 21. Monday's men 35-44
    are 20 (published), so that cohort's week holds 20 or 21 and the other 19 cohorts at most 1
    each, and so does each of their day cells: 1 + 19 + 19 x 7 leaks. Monday alone reveals
    nothing (its total is at least 20, its other cells anything)."""
    days = _days({(DAYS[0], ("daily", "35-44", "M")): 20})
    found = {leak.cell: (leak.low, leak.high) for leak in week_leaks(
        "z", days, _week({("week_total",): 46, ("weekly", "25-34", "F"): 25}), K)}
    others = [c for c in COHORTS if c not in (("25-34", "F"), ("35-44", "M"))]
    expected = {("weekly", "35-44", "M"): (20.0, 21.0)}
    expected |= {("weekly", *c): (0.0, 1.0) for c in others}
    expected |= {(day, "daily", *c): (0.0, 1.0) for day in DAYS for c in others}
    assert found == expected


def test_negative_control_the_same_week_with_the_cohort_withheld_reveals_nothing():
    """Women 25-34 withheld: the 20 cohorts other than men 35-44 share up to 26, each can hold
    them all, and men 35-44 range over [20, 46]."""
    days = _days({(DAYS[0], ("daily", "35-44", "M")): 20})
    assert week_leaks("z", days, _week({("week_total",): 46}), K) == []


def test_the_week_bounds_a_day_from_above_and_the_days_bound_the_week_from_below():
    """A cohort published on all seven days with 20, 0, 0, 0, 0, 0, 0 people: its withheld week
    cell holds exactly 20 (at least Monday's, at most the seven days' sum): a leak only where it
    narrows below k, and [20, 20] is one. With Tuesday at 30 instead of 0 it ranges over [30, 50]:
    no leak."""
    pinned = _days({(day, ("daily", "65+", "F")): v for day, v in zip(DAYS, (20, 0, 0, 0, 0, 0, 0), strict=True)})
    leaks = week_leaks("z", pinned, _week({}), K)
    assert [(leak.cell, leak.low, leak.high) for leak in leaks] == [(("weekly", "65+", "F"), 20.0, 20.0)]
    wide = _days({(day, ("daily", "65+", "F")): v for day, v in zip(DAYS, (20, 30, 0, 0, 0, 0, 0), strict=True)})
    assert week_leaks("z", wide, _week({}), K) == []
