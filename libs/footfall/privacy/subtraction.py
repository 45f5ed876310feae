"""The first pass of secondary suppression, per zone in pandas: where a published total minus its
published parts reveals the sum S of its withheld parts, more parts are withheld until that sum
protects them (docs/privacy.md, section 3). The closed-form answer of each single relation's LP;
footfall.privacy.protect then checks all relations together.

It runs inside protect_linked's per-zone UDF, on the auditor's long format (KIND, hour_start,
age_band, gender, visitors, status; a catchment cell's home district in age_band), so that a
zone's grids pass through disclosure control in one Spark job rather than one window query
and one checkpoint per grid (docs/benchmarks.md, "Subtraction inside the per-zone pass").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from footfall.privacy.relations import CATCHMENT, DAILY, DAILY_TOTAL, HOURLY, KIND, MARGIN, TOTAL
from footfall.schemas import MARGIN_ALL, STATUS_PUBLISHED, WITHHELD_SUBTRACTION, C


def suppress_subtraction(cells: pd.DataFrame, k: int) -> np.ndarray:
    """The statuses of one zone-day's cells (after primary suppression) with the cells withheld
    that subtraction from a published total requires (reason `subtraction`):

    - each hour's cohort cells against the hour's total, the day's cohort cells, home districts
      (catchment), age-band margins and gender margins each against the day's total
      (`_protect_parts`);
    - before the margins' own pass, each margin against its cohorts' daily cells
      (`_margins_over_cohorts`): the finer level wins.

    Day parts have no published total to subtract from: only the LP pass relates them."""
    status = cells[C.STATUS].to_numpy(dtype=object, copy=True)
    visitors = cells[C.VISITORS].to_numpy(dtype=float)
    kind = cells[KIND].to_numpy()
    hour = cells[C.HOUR_START].to_numpy()
    age, gender = cells[C.AGE_BAND].to_numpy(dtype=object), cells[C.GENDER].to_numpy(dtype=object)
    ties = list(zip(*[["" if v is None or v != v else v for v in col] for col in (age, gender)], strict=True))

    def protect(parts: np.ndarray, total: np.ndarray) -> None:
        if len(total) == 1 and len(parts):
            _protect_parts(status, visitors, ties, parts, int(total[0]), k)

    day_total = np.flatnonzero(kind == DAILY_TOTAL)
    for h in np.unique(hour[kind == TOTAL]):
        protect(np.flatnonzero((kind == HOURLY) & (hour == h)), np.flatnonzero((kind == TOTAL) & (hour == h)))
    for parts in (kind == DAILY, kind == CATCHMENT):
        protect(np.flatnonzero(parts), day_total)
    margins = np.flatnonzero(kind == MARGIN)
    _margins_over_cohorts(status, visitors, margins, np.flatnonzero(kind == DAILY), (age, gender), k)
    by_age = gender[margins] == MARGIN_ALL
    for parts in (margins[by_age], margins[~by_age]):
        protect(parts, day_total)
    return status


def _protect_parts(status: np.ndarray, visitors: np.ndarray, ties: list[tuple[str, str]], parts: np.ndarray,
                   total: int, k: int) -> None:
    """Withhold published `parts` (rows) of a published `total` (row), smallest first (ties by
    age band and gender), until the withheld parts number at least two and their sum S (the total
    minus the published parts, as an attacker computes it) is at least k; nothing where S = 0,
    which reveals only that the withheld parts are empty."""
    if status[total] != STATUS_PUBLISHED:
        return
    published = [int(i) for i in parts if status[i] == STATUS_PUBLISHED]
    hidden = visitors[total] - sum(visitors[i] for i in published)
    if not hidden > 0:
        return
    n_withheld = len(parts) - len(published)
    for i in sorted(published, key=lambda i: (visitors[i], ties[i])):
        if n_withheld >= 2 and hidden >= k:
            return
        status[i] = WITHHELD_SUBTRACTION
        n_withheld += 1
        hidden += visitors[i]


def _margins_over_cohorts(status: np.ndarray, visitors: np.ndarray, margins: np.ndarray, daily: np.ndarray,
                          cohort: tuple[np.ndarray, np.ndarray], k: int) -> None:
    """Withhold each published margin (an age band's or a gender's visitors of the day) whose
    withheld cohort cells sum to S > 0 with S < k, or that has only one of them withheld: the
    margin minus its published cohorts would pin them. A margin with no cohort cells is left."""
    age, gender = cohort
    for m in margins:
        if status[m] != STATUS_PUBLISHED:
            continue
        of_margin = daily[age[daily] == age[m]] if gender[m] == MARGIN_ALL else daily[gender[daily] == gender[m]]
        if not len(of_margin):
            continue
        shown = status[of_margin] == STATUS_PUBLISHED
        hidden = visitors[m] - visitors[of_margin[shown]].sum()
        if hidden > 0 and (hidden < k or (~shown).sum() == 1):
            status[m] = WITHHELD_SUBTRACTION
