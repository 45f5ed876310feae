"""The disclosure auditor: a linear-programming attacker on the published tables (footfall.privacy.protect defeats it).

For each zone the attacker sees every published number of one day (footfall.zone_hourly, zone_hourly_total and, in the
cross-table view, zone_daily, zone_daily_total, zone_daily_margins, zone_daypart and zone_catchment; a week's with its
days' in footfall.privacy.week) and knows how they relate:

- per hour, the cohort cells add up to the total (each subscriber has exactly one cohort);
- a cohort's daily visitors are at least its visitors in any hour, and at most their sum;
- a cohort's visitors in a day part are at least its visitors in any hour of the part and at most their sum; its daily
  visitors at least those of any day part and at most their sum;
- the day's total is the sum of the cohorts' daily cells, at least the total of any hour and at most the sum of the
  hours' totals;
- an age band's daily visitors are the sum of its cohorts' daily cells (over the genders), a gender's the sum over the
  age bands, and each margin adds up to the day's total;
- the home districts' visitors (the catchment) add up to the day's total;
- every count is non-negative.

For every suppressed cell it then solves two LPs (minimise and maximise the cell under those constraints). A cell
whose feasible interval is narrower than k is a leak, except [0, 0]: it pins the cell to "nobody", which discloses
no person. The LP interval contains the integer one. HiGHS through highspy rather than scipy's linprog: one model
per zone, re-solved with a new objective per cell from the previous basis (under a second instead of tens for
~1,000 LPs of 500 cells).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from footfall.schemas import MARGIN_ALL, STATUS_PUBLISHED, C

HOURLY, TOTAL, DAILY, DAILY_TOTAL, MARGIN, DAYPART = "hourly", "total", "daily", "daily_total", "margin", "daypart"
CATCHMENT = "catchment"
KIND = "kind"
LONG_COLUMNS = [C.ZONE_ID, KIND, C.HOUR_START, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]
EPS = 1e-6
_CAP = 1e9
DAY_KINDS = (DAILY, DAILY_TOTAL, MARGIN, DAYPART, CATCHMENT)  # the cross-table view's: more than one hour
# Cells of one cohort (hourly, day part, daily and margin cells end in "<age band>/<gender>").
COHORT_KINDS = (HOURLY, DAYPART, DAILY, MARGIN)


@dataclass(frozen=True)
class Leak:
    zone_id: str
    cell: str  # e.g. "hourly 2026-03-14 09:00:00 25-34/F"; a day part is named by its start
    low: float
    high: float


def cell_name(kind: str, hour: object, age_band: object, gender: object) -> str:
    parts = [kind]
    if kind in (HOURLY, TOTAL, DAYPART):
        parts.append(str(hour))
    if kind in COHORT_KINDS:
        parts.append(f"{age_band}/{gender}")
    if kind == CATCHMENT:  # its home district, in the long format's age_band slot
        parts.append(str(age_band))
    return " ".join(parts)


def _relations(cells: pd.DataFrame, cross_table: bool) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """The attacker's knowledge as (equalities, inequalities): each sum(coef * cell) == 0 or <= 0 over named cells."""
    hourly = cells[cells[KIND] == HOURLY]
    total_names = {h: cell_name(TOTAL, h, None, None) for h in cells.loc[cells[KIND] == TOTAL, C.HOUR_START]}
    daily_cohorts = [(a, g) for a, g in cells.loc[cells[KIND] == DAILY, [C.AGE_BAND, C.GENDER]].itertuples(
        index=False)] if cross_table else []
    daily_names = {cell_name(DAILY, None, a, g) for a, g in daily_cohorts}
    equalities: list[dict[str, float]] = []
    inequalities: list[dict[str, float]] = []
    for hour, group in hourly.groupby(C.HOUR_START):
        if hour in total_names:
            relation = {cell_name(HOURLY, hour, a, g): 1.0 for a, g in zip(group[C.AGE_BAND], group[C.GENDER],
                                                                            strict=True)}
            relation[total_names[hour]] = -1.0
            equalities.append(relation)
    for (age_band, gender), group in hourly.groupby([C.AGE_BAND, C.GENDER]):
        day_name = cell_name(DAILY, None, age_band, gender)
        if day_name not in daily_names:
            continue
        hour_names = [cell_name(HOURLY, h, age_band, gender) for h in group[C.HOUR_START]]
        inequalities += [{h: 1.0, day_name: -1.0} for h in hour_names]  # hourly <= daily
        upper = {h: -1.0 for h in hour_names}
        upper[day_name] = 1.0
        inequalities.append(upper)  # daily <= sum of hourly
    if cross_table:
        _daypart_relations(cells, daily_names, inequalities)
        if (cells[KIND] == DAILY_TOTAL).any():
            _day_total_relations(daily_names, list(total_names.values()), equalities, inequalities)
        equalities += _catchment_relations(cells, daily_names)
        margins = cells.loc[cells[KIND] == MARGIN, [C.AGE_BAND, C.GENDER]].itertuples(index=False)
        equalities += _margin_relations(daily_cohorts, [(a, g) for a, g in margins],
                                        bool((cells[KIND] == DAILY_TOTAL).any()))
    return equalities, inequalities


