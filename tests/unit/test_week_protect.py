"""footfall.privacy.week on hand-made weeks (the cases of tests/unit/test_attacker_week.py):
the defender's model finds what the independent attacker finds, and `protect` withholds week
cells until the attacker finds nothing, the days as published."""

import datetime as dt

import pandas as pd
from attacker_week import week_leaks as attacker_leaks

from footfall.privacy.relations import DAILY, DAILY_TOTAL, HOURLY, KIND, LONG_COLUMNS, TOTAL
from footfall.privacy.week import WEEK_TOTAL, WEEKLY, protect, week_leaks, week_model
from footfall.schemas import C

K = 20
AGES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
GENDERS = ("F", "M", "unknown")
COHORTS = [(a, g) for a in AGES for g in GENDERS]
DAYS = [dt.date(2026, 3, 9) + dt.timedelta(days=i) for i in range(7)]


def _rows(kind: str, published: dict, day: dt.date | None) -> list[dict]:
    keys = COHORTS if kind in (DAILY, WEEKLY) else [(None, None)]
    return [{C.ZONE_ID: "z", KIND: kind, C.HOUR_START: None, C.AGE_BAND: a, C.GENDER: g,
             C.VISITORS: published.get((a, g), 0), C.EVENT_DATE: day,
             C.STATUS: "published" if (a, g) in published else "suppressed"} for a, g in keys]


