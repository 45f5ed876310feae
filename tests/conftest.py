"""One session-scoped SparkSession for all tests, with its metastore and warehouse in a temp folder;
the registry of who writes which days and zone sets of that shared catalog (tests/claims.py); the
hand-made analyst day, written once for every module that reads it."""

from __future__ import annotations

import functools

import pytest
from claims import Claims
from support import make_config

from footfall.config import Config
from footfall.session import build_session


@pytest.fixture(scope="session")
def test_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(tmp_path_factory.mktemp("footfall-data"))


@pytest.fixture(scope="session")
def catalog_claims() -> Claims:
    return Claims()


@pytest.fixture(scope="session")
def spark(test_config: Config, catalog_claims: Claims):
    session = build_session(test_config)
    yield session
    try:
        unclaimed = catalog_claims.unclaimed(session)
    finally:
        session.stop()
    assert unclaimed == [], ("rows of days or zone sets no test claimed are in the shared catalog "
                             "(claim them with the `claim` fixture, tests/claims.py)")


@pytest.fixture
def claim(catalog_claims: Claims, request: pytest.FixtureRequest):
    """`claim(days=[...], zone_sets=[...])`: this test's own days and zone sets of the shared
    catalog; fails the test if another test or module already claimed one of them."""
    return functools.partial(catalog_claims.claim_for, request)


@pytest.fixture(scope="session")
def handmade_day(spark, catalog_claims: Claims):
    """The hand-made published day of tests/unit/test_analyst_data.py (2026-03-14, zone sets
    districts and storefronts) and the store fronts' week of it, written once; the analyst,
    report and example tests only read it."""
    from unit.test_analyst_data import DAY, MONDAY, ZONE_SETS, write_handmade

    catalog_claims.claim("tests/unit/test_analyst_data.py (hand-made analyst day and its week)", days=[DAY, MONDAY],
                         zone_sets=ZONE_SETS)
    write_handmade(spark)
    return spark
