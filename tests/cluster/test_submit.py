"""spark-submit with the package against the standalone cluster: doctor, code from the package
only, event logs, history server."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from harness import ROOT, Submitter, check, cluster_sh

pytestmark = pytest.mark.cluster

HISTORY_API = "http://127.0.0.1:18180/api/v1/applications"


def test_doctor_runs_on_the_cluster(submitter: Submitter, tmp_path: Path) -> None:
    out = check(submitter.run("doctor", tmp_path / "data"))
    assert "smoke query: OK (Sedona ST_Contains true, Delta round trip 3 rows)" in out
    # jars came from spark-submit (--jars), not from a jars folder of the config
    assert '"jars_dir": null' in out and "sedona-spark-shaded-4.0_2.13-1.8.0.jar" in out
    stderr = (submitter.workdir / "doctor.stderr.log").read_text()
    assert "Connecting to master spark://127.0.0.1:7177" in stderr


def test_driver_and_executors_import_footfall_from_the_package(submitter: Submitter, tmp_path: Path) -> None:
    out = check(submitter.run(str(Path(__file__).with_name("probe_footfall.py")), tmp_path / "data"))
    result = json.loads(next(line for line in out.splitlines() if line.startswith("probe-result "))[13:])
    site = "/env/lib/python3.11/site-packages/footfall/__init__.py"
    driver = result["driver"]
    assert driver["footfall"] == str(ROOT / "dist") + site, driver
    assert driver["cwd"] == str(submitter.workdir), driver
    executors = result["executors"]
    assert len(executors) == 4
    for executor in executors:
        # unpacked from footfall-env.tar.gz (--archives ...#env) in the executor's work folder
        assert executor["footfall"].endswith(site), executor
        assert "/worker-" in executor["cwd"] and executor["python"].endswith("env/bin/python"), executor
        assert not executor["footfall"].startswith(str(ROOT / "libs"))
    assert len({e["cwd"] for e in executors}) == 2, "both executors should have answered"


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
        assert names <= {"footfall-doctor", "footfall-probe_footfall"} and "footfall-doctor" in names, names
    finally:
        cluster_sh("history-down")

