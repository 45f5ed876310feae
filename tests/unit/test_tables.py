import datetime as dt

import pytest
from chispa import assert_df_equality
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType
from support import raises_check_violation

import footfall.tables
from footfall.schemas import (
    ALL_TABLES,
    EVENTS,
    PUBLISHED_TABLES,
    RUNS,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
    Column,
    Table,
)
from footfall.tables import (
    add_guard,
    catalog_current,
    create_tables,
    definitions_fingerprint,
    ensure_tables,
    guard_constraints,
    replace_partition,
    table_properties,
    table_version,
)

# visits, pass-bys, dwell median and mean, the four dwell bins
VISIT_METRICS = (20, 0, 12.0, 12.0, 0, 20, 0, 0)


def _row(day: dt.date, visitors: int | None, status: str, zone_set: str, visit_metrics: tuple = VISIT_METRICS,
         est: float | None = None):
    hour = dt.datetime.combine(day, dt.time(9, 0))
    metrics = (visitors, est, *visit_metrics) if visitors is not None else (None, est, *(None,) * 8)
    return (zone_set, "01", day, hour, 10, 60, *metrics, status)


def _days(spark, *days: dt.date):
    return spark.table(ZONE_HOURLY_TOTAL.name).where(F.col(C.EVENT_DATE).isin(*days))


def test_published_tables_have_comments_on_every_column(spark):
    ensure_tables(spark, PUBLISHED_TABLES)
    for table in PUBLISHED_TABLES:
        described = spark.sql(f"DESCRIBE TABLE {table.name}").collect()
        columns = [r for r in described if r["col_name"] and not r["col_name"].startswith("#")]
        names = [r["col_name"] for r in columns][: len(table.columns)]
        assert names == table.names
        assert all(r["comment"] for r in columns[: len(table.columns)]), table.name


def test_a_second_guard_of_a_guarded_table_commits_nothing(spark):
    """add_guard runs on the first ensure of every session: on a table that has its guard it must
    not migrate again. zone_hourly's visitors-only constraint, read back through SHOW
    TBLPROPERTIES, came back redacted and was re-added (with an UPDATE and a VACUUM) every time."""
    ensure_tables(spark, PUBLISHED_TABLES)
    for table in PUBLISHED_TABLES:
        before = table_version(spark, table)
        add_guard(spark, table)
        assert table_version(spark, table) == before, table.name
        constraints = {k.removeprefix("delta.constraints."): unspaced(v)
                       for k, v in table_properties(spark, table).items() if k.startswith("delta.constraints.")}
        assert constraints == {name: unspaced(check) for name, check in guard_constraints(table).items()}


def unspaced(expression: str) -> str:
    """A CHECK expression as Delta stores it, without its spacing (Delta re-spaces it)."""
    return "".join(expression.split())


GUARD_DAY = dt.date(2026, 1, 5)
# Per constraint of the table guard, a row that breaks it and no other.
BREAKS = {
    "status_known": (None, "suppressed_primary"),  # a status that says why: not public
    "visitors_at_least_floor": (15, "published"),  # the floor is 16 (footfall.config.K_FLOOR)
    # 20 visits, but 3 of them pass-bys (< 5 min): a count of 1 to 15 people
    "visit_counts_at_least_floor": (20, "published", (20, 3, 12.0, 12.0, 3, 17, 0, 0)),
    "suppressed_has_no_metric": (20, "suppressed"),
    "dp_only_noisy_metrics": (3, "dp"),  # a noisy count may be small, but only visitors and visits
}


