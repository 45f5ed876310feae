"""The LP auditor finds exactly the cells a subtraction / linear attack can narrow below k."""

import math

import pandas as pd

from footfall.privacy.audit import DAILY, HOURLY, KIND, LONG_COLUMNS, TOTAL, ZoneModel, audit_zone, protect_zone
from footfall.schemas import C

K = 20
H1, H2 = "2026-03-14 09:00:00", "2026-03-14 10:00:00"
P, S1, S2 = "published", "primary", "subtraction"  # the statuses inside disclosure control


def _cells(rows):
    return pd.DataFrame(
        [("z1", kind, hour, age, gender, math.nan if status != P else float(v), status)
         for kind, hour, age, gender, v, status in rows],
        columns=LONG_COLUMNS,
    )


def _found(leaks):
    return {(leak.cell, leak.low, leak.high) for leak in leaks}


def test_single_suppressed_cell_under_a_published_total_is_pinned():
    cells = _cells([
        (HOURLY, H1, "25-34", "F", 25, P),
        (HOURLY, H1, "35-44", "M", 5, S1),
        (TOTAL, H1, None, None, 30, P),
    ])
    assert _found(audit_zone(cells, K, cross_table=False)) == {(f"hourly {H1} 35-44/M", 5.0, 5.0)}


def test_two_small_suppressed_cells_are_bounded_by_their_revealed_sum():
    cells = _cells([
        (HOURLY, H1, "25-34", "F", 25, P),
        (HOURLY, H1, "35-44", "M", 5, S1),
        (HOURLY, H1, "45-54", "M", 0, S1),
        (TOTAL, H1, None, None, 30, P),
    ])
    assert _found(audit_zone(cells, K, cross_table=False)) == {
        (f"hourly {H1} 35-44/M", 0.0, 5.0), (f"hourly {H1} 45-54/M", 0.0, 5.0),
    }


def test_secondary_suppression_protects_and_known_zeros_are_not_leaks():
    cells = _cells([
        (HOURLY, H1, "25-34", "F", 25, S2),
        (HOURLY, H1, "35-44", "M", 5, S1),
        (HOURLY, H1, "45-54", "M", 0, S1),
        (TOTAL, H1, None, None, 30, P),
        # hour 2: everything published except an empty cell, which is pinned to 0: no person
        (HOURLY, H2, "25-34", "F", 22, P),
        (HOURLY, H2, "35-44", "M", 0, S1),
        (TOTAL, H2, None, None, 22, P),
    ])
    assert audit_zone(cells, K, cross_table=False) == []


def _cross_table_day():
    return _cells([
        (HOURLY, H1, "25-34", "F", 50, P), (HOURLY, H1, "35-44", "M", 30, P), (HOURLY, H1, "45-54", "M", 0, S1),
        (TOTAL, H1, None, None, 80, P),
        (HOURLY, H2, "25-34", "F", 35, P), (HOURLY, H2, "35-44", "M", 12, S1), (HOURLY, H2, "45-54", "M", 13, S1),
        (TOTAL, H2, None, None, 60, P),
        (DAILY, None, "25-34", "F", 60, P), (DAILY, None, "35-44", "M", 40, P), (DAILY, None, "45-54", "M", 13, S1),
    ])


def test_each_hour_alone_is_safe_but_daily_and_hourly_together_leak():
    cells = _cross_table_day()
    assert audit_zone(cells, K, cross_table=False) == []
    # daily 35-44/M = 40 <= 30 (hour 1) + x  =>  x >= 10; and x <= 25 (hour 2's suppressed sum)
    assert _found(audit_zone(cells, K, cross_table=True)) == {
        (f"hourly {H2} 35-44/M", 10.0, 25.0),
        (f"hourly {H2} 45-54/M", 0.0, 15.0),
        ("daily 45-54/M", 0.0, 15.0),
    }


def test_protection_suppresses_the_cheapest_partners_until_the_cross_table_attack_fails():
    cells = _cross_table_day()
    extra = protect_zone(cells, K)
    # Round 1 leaks (see above) and their cheapest published partners, by hand:
    #   hourly H2 35-44/M -> hourly H1 35-44/M (30 < 35, 40, 60);  hourly H2 45-54/M -> hourly H2
    #   25-34/F (35 < 60);  daily 45-54/M relates only to suppressed cells, one step further the
    #   cheapest is hourly H1 35-44/M again. After suppressing {H1 35-44/M, H2 25-34/F}, the
    #   narrowest intervals are H1 35-44/M [0, 30], H2 35-44/M [10, 40], H2 25-34/F [10, 50]: none
    #   narrower than k, so round 2 ends.
    assert sorted(zip(extra[KIND], extra[C.HOUR_START], extra[C.AGE_BAND], extra[C.GENDER], strict=True)) == [
        (HOURLY, H1, "35-44", "M"), (HOURLY, H2, "25-34", "F"),
    ]
    protected = cells.copy()
    protected.loc[extra.index, C.STATUS] = S2
    protected.loc[extra.index, C.VISITORS] = math.nan
    assert audit_zone(protected, K, cross_table=True) == []
    model = ZoneModel(protected)
    assert model.interval(f"hourly {H2} 35-44/M") == (10.0, 40.0)
    assert model.interval(f"hourly {H2} 25-34/F") == (10.0, 50.0)


def test_a_zone_without_leaks_needs_no_extra_suppression():
    cells = _cells([
        (HOURLY, H1, "25-34", "F", 25, P), (HOURLY, H1, "35-44", "M", 15, S1), (HOURLY, H1, "45-54", "M", 10, S1),
        (TOTAL, H1, None, None, 50, P),
    ])
    assert protect_zone(cells, K).empty
