"""What the analyst entry points share: the analyst catalog, its Spark settings and the
convenience views (footfall.analyst.views; statement splitting and result formatting:
footfall.analyst.statements).

The analyst catalog is a second embedded metastore under `<data_dir>/analyst/`. It holds only the
published Delta tables and ref.zones, registered as EXTERNAL tables by the location of the
managed tables in the footfall catalog, plus the convenience views. `footfall sql`, `footfall
thrift` and `footfall duckdb` see nothing else, so restricted.* and ops.* cannot be named from
them; path-based SQL (`delta.`/path``) is switched off too. File permissions on the restricted
storage remain the operator's job (docs/analysts.md).

A separate metastore also means analysts never take the lock of the jobs' embedded Derby
metastore. The table locations are asked from the footfall catalog once (DESCRIBE DETAIL) and
kept in table_paths.json, which `footfall duckdb` reads without starting a JVM.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from footfall.analyst.views import spark_view_sql, views_for
from footfall.config import Config, MetastoreSection
from footfall.errors import BadInputError, SetupError
from footfall.schemas import MARKET_SHARE, PUBLISHED_TABLES, WEEK_TABLES, ZONES, Table

log = logging.getLogger(__name__)

# What analysts may see: the published tables (days and weeks), the zone catalogue and the weights
# of visitors_est (never ref.cells: the cell plan is the operator's business, not a statistic).
ANALYST_TABLES: tuple[Table, ...] = (*PUBLISHED_TABLES, *WEEK_TABLES, ZONES, MARKET_SHARE)
# Settings the analyst sessions add on top of footfall.session.spark_settings.
# `SELECT * FROM delta.`/warehouse/restricted.db/events`` would bypass the catalog.
ANALYST_SPARK_CONF = {"spark.sql.runSQLOnFiles": "false"}


# ---------------------------------------------------------------------------------------------
# Where the analyst catalog lives and how its sessions are configured


@dataclasses.dataclass(frozen=True)
class AnalystPaths:
    root: Path

    @property
    def metastore(self) -> Path:
        return self.root / "metastore_db"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def table_paths(self) -> Path:
        return self.root / "table_paths.json"

    @property
    def refreshed(self) -> Path:
        return self.root / "refreshed.json"


def analyst_paths(cfg: Config) -> AnalystPaths:
    data_dir = cfg.paths.data_dir
    # Derby and the small JSON files need a local folder: when the data lives in an object store
    # (a cluster), the analyst catalog lives in the user's home instead.
    base = Path.home() / ".footfall" if "://" in data_dir else Path(data_dir)
    return AnalystPaths((base / "analyst").resolve())


def analyst_config(cfg: Config) -> Config:
    """The config of an analyst session: the footfall settings pointed at the analyst catalog.

    Always an embedded metastore, also when the jobs use an external one (metastore.uri): the
    external metastore holds restricted.* too.
    """
    where = analyst_paths(cfg)
    return dataclasses.replace(
        cfg,
        paths=dataclasses.replace(cfg.paths, metastore_dir=str(where.metastore), warehouse_dir=str(where.warehouse)),
        metastore=MetastoreSection(uri=None),
        spark=dataclasses.replace(
            cfg.spark, app_name=f"{cfg.spark.app_name}-analyst", conf={**cfg.spark.conf, **ANALYST_SPARK_CONF}
        ),
    )


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def spark_submit_args(cfg: Config) -> list[str]:
    """`--master` and one `--conf` per setting of the analyst session, for spark-sql and the
    Thrift server alike (both are spark-submit applications)."""
    from footfall.session import spark_settings

    settings = spark_settings(analyst_config(cfg))
    if "spark.jars" in settings:
        # Also on the driver's own class path: the Thrift server and the spark-sql CLI resolve
        # functions through Hive's class loader, which does not see jars added at run time
        # (Sedona's ST_ functions fail with "class org.locationtech.jts.geom.Geometry not found").
        settings["spark.driver.extraClassPath"] = settings["spark.jars"].replace(",", os.pathsep)
    args = ["--master", cfg.spark.master] if cfg.spark.master else []
    for key, value in sorted(settings.items()):
        args += ["--conf", f"{key}={value}"]
    return args


def spark_env(cfg: Config) -> dict[str, str]:
    """Environment for pyspark's bin/ scripts: its own SPARK_HOME, and on one machine the driver
    and its UI bound to the loopback interface only."""
    env = dict(os.environ, SPARK_HOME=str(spark_home()))
    if (cfg.spark.master or "").startswith("local"):
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


# ---------------------------------------------------------------------------------------------
# Table locations, asked from the footfall catalog once


def lookup_table_paths(spark: Any) -> dict[str, str]:
    """Locations of the analyst tables that exist in the session's (footfall) catalog."""
    found = {}
    for table in ANALYST_TABLES:
        if spark.catalog.tableExists(table.name):
            found[table.name] = str(spark.sql(f"DESCRIBE DETAIL {table.name}").first()["location"])
    return found


def save_table_paths(cfg: Config, paths: Mapping[str, str]) -> None:
    _write_json(analyst_paths(cfg).table_paths, dict(paths))


