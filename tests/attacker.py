"""An attacker on a published day, written for the tests without footfall's own auditor
(footfall.privacy.audit, the defender's model, is what the attack tests judge).

The attacker knows what docs/definitions.md ("Suppression") says anyone can know about the
published cells of one zone and day:

- per hour, the 21 cohort cells of zone_hourly add up to the hour's zone_hourly_total;
- a cohort's zone_daily visitors are at least its visitors in any hour, and at most their sum;
- the day's zone_daily_total is the sum of the 21 cohorts' zone_daily cells (each subscriber has
  one cohort), at least any hour's zone_hourly_total and at most their sum;
- visitors by age band (zone_daily_margins, gender `all`) are the sum of the age band's
  zone_daily cells over the genders, visitors by gender (age band `all`) the sum of the gender's
  cells over the age bands; either way the margins add up to the day's zone_daily_total (or, with
  no day total, to each other). Without zone_daily cells a margin is at least its age band's (or
  gender's) sum of zone_hourly cells in any hour and at most that sum over the hours;
- a cohort's visitors in a day part (zone_daypart, tests/attacker_dayparts.py; its hours:
  part_start <= hour_start < part_start + part_hours hours) are the union of its hourly visitors
  over the part's hours, so at least any of them and at most their sum; at most its zone_daily
  visitors, which are at most its 5 parts' sum (every visitor of the day is in one). Without
  zone_daily cells the day total (a margin) is at least the sum over all cohorts (the age band's
  or gender's) of any one day part and at most that sum over the 5 parts;
- visitors by home district (zone_catchment, tests/attacker_catchment.py) add up to the day's
  zone_daily_total (every subscriber has one home district, `unknown` included); with no day
  total, to the sum of the 21 cohorts' zone_daily cells;
- every count is non-negative;
- what a withheld cell's status says: footfall's earlier releases marked a cell withheld to
  protect another one `suppressed_secondary`, chosen among cells that would have been published,
  so such a cell holds at least k (STATUS_AT_LEAST_K). A release with one status for every
  withheld cell gives the attacker nothing here.

Every suppressed cell is an unknown of a linear program over those relations, with the published
numbers as constants. For each unknown the attacker asks scipy's linprog (HiGHS) for its smallest
and largest feasible value; an interval narrower than k discloses that fewer than k people (or a
number known to within fewer than k) were there: a leak. An interval [0, 0] only says nobody
was there, which discloses no person: not a leak. Unknowns are capped at 10^7 so every LP is
bounded (a cell that may hold ten million people is not narrowed).

Cells already shown to vary by k or more between two feasible points found earlier need no LP
of their own: every optimal point found widens the ranges seen, and rounds that push all
unsettled cells up at once with random weights settle most before any cell gets an LP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from attacker_catchment import catchment_relations
from attacker_dayparts import daypart_relations
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

CAP = 1e7
EPS = 1e-6
COHORT = ("age_band", "gender")
ALL = "all"  # zone_daily_margins: the cohort key a margin adds up over


# Statuses that tell the attacker a withheld cell holds at least k people.
STATUS_AT_LEAST_K = ("suppressed_secondary",)


@dataclass(frozen=True)
class Leak:
    zone_id: str
    # ("hourly", hour, age, gender) | ("total", hour) | ("daily", age, gender) | ("day_total",)
    # | ("margin", age, "all") | ("margin", "all", gender) | ("daypart", part, part_start, part_hours, age, gender)
    # | ("catchment", home_district)
    cell: tuple
    low: float
    high: float


def _cells(hourly: pd.DataFrame, total: pd.DataFrame, daily: pd.DataFrame | None,
           day_total: pd.DataFrame | None = None,
           margins: pd.DataFrame | None = None,
           dayparts: pd.DataFrame | None = None,
           catchment: pd.DataFrame | None = None) -> tuple[dict[tuple, float | None], set[tuple]]:
    """One zone's cells by name -> published visitors, or None when suppressed (status not
    published); and the names of the suppressed cells whose status says they hold at least k."""
    cells: dict[tuple, float | None] = {}
    at_least_k: set[tuple] = set()
    named = (("hourly", hourly, ("hour_start", "age_band", "gender")), ("total", total, ("hour_start",)),
             ("daily", daily, COHORT), ("day_total", day_total, ()), ("margin", margins, COHORT),
             ("daypart", dayparts, ("day_part", "part_start", "part_hours", *COHORT)),
             ("catchment", catchment, ("home_district",)))
    for kind, frame, keys in named:
        for row in () if frame is None else frame.to_dict("records"):
            name = (kind, *(row[key] for key in keys))
            cells[name] = float(row["visitors"]) if row["status"] == "published" else None
            if row["status"] in STATUS_AT_LEAST_K:
                at_least_k.add(name)
    return cells, at_least_k


def _relations(cells: dict[tuple, float | None]) -> tuple[list[dict[tuple, float]], list[dict[tuple, float]]]:
    """(equalities, inequalities), each sum(coefficient x cell) == 0 or <= 0."""
    equalities, inequalities = [], []
    hours: dict[object, list[tuple]] = {}
    cohorts: dict[tuple, list[tuple]] = {}
    for name in cells:
        if name[0] == "hourly":
            hours.setdefault(name[1], []).append(name)
            cohorts.setdefault(name[2:], []).append(name)
    for hour, names in hours.items():
        if ("total", hour) in cells:
            equalities.append({**dict.fromkeys(names, 1.0), ("total", hour): -1.0})
    for cohort, names in cohorts.items():
        day = ("daily", *cohort)
        if day in cells:
            inequalities += [{name: 1.0, day: -1.0} for name in names]
            inequalities.append({**dict.fromkeys(names, -1.0), day: 1.0})
    if ("day_total",) in cells:
        days = [name for name in cells if name[0] == "daily"]
        totals = [name for name in cells if name[0] == "total"]
        if days:
            equalities.append({**dict.fromkeys(days, 1.0), ("day_total",): -1.0})
        inequalities += [{name: 1.0, ("day_total",): -1.0} for name in totals]
        if totals:
            inequalities.append({**dict.fromkeys(totals, -1.0), ("day_total",): 1.0})
    more = _margin_relations(cells)
    return equalities + more[0] + catchment_relations(cells), inequalities + more[1] + daypart_relations(cells)


def _margin_relations(cells: dict[tuple, float | None]) -> tuple[list[dict[tuple, float]], list[dict[tuple, float]]]:
    """The relations of zone_daily_margins: ("margin", age, "all") and ("margin", "all", gender).
    A zone's margins, like its zone_daily cells, are all there (10 rows); a cohort with no
    zone_daily row had nobody."""
    equalities, inequalities = [], []
    margins = [name for name in cells if name[0] == "margin"]
    if not margins:
        return equalities, inequalities
    days = [name for name in cells if name[0] == "daily"]
    hourly = [name for name in cells if name[0] == "hourly"]
    by_age = [name for name in margins if name[2] == ALL and name[1] != ALL]
    by_gender = [name for name in margins if name[1] == ALL and name[2] != ALL]
    # the age band is at position 1 of a margin and of a daily cell (2 of an hourly one), the gender at 2 (3)
    for at, side in ((1, by_age), (2, by_gender)):
        for margin in side:
            if days:
                equalities.append({**dict.fromkeys((d for d in days if d[at] == margin[at]), 1.0), margin: -1.0})
                continue
            hours: dict[object, list[tuple]] = {}
            for name in hourly:
                if name[at + 1] == margin[at]:
                    hours.setdefault(name[1], []).append(name)
            # at least any hour's visitors of the age band (gender), at most their sum over the hours
            inequalities += [{**dict.fromkeys(names, 1.0), margin: -1.0} for names in hours.values()]
            if hours:
                inequalities.append({**{n: -1.0 for names in hours.values() for n in names}, margin: 1.0})
    if ("day_total",) in cells:
        for side in (by_age, by_gender):
            if side:
                equalities.append({**dict.fromkeys(side, 1.0), ("day_total",): -1.0})
    elif by_age and by_gender:
        equalities.append({**dict.fromkeys(by_age, 1.0), **dict.fromkeys(by_gender, -1.0)})
    return equalities, inequalities


def _matrix(relations: list[dict[tuple, float]], cells: dict[tuple, float | None],
            index: dict[tuple, int]) -> tuple[object, np.ndarray]:
    rows, cols, data, rhs = [], [], [], []
    for r, relation in enumerate(relations):
        rhs.append(-sum(c * cells[n] for n, c in relation.items() if cells[n] is not None))
        for name, coefficient in relation.items():
            if name in index:
                rows.append(r)
                cols.append(index[name])
                data.append(coefficient)
    matrix = coo_matrix((data, (rows, cols)), shape=(len(relations), len(index))).tocsr()
    return matrix, np.asarray(rhs, dtype=float)


def zone_leaks(zone_id: str, cells: dict[tuple, float | None], k: int,
               at_least_k: frozenset[tuple] | set[tuple] = frozenset(),
               relations: tuple[list[dict[tuple, float]], list[dict[tuple, float]]] | None = None) -> list[Leak]:
    """The withheld cells of one zone the LP narrows below k; `relations`: (equalities,
    inequalities) over `cells`, by default those of one day (`_relations`)."""
    unknown = [name for name, v in cells.items() if v is None]
    if not unknown or len(unknown) == len(cells):
        # nothing withheld, or nothing published: the relations are homogeneous, so all zeros and
        # all very large are both feasible and no withheld cell is narrowed
        return []
    index = {name: i for i, name in enumerate(unknown)}
    equalities, inequalities = _relations(cells) if relations is None else relations
    a_eq, b_eq = _matrix(equalities, cells, index)
    a_ub, b_ub = _matrix(inequalities, cells, index)
    n = len(unknown)
    low_seen, high_seen = np.full(n, np.inf), np.full(n, -np.inf)
    bounds = [(k if name in at_least_k else 0, CAP) for name in unknown]

    def optimum(objective: np.ndarray) -> float:
        """min objective . x over the feasible cells; the point widens the ranges seen."""
        result = linprog(objective, A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                         A_eq=a_eq if a_eq.shape[0] else None, b_eq=b_eq if a_eq.shape[0] else None,
                         bounds=bounds, method="highs")
        if result.status != 0:  # the published numbers contradict the relations: a bug to report
            raise AssertionError(f"zone {zone_id}: {result.message}")
        np.minimum(low_seen, result.x, out=low_seen)
        np.maximum(high_seen, result.x, out=high_seen)
        return float(result.fun)

    optimum(np.ones(n))
    optimum(-np.ones(n))
    # Push the cells not yet seen to vary by k up at once, with random weights: where cells
    # share a relation (an hour's cohorts under its total) the optimum gives the most to the
    # heaviest, so each round settles about one cell per relation, not one per LP. Sound: a
    # range only widens by feasible points. Stops when a round settles nothing.
    rng = np.random.default_rng(0)
    unsettled = np.flatnonzero(high_seen - low_seen < k)
    while unsettled.size:
        weights = np.zeros(n)
        weights[unsettled] = 1.0 + rng.random(unsettled.size)
        optimum(-weights)
        still = np.flatnonzero(high_seen - low_seen < k)
        if still.size == unsettled.size:
            break
        unsettled = still
    leaks = []
    for j, name in enumerate(unknown):
        if high_seen[j] - low_seen[j] >= k:
            continue
        unit = np.zeros(n)
        unit[j] = 1.0
        high = -optimum(-unit)
        if high_seen[j] - low_seen[j] >= k:
            continue
        low = optimum(unit)
        if high - low < k - EPS and high > EPS:
            leaks.append(Leak(zone_id, name, round(low, 6), round(high, 6)))
    return leaks


def leaks(hourly: pd.DataFrame, total: pd.DataFrame, daily: pd.DataFrame | None, k: int,
          day_total: pd.DataFrame | None = None, margins: pd.DataFrame | None = None,
          dayparts: pd.DataFrame | None = None, catchment: pd.DataFrame | None = None) -> list[Leak]:
    """The leaks of one day and zone set: every zone's cells of the published tables (columns
    zone_id, hour_start, age_band, gender, day_part, part_start, part_hours, home_district,
    visitors, status as in footfall.zone_*); `daily`, `day_total`, `margins`, `dayparts` and
    `catchment` (zone_daily, zone_daily_total, zone_daily_margins, zone_daypart, zone_catchment)
    may be left out (None)."""
    found = []
    frames = (hourly, total, daily, day_total, margins, dayparts, catchment)
    # Split once by zone (not a filter per zone: store fronts are thousands of zones).
    by_zone = [{} if frame is None else dict(tuple(frame.groupby("zone_id"))) for frame in frames]
    empty = hourly.iloc[0:0]

    def of(kind: int, zone_id: str) -> pd.DataFrame | None:
        if frames[kind] is None:
            return None
        return by_zone[kind].get(zone_id, empty)

    zones = set(hourly["zone_id"]) | set(total["zone_id"])
    zones |= {zone for frame in (margins, dayparts, catchment) if frame is not None for zone in frame["zone_id"]}
    for zone_id in sorted(zones):
        cells, at_least_k = _cells(*(of(kind, zone_id) for kind in range(len(frames))))
        found += zone_leaks(zone_id, cells, k, at_least_k)
    return found


# The additive visit counts (stays = visits - pass-bys; dwell_sum = mean dwell x stays).
VISIT_COUNTS = ("visits", "passersby", "dwell_lt5", "dwell_5_15", "dwell_15_60", "dwell_60plus", "stays")


def _with_stays(df: pd.DataFrame) -> pd.DataFrame:
    # As floats: a withheld metric is NaN, never pandas' NA (DuckDB's nullable integers), whose
    # comparisons are NA and whose `where` would turn an unknown dwell sum into 0.
    df = df.astype({c: "float64" for c in (*VISIT_COUNTS, "dwell_mean_min") if c in df})
    stays = df["visits"] - df["passersby"]
    # no stays: the dwell sum is 0, known, though the mean is NULL
    return df.assign(stays=stays, dwell_sum=(df["dwell_mean_min"] * stays).where(stays != 0, 0.0))


def _denominator(mean_min: float, most: int) -> int | None:
    """Dwell is whole seconds, so a mean of n stays (minutes) makes 60 x n x mean whole: the
    smallest such n (at most `most`) is n itself unless the seconds' sum shares a factor with it."""
    for n in range(1, most + 1):
        seconds = 60 * n * mean_min
        if abs(seconds - round(seconds)) < 1e-6:
            return n
    return None


