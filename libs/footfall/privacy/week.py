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

The hour cells of the days are in the LP only where they can matter: the week's relations touch
day cells, so a day's hour cells whose every point extends from its day cells are left out
(_day_cells: about 70 cells a day instead of 680), and the hourly and day-part cells of a day that
publishes hour totals are checked apart once the smaller model is clean (_hour_leaks).

A week cell the days pin by themselves (every day's cell of its cohort published or pinned to
0: Monday 20 women 65+, no one else of them all week) is never withheld for another cell: it
would leak whatever else is withheld, and published it tells nothing the days do not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from footfall.privacy.audit import Leak, Seen, Witnesses, ZoneModel
from footfall.privacy.protect import HOUR_KINDS, hours_add_nothing, hours_extend, release_unneeded
from footfall.privacy.relations import (
    CATCHMENT,
    DAILY,
    DAILY_TOTAL,
    DAYPART,
    HOURLY,
    KIND,
    MARGIN,
    cell_name,
    day_relations,
    kind_of,
)
from footfall.schemas import MARGIN_ALL, STATUS_PUBLISHED, C

WEEKLY, WEEK_TOTAL, WEEK_MARGIN, WEEK_CATCHMENT = "weekly", "week_total", "week_margin", "week_catchment"
# A week cell's kind -> the kind of the day cells it bounds (named alike after the kind).
_DAY_KIND = {WEEKLY: DAILY, WEEK_TOTAL: DAILY_TOTAL, WEEK_MARGIN: MARGIN, WEEK_CATCHMENT: CATCHMENT}
_FINER_HOUR_KINDS = (HOURLY, DAYPART)
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


@dataclass
class _Day:
    """One day of a zone, prepared once per zone: protect builds the week's model in every round
    and every release, and the days' part of it never changes (named values and relations were
    about a third of a slow store front's week, 10 of 35 CPU-s)."""

    day: object
    cells: pd.DataFrame  # all its cells
    kept: pd.DataFrame  # those week_model keeps of them (_day_cells)
    check: bool  # whether hour cells were left out that are still to be checked (_hour_leaks)
    _parts: dict[bool, tuple[dict[str, float | None], Relations]] = field(default_factory=dict)

    def parts(self, whole: bool) -> tuple[dict[str, float | None], Relations]:
        """Its cells (all, or the kept ones) named as in the week's model, with their published
        values (None where withheld), and the day's relations among them."""
        if whole not in self._parts:
            cells = self.cells if whole else self.kept
            names = [_dated(cell_name(*row), self.day) for row in cells[[KIND, C.HOUR_START, C.AGE_BAND, C.GENDER]]
                     .itertuples(index=False)]
            equalities, inequalities = day_relations(cells, cross_table=True)
            self._parts[whole] = (dict(zip(names, _values(cells), strict=True)),
                                  ([{_dated(n, self.day): c for n, c in r.items()} for r in equalities],
                                   [{_dated(n, self.day): c for n, c in r.items()} for r in inequalities]))
        return self._parts[whole]


_Days = dict[object, _Day]


def _prepare(days: pd.DataFrame, k: int) -> _Days:
    return {day: _Day(day, cells, *_day_cells(cells, k)) for day, cells in days.groupby(C.EVENT_DATE)}


def week_model(days: pd.DataFrame, week: pd.DataFrame, k: int) -> ZoneModel:
    """One zone's model: `days`, its published cells of the week's seven days (audit.LONG_COLUMNS
    and event_date), and `week`, its week cells (kinds WEEKLY ... WEEK_CATCHMENT; the home district
    in age_band, as in the days' catchment). A day enters without the hour cells that add nothing to
    its day cells (_day_cells): the LP of a zone's week with every hour, ~4,800 cells, did not finish
    on the demo's store fronts."""
    return _model(_prepare(days, k), week)


def _model(days: _Days, week: pd.DataFrame, full_day: object = None, seen: Seen | None = None) -> ZoneModel:
    """week_model of prepared days, with `full_day` whole (_hour_leaks); `seen`: ZoneModel.seen."""
    values: dict[str, float | None] = {}
    equalities: list[dict[str, float]] = []
    inequalities: list[dict[str, float]] = []
    for day, prepared in days.items():
        day_values, (day_equalities, day_inequalities) = prepared.parts(whole=day == full_day)
        values |= day_values
        equalities += day_equalities
        inequalities += day_inequalities
    week_names = [_week_name(kind, a, g) for kind, a, g in week[[KIND, C.AGE_BAND, C.GENDER]].itertuples(index=False)]
    values |= dict(zip(week_names, _values(week), strict=True))
    relations = _week_relations(week_names, list(days), values)  # (groupby: in date order)
    zone_id = next((str(prepared.cells[C.ZONE_ID].iloc[0]) for prepared in days.values()), None)
    zone_id = zone_id or (str(week[C.ZONE_ID].iloc[0]) if len(week) else "")
    return ZoneModel.of(zone_id, values, (equalities + relations[0], inequalities + relations[1]), seen)


def _day_cells(cells: pd.DataFrame, k: int) -> tuple[pd.DataFrame, bool]:
    """A day's cells as the week's model needs them, and whether hour cells were left out that
    are still to be checked (_hour_leaks). The week's relations touch day cells only, so hour
    cells whose LP every point of the day cells' extends to can be left out of the week's LP:
    - all of them (hour totals too) where they add nothing (protect.hours_add_nothing: the day
      publishes no hour or day part), and are then safe exactly when their day cells are;
    - the hourly and day-part cells where the day publishes hour totals and nothing finer
      (protect.hours_extend): the model stays exact for every other cell, and theirs are
      checked once a week model is clean, each day beside the others' reduced cells.
    About 70 cells a day instead of 680 on the demo's store fronts."""
    if hours_add_nothing(cells, k):
        return cells[~cells[KIND].isin(HOUR_KINDS)], False
    if hours_extend(cells):
        return cells[~cells[KIND].isin(_FINER_HOUR_KINDS)], True
    return cells, False


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
    prepared = _prepare(days, k)
    return _audit(prepared, week, k, _alone(prepared, week, k))[0]