@pytest.mark.parametrize("constraint", sorted(BREAKS))
def test_the_table_guard_refuses_a_row_that_breaks_it(spark, claim, constraint):
    day = GUARD_DAY + dt.timedelta(days=20 * sorted(BREAKS).index(constraint))
    zone_set = f"ut_tables_{constraint}"
    claim(days=[day], zone_sets=[zone_set])
    create_tables(spark, (ZONE_HOURLY_TOTAL,))
    create_tables(spark, (ZONE_HOURLY_TOTAL,))  # idempotent: each constraint is added once
    # visitors 3, its estimate (scaled noise), visits 1
    dp_row = (*_row(day, 3, "dp", zone_set)[:7], 300.0, 1, *(None,) * 7, "dp")
    ok = spark.createDataFrame([_row(day, 16, "published", zone_set, est=1600.0),
                                _row(day, None, "suppressed", zone_set), dp_row], ZONE_HOURLY_TOTAL.struct)
    replace_partition(ok, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: day})
    visitors, status, *visit_metrics = BREAKS[constraint]
    bad = spark.createDataFrame([_row(day, visitors, status, zone_set, *visit_metrics)], ZONE_HOURLY_TOTAL.struct)
    with raises_check_violation(constraint):
        replace_partition(bad, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: day})
    # the failed write changed nothing
    assert_df_equality(_days(spark, day), ok, ignore_row_order=True, ignore_nullable=True)


def test_a_withheld_cell_has_no_population_estimate(spark, claim):
    day, zone_set = dt.date(2026, 1, 2), "ut_tables_estimate"
    claim(days=[day], zone_sets=[zone_set])
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))
    bad = spark.createDataFrame([_row(day, None, "suppressed", zone_set, est=1600.0)], ZONE_HOURLY_TOTAL.struct)
    with raises_check_violation("suppressed_has_no_metric"):
        replace_partition(bad, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: day})


def test_zone_hourly_publishes_visitors_only(spark, claim):
    day, zone_set = dt.date(2026, 1, 3), "ut_tables_hourly"
    claim(days=[day], zone_sets=[zone_set])
    ensure_tables(spark, (ZONE_HOURLY,))
    hour = dt.datetime.combine(day, dt.time(9, 0))

    def row(visit_metrics: tuple) -> tuple:
        return (zone_set, "01", day, hour, 10, 60, "25-34", "F", 20, 2000.0, *visit_metrics, "published")

    keys = {C.EVENT_DATE: day, C.ZONE_SET: zone_set}
    replace_partition(spark.createDataFrame([row((None,) * 8)], ZONE_HOURLY.struct), ZONE_HOURLY, keys)
    with raises_check_violation("hourly_visitors_only"):
        replace_partition(spark.createDataFrame([row(VISIT_METRICS)], ZONE_HOURLY.struct), ZONE_HOURLY, keys)
    mine = spark.table(ZONE_HOURLY.name).where((F.col(C.EVENT_DATE) == F.lit(day)) & (F.col(C.ZONE_SET) == zone_set))
    assert_df_equality(mine, spark.createDataFrame([row((None,) * 8)], ZONE_HOURLY.struct), ignore_nullable=True)
    replace_partition(spark.createDataFrame([], ZONE_HOURLY.struct), ZONE_HOURLY, keys)


def test_a_table_of_an_earlier_version_gets_the_one_status_and_the_guard(spark):
    """Rows with the statuses of earlier releases are rewritten to `suppressed`, and a published
    row with visit counts the guard refuses loses every visit metric; the floor check of earlier
    versions (no dp) is replaced, and the others are added."""
    legacy = Table("footfall.ut_tables_legacy", ZONE_HOURLY_TOTAL.columns, "an earlier version")
    day, zone_set = dt.date(2026, 1, 4), "ut_tables_legacy"
    try:
        create_tables(spark, (legacy,))  # not a published table: created without the guard
        spark.sql(f"ALTER TABLE {legacy.name} ADD CONSTRAINT visitors_at_least_floor CHECK "
                  "(visitors IS NULL OR visitors >= 16)")
        # 25 visitors, 6 visits of which 2 pass-bys: counts of fewer than k people
        few_visits = (6, 2, 9.5, 11.0, 2, 4, 0, 0)
        rows = [_row(day, 20, "published", zone_set), _row(day, None, "suppressed_primary", zone_set),
                _row(day, None, "suppressed_secondary", zone_set), _row(day, 25, "published", zone_set, few_visits)]
        spark.createDataFrame(rows, legacy.struct).writeTo(legacy.name).append()
        with_old_statuses = table_version(spark, legacy)
        add_guard(spark, legacy)
        add_guard(spark, legacy)  # idempotent
        expected = spark.createDataFrame([rows[0], _row(day, None, "suppressed", zone_set),
                                          _row(day, None, "suppressed", zone_set),
                                          _row(day, 25, "published", zone_set, (None,) * 8)], legacy.struct)
        assert_df_equality(spark.table(legacy.name), expected, ignore_row_order=True, ignore_nullable=True,
                           ignore_metadata=True)
        constraints = {k.removeprefix("delta.constraints."): unspaced(v)
                       for k, v in table_properties(spark, legacy).items() if k.startswith("delta.constraints.")}
        assert constraints == {name: unspaced(check) for name, check in guard_constraints(legacy).items()}
        assert constraints["visitors_at_least_floor"] == unspaced("status = 'dp' OR visitors IS NULL OR visitors >= 16")
        # the version with the old statuses is vacuumed: unreadable (pyspark passes the failed read through)
        with pytest.raises(Py4JJavaError, match=r"\[FAILED_READ_FILE.FILE_NOT_EXIST\]"):
            spark.read.format("delta").option("versionAsOf", with_old_statuses).table(legacy.name).collect()
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {legacy.name}")


