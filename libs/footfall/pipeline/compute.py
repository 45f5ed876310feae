"""`footfall compute --date D [--zone-set S]`: events -> stays -> visits -> published grids.

Once per day: the stays over every subscriber's whole trajectory with their estimated start and
end (footfall.pipeline.day). Per zone set: the Sedona join of one point per stay and of the
travel observations to the set's zones, visits with the cohort attached (restricted.visits),
the seven grids (footfall.zone_hourly, zone_hourly_total, zone_daily, zone_daily_total with its
dwell estimates, zone_daily_margins, zone_daypart, zone_catchment) after primary and secondary suppression
(footfall.pipeline.publish), and one ops.runs row with the counts and input table versions.
Every write replaces exactly (date, zone set), so a rerun of the day leaves the tables as one
run would. Definitions: docs/definitions.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from footfall.config import MODE_DP, Config
from footfall.errors import EXIT_OK, BadInputError
from footfall.localtime import LocalHour, day_hours
from footfall.manifest import recorded_run
from footfall.observe import step
from footfall.pipeline import day as stay_day
from footfall.pipeline import dwell
from footfall.pipeline.aggregate import bound_contributions
from footfall.pipeline.publish import partition, publish_dp, publish_suppressed, write_observed
from footfall.pipeline.release import check_release, chosen_zone_sets, zone_counts
from footfall.pipeline.visits import (
    missing_subscribers,
    passby_visits,
    stay_visits,
    week_cohorts,
    with_cohort,
    zone_visits,
)
from footfall.schemas import (
    EVENTS,
    HOME_UNKNOWN,
    MARKET_SHARE,
    PRIVACY_BUDGET,
    PUBLISHED_TABLES,
    SUBSCRIBERS,
    VISITS,
    WITHHELD_CELLS,
    ZONE_COVER,
    ZONES,
    C,
    Table,
)
from footfall.session import build_session
from footfall.tables import ensure_tables, table_version, vacuum_now
from footfall.zones.cover import Cover, zone_cover
from footfall.zones.join import use_broadcast

log = logging.getLogger(__name__)

INPUTS = (EVENTS, SUBSCRIBERS, ZONES, ZONE_COVER, MARKET_SHARE)
# The dp budget ledger exists from the first compute on (empty in suppression mode), and so does
# the record of why cells were withheld (empty in dp mode).
OUTPUTS = (VISITS, *PUBLISHED_TABLES, PRIVACY_BUDGET, WITHHELD_CELLS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat, help="local date YYYY-MM-DD")
    parser.add_argument("--zone-set", action="append", dest="zone_sets", metavar="NAME",
                        help="zone set to compute (repeatable; default: every zone set in ref.zones)")
    add_republish_argument(parser)


def add_republish_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--republish", action="store_true",
                        help="replace a day that is already published (recorded in ops.runs; see docs/privacy.md)")


def command(args: argparse.Namespace, cfg: Config) -> int:
    spark = build_session(cfg)
    for zone_set, counts in run(spark, cfg, args.date, args.zone_sets, args.republish).items():
        print(f"compute {args.date.isoformat()} [{zone_set}]: "
              + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return EXIT_OK


def _read(spark: SparkSession, table: Table, version: int) -> DataFrame:
    """The table as of the version recorded in the manifest, so a concurrent write to an input
    cannot make the recorded version and the data read disagree."""
    return spark.read.format("delta").option("versionAsOf", version).table(table.name)


def run(spark: SparkSession, cfg: Config, event_date: dt.date, zone_sets: list[str] | None = None,
        republish: bool = False) -> dict[str, dict[str, int]]:
    """Compute and publish local date `event_date` for the zone sets; returns the counts per set.
    A zone set whose day is published is refused unless `republish`, and a release the privacy
    rules forbid is refused in any case (see check_release)."""
    ensure_tables(spark, INPUTS + OUTPUTS)
    versions = {t.name: table_version(spark, t) for t in INPUTS}
    zones_all = _read(spark, ZONES, versions[ZONES.name])
    zones_per_set = zone_counts(zones_all)
    chosen = chosen_zone_sets(zones_per_set, zone_sets)
    day = event_date.isoformat()
    replaced = check_release(spark, cfg, event_date, chosen, republish, zones_per_set)
    snapshots = _read(spark, SUBSCRIBERS, versions[SUBSCRIBERS.name])
    if snapshots.where(F.col(C.SNAPSHOT_DATE) == F.lit(event_date)).isEmpty():
        raise BadInputError(f"no subscriber snapshot for {day}: run footfall load-reference --date {day} first")
    # Read by every zone set's visits, catchment grid and missing count.
    subscribers = week_cohorts(snapshots, event_date).localCheckpoint()
    events = _read(spark, EVENTS, versions[EVENTS.name]).where(F.col(C.EVENT_DATE) == F.lit(event_date))
    with step("compute", "read_events", spark) as s:
        events_in = events.count()
        s.record(rows_out=events_in)
    if events_in == 0:
        raise BadInputError(f"no events for {day} in {EVENTS.name}: run footfall ingest --date {day} first")
    hours = day_hours(event_date, cfg.time_zone)
    homes = home_districts(subscribers)
    # The snapshot's weights (a few hundred rows): empty for a snapshot loaded before there were any,
    # and visitors_est NULL then.
    weights = _read(spark, MARKET_SHARE, versions[MARKET_SHARE.name]).where(
        F.col(C.SNAPSHOT_DATE) == F.lit(event_date)).localCheckpoint()

    results = {}
    stays: stay_day.Day | None = None
    for zone_set in chosen:
        broadcast = use_broadcast(zones_per_set[zone_set], cfg.spatial.broadcast_max_zones)
        parameters = _parameters(cfg, zone_set, zones_per_set, broadcast, republish, replaced.get(zone_set))
        with recorded_run(spark, cfg, "compute", event_date, zone_set, parameters) as rec:
            rec.input_versions.update(versions)
            if stays is None:  # built once, in the first zone set's run: its time and failure are recorded
                stays = stay_day.build(spark, events, zones_all, event_date, cfg.time_zone, cfg.visits)
            rec.counts["events_in"] = events_in
            rec.counts.update(stays.counts)
            zones = zones_all.where(F.col(C.ZONE_SET) == zone_set)
            cover = zone_cover(zones, _read(spark, ZONE_COVER, versions[ZONE_COVER.name]).where(
                F.col(C.ZONE_SET) == zone_set), cfg.spatial.cover_max_cells) if broadcast else None
            rec.counts.update(_compute_zone_set(cfg, event_date, zone_set, stays, zones, subscribers,
                                                (hours, homes, weights),
                                                cover, dp_run=(rec.run_id, len(zones_per_set)),
                                                republishing=zone_set in replaced))
            log.info("compute %s [%s]: %s", day, zone_set, rec.counts)
            results[zone_set] = dict(rec.counts)
    return results


def home_districts(subscribers: DataFrame) -> list[str]:
    """The catchment's home districts: those of the week's cohorts (`week_cohorts` of
    restricted.subscribers), and unknown. From the snapshots, not ref.postcodes, so that a day's
    grid keeps the districts its subscribers were mapped with when the postcode list is replaced
    later."""
    found = {r[0] for r in subscribers.select(C.HOME_DISTRICT).distinct().collect()} - {None}
    return sorted(found | {HOME_UNKNOWN})


def _parameters(cfg: Config, zone_set: str, zone_counts: dict[str, int], broadcast: bool, republish: bool,
                replaces: str | None) -> dict[str, object]:
    """The parameters of a zone set's compute run, recorded in ops.runs."""
    parameters = {
        "time_zone": cfg.time_zone, "visits": dataclasses.asdict(cfg.visits), "zones": zone_counts[zone_set],
        "broadcast_max_zones": cfg.spatial.broadcast_max_zones,
        "spatial_join": "grid_cover" if broadcast else "spatially_partitioned",
        "republish": republish, "replaces_run": replaces or None, "privacy_mode": cfg.privacy.mode,
    }
    if cfg.privacy.mode == MODE_DP:  # footfall.privacy.dp: the day's epsilon is split over the zone sets
        parameters |= {"epsilon_day": cfg.privacy.epsilon, "zone_sets_sharing_epsilon": len(zone_counts)}
    return parameters


