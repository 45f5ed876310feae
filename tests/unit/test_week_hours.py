"""footfall.privacy.week leaves a day's hourly and day-part cells out of the week's LP where the day
publishes hour totals and nothing finer (protect.hours_extend), and checks them separately: on
random weeks of simulated people, the reduced model gives every cell it keeps the interval the
model with every hour gives, and week_leaks finds a leak exactly when the full model does."""

import datetime as dt
import random

import pandas as pd
import pytest

from footfall.privacy import week as week_module
from footfall.privacy.protect import hours_extend
from footfall.privacy.relations import DAILY, DAILY_TOTAL, DAYPART, HOURLY, KIND, LONG_COLUMNS, TOTAL
from footfall.privacy.week import WEEK_TOTAL, WEEKLY, protect, week_leaks, week_model
from footfall.schemas import C

DAYS = [dt.date(2026, 3, 9) + dt.timedelta(days=i) for i in range(7)]
COHORTS = [("18-24", "F"), ("25-34", "F"), ("25-34", "M")]
HOURS = (10, 11, 12, 13)
PARTS = {10: (10, 11), 12: (12, 13)}  # day parts by their first hour


def _start(day: dt.date, hour: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.combine(day, dt.time(hour)))


def _simulated(rng: random.Random, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """30 people in 3 cohorts, each present in each of 4 hours of each day with their own
    probability; the true cells, withheld at random beyond primary suppression (below k). No
    hourly or day-part cell is published except on Thursday, whose one published hour keeps all
    its hours in the model."""
    people = [(COHORTS[i % len(COHORTS)], rng.uniform(0.05, 0.5)) for i in range(30)]
    present = {(p, d, h): rng.random() < q for p, (_, q) in enumerate(people) for d in DAYS for h in HOURS}

    def count(cohort: tuple | None, days: list, hours: tuple) -> int:
        return sum(any(present[p, d, h] for d in days for h in hours)
                   for p, (c, _) in enumerate(people) if cohort is None or c == cohort)

    def row(kind: str, day: dt.date | None, hour: int | None, cohort: tuple | None, share: float) -> dict:
        visitors = count(cohort, [day] if day else DAYS, (hour,) if kind in (HOURLY, TOTAL) else
                         PARTS[hour] if kind == DAYPART else HOURS)
        shown = visitors >= k and rng.random() < share
        if kind in (HOURLY, DAYPART):
            shown = day == DAYS[3] and shown
        age, gender = cohort or (None, None)
        return {C.ZONE_ID: "z", KIND: kind, C.HOUR_START: _start(day, hour) if day and hour else None,
                C.AGE_BAND: age, C.GENDER: gender, C.VISITORS: visitors, C.EVENT_DATE: day,
                C.STATUS: "published" if shown else "suppressed"}

    rows = []
    for day in DAYS:
        rows += [row(DAILY, day, None, c, 0.5) for c in COHORTS] + [row(DAILY_TOTAL, day, None, None, 0.7)]
        rows += [row(TOTAL, day, h, None, 0.6) for h in HOURS]
        rows += [row(HOURLY, day, h, c, 0.3) for h in HOURS for c in COHORTS]
        rows += [row(DAYPART, day, h, c, 0.3) for h in PARTS for c in COHORTS]
    weekly = [row(WEEKLY, None, None, c, 0.6) for c in COHORTS] + [row(WEEK_TOTAL, None, None, None, 0.8)]
    return pd.DataFrame(rows)[[*LONG_COLUMNS, C.EVENT_DATE]], pd.DataFrame(weekly)[LONG_COLUMNS]


@pytest.fixture
def every_hour(monkeypatch):
    """week_model with every day whole: the reference the reduction must agree with."""
    def full() -> None:
        monkeypatch.setattr(week_module, "_day_cells", lambda cells, k: (cells, False))
    return full


def test_hours_extend_needs_a_day_total_and_nothing_finer_published():
    days, _ = _simulated(random.Random(1), 5)
    monday = days[days[C.EVENT_DATE] == DAYS[0]]
    assert hours_extend(monday)
    assert not hours_extend(monday[monday[KIND] != DAILY_TOTAL])  # the hour totals need the day's
    one_hour = monday[KIND] == HOURLY
    assert not hours_extend(monday.assign(**{C.STATUS: monday[C.STATUS].where(~one_hour, "published")}))
    assert not hours_extend(monday.drop(index=monday.index[one_hour][:1]))  # an hour's grid not full


@pytest.mark.parametrize("seed", range(12))
def test_the_reduced_week_model_is_exact_for_the_cells_it_keeps(seed, every_hour):
    """Each withheld cell the reduced model keeps (day cells, hour totals, the week's) has the same
    interval [min, max] as in the model with every hour: the proportional extension of
    protect.hours_extend in numbers."""
    k = 5
    days, week = _simulated(random.Random(seed), k)
    reduced = week_model(days, week, k)
    every_hour()
    full = week_model(days, week, k)
    assert len(reduced.variables) < len(full.variables)
    assert set(reduced.variables) <= set(full.variables)
    for name in reduced.variables:
        assert reduced.interval(name) == pytest.approx(full.interval(name), abs=1e-6), name


@pytest.mark.parametrize("seed", range(30))
def test_week_leaks_finds_a_leak_exactly_when_the_full_model_does(seed, every_hour):
    """With the hour cells checked apart (_hour_leaks), week_leaks reports the same leaks outside the
    left-out hour cells as the model with every hour, and a leak exactly when it does."""
    k = 5
    days, week = _simulated(random.Random(100 + seed), k)
    found = week_leaks(days, week, k)
    every_hour()
    expected = week_leaks(days, week, k)
    outside = {HOURLY, DAYPART}
    assert bool(found) == bool(expected)
    assert ({leak.cell for leak in found if leak.cell.split("@")[0] not in outside}
            == {leak.cell for leak in expected if leak.cell.split("@")[0] not in outside})
    assert {leak.cell for leak in found} <= {leak.cell for leak in expected}


@pytest.mark.parametrize("seed", range(12))
def test_protect_leaves_nothing_for_the_model_with_every_hour(seed, every_hour):
    """What protect withholds with the reduced model (and the hour cells checked apart) leaves no
    leak for the model with every hour of every day."""
    k = 5
    days, week = _simulated(random.Random(200 + seed), k)
    withheld = protect(days, week, k)
    keys = [KIND, C.AGE_BAND, C.GENDER]
    rows = set(withheld[keys].fillna("").itertuples(index=False))
    after = week.assign(**{C.STATUS: ["suppressed" if key in rows else status for key, status in zip(
        week[keys].fillna("").itertuples(index=False), week[C.STATUS], strict=True)]})
    every_hour()
    assert week_leaks(days, after, k) == []
