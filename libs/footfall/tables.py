"""Creating the catalog tables from footfall.schemas and writing them idempotently.

Tables are created explicitly (DeltaTable.createIfNotExists) with a comment on every column and
the published tables get CHECK constraints, the table guard (`guard_constraints`), so a code path
that forgot a disclosure rule fails the write instead of publishing. Writes replace exactly one day (replaceWhere), so a
crashed or repeated run of a day leaves the table as one clean run would.

Writes go through the DataSource V2 writer (`DataFrameWriterV2`: overwrite by condition, append)
into the registered table. `DataFrameWriter.saveAsTable(mode="overwrite")` must not be used on an
existing table: Delta treats it as CREATE OR REPLACE TABLE and then rewrites the table's schema
in the Hive metastore (`alterTableDataSchema`), which Hive refuses for a Delta table registered
with Spark's placeholder columns, logging an ERROR with a stack trace on every write
(docs/operations.md, "Catalog and writes"). The V2 overwrite is the same single Delta commit with
`replaceWhere` and leaves the metastore entry alone; the Delta log holds the schema.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.util import inheritable_thread_target

from footfall.config import K_FLOOR
from footfall.schemas import (
    ALL_TABLES,
    NOISY_METRICS,
    PUBLIC_STATUSES,
    PUBLISHED_KEYS,
    PUBLISHED_TABLES,
    RUNS,
    STATUS_DP,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED,
    WEEK_TABLES,
    ZONE_HOURLY,
    C,
    Table,
)

_LOG = logging.getLogger(__name__)
# The tables analysts read: each carries the guard of docs/privacy.md ("The table guard").
GUARDED_TABLES = (*PUBLISHED_TABLES, *WEEK_TABLES)

# Delta keeps min/max statistics of the columns of every data file in its log, also of files a
# republish replaced and vacuumed: of a published table only the keys', never a count.
_STATS = "delta.dataSkippingStatsColumns"
# Statuses of published cells before the one public status (docs/privacy.md): a table of an
# earlier version has them, and they are rewritten to it before the guard is added.
_LEGACY_SUPPRESSED = ("suppressed_primary", "suppressed_secondary")
# Counts of visits that hold 0 or at least k people (docs/privacy.md, section 4); the visit count
# itself is published only where at least k people started a visit, so it is never 0.
_HISTOGRAM_COUNTS = (C.PASSERSBY, C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60, C.DWELL_60PLUS)
# The constraints on visit metrics, added after tables of earlier versions were written: their
# rows that break one lose their visit metrics in the migration (add_guard).
_VISIT_GUARDS = ("visit_counts_at_least_floor", "hourly_visitors_only")


def guard_constraints(table: Table) -> dict[str, str]:
    """The CHECK constraints of a published table, by name (docs/privacy.md, "The table guard").

    A CHECK sees one row, not the privacy mode of the run that wrote it: that a suppression run
    writes no dp cell is enforced by footfall.privacy.suppression.public_status instead.
    """
    metrics = [c for c in table.names if c not in PUBLISHED_KEYS and c != C.STATUS]

    def all_null(names: list[str]) -> str:
        return " AND ".join(f"{c} IS NULL" for c in names)

    statuses = ", ".join(f"'{s}'" for s in PUBLIC_STATUSES)
    zero_or_floor = " AND ".join(f"({c} IS NULL OR {c} = 0 OR {c} >= {K_FLOOR})" for c in _HISTOGRAM_COUNTS)
    guard = {
        "status_known": f"{C.STATUS} IN ({statuses})",
        # A dp count is noisy (docs/dp.md), no exact count of people: it may be small.
        "visitors_at_least_floor": f"{C.STATUS} = '{STATUS_DP}' OR {C.VISITORS} IS NULL OR {C.VISITORS} >= {K_FLOOR}",
        "suppressed_has_no_metric": f"{C.STATUS} <> '{STATUS_SUPPRESSED}' OR ({all_null(metrics)})",
    }
    if C.VISITS in table.names:  # zone_daily_margins publishes visitors only
        visits_floor = f"({C.VISITS} IS NULL OR {C.VISITS} >= {K_FLOOR})"
        guard["visit_counts_at_least_floor"] = f"{C.STATUS} = '{STATUS_DP}' OR ({visits_floor} AND {zero_or_floor})"
        exact = [c for c in metrics if c not in (*NOISY_METRICS, C.VISITORS_EST)]  # the estimate scales noisy visitors
        guard["dp_only_noisy_metrics"] = f"{C.STATUS} <> '{STATUS_DP}' OR ({all_null(exact)})"
    if table.name == ZONE_HOURLY.name:
        guard["hourly_visitors_only"] = f"{C.STATUS} <> '{STATUS_PUBLISHED}' OR ({all_null(_visit_metrics(table))})"
    return guard


def _visit_metrics(table: Table) -> list[str]:
    """Every metric but visitors and its estimate: withheld together when the visit count is
    (docs/privacy.md, section 4)."""
    return [c for c in table.names if c not in PUBLISHED_KEYS and c not in (C.STATUS, C.VISITORS, C.VISITORS_EST)]


# The tables each live Spark session has ensured. Every job and step ensures the tables it touches
# (each must also work alone), so one `footfall run` of one zone set ensured ops.runs five times
# and ref.zones four; each call costs a metastore round trip, a Delta snapshot of the table and
# its properties. A table dropped while a job's session runs is not recreated.
_ENSURED: weakref.WeakKeyDictionary[SparkSession, set[Table]] = weakref.WeakKeyDictionary()


def ensure_tables(spark: SparkSession, tables: tuple[Table, ...] = ALL_TABLES) -> None:
    """create_tables for the tables this session has not ensured yet. footfall's own tables
    (ALL_TABLES) are checked all at once, the first time, unless the catalog says they were
    checked against these very definitions (`catalog_current`): then none is."""
    ensured = _ENSURED.setdefault(spark, set())
    todo = tuple(t for t in tables if t not in ensured)
    if any(t in ALL_TABLES for t in todo):
        if not catalog_current(spark):
            create_tables(spark, tuple(t for t in ALL_TABLES if t not in ensured))
            _mark_current(spark)
        ensured.update(ALL_TABLES)
        todo = tuple(t for t in todo if t not in ensured)
    create_tables(spark, todo)
    ensured.update(todo)


# Where the catalog records the definitions its tables were last checked against: a table
# property of ops.runs, which every job reads anyway. Checking every table against its definition
# (a Delta snapshot or table detail per table) cost about 10 s of a compute's start on the demo
# day's catalog (docs/benchmarks.md), though the tables change only when footfall's version does.
_DEFINITIONS = "footfall.definitions"


def definitions_fingerprint(tables: tuple[Table, ...] = ALL_TABLES) -> str:
    """A digest of everything create_tables makes of the tables: names, comments, columns, types,
    partitioning, a published table's guard and statistics columns."""
    spec = [[t.name, t.comment, list(t.partition_by),
             [[c.name, c.dtype.simpleString(), c.nullable, c.comment] for c in t.columns],
             sorted(_guard_properties(t).items()) if t in GUARDED_TABLES else []] for t in tables]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:32]


