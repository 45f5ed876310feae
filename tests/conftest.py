"""One session-scoped SparkSession for all tests, with its metastore and warehouse in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.config import Config, load_config
from footfall.session import build_session

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"


def make_config(data_dir: Path, **overrides: object) -> Config:
    """The local config with everything written below `data_dir`."""
    base: dict[str, object] = {
        "paths.data_dir": str(data_dir),
        "paths.reference_dir": str(ROOT.parent / "shared" / "data" / "berlin"),
        "spark.jars_dir": str(ROOT / ".jars"),
        "spark.master": "local[2]",
        "spark.shuffle_partitions": 4,
        "spark.conf": {"spark.ui.enabled": "false", "spark.driver.memory": "4g"},
        "privacy.key_file": None,
    }
    base.update(overrides)
    return load_config("local", CONF_DIR, base)


@pytest.fixture(scope="session")
def test_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(tmp_path_factory.mktemp("footfall-data"))


@pytest.fixture(scope="session")
def spark(test_config: Config):
    session = build_session(test_config)
    yield session
    session.stop()
