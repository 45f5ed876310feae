"""`footfall sql`: SQL on the analyst catalog (published tables, ref.zones, convenience views).

Without arguments it opens pyspark's interactive spark-sql shell; `-e "..."` and `-f file.sql`
run in this process and print each result as a table, CSV or JSON lines, for scripts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampNTZType, TimestampType

from footfall.analyst import thrift
from footfall.analyst.catalog import (
    analyst_config,
    ensure_catalog,
    ensure_table_paths,
    refresh,
    spark_env,
    spark_home,
    spark_submit_args,
)
from footfall.analyst.statements import add_script_arguments, render, split_statements
from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError, SetupError
from footfall.session import build_session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_script_arguments(parser)


def command(args: argparse.Namespace, cfg: Config) -> int:
    server = thrift.running(cfg)
    if server is not None:
        raise SetupError(
            f"the Thrift server (pid {server.pid}) holds the analyst catalog: query it with "
            f"`beeline -u {server.url}` or stop it with `footfall thrift stop`"
        )
    if args.execute is None and args.file is None:
        return shell(cfg)
    if args.file is not None and not args.file.is_file():
        raise BadInputError(f"SQL file {args.file} not found")
    text = args.execute if args.execute is not None else args.file.read_text()
    statements = split_statements(text)
    paths = ensure_table_paths(cfg)
    os.environ.update(spark_env(cfg))  # read by the JVM pyspark launches: bind to loopback locally
    spark = build_session(analyst_config(cfg))
    refresh(spark.sql, cfg, paths)
    for number, statement in enumerate(statements, start=1):
        try:
            sys.stdout.write(run_statement(spark, statement, args.format))
        except PySparkException as exc:
            first = str(exc).strip().splitlines()[0]
            raise BadInputError(
                f"statement {number} failed: {first} "
                "(analysts see footfall.* and ref.zones only: SHOW TABLES IN footfall)"
            ) from None
        sys.stdout.flush()
    return EXIT_OK


def shell(cfg: Config) -> int:
    """pyspark's spark-sql with the footfall settings, on the analyst catalog."""
    ensure_catalog(cfg)
    spark_sql = spark_home() / "bin" / "spark-sql"
    cmd = [str(spark_sql), *spark_submit_args(cfg), "--hiveconf", "hive.cli.print.header=true"]
    return subprocess.call(cmd, env=spark_env(cfg))


def run_statement(spark: SparkSession, statement: str, fmt: str) -> str:
    """One statement's result rendered in `fmt`; empty for statements without a result."""
    df = spark.sql(statement)
    if not df.columns:
        return ""
    names = df.columns
    return render(names, [tuple(r) for r in _timestamps_as_text(df).collect()], fmt)


def _timestamps_as_text(df: DataFrame) -> DataFrame:
    """Timestamps as text in the session time zone (UTC): collect() would shift them into the
    Python process's zone. Columns are renamed by position first: a join may repeat a name."""
    if not any(isinstance(f.dataType, TimestampType | TimestampNTZType) for f in df.schema):
        return df
    positional = df.toDF(*(f"c{i}" for i in range(len(df.columns))))
    return positional.select(*(
        F.col(f"c{i}").cast("string") if isinstance(f.dataType, TimestampType | TimestampNTZType) else F.col(f"c{i}")
        for i, f in enumerate(df.schema)
    ))
