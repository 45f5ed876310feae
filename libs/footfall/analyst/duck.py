"""`footfall duckdb`: the published Delta tables in DuckDB, without Spark or a JVM.

An in-memory DuckDB gets one view per analyst table, named like the catalog table
(footfall.zone_hourly = delta_scan of its location), the same convenience views as the analyst
catalog, and in ref.zones an extra column `geom` (ST_GeomFromWKB of `geometry`). The delta and
spatial extensions are loaded from their pinned PyPI wheels, never installed from the network.
After setup DuckDB may read only the table folders: no other file, no network.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping
from pathlib import Path

import duckdb
from pyspark.sql.types import TimestampType

from footfall.analyst.catalog import ANALYST_TABLES, ensure_table_paths, local_path
from footfall.analyst.statements import add_script_arguments, render, split_statements
from footfall.analyst.views import duckdb_view_sql, views_for
from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError, SetupError
from footfall.schemas import ZONES, C, Table

EXTENSIONS = ("delta", "spatial")
GEOM = "geom"


def extension_file(name: str) -> Path:
    """The extension binary inside the `duckdb-extension-<name>` wheel, for this DuckDB version."""
    package = importlib.import_module(f"duckdb_extension_{name}")
    path = Path(package.__file__ or "").parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise SetupError(f"DuckDB {name} extension for v{duckdb.__version__} not found at {path}: run `make setup`")
    return path


def table_sql(table: Table, location: str) -> str:
    """The view standing for a catalog table. Timestamps become plain UTC timestamps, as Spark
    shows them in its UTC session: delta_scan reads them as TIMESTAMP WITH TIME ZONE."""
    instants = [c.name for c in table.columns if isinstance(c.dtype, TimestampType)]
    replace = f" REPLACE ({', '.join(f'CAST({c} AS TIMESTAMP) AS {c}' for c in instants)})" if instants else ""
    extra = f", ST_GeomFromWKB({C.GEOMETRY}) AS {GEOM}" if table == ZONES else ""
    return f"CREATE OR REPLACE VIEW {table.name} AS SELECT *{replace}{extra} FROM delta_scan('{local_path(location)}')"


def connect(paths: Mapping[str, str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the analyst tables (by location) and the convenience views."""
    con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
    for name in EXTENSIONS:
        con.execute(f"LOAD '{extension_file(name)}'")
    con.execute("SET TimeZone = 'UTC'")  # like the Spark sessions: timestamps are UTC instants
    for schema in sorted({n.split(".")[0] for n in paths}):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in ANALYST_TABLES:
        if table.name in paths:
            con.execute(table_sql(table, paths[table.name]))
    for view in views_for(paths):
        con.execute(duckdb_view_sql(view))
    # From here on only the published folders are readable: no restricted table by path, no network.
    folders = ", ".join(f"'{local_path(loc).rstrip('/')}/'" for loc in sorted(paths.values()))
    con.execute(f"SET allowed_directories = [{folders}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_statement(con: duckdb.DuckDBPyConnection, statement: str, fmt: str) -> str:
    cursor = con.execute(statement)
    if cursor.description is None:
        return ""
    return render([d[0] for d in cursor.description], cursor.fetchall(), fmt)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_script_arguments(parser)


def command(args: argparse.Namespace, cfg: Config) -> int:
    if args.file is not None and not args.file.is_file():
        raise BadInputError(f"SQL file {args.file} not found")
    con = connect(ensure_table_paths(cfg))
    if args.execute is None and args.file is None:
        return repl(con, args.format)
    text = args.execute if args.execute is not None else args.file.read_text()
    for number, statement in enumerate(split_statements(text), start=1):
        try:
            sys.stdout.write(run_statement(con, statement, args.format))
        except duckdb.Error as exc:
            raise BadInputError(f"statement {number} failed: {str(exc).splitlines()[0]}") from None
        sys.stdout.flush()
    return EXIT_OK


def repl(con: duckdb.DuckDBPyConnection, fmt: str) -> int:
    """A small interactive loop: statements end with `;`, `.quit` or Ctrl-D leaves."""
    import readline  # noqa: F401  (line editing and history for input())

    print("footfall duckdb: footfall.* and ref.zones; end statements with ';', .quit to leave")
    buffer: list[str] = []
    while True:
        try:
            line = input("duckdb> " if not buffer else "   ...> ")
        except EOFError:
            print()
            return EXIT_OK
        if not buffer and line.strip() in (".quit", ".exit"):
            return EXIT_OK
        buffer.append(line)
        if not line.rstrip().endswith(";"):
            continue
        for statement in split_statements("\n".join(buffer)):
            try:
                sys.stdout.write(run_statement(con, statement, fmt))
            except duckdb.Error as exc:
                print(f"error: {exc}")
        buffer = []
