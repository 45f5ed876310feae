"""Helpers shared by the tests (importable as `support`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

from pathlib import Path

from footfall.config import Config, load_config

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