def _daypart_relations(cells: pd.DataFrame, daily_names: set[str], inequalities: list[dict[str, float]]) -> None:
    """zone_daypart against the hours and the day, per cohort: hourly <= day part <= sum of its hours, day part <=
    daily <= sum of the day parts. A day part is its cells' hour_start (its first hour); an hour belongs to the part
    that starts last at or before it (the parts cover the day in order)."""
    parts = cells[cells[KIND] == DAYPART]
    if parts.empty:
        return
    starts = np.sort(parts[C.HOUR_START].unique())
    hourly = cells[cells[KIND] == HOURLY]
    index = np.searchsorted(starts, hourly[C.HOUR_START].to_numpy(starts.dtype), side="right") - 1
    hours_of: dict[tuple[object, str, str], list[str]] = {}
    for i, hour, a, g in zip(index, hourly[C.HOUR_START], hourly[C.AGE_BAND], hourly[C.GENDER], strict=True):
        if i >= 0:  # (an hour before the first part: none in a full day)
            hours_of.setdefault((pd.Timestamp(starts[i]), a, g), []).append(cell_name(HOURLY, hour, a, g))
    by_cohort: dict[tuple[str, str], list[str]] = {}
    for start, a, g in parts[[C.HOUR_START, C.AGE_BAND, C.GENDER]].itertuples(index=False):
        part = cell_name(DAYPART, start, a, g)
        by_cohort.setdefault((a, g), []).append(part)
        hours = hours_of.get((pd.Timestamp(start), a, g), [])
        inequalities += [{h: 1.0, part: -1.0} for h in hours]  # hourly <= day part
        if hours:
            inequalities.append({**dict.fromkeys(hours, -1.0), part: 1.0})  # day part <= sum of its hours
    for (a, g), names in by_cohort.items():
        day = cell_name(DAILY, None, a, g)
        if day in daily_names:
            inequalities += [{part: 1.0, day: -1.0} for part in names]  # day part <= daily
            inequalities.append({**dict.fromkeys(names, -1.0), day: 1.0})  # daily <= sum of day parts


def _catchment_relations(cells: pd.DataFrame, daily_names: set[str]) -> list[dict[str, float]]:
    """zone_catchment: every visitor has one home district, so the districts' visitors add up to
    the day's total (or, without it, to the cohorts' daily cells)."""
    homes = [cell_name(CATCHMENT, None, h, None) for h in cells.loc[cells[KIND] == CATCHMENT, C.AGE_BAND]]
    if not homes:
        return []
    whole = ({cell_name(DAILY_TOTAL, None, None, None): -1.0} if (cells[KIND] == DAILY_TOTAL).any()
             else dict.fromkeys(daily_names, -1.0))
    return [{**dict.fromkeys(homes, 1.0), **whole}] if whole else []


def _margin_relations(daily_cohorts: list[tuple[str, str]], margins: list[tuple[str, str]], day_total: bool
                      ) -> list[dict[str, float]]:
    """zone_daily_margins against the cohorts' daily cells and the day's total: each margin cell
    is the sum of its cohorts' daily cells, and each margin adds up to the day's total."""
    found: list[dict[str, float]] = []
    by_age = [(a, g) for a, g in margins if g == MARGIN_ALL]
    by_gender = [(a, g) for a, g in margins if a == MARGIN_ALL]
    for a, g in margins:
        relation = {cell_name(DAILY, None, da, dg): 1.0 for da, dg in daily_cohorts
                    if (g == MARGIN_ALL and da == a) or (a == MARGIN_ALL and dg == g)}
        if relation:
            found.append({**relation, cell_name(MARGIN, None, a, g): -1.0})
    for margin in (by_age, by_gender):
        if margin and day_total:
            found.append({**{cell_name(MARGIN, None, a, g): 1.0 for a, g in margin},
                          cell_name(DAILY_TOTAL, None, None, None): -1.0})
    return found