def test_a_table_of_an_earlier_version_gets_the_new_columns_and_comments(spark):
    """Comments changed since the table was created are rewritten (one with a quote and a
    backslash stored exactly), a column added since is added; a table that is current gets no
    commit."""
    name = "footfall.ut_tables_comments"
    old = Table(name, (Column("a", LongType(), "the first comment, much too long"),), "an earlier version")
    new = Table(name, (Column("a", LongType(), "a's comment, C:\\x"), Column("b", StringType(), "added")), "now")
    try:
        create_tables(spark, (old,))
        create_tables(spark, (new,))
        fields = spark.table(name).schema.fields
        assert [(f.name, f.metadata.get("comment")) for f in fields] == [("a", "a's comment, C:\\x"), ("b", "added")]
        current = table_version(spark, new)
        create_tables(spark, (new,))
        assert table_version(spark, new) == current
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {name}")


def test_replace_partition_touches_only_its_day(spark, claim):
    d1, d2, zone_set = dt.date(2026, 1, 6), dt.date(2026, 1, 7), "ut_tables_replace"
    claim(days=[d1, d2], zone_sets=[zone_set])
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))
    both = spark.createDataFrame([_row(d1, 20, "published", zone_set), _row(d2, 30, "published", zone_set)],
                                 ZONE_HOURLY_TOTAL.struct)
    replace_partition(both.where(F.col(C.EVENT_DATE) == F.lit(d1)), ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d1})
    replace_partition(both.where(F.col(C.EVENT_DATE) == F.lit(d2)), ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d2})
    again = spark.createDataFrame([_row(d1, 25, "published", zone_set)], ZONE_HOURLY_TOTAL.struct)
    replace_partition(again, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d1})
    expected = spark.createDataFrame([_row(d1, 25, "published", zone_set), _row(d2, 30, "published", zone_set)],
                                     ZONE_HOURLY_TOTAL.struct)
    assert_df_equality(_days(spark, d1, d2), expected, ignore_row_order=True, ignore_nullable=True)
    with pytest.raises(AnalysisException, match=r"UNRESOLVED_COLUMN.*no_such_column"):
        spark.sql("SELECT no_such_column FROM footfall.zone_hourly_total").collect()



def test_replace_partition_refuses_rows_outside_its_keys(spark, claim):
    """The write replaces exactly its keys: one row of another day fails the whole write."""
    d1, d2, zone_set = dt.date(2026, 1, 8), dt.date(2026, 1, 9), "ut_tables_stray"
    claim(days=[d1, d2], zone_sets=[zone_set])
    ensure_tables(spark, (ZONE_HOURLY_TOTAL,))
    first = spark.createDataFrame([_row(d1, 20, "published", zone_set)], ZONE_HOURLY_TOTAL.struct)
    replace_partition(first, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d1})
    stray = spark.createDataFrame([_row(d1, 21, "published", zone_set), _row(d2, 30, "published", zone_set)],
                                  ZONE_HOURLY_TOTAL.struct)
    with pytest.raises(AnalysisException, match=r"DELTA_REPLACE_WHERE_MISMATCH"):
        replace_partition(stray, ZONE_HOURLY_TOTAL, {C.EVENT_DATE: d1})
    assert_df_equality(_days(spark, d1, d2), first, ignore_row_order=True, ignore_nullable=True)


