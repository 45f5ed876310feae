"""Who writes what in the test session's shared catalog.

All tests run on one SparkSession, so they share one metastore and warehouse (tests/conftest.py).
A test or module that writes rows of a day or a zone set into that catalog claims them first;
a second claim of the same day or zone set by an unrelated test fails that test, naming the first
owner. That is how no test changes data another test reads, without dates and names reserved in
comments:

    def test_x(claim):                                 # a test's own day
        claim(days=[DAY], zone_sets=["ut_x"])

    @pytest.fixture(scope="module")
    def seeded(spark, catalog_claims, request):        # a module's own day, shared by its tests
        catalog_claims.claim_for(request, days=[DAY], zone_sets=[ZONE_SET])

- `days`: event and snapshot dates (every table's date column: restricted, published, ops.runs,
  the privacy budget). A table's date partition belongs to one owner.
- `days_before`: every day before a date, for a test that erases all restricted rows older than
  a cutoff (footfall maintain): nobody else may claim such a day, before or after.
- `zone_sets`: names in ref.zones and in the zone_set column of every table.
- `tables`: a table a job overwrites as a whole (load-reference replaces ref.cells). Held, not
  owned: the claim ends with the fixture or test that made it, so modules take turns.

A claim covers the tests below its owner: a module's claim lets the module's tests claim the same
days again. At the end of the session every day and zone set found in the catalog must have been
claimed (Claims.unclaimed), so a test that writes without claiming fails too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

# The catalog's schemas and the columns that say whose a row is.
SCHEMAS = ("footfall", "ref", "ops", "restricted")
DAY_COLUMNS = ("event_date", "snapshot_date", "week_start")
ZONE_SET_COLUMN = "zone_set"


@dataclass(frozen=True)
class Claim:
    owner: str
    days: tuple[dt.date, ...]
    zone_sets: tuple[str, ...]


def _related(a: str, b: str) -> bool:
    """The same owner, or one is a test (or module) inside the other."""
    return a == b or a.startswith(b + "::") or b.startswith(a + "::")


class Claims:
    def __init__(self) -> None:
        self._days: dict[dt.date, str] = {}
        self._before: dict[dt.date, str] = {}  # cutoff -> owner: every day before it is the owner's
        self._zone_sets: dict[str, str] = {}
        self._tables: dict[str, str] = {}

    def claim(self, owner: str, *, days: Iterable[dt.date] = (), zone_sets: Iterable[str] = (),
              days_before: dt.date | None = None, tables: Iterable[str] = ()) -> Claim:
        days, zone_sets, tables = tuple(days), tuple(zone_sets), tuple(tables)
        clashes = []
        for day in days:
            holder = self._days.get(day)
            if holder is not None and not _related(holder, owner):
                clashes.append(f"day {day} is {holder}'s")
            clashes += [f"day {day} lies before {cutoff}, all of whose earlier days are {holder}'s"
                        for cutoff, holder in self._before.items() if day < cutoff and not _related(holder, owner)]
        if days_before is not None:
            clashes += [f"days before {days_before} include {day}, which is {holder}'s"
                        for day, holder in self._days.items() if day < days_before and not _related(holder, owner)]
            clashes += [f"days before {days_before} overlap the days before {cutoff}, which are {holder}'s"
                        for cutoff, holder in self._before.items() if not _related(holder, owner)]
        for name in zone_sets:
            holder = self._zone_sets.get(name)
            if holder is not None and not _related(holder, owner):
                clashes.append(f"zone set {name!r} is {holder}'s")
        for name in tables:
            holder = self._tables.get(name)
            if holder is not None and not _related(holder, owner):
                clashes.append(f"table {name} is held by {holder}")
        if clashes:
            pytest.fail(f"{owner} claims data of the shared test catalog that is not its own: "
                        + "; ".join(clashes) + ". Pick another day or zone set name.", pytrace=False)
        for day in days:
            self._days.setdefault(day, owner)
        if days_before is not None:
            self._before.setdefault(days_before, owner)
        for name in zone_sets:
            self._zone_sets.setdefault(name, owner)
        for name in tables:
            self._tables.setdefault(name, owner)
        return Claim(owner, days, zone_sets)

    def claim_for(self, request: pytest.FixtureRequest, **what) -> Claim:  # type: ignore[no-untyped-def]
        """Claim for the test or module of `request` (its node id is the owner); a held table is
        given back when that test or module ends."""
        owner = request.node.nodeid
        if what.get("tables"):
            request.addfinalizer(lambda: self.release_tables(owner))
        return self.claim(owner, **what)

    def release_tables(self, owner: str) -> None:
        for name in [n for n, holder in self._tables.items() if holder == owner]:
            del self._tables[name]

    def is_claimed_day(self, day: dt.date) -> bool:
        return day in self._days or any(day < cutoff for cutoff in self._before)

    def unclaimed(self, spark) -> list[str]:  # type: ignore[no-untyped-def]
        """Days and zone sets in the catalog's tables that nobody claimed."""
        found = []
        for schema in SCHEMAS:
            if not spark.catalog.databaseExists(schema):
                continue
            # SHOW TABLES, not spark.catalog.listTables: the latter decodes its rows with an encoder
            # that fails in the interpreted mode the tests run Spark in (support.TEST_SPARK_CONF).
            views = {row.viewName for row in spark.sql(f"SHOW VIEWS IN {schema}").collect()}
            for table in spark.sql(f"SHOW TABLES IN {schema}").collect():
                if table.isTemporary or table.tableName in views:
                    continue
                name = f"{schema}.{table.tableName}"
                columns = set(spark.table(name).columns)
                keys = [c for c in (*DAY_COLUMNS, ZONE_SET_COLUMN) if c in columns]
                if not keys:
                    continue
                for row in spark.table(name).select(*keys).distinct().collect():
                    for key in keys:
                        value = row[key]
                        if value is None:
                            continue
                        if key == ZONE_SET_COLUMN and value not in self._zone_sets:
                            found.append(f"{name}: zone set {value!r}")
                        if key in DAY_COLUMNS and not self.is_claimed_day(value):
                            found.append(f"{name}: {key} {value}")
        return sorted(set(found))