def _day_total_relations(daily_names: set[str], total_names: list[str], equalities: list[dict[str, float]],
                         inequalities: list[dict[str, float]]) -> None:
    """The day's total (zone_daily_total) against the cohorts' daily cells and the hours' totals."""
    day_total = cell_name(DAILY_TOTAL, None, None, None)
    if daily_names:
        equalities.append({**dict.fromkeys(daily_names, 1.0), day_total: -1.0})  # sum of cohorts = day's total
    inequalities += [{t: 1.0, day_total: -1.0} for t in total_names]  # an hour's total <= the day's
    if total_names:
        inequalities.append({**dict.fromkeys(total_names, -1.0), day_total: 1.0})  # day's <= sum of hours


class ZoneModel:
    """One zone's published cells as an LP whose variables are the suppressed cells."""

    def __init__(self, cells: pd.DataFrame, cross_table: bool = True):
        values = {cell_name(kind, hour, age_band, gender): float(visitors) if status == STATUS_PUBLISHED else None
                  for kind, hour, age_band, gender, visitors, status in cells[
                      [KIND, C.HOUR_START, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]].itertuples(index=False)
                  if cross_table or kind not in DAY_KINDS}
        self._setup(str(cells[C.ZONE_ID].iloc[0]) if len(cells) else "", values, _relations(cells, cross_table))

    @classmethod
    def of(cls, zone_id: str, values: dict[str, float | None],
           relations: tuple[list[dict[str, float]], list[dict[str, float]]]) -> ZoneModel:
        """A model of named cells (published value, or None where withheld) and (equalities,
        inequalities) over them: a week's cells with its days' (footfall.privacy.week)."""
        model = cls.__new__(cls)
        model._setup(zone_id, values, relations)
        return model

    def _setup(self, zone_id: str, values: dict[str, float | None],
               relations: tuple[list[dict[str, float]], list[dict[str, float]]]) -> None:
        self.zone_id = zone_id
        self.known = {name: value for name, value in values.items() if value is not None}
        self.variables = {name: j for j, name in enumerate(n for n, v in values.items() if v is None)}
        self._rows = [(r, True) for r in relations[0]] + [(r, False) for r in relations[1]]
        self._component = self._components()
        self._models: dict[int, tuple[highspy.Highs, dict[str, int]]] = {}
        self._seen_low: dict[int, np.ndarray] = {}  # per component and cell: the extremes seen in
        self._seen_high: dict[int, np.ndarray] = {}  # the feasible points found so far
        self._zero: set[str] = set()  # cells shown to be 0 at every point (_prove_together)
        self.solves = self.fallbacks = 0  # LPs solved, and re-solved by the dual simplex (bench/lp_audit.py)

    def _components(self) -> dict[str, int]:
        """Variables linked by relations, as component ids; a component whose relations involve no published number
        gets -1: scaling any solution up or down keeps it feasible, so each of its cells is [0, inf) or pinned to
        [0, 0], never a leak, and needs no LP."""
        if not self.variables:
            return {}
        # The suppressed cells are a graph's nodes; each relation links its cells (a star from its first cell
        # suffices for connectivity). scipy labels the graph's connected components.
        first, other, anchored = list[int](), list[int](), list[int]()
        for relation, _ in self._rows:
            index = [self.variables[n] for n in relation if n in self.variables]
            first += index[:1] * (len(index) - 1)
            other += index[1:]
            if index and any(self.known.get(n, 0.0) for n in relation):
                anchored.append(index[0])
        size = len(self.variables)
        links = coo_matrix((np.ones(len(first)), (first, other)), shape=(size, size))
        _, label = connected_components(links, directed=False)
        anchored_labels = set(label[anchored].tolist())
        return {name: int(label[j]) if label[j] in anchored_labels else -1 for name, j in self.variables.items()}

    def _model(self, component: int) -> tuple[highspy.Highs, dict[str, int]]:
        """The LP of one component (built once; re-solved per cell from the last basis)."""
        if component in self._models:
            return self._models[component]
        columns = {n: i for i, n in enumerate(n for n, c in self._component.items() if c == component)}
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")  # presolve would discard the basis each re-solve starts from
        # Each re-solve changes only the objective, so the last optimal basis stays primal feasible and primal simplex
        # goes on from it; HiGHS's default (dual) must first repair dual feasibility. Measured on the demo day's
        # localities: 30 -> 12 CPU-s (docs/benchmarks.md).
        h.setOptionValue("simplex_strategy", 4)
        # A finite cap instead of +inf keeps every LP bounded, so each maximisation yields a point
        # (a cell at the cap is as good as unbounded: nobody is narrowed to 10^9 people).
        h.addVars(len(columns), np.zeros(len(columns)), np.full(len(columns), _CAP))
        for relation, is_equality in self._rows:
            index = [columns[n] for n in relation if n in columns]
            if not index:
                continue
            coef = [c for n, c in relation.items() if n in columns]
            rhs = -sum(c * self.known[n] for n, c in relation.items() if n in self.known)
            h.addRow(rhs if is_equality else -highspy.kHighsInf, rhs, len(index),
                     np.array(index, dtype=np.int32), np.array(coef, dtype=np.float64))
        self._models[component] = (h, columns)
        self._seen_low[component] = np.full(len(columns), math.inf)
        self._seen_high[component] = np.full(len(columns), -math.inf)
        # Two first points: the fewest and the most people the component allows in all.
        everything = dict.fromkeys(range(len(columns)), 1.0)
        self._solve(component, everything, highspy.ObjSense.kMinimize)
        self._solve(component, everything, highspy.ObjSense.kMaximize)
        return h, columns

    def _solve(self, component: int, objective: dict[int, float], sense: highspy.ObjSense) -> float:
        """Optimise over one component; every optimal point found widens the seen ranges."""
        h, _ = self._model(component)
        h.changeColsCost(len(objective), np.fromiter(objective, np.int32), np.fromiter(objective.values(), float))
        h.changeObjectiveSense(sense)
        status = self._run(h)
        point = np.asarray(h.getSolution().col_value)
        for j in objective:  # (this resets HiGHS's objective value: it is taken from the point)
            h.changeColCost(j, 0.0)
        if status != highspy.HighsModelStatus.kOptimal:  # contradicting published numbers: a bug
            raise RuntimeError(f"LP in zone {self.zone_id}: {h.modelStatusToString(status)}")
        lo, hi = self._seen_low[component], self._seen_high[component]
        np.minimum(lo, point, out=lo)
        np.maximum(hi, point, out=hi)
        return float(sum(c * point[j] for j, c in objective.items()))

    def _run(self, h: highspy.Highs) -> highspy.HighsModelStatus:
        """Solve from the last basis with the primal simplex, again from scratch with the dual one where that ends
        without an optimum: the columns are capped, but the primal simplex has called bounded LPs unbounded (HiGHS
        issues 395, 397; at 1.16.0 a demo locality, test_audit.py)."""
        h.run()
        self.solves += 1
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            self.fallbacks += 1
            h.clearSolver()
            h.setOptionValue("simplex_strategy", 1)
            h.run()
            self.solves += 1
            status = h.getModelStatus()
            h.setOptionValue("simplex_strategy", 4)
        return status

    def interval(self, name: str, k: float = math.inf) -> tuple[float, float]:
        """The smallest and largest value the attacker's LP allows for suppressed cell `name`.

        With k given, stops early once two feasible points already seen are k apart in this cell (then the interval
        is at least that wide and the cell is safe): most cells of a zone are proven safe by points found while
        solving for others, which saves most of the LPs."""
        component = self._component[name]
        if component < 0:
            return 0.0, math.inf
        if name in self._zero:
            return 0.0, 0.0
        _, columns = self._model(component)
        j = columns[name]
        lo, hi = self._seen_low[component], self._seen_high[component]
        if hi[j] - lo[j] >= k:
            return float(lo[j]), float(hi[j])
        high = self._solve(component, {j: 1.0}, highspy.ObjSense.kMaximize)
        if hi[j] - lo[j] >= k:
            return float(lo[j]), high
        low = self._solve(component, {j: 1.0}, highspy.ObjSense.kMinimize)
        return low, high

    def leaks(self, k: int, names: Iterable[str] | None = None) -> list[Leak]:
        """The suppressed cells (all, or `names`) the attacker can narrow below k."""
        names = list(self.variables if names is None else names)
        self._prove_together(names, k)
        return [leak for name in names for leak in self._leak(name, k)]

    def _leak(self, name: str, k: int) -> list[Leak]:
        """[the leak] if the attacker narrows suppressed cell `name` below k, else []."""
        low, high = self.interval(name, k)
        narrowed = high - low < k - EPS and high > EPS
        return [Leak(self.zone_id, name, round(low, 6), round(high, 6))] if narrowed else []

    def first_leak(self, k: int) -> Leak | None:
        """A suppressed cell the attacker can narrow below k, if any (stops at the first)."""
        names = list(self.variables)
        self._prove_together(names, k)
        return next((leak for name in names for leak in self._leak(name, k)), None)

    def _prove_together(self, names: list[str], k: float) -> None:
        """Prove many cells safe per LP before any is solved alone: per cohort (its hourly and daily cells), per
        margin cell, and for the hour totals, maximise the sum of the cells not yet proven (their seen range under
        k) where they were seen at 0 and minimise it where they were not, again while that proves some. One cohort's
        cells rise together, as far as its daily cell and each hour's total allow, so one solve proves a cohort's
        hours at once. (The sum over all cells would not do: the cells of an hour add up to its published total, so
        that sum is the same at every point.) Only feasible points are used (a cell with two points k apart is
        safe), so no leak can be hidden: the cells left are solved one by one in `interval`."""
        groups: dict[tuple[int, str], list[str]] = {}
        for name in names:
            component = self._component[name]
            if component >= 0:
                group = name.rsplit(" ", 1)[-1] if kind_of(name) in COHORT_KINDS else kind_of(name)
                groups.setdefault((component, group), []).append(name)
        for (component, _), members in groups.items():
            _, columns = self._model(component)
            lo, hi = self._seen_low[component], self._seen_high[component]
            unproven = [n for n in members if hi[columns[n]] - lo[columns[n]] < k]
            while unproven:
                # Cells seen at 0 need a higher point, the others a lower one.
                up = [columns[n] for n in unproven if lo[columns[n]] <= EPS]
                down = [columns[n] for n in unproven if lo[columns[n]] > EPS]
                if up and self._solve(component, dict.fromkeys(up, 1.0), highspy.ObjSense.kMaximize) <= EPS:
                    # none of them can hold anyone: each is [0, 0], not a leak
                    self._zero.update(n for n in unproven if columns[n] in up)
                if down:
                    self._solve(component, dict.fromkeys(down, 1.0), highspy.ObjSense.kMinimize)
                left = [n for n in unproven if n not in self._zero and hi[columns[n]] - lo[columns[n]] < k]
                if len(left) == len(unproven):
                    break
                unproven = left

    @functools.cached_property
    def _related(self) -> dict[str, set[str]]:
        """Each cell's cells sharing a relation with it (itself too): cheapest_partner's search steps."""
        related: dict[str, set[str]] = {}
        for relation, _ in self._rows:
            for name in relation:
                related.setdefault(name, set()).update(relation)
        return related

    def cheapest_partner(self, name: str, margins_first: bool = False, allowed: Callable[[str], bool] | None = None
                         ) -> str:
        """The published cell to suppress next for leaking cell `name`: the one with the fewest visitors among the
        cells sharing a relation with it (breadth-first through suppressed cells if none does); ties by name, so the
        choice is deterministic. With `margins_first`, a margin cell (zone_daily_margins) if any is reachable, else
        a finer one. Only cells `allowed` (all by default) are chosen: a week's, not its published days'."""
        for margins_only in (True, False) if margins_first else (False,):
            seen, frontier = {name}, [name]
            while frontier:
                related = set().union(*(self._related[n] for n in frontier)) - seen
                published = [n for n in related if n in self.known and (not margins_only or kind_of(n) == MARGIN)
                             and (allowed is None or allowed(n))]
                if published:
                    return min(published, key=lambda n: (self.known[n], n))
                seen |= related
                frontier = list(related)
        raise RuntimeError(f"leaking cell {name} in zone {self.zone_id} relates to no published cell")


def audit_zone(cells: pd.DataFrame, k: int, cross_table: bool = True) -> list[Leak]:
    """Leaks in one zone's published cells (columns LONG_COLUMNS; visitors NaN when suppressed)."""
    return ZoneModel(cells, cross_table).leaks(k)


def kind_of(name: str) -> str:
    """A cell's kind, from its name (cell_name: the kind first, a week's day after it: daily@<day>)."""
    return name.split(" ", 1)[0].split("@", 1)[0]