def test_a_table_of_an_earlier_version_gets_the_new_columns(spark):
    """ops.rejected_events gained source_row: an existing table gets it (NULL in old rows)."""
    old = Table("ops.ut_tables_migrate", (Column(C.REASON, StringType(), "Reason"),), "an older version")
    new = Table(old.name, (*old.columns, Column(C.SOURCE_ROW, LongType(), "n-th data row (1 = first)")), old.comment)
    try:
        create_tables(spark, (old,))
        spark.createDataFrame([("malformed",)], old.struct).writeTo(old.name).append()
        create_tables(spark, (new,))
        create_tables(spark, (new,))  # idempotent
        assert [(f.name, f.metadata.get("comment")) for f in spark.table(new.name).schema] == [
            (C.REASON, "Reason"), (C.SOURCE_ROW, "n-th data row (1 = first)")]
        assert [tuple(r) for r in spark.table(new.name).collect()] == [("malformed", None)]
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {old.name}")


def test_ensure_tables_creates_a_table_once_per_session(spark):
    """The second call for a table this session already ensured sends nothing to the catalog:
    a table dropped in between stays dropped (jobs ensure their tables at every step)."""
    table = Table("ops.ut_tables_once", (Column(C.REASON, StringType(), "Reason"),), "ensured once")
    try:
        ensure_tables(spark, (table,))
        assert spark.catalog.tableExists(table.name)
        spark.sql(f"DROP TABLE {table.name}")
        ensure_tables(spark, (table,))
        assert not spark.catalog.tableExists(table.name)
        create_tables(spark, (table,))  # the uncached call creates it again
        assert spark.catalog.tableExists(table.name)
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table.name}")


def test_a_catalog_checked_against_these_definitions_is_checked_no_more(spark, monkeypatch):
    """A session that finds the catalog's fingerprint current checks none of footfall's tables;
    one that finds another version's fingerprint checks them all and records this version's."""
    ensure_tables(spark, (RUNS,))  # the test catalog: every table checked once, the fingerprint recorded
    assert catalog_current(spark)
    checked: list[tuple[str, ...]] = []

    def record(_spark, tables):  # create_tables, with only the names it was given recorded
        checked.append(tuple(t.name for t in tables))

    with monkeypatch.context() as patch:
        patch.setattr(footfall.tables, "create_tables", record)
        footfall.tables._ENSURED.pop(spark)  # as a new process finds the catalog
        ensure_tables(spark, (RUNS, EVENTS))
        assert checked == [()]
    spark.sql(f"ALTER TABLE {RUNS.name} SET TBLPROPERTIES ('footfall.definitions' = 'an earlier version')")
    assert not catalog_current(spark)
    with monkeypatch.context() as patch:
        patch.setattr(footfall.tables, "create_tables", record)
        footfall.tables._ENSURED.pop(spark)
        ensure_tables(spark, (EVENTS,))
        assert checked == [(), tuple(t.name for t in ALL_TABLES), ()]
    assert catalog_current(spark)  # this version's fingerprint recorded again


def test_the_fingerprint_changes_with_any_definition():
    renamed = Table(RUNS.name, RUNS.columns, RUNS.comment + ".")
    retyped = Table(RUNS.name, (Column(RUNS.columns[0].name, LongType(), RUNS.columns[0].comment), *RUNS.columns[1:]),
                    RUNS.comment)
    prints = {definitions_fingerprint(tables) for tables in ((RUNS,), (renamed,), (retyped,), (RUNS, EVENTS))}
    assert len(prints) == 4 and definitions_fingerprint((RUNS,)) == definitions_fingerprint((RUNS,))