def _compute_zone_set(cfg: Config, event_date: dt.date, zone_set: str, stays: stay_day.Day, zones: DataFrame,
                      subscribers: DataFrame, grid: tuple[list[LocalHour], list[str], DataFrame], cover: Cover | None,
                      dp_run: tuple[str, int] = ("", 1), republishing: bool = False) -> dict[str, int]:
    """Visits and the seven published grids of one zone set (suppressed, or noisy in dp mode);
    returns the counts recorded in ops.runs. `grid`: the day's hours, home districts and market
    share weights; `cover`: the zone set's grid cover (footfall.zones.cover), None for a set
    too large to broadcast;
    `republishing`: the day and zone set replace a release (footfall.pipeline.release), whose
    files are vacuumed once replaced.

    The plans stay short: the zone stays are checkpointed, and the grids are built from the
    visits read back from restricted.visits, not from the stay model's lineage (a plan carrying
    it ran the driver out of memory printing it, on 600 subscribers)."""
    p, spark = cfg.visits, zones.sparkSession
    hours, homes, weights = grid
    with step("compute", "stay_visits", spark, zone_set=zone_set) as s:
        # The duration priors, the visits and the dwell estimates all read the zone stays.
        zone_stays = stay_visits(stays.stay_points, zones, cover, p).transform(
            dwell.with_detection, stays.precise_shares).localCheckpoint()
        s.record(rows_out=zone_stays.count())
    with step("compute", "dwell_priors", spark, zone_set=zone_set) as s:
        category_priors = dwell.fit_category_priors(zone_stays, p)
        s.record(categories=len(category_priors))
    placed = dwell.place_in_small_zones(zone_stays, category_priors, p)
    passbys = passby_visits(stays.travel_points, zones, cover, p)
    keys = partition(event_date, zone_set)
    counts = _write_visits(zone_visits(placed, passbys, event_date, p).transform(with_cohort, subscribers), keys)
    visits = spark.table(VISITS.name).where(_matching(keys))
    counts["subscribers_missing"] = _missing(visits, subscribers, event_date)
    # Checkpointed, as the zones' ids: each of the seven grids (and the utility counts) starts
    # from these rows instead of reading restricted.visits and ref.zones from Delta again and
    # bounding the visits again, each read a file-filtering query and a longer plan per grid
    # (docs/benchmarks.md, "The grids' inputs checkpointed once").
    bounded = visits.transform(bound_contributions, cfg.privacy.max_visits_per_zone_hour,
                               cfg.privacy.max_dwell_minutes).localCheckpoint()
    zones = zones.select(C.ZONE_SET, C.ZONE_ID).localCheckpoint()
    if cfg.privacy.mode == MODE_DP:
        return counts | publish_dp(cfg, bounded, zones, event_date, zone_set, hours, dp_run, weights)
    with step("compute", "dwell_estimates", spark, zone_set=zone_set) as s:
        estimates = dwell.zone_estimates(zone_stays, category_priors, p).localCheckpoint()
        s.record(rows_out=estimates.count())
    # The replaced release, as of now: read (and pinned to its version) before anything is written.
    previous = {t: _read(spark, t, table_version(spark, t)).where(_matching(keys)) for t in PUBLISHED_TABLES
                } if republishing else None
    try:
        return counts | publish_suppressed(cfg.privacy, bounded, estimates, zones, event_date, zone_set, hours,
                                           homes, dp_run[0], previous, weights)
    finally:
        if republishing:  # also after a failure: some of the replaced files may be replaced already
            vacuum_now(spark, PUBLISHED_TABLES)


def _matching(keys: dict[str, object]) -> Column:
    """The rows of a partition: every key column equal to its value."""
    condition = F.lit(True)
    for column, value in keys.items():
        condition = condition & (F.col(column) == F.lit(value))
    return condition


def _write_visits(visits: DataFrame, keys: dict[str, object]) -> dict[str, int]:
    """Write restricted.visits; counts of visits, pass-bys and matched events."""
    # Counts are observed while writing (Observation), not by extra passes over the data.
    return write_observed(visits, VISITS, keys, "visits", [
        F.count(F.when(F.col(C.IS_PASSBY), 1)).alias("passby_visits"),
        # The events supporting the visits: a stay's events count once per zone it is placed in.
        F.sum(C.N_EVENTS).alias("events_matched"),
    ])


def _missing(visits: DataFrame, subscribers: DataFrame, event_date: dt.date) -> int:
    """The number of pseudo_ids with visits but no subscriber snapshot row, logged if any."""
    missing = missing_subscribers(visits, subscribers).count()
    if missing:
        log.warning("%d pseudo_ids with visits on %s have no subscriber snapshot row: counted as "
                    "unknown/unknown (check footfall load-reference)", missing, event_date)
    return missing

