"""Disclosure control of a week's release against the seven published days it bounds (issue 16).

A week's cells count the distinct subscribers with a visit to the zone on any day of the ISO
week: per cohort (WEEKLY), in all (WEEK_TOTAL), by age band and by gender (WEEK_MARGIN) and by
home district (WEEK_CATCHMENT). A subscriber has one pseudonym, cohort and home district all
week (footfall.privacy.pseudonym, footfall.pipeline.visits.week_cohorts), so the attacker of
footfall.privacy.audit, seeing the week beside its days, also knows:

- the week's cohorts, its home districts and each side of its margins add up to its total; an
  age band's (gender's) margin is the sum of its cohort cells;
- a week's cell is at least each day's cell of the same cohort (margin, home district, total)
  and at most their sum over the seven days.

The days are published already and stay as they are: only week cells are withheld (`protect`),
until the LP over the days' cells and the week's, each day with its own relations, narrows no
withheld cell below k that the days alone did not. With every week cell withheld nothing is
learnt about a day: any point of the days extends to the week (each week cell the sum of its
days' cells satisfies every relation above), so only the week's own cells need an LP then.

A week cell the days pin by themselves (every day's cell of its cohort published or pinned to
0: Monday 20 women 65+, no one else of them all week) is never withheld for another cell: it
would leak whatever else is withheld, and published it tells nothing the days do not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd

from footfall.privacy.audit import (
    CATCHMENT,
    DAILY,
    DAILY_TOTAL,
    KIND,
    MARGIN,
    Leak,
    ZoneModel,
    _relations,
    cell_name,
    kind_of,
)
from footfall.privacy.protect import HOUR_KINDS, hours_add_nothing, release_unneeded
from footfall.schemas import MARGIN_ALL, STATUS_PUBLISHED, C

WEEKLY, WEEK_TOTAL, WEEK_MARGIN, WEEK_CATCHMENT = "weekly", "week_total", "week_margin", "week_catchment"
# A week cell's kind -> the kind of the day cells it bounds (named alike after the kind).
_DAY_KIND = {WEEKLY: DAILY, WEEK_TOTAL: DAILY_TOTAL, WEEK_MARGIN: MARGIN, WEEK_CATCHMENT: CATCHMENT}
Relations = tuple[list[dict[str, float]], list[dict[str, float]]]


def _dated(name: str, day: object) -> str:
    """A day cell's name in the week's model: its kind followed by @day (audit.kind_of strips it)."""
    kind, _, rest = name.partition(" ")
    return f"{kind}@{pd.Timestamp(day).date().isoformat()} {rest}".rstrip()


def _week_name(kind: str, age_band: object, gender: object) -> str:
    """A week cell named as its day kind's cells, with the week's kind: weekly 25-34/F, week_total."""
    day_name = cell_name(_DAY_KIND[kind], None, age_band, gender)
    return day_name.replace(_DAY_KIND[kind], kind, 1)


def _values(cells: pd.DataFrame) -> list[float | None]:
    return [float(v) if s == STATUS_PUBLISHED else None for v, s in zip(cells[C.VISITORS], cells[C.STATUS],
                                                                         strict=True)]


def week_model(days: pd.DataFrame, week: pd.DataFrame, k: int) -> ZoneModel:
    """One zone's model: `days`, its published cells of the week's seven days (audit.LONG_COLUMNS
    and event_date), and `week`, its week cells (kinds WEEKLY ... WEEK_CATCHMENT; the home district
    in age_band, as in the days' catchment).

    A day whose hour cells add nothing to its day cells (protect.hours_add_nothing: it publishes
    no hour or day part, as most store-front days) enters without them: the week's relations
    involve day cells only, so every point of the smaller model extends to them, and a withheld
    hour cell is narrowed below k exactly when its daily cell is. About 50 cells a day instead
    of 680: the LP of a zone's week over ~4,800 cells did not finish on the demo's store fronts."""
    values: dict[str, float | None] = {}
    equalities: list[dict[str, float]] = []
    inequalities: list[dict[str, float]] = []
    for day, cells in days.groupby(C.EVENT_DATE):
        if hours_add_nothing(cells, k):
            cells = cells[~cells[KIND].isin(HOUR_KINDS)]
        names = [_dated(cell_name(*row), day) for row in cells[[KIND, C.HOUR_START, C.AGE_BAND, C.GENDER]]
                 .itertuples(index=False)]
        values |= dict(zip(names, _values(cells), strict=True))
        day_equalities, day_inequalities = _relations(cells, cross_table=True)
        equalities += [{_dated(n, day): c for n, c in r.items()} for r in day_equalities]
        inequalities += [{_dated(n, day): c for n, c in r.items()} for r in day_inequalities]
    week_names = [_week_name(kind, a, g) for kind, a, g in week[[KIND, C.AGE_BAND, C.GENDER]].itertuples(index=False)]
    values |= dict(zip(week_names, _values(week), strict=True))
    relations = _week_relations(week_names, sorted(days[C.EVENT_DATE].unique()), values)
    zone_id = str(days[C.ZONE_ID].iloc[0]) if len(days) else str(week[C.ZONE_ID].iloc[0]) if len(week) else ""
    return ZoneModel.of(zone_id, values, (equalities + relations[0], inequalities + relations[1]))


def _week_relations(week_names: list[str], days: list[object], values: dict[str, float | None]) -> Relations:
    """The relations of the week's cells among themselves and with their days' cells (module doc)."""
    equalities: list[dict[str, float]] = []
    inequalities: list[dict[str, float]] = []
    for name in week_names:
        kind, _, rest = name.partition(" ")
        same = [n for n in (_dated(f"{_DAY_KIND[kind]} {rest}".rstrip(), day) for day in days) if n in values]
        inequalities += [{n: 1.0, name: -1.0} for n in same]  # each day's cell <= the week's
        if len(same) == 7:
            inequalities.append({**dict.fromkeys(same, -1.0), name: 1.0})  # the week's <= the days' sum
    of_kind = {kind: [n for n in week_names if kind_of(n) == kind] for kind in _DAY_KIND}
    cohorts, margins = of_kind[WEEKLY], of_kind[WEEK_MARGIN]
    by_age = [m for m in margins if m.endswith(f"/{MARGIN_ALL}")]
    by_gender = [m for m in margins if m.startswith(f"{WEEK_MARGIN} {MARGIN_ALL}/")]
    total = _week_name(WEEK_TOTAL, None, None)
    # Each partition of the week's visitors adds up to its total; without a total, to the cohorts'.
    if total in values:
        whole, partitions = {total: -1.0}, [cohorts, of_kind[WEEK_CATCHMENT], by_age, by_gender]
    else:
        whole, partitions = dict.fromkeys(cohorts, -1.0), [of_kind[WEEK_CATCHMENT], by_age, by_gender]
    for parts in partitions:
        if parts and whole:
            equalities.append({**dict.fromkeys(parts, 1.0), **whole})
    for margin in margins:
        age_band, gender = margin.split(" ", 1)[1].split("/")
        members = [c for c in cohorts if c.split(" ", 1)[1].split("/")[0 if gender == MARGIN_ALL else 1]
                   == (age_band if gender == MARGIN_ALL else gender)]
        if members:
            equalities.append({**dict.fromkeys(members, 1.0), margin: -1.0})
    return equalities, inequalities


def _is_week(name: str) -> bool:
    return kind_of(name) in _DAY_KIND and "@" not in name.split(" ", 1)[0]


def week_leaks(days: pd.DataFrame, week: pd.DataFrame, k: int) -> list[Leak]:
    """The withheld cells that the LP over the days and the week narrows below k: every such week
    cell, and every such day cell that the days alone do not narrow (a day's own leak is not the
    week's doing, and no week cell can mend it)."""
    return _audit(days, week, k, _alone(days, week, k))[0]


def _alone(days: pd.DataFrame, week: pd.DataFrame, k: int) -> Callable[[], set[str]]:
    """The day cells the days alone narrow below k, solved once when first asked (protect asks in
    every round; most zones never ask)."""
    return functools.cache(lambda: {leak.cell for leak in week_model(days, week.iloc[[]], k).leaks(k)})


def _audit(days: pd.DataFrame, week: pd.DataFrame, k: int, alone: Callable[[], set[str]]
           ) -> tuple[list[Leak], ZoneModel]:
    """week_leaks, and the model it solved (protect picks partners from it)."""
    model = week_model(days, week, k)
    withheld = [name for name in model.variables if _is_week(name)]
    if len(withheld) == len(week):  # the days' cells are as the days alone leave them (module doc)
        return model.leaks(k, withheld), model
    found = model.leaks(k)
    if all(_is_week(leak.cell) for leak in found):
        return found, model
    return [leak for leak in found if _is_week(leak.cell) or leak.cell not in alone()], model


def protect(days: pd.DataFrame, week: pd.DataFrame, k: int) -> pd.DataFrame:
    """The published week cells (rows of `week`) to withhold so that `week_leaks` finds nothing:
    greedy, each round the cheapest published week cell related to each leak
    (ZoneModel.cheapest_partner), never one the days pin by themselves (withheld, it would leak
    whatever else is withheld; published, it tells nothing the days do not). It ends: with every
    other week cell withheld, only the pinned ones are known, and the days knew them."""
    status = week[C.STATUS].to_numpy(copy=True)
    names = [_week_name(kind, a, g) for kind, a, g in week[[KIND, C.AGE_BAND, C.GENDER]].itertuples(index=False)]
    row_of = {name: i for i, name in enumerate(names)}
    hidden = week.assign(**{C.STATUS: "suppressed"})
    pinned = {leak.cell for leak in week_model(days, hidden, k).leaks(k, names)}
    chosen: set[int] = set()
    alone = _alone(days, week, k)
    while True:
        leaks, model = _audit(days, week.assign(**{C.STATUS: status}), k, alone)
        if not leaks:
            # Rounds withhold the cheapest partner of every leak at once, often more than the last
            # round needed (four cells of 30 where the week's total alone would do).
            chosen -= release_unneeded(week, status, chosen, lambda now: bool(_audit(days, now, k, alone)[0]))
            return week.iloc[sorted(chosen)]
        for leak in leaks:
            row = row_of[model.cheapest_partner(leak.cell, allowed=lambda n: _is_week(n) and n not in pinned)]
            status[row] = "suppressed"
            chosen.add(row)

