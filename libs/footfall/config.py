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
    # Tasks that list a table's folders for VACUUM (footfall maintain). Spark's default, 10,000,
    # is a legacy value: on 2 local cores each VACUUM of a small table took 33 s of empty tasks,
    # against 1.5 s with 4 (docs/benchmarks.md, "Fixed cost per job").
    # spark.sql.sources.parallelPartitionDiscovery.parallelism.
    file_listing_parallelism: int = 10000
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


# visits.split: how the unobserved time between two stays is shared (docs/definitions.md).
SPLIT_POSTERIOR = "posterior"
SPLIT_MIDPOINT = "midpoint"
SPLITS = (SPLIT_POSTERIOR, SPLIT_MIDPOINT)


@dataclass(frozen=True)
class VisitsSection:
    """The stay model (docs/definitions.md; the defaults and why: docs/accuracy.md)."""

    min_dwell_minutes: int = 5  # a visit shorter than this is a pass-by
    # bursts: a subscriber's events at most burst_gap_s apart are one observation of a place
    burst_gap_s: int = 120
    accuracy_sigma_factor: float = 1.515  # accuracy_m is a 68% radius: per-axis sigma = accuracy / this
    travel_event_types: tuple[str, ...] = ("handover",)  # a burst holding one of these is travel
    moving_chi2_p: float = 0.001  # a burst scattering more than chance at this level is travel
    informative_sigma_m: float = 200.0  # bursts less precise than this (cell-only) cannot start a stay
    # stays: two observations are of the same place when closer than same_place_m + z sigma
    same_place_m: float = 25.0
    same_place_z: float = 3.0
    night_anchor: bool = True  # the day starts and ends at the night place
    # start and end of a stay (interval censoring)
    split: str = SPLIT_POSTERIOR
    home_prior: bool = True  # separate duration priors for stays at the night place and elsewhere
    prior_sample: int = 20000  # stays (visits) sampled to fit a duration prior on the driver
    walk_speed_mps: float = 1.3  # travel time: walking up to walk_max_m,
    walk_max_m: float = 1200.0
    transit_speed_mps: float = 6.5  # beyond: transit or car door to door, plus an access time
    transit_access_s: float = 240.0
    bound_travel_factor: float = 0.9  # the shortest real trip takes this share of the travel time
    fast_speed_mps: float = 8.0  # after a travel observation the rest of the trip takes at least
    slow_speed_mps: float = 1.0  # distance / fast and at most distance / slow + the slack
    travel_slack_s: float = 120.0
    # zones: a stay (or travel event) is placed in a zone only if its sigma is at most
    # zone_sigma_factor x the zone's equivalent radius sqrt(area_m2 / pi)
    zone_sigma_factor: float = 0.6
    passby_merge_s: int = 900  # a pass-by this close to a stay visit of the person in the zone is dropped
    # the duration model (footfall.pipeline.durations)
    detection_offset_s: float = -60.0  # a burst (~75 s) must fit inside a stay to detect it
    p_min: float = 0.02  # floor of the detection probability: weights at most 1 / p_min
    em_iterations: int = 200
    em_smooth: float = 0.5  # EMS: share of a 3-bin moving average mixed in each iteration
    dwell_est_min_visits: int = 20  # zone_daily_total: the estimates need this many stay visits


@dataclass(frozen=True)
class PrivacySection:
    k: int = 20
    key_env: str = "FOOTFALL_PSEUDONYM_KEY"
    key_file: str | None = None
    # A multiple of 7: epochs of whole ISO weeks (footfall.privacy.pseudonym), so a week's
    # distinct visitors are counted under one pseudonym each.
    key_epoch_days: int = 28
    # Contribution bounding: per subscriber, zone and local hour, only the first this many visits
    # starting in the hour count in its visit metrics (visits, pass-bys, dwell). docs/privacy.md.
    max_visits_per_zone_hour: int = 2
    # Dwell counts at most this many minutes in any statistic (one stay moves a mean of n by at
    # most this / n). docs/privacy.md.
    max_dwell_minutes: int = 720
    # The dwell median and mean are withheld where one subscriber holds more than this share of
    # the cell's stays or of their dwell (a dominance rule). docs/privacy.md.
    max_stay_share: float = 0.5
    # suppress: k-threshold + secondary suppression; dp: Laplace noise on visitors and visits
    # with epsilon per subscriber-day (split over the zone sets and releases). docs/dp.md.
    mode: str = MODE_SUPPRESS
    epsilon: float = 1.0
    # dp mode: the budget per subscriber over any `period_days` consecutive days, all releases of
    # those days together (the days' epsilons add up). docs/dp.md, "Budget ledger".
    period_days: int = 7
    epsilon_period: float = 7.0


