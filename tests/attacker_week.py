"""The attacker's relations of a published ISO week (issue 16's week release) with its seven
days, written from the tables' meaning (docs/definitions.md, Cohort and the week release), not
from footfall's code.

A week's cells count distinct subscribers with a visit to the zone on any day of the ISO week,
Monday to Sunday: ("weekly", age, gender) per cohort, ("week_total",), ("week_margin", age,
"all") and ("week_margin", "all", gender), ("week_catchment", home_district). A subscriber has
one pseudonym, one cohort and one home district for the whole week (key epochs of whole ISO
weeks; cohorts fixed per week), so:

- the week's cohorts partition its visitors: the cohort cells add up to the week's total, an age
  band's (gender's) margin is the sum of its cohort cells, each margin side adds up to the total,
  and the home districts add up to the total;
- a week's cell counts everyone its day's cell counts on any day, and nobody else: it is at least
  each day's cell of the same cohort (margin, home district, or the total) and at most their sum
  over the seven days, where all seven days have that cell.

The days' cells are those of tests/attacker.py, each name prefixed with its day (an ISO date
string), and each day keeps its own relations (tests/attacker.py `_relations`).
"""

from __future__ import annotations

from attacker import Leak, _relations, zone_leaks

Relations = tuple[list[dict[tuple, float]], list[dict[tuple, float]]]
# A week cell's kind -> the day cell's kind it bounds
_DAY_KIND = {"weekly": "daily", "week_total": "day_total", "week_margin": "margin", "week_catchment": "catchment"}
ALL = "all"


def _dated(day: str, relations: Relations) -> Relations:
    equalities, inequalities = relations
    return ([{(day, *n): c for n, c in r.items()} for r in equalities],
            [{(day, *n): c for n, c in r.items()} for r in inequalities])


def week_relations(days: dict[str, dict[tuple, float | None]], week: dict[tuple, float | None]) -> Relations:
    """(equalities, inequalities) over the days' cells (named (day, *name)) and the week's."""
    equalities: list[dict[tuple, float]] = []
    inequalities: list[dict[tuple, float]] = []
    for day, cells in days.items():
        more = _dated(day, _relations(cells))
        equalities += more[0]
        inequalities += more[1]
    for name in week:
        same = [(day, _DAY_KIND[name[0]], *name[1:]) for day, cells in days.items()
                if (_DAY_KIND[name[0]], *name[1:]) in cells]
        inequalities += [{cell: 1.0, name: -1.0} for cell in same]  # each day's cell <= the week's
        if len(same) == 7:
            inequalities.append({**dict.fromkeys(same, -1.0), name: 1.0})  # the week's <= their sum
    total = ("week_total",)
    cohorts = [name for name in week if name[0] == "weekly"]
    margins = [name for name in week if name[0] == "week_margin"]
    homes = [name for name in week if name[0] == "week_catchment"]
    by_age, by_gender = [m for m in margins if m[2] == ALL], [m for m in margins if m[1] == ALL]
    # Each partition of the week's visitors adds up to its total; without a total, to the cohorts'.
    whole = {total: -1.0} if total in week else dict.fromkeys(cohorts, -1.0)
    for parts in [cohorts, homes, by_age, by_gender] if total in week else [homes, by_age, by_gender]:
        if parts and whole:
            equalities.append({**dict.fromkeys(parts, 1.0), **whole})
    for margin in margins:
        at = 1 if margin[2] == ALL else 2
        members = [c for c in cohorts if c[at] == margin[at]]
        if members:
            equalities.append({**dict.fromkeys(members, 1.0), margin: -1.0})
    return equalities, inequalities


def week_leaks(zone_id: str, days: dict[str, dict[tuple, float | None]], week: dict[tuple, float | None],
               k: int) -> list[Leak]:
    """The leaks of one zone's week: every withheld cell of the seven days and of the week that
    the LP over all of them narrows below k (tests/attacker.py `zone_leaks`)."""
    cells = {(day, *name): value for day, named in days.items() for name, value in named.items()} | dict(week)
    return zone_leaks(zone_id, cells, k, relations=week_relations(days, week))
