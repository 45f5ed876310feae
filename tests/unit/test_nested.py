"""Issue #15, finding 3: a zone that is the union of zones of another set (a district and its
localities) is protected against its parts (footfall.privacy.nested), attacked by the tests' own
attacker (tests/attacker.py `nested_exposures`) with a negative control."""

import datetime as dt

import pandas as pd
from attacker import nested_exposures
from pyspark.sql import functions as F

from footfall.privacy.nested import Nesting, protect_nested
from footfall.privacy.suppression import public_status
from footfall.schemas import (
    STATUS_PUBLISHED,
    WITHHELD_NESTED,
    WITHHELD_PRIMARY,
    ZONE_DAILY_TOTAL,
    ZONE_HOURLY_TOTAL,
    ZONE_RELATIONS,
    C,
)
from footfall.tables import ensure_tables, replace_partition

K = 20
DAY = dt.date(2026, 3, 14)
SCHEMA = (f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.EVENT_DATE} date, {C.HOUR_START} timestamp, "
          f"{C.VISITORS} long, {C.STATUS} string")
# Women 65+ per hour (local 15:00 ...) in district D, which is exactly localities A and B.
HOURS = {
    15: (42, 22, 21),  # the example: 22 + 21 - 42 = 1 person in both localities
    16: (55, 30, 25),  # 0: nobody in both, which discloses no one
    17: (80, 30, 25),  # -25: 25 people in the district but in neither locality (a sliver): k or more
    18: (25, 22, 10),  # B below k is withheld: the difference is unknown
    19: (12, 30, 25),  # the district below k is withheld
    20: (52, 40, 30),  # 18 people in both: B (fewer visitors) is withheld
}
ATTACKER_UNIONS = {("dist", "D"): ("loc", ["A", "B"])}


def _hour(h: int) -> dt.datetime:
    return dt.datetime(2026, 3, 14, h - 1, tzinfo=dt.UTC)  # CET: local h is UTC h - 1


def _cells(spark, zone_set: str, zones: list[tuple[str, int]]):
    """A grid after primary suppression: below k withheld with NULL visitors."""
    rows = [(zone_set, zone, DAY, _hour(h), HOURS[h][i] if HOURS[h][i] >= K else None,
             STATUS_PUBLISHED if HOURS[h][i] >= K else WITHHELD_PRIMARY) for zone, i in zones for h in HOURS]
    return spark.createDataFrame(rows, SCHEMA)


def _relations(spark):
    return spark.createDataFrame([("dist", "D", "loc", "A", 0.0), ("dist", "D", "loc", "B", 0.0)],
                                 ZONE_RELATIONS.struct)


def _nested(df) -> set[tuple[str, int]]:
    return {(r[C.ZONE_ID], r[C.HOUR_START].hour + 1) for r in df.where(F.col(C.STATUS) == WITHHELD_NESTED).collect()}


def _attack(*frames) -> list[tuple]:
    cells = pd.concat([f.toPandas() for f in frames]).assign(
        status=lambda f: f[C.STATUS].where(f[C.STATUS] == STATUS_PUBLISHED, "suppressed"))
    return nested_exposures(cells, ATTACKER_UNIONS, [C.HOUR_START], K)


def test_the_parts_computed_after_their_union_hide_the_difference(spark):
    district = _cells(spark, "dist", [("D", 0)])
    localities = _cells(spark, "loc", [("A", 1), ("B", 2)])
    published_district = district.where(F.col(C.STATUS) == STATUS_PUBLISHED)
    got = protect_nested(localities, published_district, _relations(spark), "loc", [C.HOUR_START], K)
    assert _nested(got) == {("B", 15), ("B", 20)}
    assert got.where(F.col(C.STATUS) == WITHHELD_NESTED).where(F.col(C.VISITORS).isNotNull()).count() == 0
    assert _attack(district, got) == []
    # negative control: published as they were, the attacker finds 1 person in both at 15:00, 18 at 20:00
    assert sorted((key[2].hour + 1, d) for key, _, d in _attack(district, localities)) == [(15, 1), (20, 18)]


