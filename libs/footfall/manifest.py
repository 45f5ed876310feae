"""The run manifest: one row per job run in ops.runs, written whether the run succeeds or fails.

For operators (what ran, how long, how many rows) and the privacy officer (parameters, k,
suppression counts, code version, input table versions).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

import footfall
from footfall.config import Config
from footfall.schemas import RUNS
from footfall.tables import append, ensure_tables


def code_version() -> str:
    """footfall's version plus the git commit when run from a checkout."""
    commit = ""
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=False)
        commit = out.stdout.strip()
    return f"{footfall.__version__}+{commit}" if commit else footfall.__version__


@dataclasses.dataclass
class Run:
    """What a job records while it runs; `counts` and `input_versions` are filled by the job."""

    job: str
    event_date: dt.date | None
    zone_set: str | None
    parameters: dict[str, Any]
    k: int | None
    run_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    input_versions: dict[str, int] = dataclasses.field(default_factory=dict)


@contextmanager
def recorded_run(
    spark: SparkSession, cfg: Config, job: str, event_date: dt.date | None = None,
    zone_set: str | None = None, parameters: dict[str, Any] | None = None,
) -> Iterator[Run]:
    """Yield a Run; on exit append its row to ops.runs with status ok, or failed plus the message."""
    ensure_tables(spark, (RUNS,))
    run = Run(job, event_date, zone_set, parameters or {}, cfg.privacy.k)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    t0 = time.monotonic()
    status, message = "ok", None
    try:
        yield run
    except BaseException as exc:
        status, message = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        row = (
            run.run_id, job, event_date, zone_set, started, dt.datetime.now(dt.UTC).replace(tzinfo=None),
            round(time.monotonic() - t0, 3), status, json.dumps(run.parameters, sort_keys=True, default=str),
            run.k, code_version(), {k: int(v) for k, v in run.input_versions.items()},
            {k: int(v) for k, v in run.counts.items()}, message,
        )
        append(spark.createDataFrame([row], RUNS.struct), RUNS)
