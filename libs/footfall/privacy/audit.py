"""The disclosure auditor: a linear-programming attacker on the published tables (footfall.privacy.protect defeats it).

For each zone the attacker sees every published number of one day (a week's with its days' in footfall.privacy.week)
and knows how they relate (footfall.privacy.relations). For every suppressed cell it then solves two LPs (minimise and
maximise the cell under those constraints). A cell whose feasible interval is narrower than k is a leak, except
[0, 0]: it pins the cell to "nobody", which discloses no person. The LP interval contains the integer one. HiGHS
through highspy rather than scipy's linprog: one model per zone, re-solved with a new objective per cell from the
previous basis (under a second instead of tens for ~1,000 LPs of 500 cells).
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

from footfall.privacy.relations import (
    COHORT_KINDS,
    DAY_KINDS,
    KIND,
    MARGIN,
    cell_name,
    day_relations,
    kind_of,
)
from footfall.schemas import STATUS_PUBLISHED, C

EPS = 1e-6
_CAP = 1e9


# A cell's name -> the lowest and highest value at the feasible points a model found (ZoneModel.seen).
Seen = dict[str, tuple[float, float]]


@dataclass(frozen=True)
class Leak:
    zone_id: str
    cell: str  # e.g. "hourly 2026-03-14 09:00:00 25-34/F"; a day part is named by its start
    low: float
    high: float


class ZoneModel:
    """One zone's published cells as an LP whose variables are the suppressed cells."""

    def __init__(self, cells: pd.DataFrame, cross_table: bool = True, seen: Seen | None = None):
        values = {cell_name(kind, hour, age_band, gender): float(visitors) if status == STATUS_PUBLISHED else None
                  for kind, hour, age_band, gender, visitors, status in cells[
                      [KIND, C.HOUR_START, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]].itertuples(index=False)
                  if cross_table or kind not in DAY_KINDS}
        zone_id = str(cells[C.ZONE_ID].iloc[0]) if len(cells) else ""
        self._setup(zone_id, values, day_relations(cells, cross_table), seen)

    @classmethod
    def of(cls, zone_id: str, values: dict[str, float | None],
           relations: tuple[list[dict[str, float]], list[dict[str, float]]], seen: Seen | None = None) -> ZoneModel:
        """A model of named cells (published value, or None where withheld) and (equalities,
        inequalities) over them: a week's cells with its days' (footfall.privacy.week)."""
        model = cls.__new__(cls)
        model._setup(zone_id, values, relations, seen)
        return model

    def _setup(self, zone_id: str, values: dict[str, float | None],
               relations: tuple[list[dict[str, float]], list[dict[str, float]]], seen: Seen | None) -> None:
        self.zone_id = zone_id
        self.known = {name: value for name, value in values.items() if value is not None}
        self.variables = {name: j for j, name in enumerate(n for n, v in values.items() if v is None)}
        self._rows = [(r, True) for r in relations[0]] + [(r, False) for r in relations[1]]
        self._component = self._components()
        self._models: dict[int, tuple[highspy.Highs, dict[str, int]]] = {}
        self._seen_low: dict[int, np.ndarray] = {}  # per component and cell: the extremes seen in
        self._seen_high: dict[int, np.ndarray] = {}  # the feasible points found so far
        self._seen = seen or {}  # a model this one only withholds more than: its points (seen())
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
        for name, j in columns.items():
            if name in self._seen:
                self._seen_low[component][j], self._seen_high[component][j] = self._seen[name]
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

    def seen(self) -> Seen:
        """Each cell's extremes over the feasible points found so far (a published cell's value):
        what Witnesses keeps to seed later models of the same cells."""
        found: Seen = {name: (value, value) for name, value in self.known.items()}
        for component, (_, columns) in self._models.items():
            lo, hi = self._seen_low[component], self._seen_high[component]
            found |= {name: (float(lo[j]), float(hi[j])) for name, j in columns.items() if lo[j] <= hi[j]}
        return found

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


class Witnesses:
    """The feasible points that earlier models of one zone's cells found (ZoneModel.seen), kept to
    seed later models of the same cells under other statuses: protect's greedy rounds and releases
    build a model per status. A model's points are points of every model that publishes no cell
    it withholds (withholding more only widens the LP, each cell it publishes standing at its
    value), so a new model is seeded with the points of every kept model that publishes at least
    what it publishes, and proves cells safe with them instead of solving for them again."""

    def __init__(self) -> None:
        self._kept: list[tuple[np.ndarray, Seen]] = []

    def add(self, status: np.ndarray, model: ZoneModel) -> None:
        """Keep `model`'s points; `status`: the cells' statuses it was built from (row order)."""
        self._kept.append((status == STATUS_PUBLISHED, model.seen()))

    def seen(self, status: np.ndarray) -> Seen:
        """The points valid for a model of the cells under `status`, as ZoneModel's `seen`."""
        published = status == STATUS_PUBLISHED
        found: Seen = {}
        for kept, seen in self._kept:
            if (kept | ~published).all():  # it publishes every cell `status` publishes
                for name, (low, high) in seen.items():
                    before = found.get(name)
                    found[name] = (low, high) if before is None else (min(low, before[0]), max(high, before[1]))
        return found


def audit_zone(cells: pd.DataFrame, k: int, cross_table: bool = True) -> list[Leak]:
    """Leaks in one zone's published cells (columns LONG_COLUMNS; visitors NaN when suppressed)."""
    return ZoneModel(cells, cross_table).leaks(k)
