"""One session-scoped SparkSession for all tests, with its metastore and warehouse in a temp folder."""

from __future__ import annotations

import pytest
from support import make_config

from footfall.config import Config
from footfall.session import build_session


@pytest.fixture(scope="session")
def test_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(tmp_path_factory.mktemp("footfall-data"))


@pytest.fixture(scope="session")
def spark(test_config: Config):
    session = build_session(test_config)
    yield session
    session.stop()
