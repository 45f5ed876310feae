"""Statements in, readable results out: what `footfall sql` and `footfall duckdb` share for
-e / -f scripts (argument parsing, splitting a script into statements, rendering a result as an
aligned table, CSV or JSON lines)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlparse
from sqlparse import tokens
from sqlparse.lexer import Lexer

FORMATS = ("table", "csv", "json")


def add_script_arguments(parser: argparse.ArgumentParser) -> None:
    """-e / -f / --format, shared by `footfall sql` and `footfall duckdb`."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("-e", dest="execute", metavar="SQL", help="run these ;-separated statements and exit")
    source.add_argument("-f", dest="file", metavar="FILE", type=Path, help="run the statements in FILE and exit")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output of -e/-f (default: table)")


def split_statements(text: str) -> list[str]:
    """Split a script into statements on `;` outside strings and quoted names, with `--` and
    `/* */` comments removed (Spark's `/*+ ... */` hints kept); empty statements are dropped.

    sqlparse's lexer finds the strings and comments and its splitter the statements. The comments
    are dropped token by token rather than with sqlparse.format(strip_comments=True), which
    groups the tokens first and refuses statements of more than 10,000 tokens."""
    kept = []
    for ttype, value in Lexer.get_default_instance().get_tokens(text):
        if ttype in tokens.Comment and ttype is not tokens.Comment.Multiline.Hint:
            kept.append("\n" if value.endswith(("\n", "\r")) else " ")  # the comment's line break stays
        else:
            kept.append(value)
    statements = sqlparse.split("".join(kept), strip_semicolon=True)
    return [s.strip() for s in statements if s.strip()]


def _plain(value: Any) -> Any:
    """A value as JSON would hold it: dates ISO, binary hex, decimals and floats as numbers."""
    if isinstance(value, dt.datetime):
        # DuckDB returns time-zone-aware instants; shown in UTC like Spark's session time zone.
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Any, null: str) -> str:
    value = _plain(value)
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float | decimal.Decimal) and not isinstance(v, bool) for v in present
    )


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """Rows as an aligned text table (numbers right-aligned, NULL spelled out), CSV (NULL empty)
    or JSON lines (NULL null). Always ends with a newline."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(v, "") for v in row] for row in rows)
        return out.getvalue()
    if fmt == "json":
        return "".join(
            json.dumps({c: _plain(v) for c, v in zip(columns, row, strict=True)}) + "\n" for row in rows
        )
    # The text table stays hand-written: its exact layout (" | ", NULL, the row count) is what
    # scripts read from `footfall sql` and `footfall duckdb`; DataFrame.to_string pads every
    # column and shows missing values as None or NaN, and no table library is a dependency.
    cells = [[_text(v, "NULL") for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    right = [_numeric([row[i] for row in rows]) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return " | ".join(
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ).rstrip()

    lines = [line(columns), "-+-".join("-" * w for w in widths)]
    lines += [line(r) for r in cells]
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines) + "\n"
