"""spark-submit with the package against the standalone cluster: doctor, code from the package
only (the doctor reports where the driver and each executor import footfall from), event logs,
history server."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from harness import ROOT, Submitter, check, cluster_sh

pytestmark = pytest.mark.cluster

HISTORY_API = "http://127.0.0.1:18180/api/v1/applications"


def test_doctor_runs_on_the_cluster_and_its_executors_import_footfall_from_the_package(
    submitter: Submitter, tmp_path: Path
) -> None:
    out = check(submitter.run("doctor", tmp_path / "data"))
    assert "smoke query: OK (Sedona ST_Contains true, Delta round trip 3 rows)" in out
    # jars came from spark-submit (--jars), not from a jars folder of the config
    assert '"jars_dir": null' in out and "sedona-spark-shaded-4.0_2.13-1.8.0.jar" in out
    stderr = (submitter.workdir / "doctor.stderr.log").read_text()
    assert "Connecting to master spark://127.0.0.1:7177" in stderr
    # The driver (client mode) runs the package's unpacked env, not the checkout's libs/.
    site = "/env/lib/python3.11/site-packages/footfall/__init__.py"
    driver = next(line for line in out.splitlines() if line.startswith("footfall: "))
    assert driver.endswith(" from " + str(ROOT / "dist") + site), driver
    # Each executor runs the archive (--archives ...#env) unpacked in its own work folder on its
    # worker: one line per executor, and both answered.
    executors = [line.split(" | ") for line in out.splitlines() if line.startswith("executor: ")]
    assert len(executors) == 2, executors
    for module, python, cwd in executors:
        assert module.endswith(site) and not module.removeprefix("executor:   footfall from ").startswith(
            str(ROOT / "libs")), module
        assert python.startswith("python ") and python.endswith("env/bin/python"), python
        assert cwd.startswith("cwd ") and "/worker-" in cwd, cwd
    assert len({cwd for _, _, cwd in executors}) == 2


def test_event_logs_are_written_and_served_by_the_history_server(submitter: Submitter, tmp_path: Path) -> None:
    def applications() -> set[str]:
        # Spark 4 writes rolling event logs: one folder eventlog_v2_<application id> per run
        folder = submitter.event_log_dir
        return {p.name.removeprefix("eventlog_v2_") for p in folder.iterdir()} if folder.is_dir() else set()

    logs = applications()
    if not logs:  # this test ran alone: make one application's log
        check(submitter.run("doctor", tmp_path / "data"))
        logs = applications()
    assert logs and all(name.startswith("app-") for name in logs), logs
    up = cluster_sh("history-up", EVENT_LOG_DIR=str(submitter.event_log_dir))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        seen: dict[str, str] = {}
        for _ in range(60):
            with urllib.request.urlopen(HISTORY_API, timeout=10) as answer:
                seen = {app["id"]: app["name"] for app in json.load(answer)}
            if logs <= set(seen):
                break
            time.sleep(1)
        assert logs <= set(seen)
        # each application is named after its job (submit.sh --name footfall-<job>)
        names = {seen[app] for app in logs}
        assert names == {"footfall-doctor"}, names
    finally:
        cluster_sh("history-down")