def denominator_exposures(cells: pd.DataFrame, keys: list[str], k: int) -> list[tuple]:
    """Cells that publish a visit count and a dwell mean but not the pass-bys: the mean's
    denominator gives the stays, the visit count minus them the pass-bys. An exposure: 1 to k - 1
    pass-bys. Returns (cell key, "denominator", "passersby", value)."""
    found = []
    hidden = cells[cells["visits"].notna() & cells["dwell_mean_min"].notna() & cells["passersby"].isna()]
    for _, row in hidden.iterrows():
        stays = _denominator(row["dwell_mean_min"], int(row["visits"]))
        if stays is not None and 0 < row["visits"] - stays < k:
            found.append((tuple(row[keys]), "denominator", "passersby", row["visits"] - stays))
    return found


def visit_exposures(parts: pd.DataFrame, totals: pd.DataFrame, keys: list[str], k: int) -> list[tuple]:
    """Subtraction on the additive visit counts of one relation (e.g. a zone's hours add up to
    its day): per total and count it publishes, total minus the parts that publish the count is
    the sum over the parts that do not (NULL). An exposure: a published count of 1 to k - 1, a
    derived sum of 1 to k - 1, or a positive one that belongs to a single part; a derived dwell
    sum (from the mean) whose stays are such a group; and a total withheld though every part
    publishes it (the parts rebuild it: "rebuilt"). Returns (group key, what, count, value)."""
    found: list[tuple] = []
    parts, totals = _with_stays(parts), _with_stays(totals)
    for frame in (parts, totals):
        for m in VISIT_COUNTS:
            for _, row in frame[(frame[m] > 0) & (frame[m] < k)].iterrows():
                found.append((tuple(row[keys]), "published", m, row[m]))
    by_group = {key if isinstance(key, tuple) else (key,): g for key, g in parts.groupby(keys, dropna=False)}
    for _, total in totals.iterrows():
        key = tuple(total[keys])
        group = by_group.get(key)
        if group is None:
            continue
        for m in (*VISIT_COUNTS, "dwell_sum"):
            if pd.isna(total[m]) or (m == "dwell_sum" and pd.isna(total["stays"])):
                if group[m].notna().all() and group[m].sum() > 0:
                    found.append((key, "rebuilt", m, group[m].sum()))
                continue
            known = group[m].notna()
            # the size of the derived group: its stays, for a dwell sum
            size = m if m != "dwell_sum" else "stays"
            derived = total[size] - group.loc[known, size].sum()
            if 0 < derived < k or (derived > 0 and (~known).sum() == 1):
                found.append((key, "derived", m, derived))
    return found