def load_table_paths(cfg: Config) -> dict[str, str]:
    path = analyst_paths(cfg).table_paths
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def ensure_table_paths(cfg: Config) -> dict[str, str]:
    """The stored locations; asks the footfall catalog (in a helper process, a JVM) only while an
    analyst table is not among them, so `footfall duckdb` normally starts none. A table that
    came after the last ask (a release of a later version adds one: zone_daily_margins did) is
    found then; the others stay where they are. Delete table_paths.json to ask again (e.g. after
    tables moved). Where the helper fails (a running job holds the embedded metastore) but some
    published tables are known, those are used, with a warning."""
    paths = load_table_paths(cfg)
    missing = [t.name for t in ANALYST_TABLES if t.name not in paths]
    if missing:
        try:
            _run_helper("locate", cfg)
        except SetupError as exc:
            if not any(t.name in paths for t in PUBLISHED_TABLES):
                raise
            log.warning("%s; going on without %s", exc, ", ".join(missing))
        paths = load_table_paths(cfg)
    if not any(t.name in paths for t in PUBLISHED_TABLES):
        raise BadInputError("no published tables yet: run `make run` (or `footfall run --date YYYY-MM-DD`) first")
    return paths


def local_path(location: str) -> str:
    """A Delta location as a plain file path for DuckDB (Spark reports `file:/...`)."""
    return location.removeprefix("file://").removeprefix("file:")


# ---------------------------------------------------------------------------------------------
# Refreshing the analyst catalog


def refresh_statements(paths: Mapping[str, str]) -> list[str]:
    """Idempotent SQL that makes the analyst catalog hold exactly these tables and their views.

    Dropping an EXTERNAL table drops only its catalog entry; re-creating it by location picks up
    a moved table. Data changes need no refresh: Delta reads the table's log at query time.
    """
    statements = [f"CREATE SCHEMA IF NOT EXISTS {s}" for s in sorted({n.split(".")[0] for n in paths})]
    for name, location in sorted(paths.items()):
        statements += [f"DROP TABLE IF EXISTS {name}", f"CREATE TABLE {name} USING delta LOCATION '{location}'"]
    return statements + [spark_view_sql(v) for v in views_for(paths)]


def _fingerprint(statements: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(statements).encode()).hexdigest()


def refresh_needed(cfg: Config, statements: Sequence[str]) -> bool:
    where = analyst_paths(cfg)
    if not where.metastore.is_dir() or not where.refreshed.is_file():
        return True
    return bool(json.loads(where.refreshed.read_text()).get("fingerprint") != _fingerprint(statements))


def refresh(run_sql: Callable[[str], object], cfg: Config, paths: Mapping[str, str]) -> bool:
    """Run the refresh through `run_sql` (a session on the analyst catalog) unless the catalog
    already holds exactly this state. Returns whether it ran."""
    statements = refresh_statements(paths)
    if not refresh_needed(cfg, statements):
        return False
    for statement in statements:
        run_sql(statement)
    _write_json(analyst_paths(cfg).refreshed, {"fingerprint": _fingerprint(statements)})
    return True


def ensure_catalog(cfg: Config) -> dict[str, str]:
    """For entry points whose Spark runs in another process (spark-sql shell, Thrift server):
    refresh the analyst catalog in a helper process when needed, before they take its lock."""
    paths = ensure_table_paths(cfg)
    if refresh_needed(cfg, refresh_statements(paths)):
        _run_helper("refresh", cfg)
    return paths


# ---------------------------------------------------------------------------------------------
# Helper process: a JVM whose Derby lock is gone when it exits


def config_to_json(cfg: Config) -> str:
    return json.dumps(dataclasses.asdict(cfg))


def config_from_json(text: str) -> Config:
    config: Config = _from_dict(Config, json.loads(text))
    return config


def _from_dict(cls: type, values: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)

    def value_of(hint: Any, value: Any) -> Any:
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return _from_dict(hint, value)
        if typing.get_origin(hint) is tuple and isinstance(value, list):  # JSON has no tuples
            return tuple(value)
        return value

    return cls(**{key: value_of(hints[key], value) for key, value in values.items()})


def _run_helper(action: str, cfg: Config) -> None:
    what = {
        "locate": "read the table locations from the footfall catalog (a running job holds its embedded "
        "metastore: retry when it has finished)",
        "refresh": "refresh the analyst catalog (is another `footfall sql` shell open? it holds the analyst "
        "metastore: close it)",
    }[action]
    result = subprocess.run(
        [sys.executable, "-m", "footfall.analyst.catalog", action, config_to_json(cfg)], check=False,
        env=spark_env(cfg),
    )
    if result.returncode != 0:
        raise SetupError(f"could not {what}; the details are above")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m footfall.analyst.catalog locate|refresh CONFIG_JSON` (used by _run_helper)."""
    from footfall.session import build_session

    action, cfg_json = list(sys.argv[1:] if argv is None else argv)
    cfg = config_from_json(cfg_json)
    if action == "locate":
        save_table_paths(cfg, lookup_table_paths(build_session(cfg)))
    else:
        spark = build_session(analyst_config(cfg))
        refresh(spark.sql, cfg, load_table_paths(cfg))
    return 0


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # atomic: a reader never sees half a file


if __name__ == "__main__":
    sys.exit(main())
