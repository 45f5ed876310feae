"""One parseable log line per job step, and the step's name on its Spark jobs.

    with step("ingest", "validate", spark) as s:
        ...
        s.record(rows_in=n_in, rows_out=n_out)

logs, when the block ends (also when it raises, then with status=failed and the error's type):

    footfall-step job=ingest step=validate rows_in=1000 rows_out=990 seconds=1.234 status=ok

Operators grep the driver log for `footfall-step` and split the fields with `parse_step_line`
(or any key=value parser: values with spaces are shell-quoted). With a SparkSession, the Spark
jobs the step starts carry the description "footfall ingest: validate", so the Spark UI and the
event log (history server) show which step a stage belongs to.

Only counts, sizes and names belong in a step line, never an identifier or a secret: the line
goes to the driver log as it is.
"""

from __future__ import annotations

import logging
import re
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PREFIX = "footfall-step"
_KEY = re.compile(r"[a-z][a-z0-9_]*\Z")
# Written last, in this order, by `step` itself; a caller's field of the same name is refused.
_RESERVED = ("job", "step", "seconds", "status", "error")

log = logging.getLogger("footfall.step")

FieldValue = int | float | str | bool | None


@dataclass
class Step:
    """A running step; `record` adds or updates the fields of its summary line."""

    job: str
    name: str
    fields: dict[str, FieldValue] = field(default_factory=dict)

    def record(self, **fields: FieldValue) -> None:
        for key in fields:
            if not _KEY.match(key) or key in _RESERVED:
                raise ValueError(f"step field '{key}' must be lower_snake_case and not one of {_RESERVED}")
        self.fields.update(fields)


def _format_value(value: FieldValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}"
    return shlex.quote(str(value))


def format_step_line(job: str, name: str, fields: dict[str, FieldValue]) -> str:
    """`footfall-step job=<job> step=<name> k=v ...` with the fields in the order given."""
    parts = [PREFIX, f"job={_format_value(job)}", f"step={_format_value(name)}"]
    parts += [f"{key}={_format_value(value)}" for key, value in fields.items()]
    return " ".join(parts)


def parse_step_line(line: str) -> dict[str, str] | None:
    """The fields of a step line as strings (anything before the prefix, e.g. a log-format
    timestamp, is ignored); None if the line is not a step line."""
    start = line.find(PREFIX + " ")
    if start < 0:
        return None
    tokens = shlex.split(line[start + len(PREFIX) + 1 :])
    return dict(token.split("=", 1) for token in tokens if "=" in token)


@contextmanager
def step(job: str, name: str, spark: SparkSession | None = None, **fields: FieldValue) -> Iterator[Step]:
    """Time a step and log its summary line when it ends, ok or failed (then the error re-raises)."""
    current = Step(job, name)
    current.record(**fields)
    context = spark.sparkContext if spark is not None else None
    previous = context.getLocalProperty("spark.job.description") if context is not None else None
    if context is not None:
        context.setJobDescription(f"footfall {job}: {name}")
    t0 = time.monotonic()
    status: dict[str, FieldValue] = {"status": "ok"}
    try:
        yield current
    except BaseException as exc:
        status = {"status": "failed", "error": type(exc).__name__}
        raise
    finally:
        if context is not None:
            # None clears the property: later jobs are not labelled with a finished step.
            context.setLocalProperty("spark.job.description", previous)  # type: ignore[arg-type]
        summary = {**current.fields, "seconds": round(time.monotonic() - t0, 3), **status}
        log.info("%s", format_step_line(job, name, summary))
