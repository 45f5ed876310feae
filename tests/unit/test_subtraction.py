"""Secondary suppression against subtraction (footfall.privacy.subtraction) on one hand-made
zone-day in the auditor's long format: every relation with a published total, the margins over
their cohorts, the order of ties, and the cases that need nothing. Plain pandas, no Spark."""

import pandas as pd

from footfall.privacy.relations import CATCHMENT, DAILY, DAILY_TOTAL, DAYPART, HOURLY, LONG_COLUMNS, MARGIN, TOTAL
from footfall.privacy.subtraction import suppress_subtraction
from footfall.schemas import MARGIN_ALL, STATUS_PUBLISHED, WITHHELD_PRIMARY, WITHHELD_SUBTRACTION

K = 20
P, S1, S2 = STATUS_PUBLISHED, WITHHELD_PRIMARY, WITHHELD_SUBTRACTION
A = MARGIN_ALL


def _at(h: int) -> pd.Timestamp:
    return pd.Timestamp(2026, 8, 22, h)


# (kind, hour, label, gender, true visitors, status before, status expected); a withheld cell's
# visitors are NaN in the input, as in the UDF's.
CELLS = [
    # hour 10: total 40; one withheld cell (19) is 40 - 21: the 21 goes too (S = 40, two cells).
    (TOTAL, _at(10), None, None, 40, P, P),
    (HOURLY, _at(10), "18-24", "F", 21, P, S2),
    (HOURLY, _at(10), "25-34", "F", 19, S1, S1),
    # hour 11: total 45; the withheld 5 would be pinned. Of the two 20s, 18-24/M is first by cohort.
    (TOTAL, _at(11), None, None, 45, P, P),
    (HOURLY, _at(11), "25-34", "F", 20, P, P),
    (HOURLY, _at(11), "18-24", "M", 20, P, S2),
    (HOURLY, _at(11), "25-34", "M", 5, S1, S1),
    # hour 12: the total is withheld itself: nothing to subtract from.
    (TOTAL, _at(12), None, None, 37, S1, S1),
    (HOURLY, _at(12), "25-34", "M", 25, P, P),
    (HOURLY, _at(12), "18-24", "F", 12, S1, S1),
    # hour 13: S = 25 - 25 = 0 says only that the withheld cell is empty.
    (TOTAL, _at(13), None, None, 25, P, P),
    (HOURLY, _at(13), "18-24", "F", 25, P, P),
    (HOURLY, _at(13), "25-34", "M", 0, S1, S1),
    # the day: total 150 = 28 + 30 + 5 + 87; the 5 alone would be 150 - 145.
    (DAILY_TOTAL, pd.NaT, None, None, 150, P, P),
    (DAILY, pd.NaT, "18-24", "F", 28, P, S2),
    (DAILY, pd.NaT, "25-34", "F", 30, P, P),
    (DAILY, pd.NaT, "18-24", "M", 5, S1, S1),
    (DAILY, pd.NaT, "25-34", "M", 87, P, P),
    # margins, against the daily cells after their pass: 18-24 hides 28 + 5 = 33 in two cells
    # (kept); 25-34 hides nothing (kept); women hide only 18-24/F (58 - 30 = 28 in one cell) and
    # men only 5 (92 - 87): both go. Then each margin against the day: ages 33 + 117 = 150
    # (nothing hidden), genders both withheld (nothing to do).
    (MARGIN, pd.NaT, "18-24", A, 33, P, P),
    (MARGIN, pd.NaT, "25-34", A, 117, P, P),
    (MARGIN, pd.NaT, A, "F", 58, P, S2),
    (MARGIN, pd.NaT, A, "M", 92, P, S2),
    # home districts against the day: the unknown 5 would be 150 - 145; Pankow (45) goes with it.
    (CATCHMENT, pd.NaT, "Mitte", None, 100, P, P),
    (CATCHMENT, pd.NaT, "Pankow", None, 45, P, S2),
    (CATCHMENT, pd.NaT, "unknown", None, 5, S1, S1),
    # a day part has no total: untouched.
    (DAYPART, _at(10), "18-24", "F", 21, P, P),
]


def _zone() -> pd.DataFrame:
    rows = [("Z", kind, hour, label, gender, visitors if before == P else None, before)
            for kind, hour, label, gender, visitors, before, _ in CELLS]
    zone = pd.DataFrame(rows, columns=LONG_COLUMNS)
    zone["visitors"] = zone["visitors"].astype(float)
    return zone


def test_each_total_protects_its_withheld_parts_against_subtraction():
    assert list(suppress_subtraction(_zone(), K)) == [expected for *_, expected in CELLS]


def test_the_input_statuses_are_left_as_they_were():
    zone = _zone()
    suppress_subtraction(zone, K)
    assert list(zone["status"]) == [before for *_, before, _ in CELLS]


def test_a_zone_with_everything_published_needs_nothing():
    rows = [("Z", kind, hour, label, gender, float(visitors), P) for kind, hour, label, gender, visitors, *_ in CELLS]
    assert set(suppress_subtraction(pd.DataFrame(rows, columns=LONG_COLUMNS), K)) == {P}
