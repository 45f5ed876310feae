"""The slow tier's generated day, generated and run once per session (fixture `generated_day`).

Its `footfall generate` and `footfall run` (6,000 subscribers, about 4.5 minutes) start in the
background as soon as the session has collected a test that reads the day, and the tests that
read it run last: the day is made while the other slow tests run, which saves most of its time
on the 2-core machine (each test's own processes spend much of theirs starting JVMs and waiting).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import GENERATED_DATE, GENERATED_ZONE_SETS, ROOT, GeneratedDay, footfall_command, footfall_env

SUBSCRIBERS = 6000
SEED = 5
MASTER = "cd" * 32
FIXTURE = "generated_day"


class _Making:
    """The background `footfall generate` + `footfall run` of the generated day."""

    def __init__(self) -> None:
        self.data = Path(tempfile.mkdtemp(prefix="footfall-generated-day-"))
        self.log = self.data / "run.log"
        day = GENERATED_DATE.isoformat()
        zone_sets = [arg for zone_set in GENERATED_ZONE_SETS for arg in ("--zone-set", zone_set)]
        generate = footfall_command(self.data, "generate", "--date", day, "--subscribers", str(SUBSCRIBERS),
                                    "--seed", str(SEED))
        run = footfall_command(self.data, "run", "--date", day, *zone_sets)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(["bash", "-c", f"{shlex.join(generate)} && {shlex.join(run)}"],
                                            cwd=ROOT, env=footfall_env(MASTER), stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self) -> GeneratedDay:
        assert self.process.wait(timeout=3600) == 0, self.log.read_text()[-3000:]
        return GeneratedDay(data=self.data, log=self.log, key=MASTER, day=GENERATED_DATE, subscribers=SUBSCRIBERS,
                            zone_sets=GENERATED_ZONE_SETS)

    def stop(self, keep: bool) -> None:
        if self.process.poll() is None:  # the session ended before a reader waited for it
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if not keep:
            shutil.rmtree(self.data, ignore_errors=True)


_making: _Making | None = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that read the generated day go last, after the ones it is made beside."""
    readers = [item for item in items if FIXTURE in getattr(item, "fixturenames", ())]
    items[:] = [item for item in items if item not in readers] + readers


def pytest_collection_finish(session: pytest.Session) -> None:
    global _making
    if any(FIXTURE in getattr(item, "fixturenames", ()) for item in session.items):
        _making = _Making()


def pytest_sessionfinish(exitstatus: int) -> None:
    if _making is not None:
        _making.stop(keep=exitstatus != 0)  # a failed session keeps the day (and its log) to look at


@pytest.fixture(scope="session")
def generated_day() -> GeneratedDay:
    """`footfall generate` (6,000 subscribers) and `footfall run` of GENERATED_ZONE_SETS on
    GENERATED_DATE, as subprocesses in a data folder of their own (tests/support.py GeneratedDay).
    The tests that read it (test_disclosure_attack.py, test_accuracy_floors.py) only read."""
    assert _making is not None, "collection found no test that reads the generated day"
    return _making.wait()
