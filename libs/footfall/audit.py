"""The disclosure auditor: a linear-programming attacker on the published tables.

For each zone it sees every published number of one day — the cohort cells of
footfall.zone_hourly, the totals of footfall.zone_hourly_total and, in the cross-table view,
the cohort cells of footfall.zone_daily — and knows how they relate:

- per hour, the cohort cells add up to the total (each subscriber has exactly one cohort);
- a cohort's daily visitors are at least its visitors in any hour, and at most their sum;
- every count is non-negative.

For every suppressed cell it then solves two LPs (minimise and maximise the cell under those
constraints) with HiGHS via scipy. A cell whose feasible interval is narrower than k is a leak.
One exception: an interval [0, 0] pins the cell to "nobody", which discloses no person, so it
is not counted. Integer rounding is not needed: the LP interval contains the integer one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from footfall.schemas import STATUS_PUBLISHED, C

HOURLY, TOTAL, DAILY = "hourly", "total", "daily"
KIND = "kind"
LONG_COLUMNS = [C.ZONE_ID, KIND, C.HOUR_START, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]


@dataclass(frozen=True)
class Leak:
    zone_id: str
    cell: str  # e.g. "hourly 2026-03-14 09:00:00 25-34/F"
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


def _cell_name(kind: str, hour: object, age_band: object, gender: object) -> str:
    parts = [kind]
    if kind != DAILY:
        parts.append(str(hour))
    if kind != TOTAL:
        parts.append(f"{age_band}/{gender}")
    return " ".join(parts)


def audit_zone(cells: pd.DataFrame, k: int, cross_table: bool = True) -> list[Leak]:
    """Leaks in one zone's published cells (columns LONG_COLUMNS; visitors NaN when suppressed)."""
    zone_id = str(cells[C.ZONE_ID].iloc[0]) if len(cells) else ""
    hourly = cells[cells[KIND] == HOURLY]
    total = cells[cells[KIND] == TOTAL]
    daily = cells[cells[KIND] == DAILY] if cross_table else cells.iloc[0:0]

    variables: dict[str, int] = {}
    known: dict[str, float] = {}
    for row in pd.concat([hourly, total, daily]).itertuples(index=False):
        rec = row._asdict()
        name = _cell_name(rec[KIND], rec[C.HOUR_START], rec[C.AGE_BAND], rec[C.GENDER])
        if rec[C.STATUS] == STATUS_PUBLISHED:
            known[name] = float(rec[C.VISITORS])
        else:
            variables[name] = len(variables)
    if not variables:
        return []

    # Each relation is sum(coef * cell) (== or <=) 0 over named cells; known cells move to the RHS.
    equalities: list[dict[str, float]] = []
    inequalities: list[dict[str, float]] = []
    total_names = {h: _cell_name(TOTAL, h, None, None) for h in total[C.HOUR_START]}
    for hour, group in hourly.groupby(C.HOUR_START):
        if hour in total_names:
            cohorts = zip(group[C.AGE_BAND], group[C.GENDER], strict=True)
            relation = {_cell_name(HOURLY, hour, a, g): 1.0 for a, g in cohorts}
            relation[total_names[hour]] = -1.0
            equalities.append(relation)
    for (age_band, gender), group in hourly.groupby([C.AGE_BAND, C.GENDER]):
        day_name = _cell_name(DAILY, None, age_band, gender)
        if day_name not in variables and day_name not in known:
            continue
        hour_names = [_cell_name(HOURLY, h, age_band, gender) for h in group[C.HOUR_START]]
        inequalities += [{h: 1.0, day_name: -1.0} for h in hour_names]  # hourly <= daily
        upper = {h: -1.0 for h in hour_names}
        upper[day_name] = 1.0
        inequalities.append(upper)  # daily <= sum of hourly

    def matrix(relations: list[dict[str, float]]) -> tuple[np.ndarray | None, np.ndarray | None]:
        rows = [r for r in relations if any(name in variables for name in r)]
        if not rows:
            return None, None
        a = np.zeros((len(rows), len(variables)))
        b = np.zeros(len(rows))
        for i, relation in enumerate(rows):
            for name, coef in relation.items():
                if name in variables:
                    a[i, variables[name]] += coef
                else:
                    b[i] -= coef * known[name]
        return a, b

    a_eq, b_eq = matrix(equalities)
    a_ub, b_ub = matrix(inequalities)
    leaks = []
    for name, j in variables.items():
        bounds = []
        for sign in (1.0, -1.0):  # minimise x_j, then maximise it
            objective = np.zeros(len(variables))
            objective[j] = sign
            res = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            bounds.append(sign * res.fun if res.status == 0 else (math.inf if sign < 0 else 0.0))
        low, high = bounds
        if high - low < k - 1e-6 and high > 1e-6:
            leaks.append(Leak(zone_id, name, round(low, 6), round(high, 6)))
    return leaks


def audit_cells(cells: pd.DataFrame, k: int, cross_table: bool = True) -> list[Leak]:
    """Leaks over all zones of one day and zone set (LONG_COLUMNS, one row per published cell)."""
    leaks: list[Leak] = []
    for _, zone in cells.groupby(C.ZONE_ID):
        leaks += audit_zone(zone, k, cross_table)
    return leaks


def to_long(hourly: pd.DataFrame, total: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    """The three published tables of one day and zone set in the auditor's long format."""
    parts: Iterable[pd.DataFrame] = (
        hourly.assign(**{KIND: HOURLY}),
        total.assign(**{KIND: TOTAL, C.AGE_BAND: None, C.GENDER: None}),
        daily.assign(**{KIND: DAILY, C.HOUR_START: None}),
    )
    return pd.concat([p[LONG_COLUMNS] for p in parts], ignore_index=True)
