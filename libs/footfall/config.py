"""Layered configuration: conf/base.yaml, then conf/<env>.yaml, then command-line overrides.

Loaded once into a frozen, validated `Config`. An unknown key or a bad value is refused with a
`ConfigError` naming the key and the file it came from. Secrets (the pseudonymisation key) are
never read from these files: only the *name* of the environment variable or the *path* of a key
file is configured here.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from footfall.errors import ConfigError

# Disclosure-control floor: a configured k below this is refused (DESIGN.md, "Disclosure control").
K_FLOOR = 16
ENVIRONMENTS = ("local", "cluster")
# privacy.mode: threshold suppression (default) or differential privacy (footfall.privacy.dp,
# docs/dp.md).
MODE_SUPPRESS = "suppress"
MODE_DP = "dp"
PRIVACY_MODES = (MODE_SUPPRESS, MODE_DP)
# privacy.epsilon is capped: beyond about 10 the Laplace noise no longer hides one person.
EPSILON_MAX = 10.0


@dataclass(frozen=True)
class SparkSection:
    # None: leave spark.master to spark-submit (cluster). local.yaml sets local[*].
    master: str | None = None
    app_name: str = "footfall"
    # None: spark-submit ships the jars (--jars), as on a cluster; see footfall.session.resolve_jars.
    jars_dir: str | None = ".jars"
    event_log_dir: str | None = None
    shuffle_partitions: int = 8
    # Partitions Delta uses to rebuild a table's state from its log (every first read or write of
    # a table version). Delta's default, 50, suits tables of millions of files; on footfall's
    # small tables in local mode its 50 tasks are most of a tiny day's run (docs/benchmarks.md,
    # "Fixed cost per job"). spark.databricks.delta.snapshotPartitions.
    delta_snapshot_partitions: int = 50
    # Extra Spark settings (string -> string), e.g. spark.sql.adaptive.* tuning.
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PathsSection:
    data_dir: str = ".data"
    # The Berlin reference data shipped with the repository (data/berlin/SOURCES.md).
    reference_dir: str = "data/berlin"
    # None: derived from data_dir (see Config.path()).
    warehouse_dir: str | None = None
    metastore_dir: str | None = None
    landing_dir: str | None = None
    truth_dir: str | None = None
    report_dir: str | None = None


@dataclass(frozen=True)
class MetastoreSection:
    # None: embedded Derby under data_dir (local). A thrift://host:port URI on a cluster.
    uri: str | None = None


@dataclass(frozen=True)
class VisitsSection:
    max_gap_minutes: int = 15
    min_dwell_minutes: int = 5


@dataclass(frozen=True)
class PrivacySection:
    k: int = 20
    key_env: str = "FOOTFALL_PSEUDONYM_KEY"
    key_file: str | None = None
    key_epoch_days: int = 30
    # Contribution bounding: per subscriber, zone and local hour, only the first this many visits
    # starting in the hour count in its visit metrics (visits, pass-bys, dwell). docs/privacy.md.
    max_visits_per_zone_hour: int = 2
    # suppress: k-threshold + secondary suppression; dp: Laplace noise on visitors and visits
    # with epsilon per subscriber-day (split over the zone sets and releases). docs/dp.md.
    mode: str = MODE_SUPPRESS
    epsilon: float = 1.0


@dataclass(frozen=True)
class SpatialSection:
    # Zone sets with at most this many zones are broadcast (Sedona broadcast index join);
    # larger ones use Sedona's spatially partitioned join. See docs/operations.md.
    broadcast_max_zones: int = 20000
    # A zone whose symmetric difference with another zone of the catalogue is not empty but
    # smaller than this is refused by load-reference (a differencing attack; docs/privacy.md).
    min_zone_difference_m2: float = 1000.0


@dataclass(frozen=True)
class IngestSection:
    # Measured positions must lie in the bounding box of ref.zones widened by this many degrees
    # (0.1 deg is about 7 km east-west and 11 km north-south in Berlin); see docs/ingest.md.
    service_area_margin_deg: float = 0.1


@dataclass(frozen=True)
class RetentionSection:
    restricted_days: int = 30


@dataclass(frozen=True)
class Config:
    env: str = "local"
    time_zone: str = "Europe/Berlin"
    spark: SparkSection = field(default_factory=SparkSection)
    paths: PathsSection = field(default_factory=PathsSection)
    metastore: MetastoreSection = field(default_factory=MetastoreSection)
    visits: VisitsSection = field(default_factory=VisitsSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    spatial: SpatialSection = field(default_factory=SpatialSection)
    ingest: IngestSection = field(default_factory=IngestSection)
    retention: RetentionSection = field(default_factory=RetentionSection)

    def path(self, name: str) -> str:
        """A configured folder, derived from data_dir when not set explicitly."""
        explicit = getattr(self.paths, name)
        if explicit is not None:
            return str(explicit)
        derived = {
            "warehouse_dir": "warehouse",
            "metastore_dir": "metastore_db",
            "landing_dir": "landing",
            "truth_dir": "truth",
            "report_dir": "report",
        }
        return str(Path(self.paths.data_dir) / derived[name])

    def masked(self) -> dict[str, Any]:
        """The config as a plain dict for logging. It holds no secret values by construction
        (keys come from the environment or a key file), so only the file path is shown."""
        return dataclasses.asdict(self)


# Range checks per dotted key: (predicate, what a valid value is).
_CHECKS: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "env": (lambda v: v in ENVIRONMENTS, f"one of {', '.join(ENVIRONMENTS)}"),
    "spark.shuffle_partitions": (lambda v: v >= 1, "an integer >= 1"),
    "spark.delta_snapshot_partitions": (lambda v: v >= 1, "an integer >= 1"),
    "visits.max_gap_minutes": (lambda v: 1 <= v <= 24 * 60, "minutes between 1 and 1440"),
    "visits.min_dwell_minutes": (lambda v: 0 <= v <= 24 * 60, "minutes between 0 and 1440"),
    "privacy.k": (lambda v: v >= K_FLOOR, f"an integer >= the floor {K_FLOOR}"),
    "privacy.key_epoch_days": (lambda v: 1 <= v <= 366, "days between 1 and 366"),
    "spatial.min_zone_difference_m2": (lambda v: v >= 0, "an area in m2, >= 0"),
    "privacy.max_visits_per_zone_hour": (lambda v: 1 <= v <= 60, "an integer between 1 and 60"),
    "privacy.mode": (lambda v: v in PRIVACY_MODES, f"one of {', '.join(PRIVACY_MODES)}"),
    "privacy.epsilon": (lambda v: 0 < v <= EPSILON_MAX, f"a number > 0 and <= {EPSILON_MAX:g}"),
    "spatial.broadcast_max_zones": (lambda v: v >= 1, "an integer >= 1"),
    "ingest.service_area_margin_deg": (lambda v: 0 <= v <= 5, "degrees between 0 and 5"),
    "retention.restricted_days": (lambda v: 1 <= v <= 3650, "days between 1 and 3650"),
}


def _is_valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_CHECKS["time_zone"] = (_is_valid_zone, "an IANA time zone such as Europe/Berlin")


def _type_ok(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if (origin is not None and issubclass(origin, Mapping)) or annotation is Mapping:
        return isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in value.items()
        )
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _build(cls: type, values: Mapping[str, Any], sources: Mapping[str, str], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        origin = sources.get(dotted, "defaults")
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise ConfigError(f"unknown config key '{dotted}' in {origin}; known keys here: {known}")
        annotation = hints[key]
        if dataclasses.is_dataclass(annotation):
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key '{dotted}' in {origin} must be a mapping of settings")
            kwargs[key] = _build(typing.cast(type, annotation), value, sources, f"{dotted}.")
            continue
        if not _type_ok(value, annotation):
            raise ConfigError(
                f"config key '{dotted}' in {origin} has the bad value {value!r}: expected {annotation}"
            )
        check = _CHECKS.get(dotted)
        if check is not None and value is not None and not check[0](value):
            raise ConfigError(f"config key '{dotted}' in {origin} has the bad value {value!r}: expected {check[1]}")
        if isinstance(value, Mapping):
            value = {k: str(v) for k, v in value.items()}
        kwargs[key] = value
    return cls(**kwargs)


def _merge(
    base: dict[str, Any], layer: Mapping[str, Any], origin: str, sources: dict[str, str], prefix: str = ""
) -> None:
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(base.get(key), dict) and dotted != "spark.conf":
            _merge(base[key], value, origin, sources, f"{dotted}.")
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
            sources[dotted] = origin
            if isinstance(value, Mapping):
                for sub in value:
                    sources[f"{dotted}.{sub}"] = origin


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must contain a mapping of settings at the top level")
    return data


def default_conf_dir() -> Path:
    return Path(os.environ.get("FOOTFALL_CONF_DIR", "conf"))


def parse_override(text: str) -> tuple[str, Any]:
    """`privacy.k=25` -> ("privacy.k", 25). Values are parsed as YAML scalars, never evaluated."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value")
    key, raw = text.split("=", 1)
    return key.strip(), yaml.safe_load(raw) if raw.strip() else None


def load_config(
    env: str | None = None,
    conf_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Merge base.yaml + <env>.yaml + overrides (dotted keys) into a validated Config."""
    env = env or os.environ.get("FOOTFALL_ENV", "local")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment '{env}': use one of {', '.join(ENVIRONMENTS)}")
    folder = Path(conf_dir) if conf_dir is not None else default_conf_dir()
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in ("base.yaml", f"{env}.yaml"):
        path = folder / name
        if not path.is_file():
            raise ConfigError(f"config file {path} is missing: run from the project root or set FOOTFALL_CONF_DIR")
        _merge(merged, _read_yaml(path), str(path), sources)
    for dotted, value in (overrides or {}).items():
        layer: dict[str, Any] = {}
        node = layer
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
        _merge(merged, layer, "command-line override", sources)
    merged["env"] = env
    config: Config = _build(Config, merged, sources, "")
    return config