def test_a_union_computed_after_its_parts_is_withheld_itself(spark):
    district = _cells(spark, "dist", [("D", 0)])
    localities = _cells(spark, "loc", [("A", 1), ("B", 2)])
    published_localities = localities.where(F.col(C.STATUS) == STATUS_PUBLISHED)
    got = protect_nested(district, published_localities, _relations(spark), "dist", [C.HOUR_START], K)
    assert _nested(got) == {("D", 15), ("D", 20)}
    assert _attack(got, localities) == []


def test_a_zone_set_without_published_partners_is_unchanged(spark):
    localities = _cells(spark, "loc", [("A", 1), ("B", 2)])
    nobody = spark.createDataFrame([], SCHEMA)
    got = protect_nested(localities, nobody, _relations(spark), "loc", [C.HOUR_START], K)
    assert _nested(got) == set()
    assert sorted(map(tuple, got.collect())) == sorted(map(tuple, localities.collect()))


def _as_table(df, table):
    """A grid as published in `table`'s columns, the ones it lacks NULL (the metrics the rule does not read)."""
    return public_status(df).select(*[
        F.col(f.name) if f.name in df.columns else F.lit(None).cast(f.dataType).alias(f.name)
        for f in table.struct.fields])


def test_the_grids_of_a_set_are_protected_together_each_against_its_own_table(spark, claim):
    """Nesting.protect, as compute calls it: the localities' hour totals and day totals in one
    pass, against the district's published cells of the same tables in the catalog. The day
    totals: D 100 published, A 60 and B 45, so 5 people were in both: B (fewer) is withheld. The
    hours are the issue's example above. Each flag lands in its own table only: B's day total
    is withheld, and B's hours other than 15:00 and 20:00 stay published."""
    day = dt.date(2025, 11, 19)
    claim(days=[day], zone_sets=["nest_dist", "nest_loc"])
    relations = spark.createDataFrame([("nest_dist", "D", "nest_loc", part, 0.0) for part in "AB"],
                                      ZONE_RELATIONS.struct)

    def hours(zone_set, zones):
        return _cells(spark, zone_set, zones).withColumns({
            C.EVENT_DATE: F.lit(day), C.LOCAL_HOUR: F.hour(C.HOUR_START) + 1, C.UTC_OFFSET_MIN: F.lit(60)})

    def days(zone_set, visitors):
        rows = [(zone_set, zone, day, v, STATUS_PUBLISHED) for zone, v in visitors.items()]
        return spark.createDataFrame(rows, f"{C.ZONE_SET} string, {C.ZONE_ID} string, {C.EVENT_DATE} date, "
                                           f"{C.VISITORS} long, {C.STATUS} string")

    ensure_tables(spark, (ZONE_HOURLY_TOTAL, ZONE_DAILY_TOTAL))
    district = {ZONE_HOURLY_TOTAL: hours("nest_dist", [("D", 0)]), ZONE_DAILY_TOTAL: days("nest_dist", {"D": 100})}
    for table, grid in district.items():
        replace_partition(_as_table(grid, table), table, {C.EVENT_DATE: day, C.ZONE_SET: "nest_dist"})
    localities = {ZONE_HOURLY_TOTAL: (hours("nest_loc", [("A", 1), ("B", 2)]), [C.HOUR_START]),
                  ZONE_DAILY_TOTAL: (days("nest_loc", {"A": 60, "B": 45}), [])}
    got = Nesting("nest_loc", day, relations).protect(localities, K)
    assert _nested(got[ZONE_HOURLY_TOTAL]) == {("B", 15), ("B", 20)}
    assert {r[C.ZONE_ID] for r in got[ZONE_DAILY_TOTAL].where(F.col(C.STATUS) == WITHHELD_NESTED).collect()} == {"B"}
    assert got[ZONE_DAILY_TOTAL].columns == localities[ZONE_DAILY_TOTAL][0].columns
    assert got[ZONE_HOURLY_TOTAL].where(F.col(C.STATUS) == STATUS_PUBLISHED).count() == 9  # 11 published, 2 withheld