def nested_exposures(cells: pd.DataFrame, unions: dict[tuple[str, str], tuple[str, list[str]]],
                     cell_keys: list[str], k: int) -> list[tuple]:
    """Zones that are the union of zones of another set (the attacker's own list: (set, id) ->
    (part set, part ids)), on one published table of several sets (zone_set, zone_id, the
    `cell_keys`, visitors, status). Where the union and all its parts are published, the parts'
    sum minus the union counts the people in two parts at once (less those in none): an exposure
    when 1 to k - 1 either way. Returns ((set, id, cell key), "nested", difference)."""
    keys = list(cell_keys) or ["_cell"]  # a daily total: one cell per zone
    shown = cells[cells["status"] == "published"].assign(_cell=0)
    found = []
    for (zone_set, zone_id), (part_set, parts) in sorted(unions.items()):
        union = shown[(shown["zone_set"] == zone_set) & (shown["zone_id"] == zone_id)].set_index(keys)["visitors"]
        members = shown[(shown["zone_set"] == part_set) & shown["zone_id"].isin(parts)]
        summed = members.groupby(keys)["visitors"].agg(["sum", "count"])
        both = summed[summed["count"] == len(parts)].join(union.rename("union"), how="inner")
        for key, row in both.iterrows():
            difference = row["sum"] - row["union"]
            if 0 < abs(difference) < k:
                found.append(((zone_set, zone_id, key), "nested", difference))
    return found