def _alone(days: _Days, week: pd.DataFrame, k: int) -> Callable[[], set[str]]:
    """The day cells the days alone narrow below k (the hour cells left out of the week's model
    too, each day whole), solved once when first asked (protect asks in every round; most zones
    never ask)."""
    def solve() -> set[str]:
        found = {leak.cell for leak in _model(days, week.iloc[[]]).leaks(k)}
        for day, prepared in days.items():
            if prepared.check:
                found |= {leak.cell for leak in _model({day: prepared}, week.iloc[[]], day).leaks(
                    k, _hour_cells(prepared.cells, day))}
        return found
    return functools.cache(solve)


def _hour_cells(cells: pd.DataFrame, day: object) -> list[str]:
    """The withheld hourly and day-part cells of a day, named as in the week's model."""
    cells = cells[cells[KIND].isin(_FINER_HOUR_KINDS) & (cells[C.STATUS] != STATUS_PUBLISHED)]
    return [_dated(cell_name(*row), day) for row in cells[[KIND, C.HOUR_START, C.AGE_BAND, C.GENDER]]
            .itertuples(index=False)]


def _audit(days: _Days, week: pd.DataFrame, k: int, alone: Callable[[], set[str]], hours: bool = True,
           seen: Seen | None = None) -> tuple[list[Leak], ZoneModel]:
    """week_leaks (without the hour cells left out, unless `hours`), and the model it solved
    (protect picks partners from it); `seen`: ZoneModel.seen of a model that withholds less."""
    model = _model(days, week, seen=seen)
    withheld = [name for name in model.variables if _is_week(name)]
    if len(withheld) == len(week):  # the days' cells are as the days alone leave them (module doc)
        return model.leaks(k, withheld), model
    found = model.leaks(k)
    if any(not _is_week(leak.cell) for leak in found):
        found = [leak for leak in found if _is_week(leak.cell) or leak.cell not in alone()]
    return (found, model) if found or not hours else _hour_leaks(days, week, k, alone, model)


def _hour_leaks(days: _Days, week: pd.DataFrame, k: int, alone: Callable[[], set[str]],
                model: ZoneModel) -> tuple[list[Leak], ZoneModel]:
    """The hourly and day-part cells week_model left out (protect.hours_extend), checked where the
    week's model is clean: each such day whole beside the other days' reduced cells, a model exact
    for its hour cells (every point of it extends to the other days' hours). The first day with a
    leak that the days alone do not have, with its model; else none, with `model`."""
    for day, prepared in days.items():
        if prepared.check:
            full = _model(days, week, day)
            found = [leak for leak in full.leaks(k, _hour_cells(prepared.cells, day)) if leak.cell not in alone()]
            if found:
                return found, full
    return [], model


def protect(days: pd.DataFrame, week: pd.DataFrame, k: int) -> pd.DataFrame:
    """The published week cells (rows of `week`) to withhold so that `week_leaks` finds nothing:
    greedy, each round the cheapest published week cell related to each leak
    (ZoneModel.cheapest_partner), never one the days pin by themselves (withheld, it would leak
    whatever else is withheld; published, it tells nothing the days do not). It ends: with every
    other week cell withheld, only the pinned ones are known, and the days knew them.

    The rounds and the release of cells withheld for nothing audit the week's model without the
    hour cells it leaves out; those are checked once that is clean (_hour_leaks, a model per day),
    and a cell withheld for one of them is never released again, so this ends too."""
    prepared = _prepare(days, k)
    status = week[C.STATUS].to_numpy(copy=True)
    names = [_week_name(kind, a, g) for kind, a, g in week[[KIND, C.AGE_BAND, C.GENDER]].itertuples(index=False)]
    row_of = {name: i for i, name in enumerate(names)}
    pinned = {leak.cell for leak in _model(prepared, week.assign(**{C.STATUS: "suppressed"})).leaks(k, names)}
    chosen: set[int] = set()
    for_hours: set[int] = set()
    alone = _alone(prepared, week, k)
    witnesses = Witnesses()

    def audit(now: np.ndarray) -> tuple[list[Leak], ZoneModel]:
        found, model = _audit(prepared, week.assign(**{C.STATUS: now}), k, alone, hours=False,
                              seen=witnesses.seen(now))
        witnesses.add(now, model)
        return found, model

    while True:
        leaks, model = audit(status)
        hours = not leaks
        if hours:
            # Rounds withhold the cheapest partner of every leak at once, often more than the last
            # round needed (four cells of 30 where the week's total alone would do).
            chosen -= release_unneeded(week, status, chosen - for_hours,
                                       lambda now: bool(audit(now[C.STATUS].to_numpy())[0]))
            leaks, model = _hour_leaks(prepared, week.assign(**{C.STATUS: status}), k, alone, model)
            if not leaks:
                return week.iloc[sorted(chosen)]
        for leak in leaks:
            row = row_of[model.cheapest_partner(leak.cell, allowed=lambda n: _is_week(n) and n not in pinned)]
            status[row] = "suppressed"
            chosen.add(row)
            if hours:
                for_hours.add(row)
