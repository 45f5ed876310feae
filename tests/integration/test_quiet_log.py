"""A successful `footfall run` logs no ERROR and no stack trace (issue #14), also when it reruns a
day into tables that already exist.

The run is a subprocess on its own data folder (the tiny landing of test_step_lines), so its
whole log, the JVM's included, is captured. Every table write of a job goes through
footfall.tables (replace_partition, replace_all, append); before, saveAsTable(mode="overwrite")
made Delta rewrite the table's schema in the Hive metastore and Hive logged
`ERROR HiveAlterHandler: Failed to alter table` with a trace on each write.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from integration.test_step_lines import DAY, KEY, _landing
from support import run_footfall

# slow tier (make test-slow): two whole `footfall run`s as subprocesses
pytestmark = pytest.mark.slow

# A log4j or Python log line at level ERROR, and the lines a Java or Python trace consists of.
ERROR = re.compile(r"\bERROR\b")
TRACE = re.compile(r"^\s+at \S+\(|^Traceback |^Caused by: |^\s+\.\.\. \d+ more")


def _problems(text: str) -> list[str]:
    return [line for line in text.splitlines() if ERROR.search(line) or TRACE.search(line)]


def test_run_and_rerun_log_no_error_and_no_trace(tmp_path: Path):
    _landing(tmp_path)
    log = tmp_path / "run.log"
    run_footfall(tmp_path, log, KEY, "run", "--date", DAY.isoformat())
    # The rerun writes into every table that now exists (zones, cells, ... the published grids).
    run_footfall(tmp_path, log, KEY, "run", "--date", DAY.isoformat(), "--republish")
    text = log.read_text()
    assert text.count("footfall-step job=compute step=footfall.zone_daily") == 2, text[-3000:]
    problems = _problems(text)
    assert not problems, "\n".join(problems[:40])