def catalog_current(spark: SparkSession) -> bool:
    """Whether every table of ALL_TABLES exists and was checked against this version's definitions."""
    # SHOW TABLES asks the metastore only; tableExists loads each Delta table (DeltaCatalog.loadTable).
    schemas = sorted({t.name.split(".")[0] for t in ALL_TABLES})
    existing = {f"{schema}.{row.tableName}" for schema in schemas if spark.catalog.databaseExists(schema)
                for row in spark.sql(f"SHOW TABLES IN {schema}").collect()}
    if any(t.name not in existing for t in ALL_TABLES):
        return False
    return table_properties(spark, RUNS).get(_DEFINITIONS) == definitions_fingerprint()


def _mark_current(spark: SparkSession) -> None:
    spark.sql(f"ALTER TABLE {RUNS.name} SET TBLPROPERTIES ('{_DEFINITIONS}' = '{definitions_fingerprint()}')")


def create_tables(spark: SparkSession, tables: tuple[Table, ...]) -> None:
    """Create the schemas and tables that do not exist yet, add the columns and the constraints
    an existing table lacks (idempotent)."""
    for schema in sorted({t.name.split(".")[0] for t in tables}):
        if not spark.catalog.databaseExists(schema):
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in tables:
        if spark.catalog.tableExists(table.name):
            _align_columns(spark, table)
            if table in GUARDED_TABLES:
                add_guard(spark, table)
            continue
        # A new table is created as this version defines it, its guard and statistics columns
        # in its first commit (one ALTER TABLE per constraint costs a commit each): checking it
        # against the definition, as an existing one is, cost about 1 s per published table.
        builder = DeltaTable.createIfNotExists(spark).tableName(table.name).comment(table.comment)
        for column in table.columns:
            builder = builder.addColumn(column.name, column.dtype, nullable=column.nullable, comment=column.comment)
        if table.partition_by:
            builder = builder.partitionedBy(*table.partition_by)
        if table in GUARDED_TABLES:
            for key, value in _guard_properties(table).items():
                builder = builder.property(key, value)
        builder.execute()


