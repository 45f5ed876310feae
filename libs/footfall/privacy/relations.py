"""What the attacker of footfall.privacy.audit knows: how one zone's published cells of one day
relate, as linear equalities and inequalities over named cells (footfall.privacy.week adds a
week's relations to its days').

The cells are those of footfall.zone_hourly, zone_hourly_total and, in the cross-table view,
zone_daily, zone_daily_total, zone_daily_margins, zone_daypart and zone_catchment, in a long
format (LONG_COLUMNS, `kind` naming the table). Their relations:

- per hour, the cohort cells add up to the total (each subscriber has exactly one cohort);
- a cohort's daily visitors are at least its visitors in any hour, and at most their sum;
- a cohort's visitors in a day part are at least its visitors in any hour of the part and at
  most their sum; its daily visitors at least those of any day part and at most their sum;
- the day's total is the sum of the cohorts' daily cells, at least the total of any hour and at
  most the sum of the hours' totals;
- an age band's daily visitors are the sum of its cohorts' daily cells (over the genders), a
  gender's the sum over the age bands, and each margin adds up to the day's total;
- the home districts' visitors (the catchment) add up to the day's total;
- every count is non-negative (the LP's bounds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from footfall.schemas import MARGIN_ALL, C

HOURLY, TOTAL, DAILY, DAILY_TOTAL, MARGIN, DAYPART = "hourly", "total", "daily", "daily_total", "margin", "daypart"
CATCHMENT = "catchment"
KIND = "kind"
LONG_COLUMNS = [C.ZONE_ID, KIND, C.HOUR_START, C.AGE_BAND, C.GENDER, C.VISITORS, C.STATUS]
DAY_KINDS = (DAILY, DAILY_TOTAL, MARGIN, DAYPART, CATCHMENT)  # the cross-table view's: more than one hour
# Cells of one cohort (hourly, day part, daily and margin cells end in "<age band>/<gender>").
COHORT_KINDS = (HOURLY, DAYPART, DAILY, MARGIN)


def cell_name(kind: str, hour: object, age_band: object, gender: object) -> str:
    parts = [kind]
    if kind in (HOURLY, TOTAL, DAYPART):
        parts.append(str(hour))
    if kind in COHORT_KINDS:
        parts.append(f"{age_band}/{gender}")
    if kind == CATCHMENT:  # its home district, in the long format's age_band slot
        parts.append(str(age_band))
    return " ".join(parts)


def day_relations(cells: pd.DataFrame, cross_table: bool) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
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


def kind_of(name: str) -> str:
    """A cell's kind, from its name (cell_name: the kind first, a week's day after it: daily@<day>)."""
    return name.split(" ", 1)[0].split("@", 1)[0]