def _frames(day_published: dict, week_published: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seven days of daily cells and day totals, and a week's cohort cells and total; withheld
    except the published ones: {(day, (age, gender)) or (day, (None, None)): visitors}."""
    days = pd.DataFrame([r for day in DAYS for kind in (DAILY, DAILY_TOTAL) for r in _rows(
        kind, {c: v for (d, c), v in day_published.items() if d == day}, day)])
    week = pd.DataFrame(_rows(WEEKLY, week_published, None) + _rows(WEEK_TOTAL, week_published, None))
    return days[[*LONG_COLUMNS, C.EVENT_DATE]], week[LONG_COLUMNS]


def _attacker_view(days: pd.DataFrame, week: pd.DataFrame) -> tuple[dict, dict]:
    def name(row) -> tuple:
        kind = {"daily_total": "day_total"}.get(row[KIND], row[KIND])
        return (kind, row[C.AGE_BAND], row[C.GENDER]) if row[C.AGE_BAND] is not None else (kind,)

    def value(row) -> float | None:
        return float(row[C.VISITORS]) if row[C.STATUS] == "published" else None

    by_day = {d.isoformat(): {name(r): value(r) for r in g.to_dict("records")} for d, g in days.groupby(C.EVENT_DATE)}
    return by_day, {name(r): value(r) for r in week.to_dict("records")}


def test_the_defender_finds_the_leaks_of_a_week_total_and_cohort_beside_a_day_cell():
    """As the attacker's first case: men 35-44 in [20, 21], the other 19 cohorts and their 133
    day cells in [0, 1]; `protect` withholds women 25-34 (25, the cheapest week cell related
    to each leak), and then neither model finds anything."""
    days, week = _frames({(DAYS[0], ("35-44", "M")): 20}, {(None, None): 46, ("25-34", "F"): 25})
    found = {leak.cell: (leak.low, leak.high) for leak in week_leaks(days, week, K)}
    others = [c for c in COHORTS if c not in (("25-34", "F"), ("35-44", "M"))]
    expected = {"weekly 35-44/M": (20.0, 21.0)} | {f"weekly {a}/{g}": (0.0, 1.0) for a, g in others}
    expected |= {f"daily@{d.isoformat()} {a}/{g}": (0.0, 1.0) for d in DAYS for a, g in others}
    assert found == expected
    withheld = protect(days, week, K)
    assert [(r[KIND], r[C.AGE_BAND], r[C.GENDER]) for r in withheld.to_dict("records")] == [(WEEKLY, "25-34", "F")]
    after = week.assign(**{C.STATUS: ["suppressed" if (a, g) == ("25-34", "F") else s for a, g, s in zip(
        week[C.AGE_BAND], week[C.GENDER], week[C.STATUS], strict=True)]})
    assert week_leaks(days, after, K) == []
    assert attacker_leaks("z", *_attacker_view(days, after), K) == []
    assert len(attacker_leaks("z", *_attacker_view(days, week), K)) == len(expected)


def test_protect_never_withholds_a_week_cell_the_days_pin():
    """Monday: 20 women 65+ and nobody else (its total 20); Tuesday to Sunday: 25 men 18-24 and
    nobody else each day. The week holds 20 women 65+ (pinned: Monday's 20, nobody on the other
    days) and, say, 40 men 18-24 of 60 in all. With the men's week cell withheld, the total minus
    the women pins it to 40: the cheapest published partner would be the women's 20, but withheld
    it stays pinned by the days, so the week total gives way, and then nothing leaks."""
    pins = {(DAYS[0], ("65+", "F")): 20, (DAYS[0], (None, None)): 20}
    pins |= {(day, c): 25 for day in DAYS[1:] for c in (("18-24", "M"), (None, None))}
    days, week = _frames(pins, {("65+", "F"): 20, (None, None): 60})
    assert [leak.cell for leak in week_leaks(days, week, K)] == ["weekly 18-24/M"]
    withheld = protect(days, week, K)
    assert [(r[KIND], r[C.AGE_BAND]) for r in withheld.to_dict("records")] == [(WEEK_TOTAL, None)]
    after = week.assign(**{C.STATUS: ["suppressed" if k == WEEK_TOTAL else s for k, s in zip(
        week[KIND], week[C.STATUS], strict=True)]})
    assert attacker_leaks("z", *_attacker_view(days, after), K) == []


def _monday_hours(published: dict) -> pd.DataFrame:
    """Monday 10:00 and 11:00: every cohort's hour cell and the hour totals, withheld except
    `published` {(hour, (age, gender)): visitors}."""
    rows = []
    for hour in (10, 11):
        start = pd.Timestamp(dt.datetime.combine(DAYS[0], dt.time(hour)))
        for kind, keys in ((HOURLY, COHORTS), (TOTAL, [(None, None)])):
            rows += [{C.ZONE_ID: "z", KIND: kind, C.HOUR_START: start, C.AGE_BAND: a, C.GENDER: g,
                      C.VISITORS: published.get((hour, (a, g)), 0), C.EVENT_DATE: DAYS[0],
                      C.STATUS: "published" if (hour, (a, g)) in published else "suppressed"} for a, g in keys]
    return pd.DataFrame(rows)[[*LONG_COLUMNS, C.EVENT_DATE]]


def test_a_day_that_publishes_no_hour_enters_the_week_without_its_hours():
    """The first case with Monday's hours 10 and 11 withheld (21 cohorts and the total each):
    they add nothing to the day cells (protect.hours_add_nothing), so the week's model is the
    one without them and protect withholds the same cell. With Monday's 35-44/M of 10:00
    published (20) the hours stay in the model: 2 x 22 cells less the published one."""
    days, week = _frames({(DAYS[0], ("35-44", "M")): 20}, {(None, None): 46, ("25-34", "F"): 25})
    without = set(week_model(days, week, K).variables)
    with_hours = pd.concat([days, _monday_hours({})], ignore_index=True)
    assert set(week_model(with_hours, week, K).variables) == without
    withheld = protect(with_hours, week, K)
    assert [(r[KIND], r[C.AGE_BAND], r[C.GENDER]) for r in withheld.to_dict("records")] == [(WEEKLY, "25-34", "F")]
    published = pd.concat([days, _monday_hours({(10, ("35-44", "M")): 20})], ignore_index=True)
    assert len(set(week_model(published, week, K).variables) - without) == 2 * 22 - 1