def _align_columns(spark: SparkSession, table: Table) -> None:
    """A table created by an earlier version gets the columns added since (e.g. source_row of
    ops.rejected_events), NULL in its old rows, and the column comments changed since (analysts
    read them; one longer than the metastore's 256 characters slowed every view over the table);
    createIfNotExists leaves an existing table alone."""
    present = {f.name: f.metadata.get("comment") for f in spark.table(table.name).schema.fields}
    missing = [c for c in table.columns if c.name not in present]
    if missing:
        spec = ", ".join(f"{c.name} {c.dtype.simpleString()} COMMENT '{_quoted(c.comment)}'" for c in missing)
        spark.sql(f"ALTER TABLE {table.name} ADD COLUMNS ({spec})")
    for column in table.columns:
        if column.name in present and present[column.name] != column.comment:
            spark.sql(f"ALTER TABLE {table.name} ALTER COLUMN {column.name} COMMENT '{_quoted(column.comment)}'")


def _quoted(comment: str) -> str:
    """The comment as the body of a SQL string literal, stored exactly as the builder stores it."""
    return comment.replace("\\", "\\\\").replace("'", "\\'")


def add_guard(spark: SparkSession, table: Table) -> None:
    """Add the guard's constraints a published table lacks; one whose expression changed since
    the table was created is replaced (Delta checks the existing rows on ADD CONSTRAINT). A table
    of an earlier version is migrated first: rows with the statuses that said why a cell was
    withheld get the one public status, and published rows that break a constraint on the visit
    metrics lose their visit metrics (all of them, as when the visit count is withheld); then it
    is vacuumed, as the versions before hold what was rewritten. A migration that did not finish
    is done again: the constraints are added after it, status_known last. And the file
    statistics in the Delta log are kept to the keys (`_STATS`)."""
    properties = table_properties(spark, table)
    prefix = "delta.constraints."
    guard = guard_constraints(table)
    # Delta stores the expression re-spaced ("IN ( 'a' , 'b' )"): compared without spaces.
    missing = [name for name, check in guard.items()
               if _unspaced(properties.get(prefix + name) or "") != _unspaced(check)]
    updates = [", ".join(f"{c} = NULL" for c in _visit_metrics(table))
               + f" WHERE {C.STATUS} = '{STATUS_PUBLISHED}' AND NOT ({guard[name]})"
               for name in _VISIT_GUARDS if name in missing]
    if "status_known" in missing:
        legacy = ", ".join(f"'{s}'" for s in _LEGACY_SUPPRESSED)
        updates.append(f"{C.STATUS} = '{STATUS_SUPPRESSED}' WHERE {C.STATUS} IN ({legacy})")
    if updates and table_version(spark, table) > 0:  # it has rows from before
        for update in updates:
            spark.sql(f"UPDATE {table.name} SET {update}")
        vacuum_now(spark, (table,))
    stats = _stats_columns(table)
    if properties.get(_STATS) != stats:
        spark.sql(f"ALTER TABLE {table.name} SET TBLPROPERTIES ('{_STATS}' = '{stats}')")
    for name in sorted(missing, key=lambda n: n == "status_known"):
        if prefix + name in properties:
            spark.sql(f"ALTER TABLE {table.name} DROP CONSTRAINT {name}")
        spark.sql(f"ALTER TABLE {table.name} ADD CONSTRAINT {name} CHECK ({guard[name]})")