@dataclass(frozen=True)
class SpatialSection:
    # Zone sets with at most this many zones are joined through their grid cover (broadcast);
    # larger ones use Sedona's spatially partitioned join. See docs/operations.md.
    broadcast_max_zones: int = 20000
    # The most bounding-box cells a zone set's grid cover may span (footfall.zones.cover): finer
    # cells test fewer events against a piece but cost more to build, store and broadcast, which
    # pays off on a large day only (docs/benchmarks.md). Read by load-reference.
    cover_max_cells: int = 1_000_000
    # A zone whose symmetric difference with another zone of the catalogue is not empty but
    # smaller than this is refused by load-reference (a differencing attack; docs/privacy.md).
    min_zone_difference_m2: float = 1000.0
    # A zone is recorded as the union of zones of another set when they differ by at most this
    # share of its area (ref.zone_relations, docs/privacy.md).
    union_max_difference_share: float = 0.01


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
    "spark.file_listing_parallelism": (lambda v: v >= 1, "an integer >= 1"),
    "visits.min_dwell_minutes": (lambda v: 0 <= v <= 60, "whole minutes between 0 and 60 (a duration grid edge)"),
    "visits.burst_gap_s": (lambda v: 1 <= v <= 3600, "seconds between 1 and 3600"),
    "visits.accuracy_sigma_factor": (lambda v: 0.5 <= v <= 5, "a number between 0.5 and 5"),
    "visits.travel_event_types": (lambda v: all(t.strip() for t in v), "a list of event type names"),
    "visits.moving_chi2_p": (lambda v: 0 < v < 1, "a probability between 0 and 1 (exclusive)"),
    "visits.informative_sigma_m": (lambda v: 1 <= v <= 100_000, "metres between 1 and 100000"),
    "visits.same_place_m": (lambda v: 0 <= v <= 10_000, "metres between 0 and 10000"),
    "visits.same_place_z": (lambda v: 0 <= v <= 10, "a number of standard deviations between 0 and 10"),
    "visits.split": (lambda v: v in SPLITS, f"one of {', '.join(SPLITS)}"),
    "visits.prior_sample": (lambda v: 100 <= v <= 1_000_000, "an integer between 100 and 1000000"),
    "visits.walk_speed_mps": (lambda v: 0.1 <= v <= 10, "m/s between 0.1 and 10"),
    "visits.walk_max_m": (lambda v: 0 <= v <= 100_000, "metres between 0 and 100000"),
    "visits.transit_speed_mps": (lambda v: 0.5 <= v <= 100, "m/s between 0.5 and 100"),
    "visits.transit_access_s": (lambda v: 0 <= v <= 3600, "seconds between 0 and 3600"),
    "visits.bound_travel_factor": (lambda v: 0 <= v <= 1, "a share between 0 and 1"),
    "visits.fast_speed_mps": (lambda v: 0.5 <= v <= 100, "m/s between 0.5 and 100"),
    "visits.slow_speed_mps": (lambda v: 0.1 <= v <= 100, "m/s between 0.1 and 100"),
    "visits.travel_slack_s": (lambda v: 0 <= v <= 3600, "seconds between 0 and 3600"),
    "visits.zone_sigma_factor": (lambda v: 0 < v <= 100, "a number > 0 and <= 100"),
    "visits.passby_merge_s": (lambda v: 0 <= v <= 24 * 3600, "seconds between 0 and 86400"),
    "visits.detection_offset_s": (lambda v: -3600 <= v <= 3600, "seconds between -3600 and 3600"),
    "visits.p_min": (lambda v: 0 < v <= 1, "a probability > 0 and <= 1"),
    "visits.em_iterations": (lambda v: 1 <= v <= 10_000, "an integer between 1 and 10000"),
    "visits.em_smooth": (lambda v: 0 <= v < 1, "a share between 0 and 1 (exclusive)"),
    "visits.dwell_est_min_visits": (lambda v: 1 <= v <= 1_000_000, "an integer >= 1"),
    "privacy.k": (lambda v: v >= K_FLOOR, f"an integer >= the floor {K_FLOOR}"),
    "privacy.key_epoch_days": (lambda v: 7 <= v <= 364 and v % 7 == 0,
                               "a multiple of 7 between 7 and 364 (key epochs of whole ISO weeks)"),
    "spatial.min_zone_difference_m2": (lambda v: v >= 0, "an area in m2, >= 0"),
    "spatial.union_max_difference_share": (lambda v: 0 <= v < 0.5, "a share >= 0 and < 0.5"),
    "privacy.max_visits_per_zone_hour": (lambda v: 1 <= v <= 60, "an integer between 1 and 60"),
    "privacy.max_dwell_minutes": (lambda v: 60 <= v <= 1440, "an integer between 60 and 1440 (minutes)"),
    "privacy.max_stay_share": (lambda v: 0 < v < 1, "a share > 0 and < 1"),
    "privacy.mode": (lambda v: v in PRIVACY_MODES, f"one of {', '.join(PRIVACY_MODES)}"),
    "privacy.epsilon": (lambda v: 0 < v <= EPSILON_MAX, f"a number > 0 and <= {EPSILON_MAX:g}"),
    "privacy.period_days": (lambda v: 1 <= v <= 366, "days between 1 and 366"),
    "privacy.epsilon_period": (lambda v: 0 < v <= 366 * EPSILON_MAX, f"a number > 0 and <= {366 * EPSILON_MAX:g}"),
    "spatial.broadcast_max_zones": (lambda v: v >= 1, "an integer >= 1"),
    "spatial.cover_max_cells": (lambda v: v >= 1, "an integer >= 1"),
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
    if origin is tuple:  # tuple[str, ...]: a YAML list of strings
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
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
        if isinstance(value, list):
            value = tuple(value)
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
    if config.privacy.epsilon_period < config.privacy.epsilon:
        raise ConfigError(f"privacy.epsilon_period ({config.privacy.epsilon_period:g}) is below privacy.epsilon "
                          f"({config.privacy.epsilon:g}): not even one day could be released in dp mode; raise it "
                          "or lower privacy.epsilon")
    return config
