"""The attacker's relations of footfall.zone_daypart (tests/attacker.py builds the LP), written
from the table's own columns (day_part, part_start, part_hours), not from footfall's code: an hour
belongs to a day part when part_start <= hour_start < part_start + part_hours hours.

A day part cell is named ("daypart", part, part_start, part_hours, age, gender); the other cells
as in tests/attacker.py: ("hourly", hour, age, gender), ("daily", age, gender), ("day_total",),
("margin", age, "all"), ("margin", "all", gender). Each relation is a dict cell -> coefficient,
sum(coefficient x cell) <= 0.
"""

from __future__ import annotations

import pandas as pd

ALL = "all"  # zone_daily_margins: the cohort key a margin adds up over


def _instant(value: object) -> pd.Timestamp:
    """An hour_start or part_start as a naive UTC timestamp (hand-made tables give strings)."""
    t = pd.Timestamp(value)
    return t if t.tzinfo is None else t.tz_convert("UTC").tz_localize(None)


def daypart_relations(cells: dict[tuple, float | None]) -> list[dict[tuple, float]]:
    """The relations of zone_daypart (all inequalities), from its own columns: per cohort a day
    part's visitors are the union of its hours' and the day's visitors the union of its parts'.
    Only cells given are related: a part is bounded by the sum of its cohort's hours in it, the
    daily cell by the sum of its cohort's parts, when some are given (an hour or part of a cohort
    with no row had nobody, as for zone_daily against the hours)."""
    parts = [name for name in cells if name[0] == "daypart"]
    inequalities: list[dict[tuple, float]] = []
    hours: dict[tuple, list[tuple[pd.Timestamp, tuple]]] = {}
    for name in cells if parts else ():
        if name[0] == "hourly":
            hours.setdefault(name[2:], []).append((_instant(name[1]), name))
    by_cohort: dict[tuple, list[tuple]] = {}
    for part in parts:
        by_cohort.setdefault(part[4:], []).append(part)
        start = _instant(part[2])
        inside = [name for at, name in hours.get(part[4:], ())
                  if start <= at < start + pd.Timedelta(hours=int(part[3]))]
        inequalities += [{name: 1.0, part: -1.0} for name in inside]  # an hour's visitors are the part's
        if inside:  # and each of the part's is a visitor of one of its hours
            inequalities.append({**dict.fromkeys(inside, -1.0), part: 1.0})
    for cohort, mine in by_cohort.items():
        day = ("daily", *cohort)
        if day in cells:  # a part's visitors are the day's, each of the day's is in one of the parts
            inequalities += [{part: 1.0, day: -1.0} for part in mine]
            inequalities.append({**dict.fromkeys(mine, -1.0), day: 1.0})
    if not any(name[0] == "daily" for name in cells):  # else these follow from the daily cells
        inequalities += _day_from_parts(cells, parts)
    return inequalities


def _day_from_parts(cells: dict[tuple, float | None], parts: list[tuple]) -> list[dict[tuple, float]]:
    """The day total and the margins against the day parts, without zone_daily cells: a group's
    (everyone's, an age band's, a gender's) visitors in one part, summed over its cohorts (a
    subscriber has one), are at most its visitors of the day; these at most the sum over all its
    parts. A zone's day parts are all there (5 x 21 rows): a cohort or part with no row had nobody."""
    inequalities: list[dict[tuple, float]] = []
    for target in [name for name in cells if name == ("day_total",) or name[0] == "margin"]:
        # a margin's age band (gender) is at position 1 (2), a part's at 4 (5); the day total: any
        mine = [p for p in parts if all(key in (ALL, p[4 + i]) for i, key in enumerate(target[1:]))]
        by_part: dict[tuple, list[tuple]] = {}
        for part in mine:
            by_part.setdefault(part[1:4], []).append(part)
        inequalities += [{**dict.fromkeys(names, 1.0), target: -1.0} for names in by_part.values()]
        if mine:
            inequalities.append({**dict.fromkeys(mine, -1.0), target: 1.0})
    return inequalities