def table_properties(spark: SparkSession, table: Table) -> dict[str, str]:
    """The table's properties as Delta stores them. Not SHOW TBLPROPERTIES: Spark redacts values
    there, and zone_hourly's visitors-only constraint came back as `*********(redacted)`, so
    add_guard found it missing on every first ensure of a session and migrated the table again
    (an UPDATE, a constraint dropped and added, a VACUUM: about 18 s of every compute)."""
    detail = DeltaTable.forName(spark, table.name).detail().first()
    return dict(detail["properties"]) if detail is not None else {}


def _guard_properties(table: Table) -> dict[str, str]:
    """The table properties add_guard leaves on a published table: its constraints and `_STATS`."""
    return {**{f"delta.constraints.{name}": check for name, check in guard_constraints(table).items()},
            _STATS: _stats_columns(table)}


def _stats_columns(table: Table) -> str:
    return ",".join(c for c in PUBLISHED_KEYS if c in table.names and c not in table.partition_by)


def _unspaced(expression: str) -> str:
    return re.sub(r"\s+", "", expression).lower()


def _condition(keys: Mapping[str, object]) -> Column:
    """`c1 = v1 AND c2 IN (v2, v3) ...` over the keys (a tuple: any of its values), as literals
    (never user SQL)."""
    condition: Column | None = None
    for column, value in sorted(keys.items()):
        if value == ():
            raise ValueError(f"replace_partition: no value given for {column}")
        term = F.col(column).isin(*value) if isinstance(value, tuple) else F.col(column) == F.lit(value)
        condition = term if condition is None else condition & term
    if condition is None:
        raise ValueError("replace_partition needs at least one key: use replace_all for the whole table")
    return condition


def replace_partition(df: DataFrame, table: Table, keys: Mapping[str, object]) -> None:
    """Atomically replace the rows of `table` matching `keys` (e.g. one event_date) with `df`.

    `df` must already have exactly the table's columns; keys name columns with literal values
    (dates or strings, or a tuple of them: any of its values). One Delta commit with replaceWhere:
    the written rows must all match the keys (Delta refuses the write otherwise) and no other row
    of the table changes.
    """
    df.select(*table.names).writeTo(table.name).overwrite(_condition(keys))


def replace_all(df: DataFrame, table: Table) -> None:
    """Atomically replace every row of `table` with `df` (one Delta commit; the table, its column
    comments and constraints stay as created)."""
    df.select(*table.names).writeTo(table.name).overwrite(F.lit(True))


def append(df: DataFrame, table: Table) -> None:
    df.select(*table.names).writeTo(table.name).append()


def vacuum_now(spark: SparkSession, tables: tuple[Table, ...]) -> None:
    """VACUUM with zero retention: the files no current version references are physically gone,
    not only unlisted, so no time-travel read can reach them. Delta guards a retention under 7
    days behind a switch because it breaks time travel and concurrent readers of the removed
    versions: here that is the point (erasure, a replaced release). A writer of the same table
    must not run at the same time (its files are not referenced yet): jobs run one at a time
    (docs/operations.md)."""
    check = "spark.databricks.delta.retentionDurationCheck.enabled"
    before = spark.conf.get(check, "true") or "true"
    spark.conf.set(check, "false")
    try:
        # One thread per table: each VACUUM is a few small Spark jobs (list, compare, delete) that
        # leave the cores idle between them; side by side, a republish's four take the time of one.
        # inheritable_thread_target: the jobs keep the step's job description (footfall.observe).
        vacuum = inheritable_thread_target(spark)(lambda table: DeltaTable.forName(spark, table.name).vacuum(0.0))
        with ThreadPoolExecutor(max_workers=max(len(tables), 1)) as pool:
            futures = {table.name: pool.submit(vacuum, table) for table in tables}
        failed = [(name, error) for name, f in futures.items() if (error := f.exception()) is not None]
        for name, error in failed:
            _LOG.error("VACUUM of %s failed: %s", name, error)
        if failed:
            raise failed[0][1]
    finally:
        spark.conf.set(check, before)


def table_version(spark: SparkSession, table: Table) -> int:
    """Current Delta version of a table, recorded in the run manifest as an input version."""
    row = DeltaTable.forName(spark, table.name).history(1).select("version").first()
    return int(row["version"]) if row is not None else -1
