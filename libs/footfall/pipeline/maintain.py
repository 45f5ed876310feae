"""`footfall maintain`: enforce the retention limit on restricted data, compact, vacuum.

Restricted tables (events, visits, subscriber snapshots, rejected rows) keep at most
`retention.restricted_days` days. Older days are DELETEd, the tables compacted (OPTIMIZE) and
VACUUMed with zero retention so the deleted rows' data files are physically gone, not only
unreferenced: erasure that a later time-travel query cannot undo. Published tables are not
touched: they hold only suppressed aggregates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from footfall.config import Config
from footfall.errors import EXIT_OK
from footfall.manifest import recorded_run
from footfall.schemas import EVENTS, REJECTED_EVENTS, SUBSCRIBERS, VISITS, C, Table
from footfall.session import build_session
from footfall.tables import ensure_tables, vacuum_now

log = logging.getLogger(__name__)

# Each restricted table and its date column (all are partitioned by it, so the DELETE drops
# whole files and leaves no deletion vectors behind).
RETAINED: tuple[tuple[Table, str], ...] = (
    (EVENTS, C.EVENT_DATE),
    (VISITS, C.EVENT_DATE),
    (REJECTED_EVENTS, C.EVENT_DATE),
    (SUBSCRIBERS, C.SNAPSHOT_DATE),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=None,
        help="reference date (default: today, UTC); days before as-of minus the retention are erased",
    )


def command(args: argparse.Namespace, cfg: Config) -> int:
    spark = build_session(cfg)
    run(spark, cfg, args.as_of or dt.datetime.now(dt.UTC).date())
    return EXIT_OK


def cutoff_date(as_of: dt.date, retention_days: int) -> dt.date:
    """The oldest date kept: a retention of 30 days on 2026-04-30 keeps 2026-04-01 onwards."""
    return as_of - dt.timedelta(days=retention_days - 1)


def run(spark: SparkSession, cfg: Config, as_of: dt.date) -> dict[str, int]:
    """Erase restricted rows older than the retention; returns rows deleted per table."""
    keep_from = cutoff_date(as_of, cfg.retention.restricted_days)
    ensure_tables(spark, tuple(t for t, _ in RETAINED))
    deleted: dict[str, int] = {}
    parameters = {"keep_from": keep_from.isoformat(), "retention_days": cfg.retention.restricted_days}
    with recorded_run(spark, cfg, "maintain", as_of, parameters=parameters) as rec:
        for table, date_col in RETAINED:
            old = F.col(date_col) < F.lit(keep_from)
            n = spark.table(table.name).where(old).count()
            delta_table = DeltaTable.forName(spark, table.name)
            if n:
                delta_table.delete(old)
            delta_table.optimize().executeCompaction()
            deleted[table.name] = n
        # Zero-hour VACUUM is what makes erasure real.
        vacuum_now(spark, tuple(t for t, _ in RETAINED))
        log.info("maintain: deleted %s before %s, compacted, vacuumed", deleted, keep_from)
        rec.counts.update({f"deleted.{name}": n for name, n in deleted.items()})
    return deleted


def data_files(table_location: str) -> set[str]:
    """Parquet data files below a table folder (for tests and audits)."""
    return {str(p) for p in Path(table_location).rglob("*.parquet")}
