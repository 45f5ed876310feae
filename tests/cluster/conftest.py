"""Fixtures for tests/cluster: the package and the standalone cluster on 127.0.0.1.

The package is built with `make package` (incremental). The cluster is started with
conf/cluster.sh unless it is already up, and stopped at the end of the session only if these
fixtures started it (once per session: both test modules share it).

They start JVMs and take minutes, so a plain `pytest` skips them: select them with
`-m cluster` (or set FOOTFALL_CLUSTER_TESTS=1).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from harness import DIST, ROOT, Submitter, cluster_sh, master_state

# The test session's own local-mode Spark (the `spark` fixture, which reads the tables to compare)
# binds to loopback like everything else here, not to the host name's address.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "cluster" in (config.getoption("-m") or "") or os.environ.get("FOOTFALL_CLUSTER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="cluster test: run with -m cluster (see docs/operations.md, CI)")
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def package() -> Path:
    subprocess.run(["make", "-s", "package"], cwd=ROOT, check=True)
    return DIST


@pytest.fixture(scope="session")
def cluster(package: Path):
    started = cluster_sh("status").returncode != 0
    if started:
        up = cluster_sh("up")
        assert up.returncode == 0, up.stdout + up.stderr
    yield master_state()
    if started:
        cluster_sh("down")


@pytest.fixture(scope="module")
def submitter(cluster: dict, tmp_path_factory: pytest.TempPathFactory) -> Submitter:
    workdir = tmp_path_factory.mktemp("submit-cwd")
    return Submitter(workdir, workdir / "spark-events")
