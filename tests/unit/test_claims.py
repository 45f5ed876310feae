"""The registry of the shared test catalog (tests/claims.py) refuses a day or zone set that is
another test's, and lets a module's tests share the module's own."""

import datetime as dt

import pytest
from claims import Claims

D1, D2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
MODULE = "tests/integration/test_x.py"


def test_a_second_owner_of_a_day_or_zone_set_fails_naming_the_first():
    claims = Claims()
    claims.claim(MODULE, days=[D1], zone_sets=["it_x"])
    with pytest.raises(pytest.fail.Exception, match=r"test_y.py claims .* day 2026-01-01 is \S*test_x.py.s"):
        claims.claim("tests/unit/test_y.py", days=[D1])
    with pytest.raises(pytest.fail.Exception, match=r"zone set 'it_x' is tests/integration/test_x.py's"):
        claims.claim("tests/unit/test_y.py::test_z", days=[D2], zone_sets=["it_x"])
    # the refused claims took nothing: D2 is still free
    claims.claim("tests/unit/test_y.py", days=[D2])


def test_a_modules_tests_may_claim_the_modules_own_again():
    claims = Claims()
    claims.claim(MODULE, days=[D1], zone_sets=["it_x"])
    claims.claim(f"{MODULE}::test_a", days=[D1], zone_sets=["it_x"])
    claims.claim(MODULE, days=[D1])  # idempotent
    # a test's own day is not its sibling's
    claims.claim(f"{MODULE}::test_a", days=[D2])
    with pytest.raises(pytest.fail.Exception, match=r"day 2026-01-02 is tests/integration/test_x.py::test_a.s"):
        claims.claim(f"{MODULE}::test_b", days=[D2])


def test_days_before_a_cutoff_are_all_the_claimants():
    claims = Claims()
    claims.claim("tests/integration/test_maintain.py::test_m", days_before=dt.date(2025, 1, 31))
    with pytest.raises(pytest.fail.Exception, match="lies before 2025-01-31"):
        claims.claim("tests/unit/test_y.py", days=[dt.date(2025, 1, 10)])
    claims.claim("tests/unit/test_y.py", days=[dt.date(2025, 1, 31)])
    with pytest.raises(pytest.fail.Exception, match="include 2025-01-31"):
        claims.claim("tests/unit/test_z.py", days_before=dt.date(2025, 2, 1))


def test_a_held_table_is_free_again_once_released():
    claims = Claims()
    claims.claim("tests/integration/test_a.py", tables=["ref.cells"])
    with pytest.raises(pytest.fail.Exception, match=r"table ref.cells is held by tests/integration/test_a.py"):
        claims.claim("tests/integration/test_b.py", tables=["ref.cells"])
    claims.release_tables("tests/integration/test_a.py")
    claims.claim("tests/integration/test_b.py", tables=["ref.cells"])
