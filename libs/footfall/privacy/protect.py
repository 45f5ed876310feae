"""Secondary suppression against the LP attacker of footfall.privacy.audit: which published cells
of one zone to withhold so that the attacker, seeing all the published tables of a day at once,
narrows no withheld cell below k (greedy, in two stages; docs/privacy.md, section 3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from footfall.privacy.audit import EPS, Witnesses, ZoneModel
from footfall.privacy.relations import (
    DAILY,
    DAILY_TOTAL,
    DAY_KINDS,
    DAYPART,
    HOURLY,
    KIND,
    MARGIN,
    TOTAL,
    cell_name,
    kind_of,
)
from footfall.privacy.subtraction import suppress_subtraction
from footfall.schemas import STATUS_PUBLISHED, WITHHELD_LINKED, C

# The cells of one hour or day part; in a zone that publishes none of them, the audit of the day
# cells alone decides (days_decide).
HOUR_KINDS = (HOURLY, TOTAL, DAYPART)


def protect_day(cells: pd.DataFrame, k: int) -> pd.DataFrame:
    """Secondary suppression of one zone-day's cells (after primary suppression, in the auditor's
    long format): subtraction from a published total first (footfall.privacy.subtraction), then
    the LP attacker's partners (protect_zone). Returns the cells withheld here, each with its
    reason as status (`subtraction` or `linked`)."""
    cells = cells.reset_index(drop=True)
    after = cells.assign(**{C.STATUS: suppress_subtraction(cells, k)})
    after.loc[protect_zone(after, k).index, C.STATUS] = WITHHELD_LINKED
    return after[after[C.STATUS] != cells[C.STATUS]]


def protect_zone(cells: pd.DataFrame, k: int) -> pd.DataFrame:
    """The published cells of one zone (rows of `cells`) to suppress so that the cross-table
    attacker finds no leak.

    In two stages. First the finer tables alone, as if no margin were published: greedy,
    every round suppresses, for each leaking cell, its cheapest partner, until the audit is
    clean; then the cells chosen only for day cells' leaks are released again where the audit
    stays clean without them (see _release_unneeded). Then the margins (zone_daily_margins) are
    added, and margin cells are suppressed first until the audit of everything, withheld margins
    included, is clean again: a margin is the fallback level for zones whose cohort cells are
    thin, so it gives way before a finer cell (a women's margin of 29 beside a published 25-34/F
    cell of 28 would otherwise cost that cohort cell and its hours). A finer cell gives way only
    for a withheld margin that the finer tables narrow by themselves (its cohorts' sum pinned),
    which no margin suppression can widen. Greedy rounds often withhold more than the last of
    them needs (two leaks of one round each take a margin where one would have done), so stage
    2's cells are released again where a full audit stays clean: the margins first (largest
    first), as they are the only cohort-level number of a zone whose cohort cells are thin, then
    its finer cells. Both stages end: suppressing only removes knowledge,
    and at worst every related cell is suppressed. Greedy is not the minimum loss; the loss it
    costs is reported per run.
    """
    if days_decide(cells, k):
        return cells.iloc[[]]
    is_margin = (cells[KIND] == MARGIN).to_numpy()
    # Most zones need nothing suppressed, and the audit of all cells shows it at once: the finer
    # tables alone (stage 1) allow the attacker every point the full model does and more, so
    # where the full model narrows no cell below k, stage 1 finds nothing either, and stage 2
    # starts and ends clean. It saves stage 1's audit, a full one, in every such zone.
    status = cells[C.STATUS].to_numpy(copy=True)
    witnesses = Witnesses()  # of all cells (stage 2); stage 1's cells are the finer ones
    if is_margin.any():
        model = ZoneModel(cells)
        if model.first_leak(k) is None:
            return cells.iloc[[]]
        witnesses.add(status, model)
    finer_rows = np.flatnonzero(~is_margin)
    finer = cells.iloc[finer_rows]
    finer_status = status[finer_rows]
    finer_witnesses = Witnesses()
    suppressed, for_days = _greedy(finer, finer_status, k, finer_witnesses)
    released = _release_unneeded(finer, finer_status, for_days, k, finer_witnesses)
    chosen = set(finer_rows[sorted(set(suppressed) - released)])
    status[list(chosen)] = "suppressed"
    if is_margin.any():  # withheld margins are audited too, published ones or not
        second = _greedy(cells, status, k, witnesses, margins_first=True)[0]
        margins = [row for row in second if is_margin[row]]
        released = _release_unneeded(cells, status, margins, k, witnesses)
        released |= _release_unneeded(cells, status, [row for row in second if not is_margin[row]], k, witnesses)
        chosen |= set(second) - released
    return cells.iloc[sorted(chosen)]


def _greedy(cells: pd.DataFrame, status: np.ndarray, k: int, witnesses: Witnesses, margins_first: bool = False
            ) -> tuple[list[int], list[int]]:
    """Suppress cheapest partners (ZoneModel.cheapest_partner) round by round until the audit
    of `cells` under `status` (updated) is clean; returns the rows suppressed, and those chosen
    only for day cells' leaks in their round. Suppressing only removes knowledge, so no interval
    ever narrows: after the first round only the cells that leaked and the new ones need checking,
    except a cell shown empty ([0, 0], no leak), which a later suppression can widen to a leak
    [0, m] with m < k: the audit that ends the loop is always a full one."""
    names = [cell_name(*row) for row in cells[[KIND, C.HOUR_START, C.AGE_BAND, C.GENDER]].itertuples(index=False)]
    row_of = {name: i for i, name in enumerate(names)}
    suppressed: list[int] = []
    for_days: list[int] = []
    check: list[str] | None = None
    while True:
        model = ZoneModel(cells.assign(**{C.STATUS: status}), seen=witnesses.seen(status))
        leaks = model.leaks(k, check)
        if not leaks and check is not None:
            check = None
            leaks = model.leaks(k)
        witnesses.add(status, model)
        if not leaks:
            return suppressed, for_days
        partners = {leak.cell: model.cheapest_partner(leak.cell, margins_first) for leak in leaks}
        for_hours = {p for cell, p in partners.items() if kind_of(cell) not in DAY_KINDS}
        chosen = sorted(set(partners.values()))
        for name in chosen:
            status[row_of[name]] = "suppressed"
            suppressed.append(row_of[name])
            if name not in for_hours:
                for_days.append(row_of[name])
        check = [leak.cell for leak in leaks] + chosen


def _release_unneeded(cells: pd.DataFrame, status: np.ndarray, candidates: list[int], k: int,
                      witnesses: Witnesses) -> set[int]:
    """Publish again each candidate row (largest first) whose release leaves the audit clean;
    returns the rows released (`status` is updated). Used for stage 1's cells chosen for day
    cells' leaks, and for all of stage 2's (protect_zone).

    A day cell is bounded by its hours, so its leak is often the hours' leak seen from above and
    ends with the hours' own partners, chosen in the same round. A published day total relates
    every cohort's daily cell to it, so the day cells' cheapest partner is then a daily cell,
    withheld for nothing."""
    def leaks(now: pd.DataFrame) -> bool:
        model = ZoneModel(now, seen=witnesses.seen(now[C.STATUS].to_numpy()))
        found = bool(model.leaks(k))
        witnesses.add(now[C.STATUS].to_numpy(), model)
        return found

    return release_unneeded(cells, status, candidates, leaks)


def release_unneeded(cells: pd.DataFrame, status: np.ndarray, candidates: Iterable[int],
                     leaks: Callable[[pd.DataFrame], bool]) -> set[int]:
    """Publish again each candidate row of `cells` (largest first) where `leaks` of the cells with
    the updated `status` stays False; returns the rows released. Releasing adds knowledge, so
    each release is checked against all the cells."""
    released: set[int] = set()
    original = cells[C.STATUS].to_numpy()
    visitors = cells[C.VISITORS].to_numpy(float)
    for row in sorted(candidates, key=lambda i: (-visitors[i], i)):
        status[row] = original[row]
        if leaks(cells.assign(**{C.STATUS: status})):
            status[row] = "suppressed"
        else:
            released.add(row)
    return released


def days_decide(cells: pd.DataFrame, k: int) -> bool:
    """Whether the zone is clean, proven from its day cells alone (True), or the full audit must
    decide (False). A cheap exact argument before the zone's LP over ~680 cells: most store
    fronts publish a day total and perhaps a margin or a home district, and no hour."""
    return hours_add_nothing(cells, k) and not ZoneModel(cells[~cells[KIND].isin(HOUR_KINDS)]).leaks(k)


def hours_add_nothing(cells: pd.DataFrame, k: int) -> bool:
    """Whether a zone-day's hour cells (HOUR_KINDS) tell nothing its day cells do not, for any
    relation on the day cells alone (a week's too: footfall.privacy.week).

    Where no hourly cell, hour total or day part is published and every cohort of the hour cells
    has a daily cell (and the totals a day total), every point of the day cells' LP extends to all
    cells (each hour and day part of a cohort equal to its day, each hour total to the day's
    total), and from any such point a cohort's hour h (or its day part, or the total of h) can be
    set to 0 with the other hours left as they are. So a withheld hour cell of cohort c ranges
    over exactly [0, the most daily(c) can be], and is safe when that is 0 or at least k: for a
    withheld daily cell exactly when it is no leak itself, for a published one when its value
    is (checked here). False where any of this does not hold."""
    if not _full_grids(cells, HOUR_KINDS, min_hours=2):
        return False
    days = cells[~cells[KIND].isin(HOUR_KINDS)]
    # The hours' cells of a published day cell range over [0, its value]: a leak if in (0, k).
    published = days[days[KIND].isin((DAILY, DAILY_TOTAL)) & (days[C.STATUS] == STATUS_PUBLISHED)]
    return not ((published[C.VISITORS] > EPS) & (published[C.VISITORS] < k - EPS)).any()


def hours_extend(cells: pd.DataFrame) -> bool:
    """Whether every point of a zone-day's LP without its hourly and day-part cells (the hour
    totals kept) extends to them: for a week's model, whose relations touch day cells only
    (footfall.privacy.week). True where no hourly or day-part cell is published, their grids are
    full (as in hours_add_nothing) and there is a day total: the day's store fronts that publish
    an hour total and nothing finer.

    The extension is proportional: with D_c a cohort's daily visitors, T the day's total and T_h
    the total of hour h, hourly(c, h) = D_c T_h / T and day part(c, p) = D_c min(1, S_p / T), S_p
    the sum of T_h over the part's hours. Each hour's cohorts add up to T_h; hourly(c, h) <= D_c as
    T_h <= T; the hours of c add up to D_c (sum of T_h) / T >= D_c as T <= the sum of the T_h; an
    hour is at most its part and the part at most the sum of its hours and at most D_c; and the
    parts of c add up to at least D_c (one part's S_p >= T, or all of them sum to at least T). The
    relations used (T_h <= T <= sum of T_h, the cohorts add up to T) are the reduced LP's own.
    Without hour totals, every hour and day part of c equal to D_c.
    The dropped cells are not proven safe by this: footfall.privacy.week checks them."""
    return _full_grids(cells, (HOURLY, DAYPART), min_hours=1)


def _full_grids(cells: pd.DataFrame, kinds: tuple[str, ...], min_hours: int) -> bool:
    """No cell of `kinds` published; every hour (day part) of a kind present has at least
    `min_hours` starts and a full grid of the daily cells' cohorts; a day total where hour totals
    are in `kinds`' company (hours_add_nothing, hours_extend)."""
    kinds_of = cells[KIND].to_numpy()
    hours = np.isin(kinds_of, kinds)
    if (cells.loc[hours, C.STATUS] == STATUS_PUBLISHED).any():
        return False
    daily = cells[kinds_of == DAILY]
    cohorts = set(zip(daily[C.AGE_BAND], daily[C.GENDER], strict=True))
    for kind in kinds:
        of_kind = cells[kinds_of == kind]
        starts = of_kind.groupby(C.HOUR_START)
        # Every hour a full grid of the daily cells' cohorts, so that an hour's cohorts add up to
        # the day's total.
        if len(of_kind) and (starts.ngroups < min_hours or (kind != TOTAL and any(
                set(zip(g[C.AGE_BAND], g[C.GENDER], strict=True)) != cohorts for _, g in starts))):
            return False
    return not ((kinds_of == TOTAL).any() and not (kinds_of == DAILY_TOTAL).any())
