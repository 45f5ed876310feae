"""The attacker's relation of footfall.zone_catchment (tests/attacker.py builds the LP), written
from the table's meaning (docs/definitions.md, "Catchment"), not from footfall's code: a cell
counts the distinct subscribers living in one home district (a district of the postcode list,
or `unknown`) with a visit to the zone that day. Every subscriber has exactly one home district,
so a zone's catchment cells partition its visitors of the day: they add up to zone_daily_total,
and so to the sum of its cohorts' zone_daily cells (the cohorts partition the same visitors).

A catchment cell is named ("catchment", home_district); the other cells as in tests/attacker.py:
("daily", age, gender), ("day_total",). The relation is a dict cell -> coefficient,
sum(coefficient x cell) == 0 (an equality: tests/attacker.py keeps them apart from the
inequalities). That each cell is at most the day's total follows from it and non-negativity.
"""

from __future__ import annotations


def catchment_relations(cells: dict[tuple, float | None]) -> list[dict[tuple, float]]:
    """The equality of zone_catchment: a zone's home districts add up to the day's total; without
    a day total, to the sum of its cohorts' zone_daily cells; with neither, nothing (the catchment
    cells relate only to each other, and their sum is unknown). A zone's rows are all there (one
    per home district of the day, as a cohort's zone_daily row): a district with no row had nobody."""
    homes = [name for name in cells if name[0] == "catchment"]
    # the day's visitors: its total, else its cohorts' daily cells (each subscriber is in one)
    day = [("day_total",)] if ("day_total",) in cells else [name for name in cells if name[0] == "daily"]
    if not homes or not day:
        return []
    return [{**dict.fromkeys(homes, 1.0), **dict.fromkeys(day, -1.0)}]