RELEASE_COUNTS = ("visitors", "visits", "passersby", "dwell_lt5", "dwell_5_15", "dwell_15_60", "dwell_60plus")


def release_exposures(old: pd.DataFrame, new: pd.DataFrame, keys: list[str], k: int) -> dict[tuple, str]:
    """Two releases of the same cells (an analyst kept the old one): a cell published in both
    whose count changed by 1 to k - 1 counts that few people or visits; a dwell mean that changed
    while the visits changed by fewer than k gives the changed visits' dwell (30 visits at m1, then
    31 at m2: the new one lasted 31 m2 - 30 m1). Returns cell key -> the metric that exposes it."""
    shown = [frame[frame["status"] == "published"] for frame in (old, new)]
    both = shown[0].merge(shown[1], on=keys, suffixes=("_old", ""))
    found = {}
    for _, row in both.iterrows():
        for m in (c for c in RELEASE_COUNTS if c in both):
            if 0 < abs(row[m] - row[m + "_old"]) < k:  # NaN (a withheld metric) compares False
                found[tuple(row[keys])] = m
                break
        else:
            mean, before = row.get("dwell_mean_min"), row.get("dwell_mean_min_old")
            if pd.notna(mean) and pd.notna(before) and mean != before and abs(row["visits"] - row["visits_old"]) < k:
                found[tuple(row[keys])] = "dwell_mean_min"
    return found
