"""Each pipeline job runs as its own Spark application (footfall-ingest, ...), as submit.sh names it."""

from __future__ import annotations

from pathlib import Path

from support import make_config

from footfall.cli import with_job_app_name
from footfall.session import spark_settings


def test_pipeline_jobs_get_their_own_app_name_and_analyst_commands_keep_theirs(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    assert cfg.spark.app_name == "footfall"
    for job in ("generate", "load-reference", "ingest", "compute", "run", "maintain", "doctor"):
        named = with_job_app_name(cfg, job)
        assert named.spark.app_name == f"footfall-{job}"
        assert spark_settings(named)["spark.app.name"] == f"footfall-{job}"
        assert named.spark.master == cfg.spark.master and named.paths == cfg.paths  # nothing else changes
    for command in ("sql", "thrift", "duckdb", "report"):
        assert with_job_app_name(cfg, command) is cfg
    custom = make_config(tmp_path, **{"spark.app_name": "acme-footfall"})
    assert with_job_app_name(custom, "ingest").spark.app_name == "acme-footfall-ingest"
