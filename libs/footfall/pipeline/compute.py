"""`footfall compute --date D [--zone-set S]`: events -> stays -> visits -> published grids.

Once per day: the stays over every subscriber's whole trajectory with their estimated start and
end (footfall.pipeline.day). Per zone set: the Sedona join of one point per stay and of the
travel observations to the set's zones, visits with the cohort attached (restricted.visits),
the five grids (footfall.zone_hourly, zone_hourly_total, zone_daily, zone_daily_total with its
dwell estimates, zone_daily_margins) after primary and secondary suppression, and one ops.runs row with the counts
and input table versions. Every write replaces exactly (date, zone set), so a rerun of the day
leaves the tables as one run would. Definitions: docs/definitions.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from footfall.config import MODE_DP, Config, PrivacySection
from footfall.errors import EXIT_OK, BadInputError
from footfall.localtime import LocalHour, day_hours
from footfall.manifest import recorded_run
from footfall.observe import step
from footfall.pipeline import day as stay_day
from footfall.pipeline import dwell
from footfall.pipeline.aggregate import (
    aggregate_cohort_days,
    aggregate_cohort_hours,
    aggregate_days,
    aggregate_hours,
    aggregate_margins,
    bound_contributions,
    explode_visit_hours,
)
from footfall.pipeline.release import check_release, chosen_zone_sets, zone_counts
from footfall.pipeline.utility import VISITOR_HOURS_TOTAL, coverage_counts
from footfall.pipeline.visits import missing_subscribers, passby_visits, stay_visits, with_cohort, zone_visits
from footfall.privacy import dp
from footfall.privacy.nested import Nesting, nesting_of
from footfall.privacy.suppression import (
    protect_linked,
    public_status,
    suppress_against_release,
    suppress_margins_secondary,
    suppress_primary,
    suppress_secondary,
    withheld_cells,
)
from footfall.privacy.visit_metrics import suppress_visit_primary, suppress_visit_secondary, without_visit_metrics
from footfall.schemas import (
    EVENTS,
    PRIVACY_BUDGET,
    PUBLISHED_TABLES,
    STATUS_PUBLISHED,
    SUBSCRIBERS,
    VISITS,
    WITHHELD_CELLS,
    WITHHELD_LINKED,
    WITHHELD_NESTED,
    WITHHELD_PRIMARY,
    WITHHELD_REPUBLISH,
    WITHHELD_SUBTRACTION,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONES,
    C,
    Table,
)
from footfall.session import build_session
from footfall.tables import ensure_tables, replace_partition, table_version, vacuum_now
from footfall.zones.join import use_broadcast

log = logging.getLogger(__name__)

INPUTS = (EVENTS, SUBSCRIBERS, ZONES)
# The dp budget ledger exists from the first compute on (empty in suppression mode), and so does
# the record of why cells were withheld (empty in dp mode).
OUTPUTS = (VISITS, *PUBLISHED_TABLES, PRIVACY_BUDGET, WITHHELD_CELLS)
HOUR_KEYS = (C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE, C.HOUR_START)
DAY_KEYS = (C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE)
# Observed on the zone_hourly write, not recorded itself: visitors_in_suppressed_cells is
# visitors_total minus it.
PUBLISHED_VISITORS = "_published_visitors"


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
    subscribers = _read(spark, SUBSCRIBERS, versions[SUBSCRIBERS.name]).where(
        F.col(C.SNAPSHOT_DATE) == F.lit(event_date)
    )
    if subscribers.isEmpty():
        raise BadInputError(f"no subscriber snapshot for {day}: run footfall load-reference --date {day} first")
    events = _read(spark, EVENTS, versions[EVENTS.name]).where(F.col(C.EVENT_DATE) == F.lit(event_date))
    with step("compute", "read_events", spark) as s:
        events_in = events.count()
        s.record(rows_out=events_in)
    if events_in == 0:
        raise BadInputError(f"no events for {day} in {EVENTS.name}: run footfall ingest --date {day} first")
    hours = day_hours(event_date, cfg.time_zone)

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
            rec.counts.update(_compute_zone_set(cfg, event_date, zone_set, stays, zones, subscribers, hours,
                                                broadcast, dp_run=(rec.run_id, len(zones_per_set)),
                                                republishing=zone_set in replaced))
            log.info("compute %s [%s]: %s", day, zone_set, rec.counts)
            results[zone_set] = dict(rec.counts)
    return results


def _parameters(cfg: Config, zone_set: str, zone_counts: dict[str, int], broadcast: bool, republish: bool,
                replaces: str | None) -> dict[str, object]:
    """The parameters of a zone set's compute run, recorded in ops.runs."""
    parameters = {
        "time_zone": cfg.time_zone, "visits": dataclasses.asdict(cfg.visits), "zones": zone_counts[zone_set],
        "broadcast_max_zones": cfg.spatial.broadcast_max_zones,
        "spatial_join": "broadcast_index" if broadcast else "spatially_partitioned",
        "republish": republish, "replaces_run": replaces or None, "privacy_mode": cfg.privacy.mode,
    }
    if cfg.privacy.mode == MODE_DP:  # footfall.privacy.dp: the day's epsilon is split over the zone sets
        parameters |= {"epsilon_day": cfg.privacy.epsilon, "zone_sets_sharing_epsilon": len(zone_counts)}
    return parameters


def _compute_zone_set(cfg: Config, event_date: dt.date, zone_set: str, stays: stay_day.Day, zones: DataFrame,
                      subscribers: DataFrame, hours: list[LocalHour], broadcast: bool,
                      dp_run: tuple[str, int] = ("", 1), republishing: bool = False) -> dict[str, int]:
    """Visits and the five published grids of one zone set (suppressed, or noisy in dp mode);
    returns the counts recorded in ops.runs. `republishing`: the day and zone set replace a
    release (footfall.pipeline.release), whose files are vacuumed once replaced.

    The plans stay short: the zone stays are checkpointed, and the grids are built from the
    visits read back from restricted.visits, not from the stay model's lineage (a plan carrying
    it ran the driver out of memory printing it, on 600 subscribers)."""
    p, spark = cfg.visits, zones.sparkSession
    with step("compute", "stay_visits", spark, zone_set=zone_set) as s:
        # The duration priors, the visits and the dwell estimates all read the zone stays.
        zone_stays = stay_visits(stays.stay_points, zones, broadcast, p).transform(
            dwell.with_detection, stays.precise_shares).localCheckpoint()
        s.record(rows_out=zone_stays.count())
    with step("compute", "dwell_priors", spark, zone_set=zone_set) as s:
        category_priors = dwell.fit_category_priors(zone_stays, p)
        s.record(categories=len(category_priors))
    placed = dwell.place_in_small_zones(zone_stays, category_priors, p)
    passbys = passby_visits(stays.travel_points, zones, broadcast, p)
    keys = _partition(event_date, zone_set)
    counts = _write_visits(zone_visits(placed, passbys, event_date, p).transform(with_cohort, subscribers), keys)
    visits = spark.table(VISITS.name).where(_matching(keys))
    counts["subscribers_missing"] = _missing(visits, subscribers, event_date)
    bounded = visits.transform(bound_contributions, cfg.privacy.max_visits_per_zone_hour,
                               cfg.privacy.max_dwell_minutes)
    if cfg.privacy.mode == MODE_DP:
        return counts | _publish_dp(cfg, bounded, zones, event_date, zone_set, hours, dp_run)
    with step("compute", "dwell_estimates", spark, zone_set=zone_set) as s:
        estimates = dwell.zone_estimates(zone_stays, category_priors, p).localCheckpoint()
        s.record(rows_out=estimates.count())
    # The replaced release, as of now: read (and pinned to its version) before anything is written.
    previous = {t: _read(spark, t, table_version(spark, t)).where(_matching(keys)) for t in PUBLISHED_TABLES
                } if republishing else None
    try:
        return counts | _publish_suppressed(cfg.privacy, bounded, estimates, zones, event_date, zone_set, hours,
                                            dp_run[0], previous)
    finally:
        if republishing:  # also after a failure: some of the replaced files may be replaced already
            vacuum_now(spark, PUBLISHED_TABLES)


def _partition(event_date: dt.date, zone_set: str) -> dict[str, object]:
    """The keys of the (date, zone set) partition every compute write replaces."""
    return {C.EVENT_DATE: event_date, C.ZONE_SET: zone_set}


def _matching(keys: dict[str, object]) -> Column:
    """The rows of a partition: every key column equal to its value."""
    condition = F.lit(True)
    for column, value in keys.items():
        condition = condition & (F.col(column) == F.lit(value))
    return condition


def _write_visits(visits: DataFrame, keys: dict[str, object]) -> dict[str, int]:
    """Write restricted.visits; counts of visits, pass-bys and matched events."""
    # Counts are observed while writing (Observation), not by extra passes over the data.
    return _write_observed(visits, VISITS, keys, "visits", [
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


def _publish_dp(cfg: Config, bounded: DataFrame, zones: DataFrame, event_date: dt.date, zone_set: str,
                hours: list[LocalHour], dp_run: tuple[str, int]) -> dict[str, int]:
    """privacy.mode dp (footfall.privacy.dp, docs/dp.md): noisy grids instead of suppression.
    `dp_run` is the compute run's id and the number of zone sets sharing the day's epsilon."""
    bounds = dp.Bounds.from_config(cfg)
    releases = dp.plan_budget(cfg.privacy.epsilon, dp_run[1], bounds)
    # The spend is recorded before any noisy value is written.
    dp.record_spend(bounded.sparkSession, releases, dp_run[0], event_date, zone_set)
    grids = dp.noisy_grids(bounded, zones, event_date, hours, releases, bounds)
    keys = _partition(event_date, zone_set)
    counts: dict[str, int] = {}
    for table, prefix in ((ZONE_HOURLY, "cells"), (ZONE_HOURLY_TOTAL, "total_cells"), (ZONE_DAILY, "daily_cells")):
        counts |= _write_observed(grids[table], table, keys, prefix, dp.cell_metrics(prefix))
    # zone_daily_total (with its model-based dwell estimates) and zone_daily_margins have no dp
    # release: the day's rows are removed, so that an earlier suppression run's exact numbers
    # never stand beside noisy ones.
    for table, prefix in ((ZONE_DAILY_TOTAL, "daily_total_cells"), (ZONE_DAILY_MARGINS, "margin_cells")):
        counts |= _write_observed(bounded.sparkSession.createDataFrame([], table.struct), table, keys, prefix)
    return counts


def _publish_suppressed(privacy: PrivacySection, bounded: DataFrame, estimates: DataFrame, zones: DataFrame,
                        event_date: dt.date, zone_set: str, hours: list[LocalHour], run_id: str,
                        previous: dict[Table, DataFrame] | None) -> dict[str, int]:
    """The five grids after primary and secondary suppression (footfall.privacy.suppression),
    written with the one public status, with the visitors they withheld; why each cell was
    withheld goes to ops.withheld_cells. `privacy`: k and the dwell statistics' dominance share;
    `estimates`: the zones' dwell estimates; `previous`: the release replaced, if any, which each
    grid is suppressed against after primary suppression, and then across zone sets."""
    k, max_stay_share = privacy.k, privacy.max_stay_share
    nesting = nesting_of(zones.sparkSession, zone_set, event_date)

    def against(table: Table, *keys: str) -> Callable[[DataFrame], DataFrame]:
        return functools.partial(_before_secondary, table=table, keys=keys, k=k, previous=previous, nesting=nesting)

    def primary(table: Table, *keys: str) -> Callable[[DataFrame], DataFrame]:
        return lambda cells: cells.transform(suppress_primary, k).transform(
            suppress_visit_primary, k, max_stay_share).transform(against(table, *keys))

    cohort = (C.AGE_BAND, C.GENDER)
    visit_hours = bounded.transform(explode_visit_hours, hours)
    before = Observation("visitors_before_suppression")
    hourly_raw = visit_hours.transform(aggregate_cohort_hours, zones, event_date, hours).observe(
        before, F.sum(C.VISITORS).alias("visitors_total"))
    # Each grid is checkpointed (eager; the grids are small) in the order they depend on one
    # another: the LP pass and the writes read each several times, and each plan built on a
    # checkpoint starts from its rows, not from the whole lineage back to the visits, which
    # took seconds of the driver's time per plan before any job ran.
    totals = visit_hours.transform(aggregate_hours, zones, event_date, hours).transform(
        primary(ZONE_HOURLY_TOTAL, *HOUR_KEYS)).localCheckpoint()
    after_primary = Observation("visitors_after_primary")
    # zone_hourly publishes no visit metrics (footfall.privacy.suppression): gone before anything compares them.
    hourly = hourly_raw.transform(suppress_primary, k).transform(without_visit_metrics).observe(
        after_primary, F.sum(F.when(F.col(C.STATUS) == STATUS_PUBLISHED, F.col(C.VISITORS))).alias("published")
    ).transform(against(ZONE_HOURLY, *HOUR_KEYS, *cohort)).transform(suppress_secondary, totals, HOUR_KEYS, k
                                                                      ).localCheckpoint()
    day_totals = bounded.transform(aggregate_days, zones, event_date, estimates).transform(
        primary(ZONE_DAILY_TOTAL, *DAY_KEYS)).localCheckpoint()
    daily_raw = bounded.transform(aggregate_cohort_days, zones, event_date).localCheckpoint()
    daily = daily_raw.transform(primary(ZONE_DAILY, *DAY_KEYS, *cohort)).transform(
        suppress_secondary, day_totals, DAY_KEYS, k).localCheckpoint()
    margins = daily_raw.transform(aggregate_margins).transform(suppress_primary, k).transform(
        against(ZONE_DAILY_MARGINS, *DAY_KEYS, *cohort)).transform(
        suppress_margins_secondary, daily, day_totals, DAY_KEYS, k).localCheckpoint()
    grids = _protected({ZONE_HOURLY: hourly, ZONE_HOURLY_TOTAL: totals, ZONE_DAILY: daily,
                        ZONE_DAILY_TOTAL: day_totals, ZONE_DAILY_MARGINS: margins}, k)
    with step("compute", "utility", visit_hours.sparkSession, zone_set=zone_set) as s:
        # Before the writes: nothing is published unless the whole run's counts are there.
        utility = coverage_counts(visit_hours, grids)
        s.record(rows_in=utility.get(VISITOR_HOURS_TOTAL, 0))
    return _write_grids(grids, _partition(event_date, zone_set), run_id, before, after_primary) | utility


def _write_grids(grids: dict[Table, DataFrame], keys: dict[str, object], run_id: str, before: Observation,
                 after_primary: Observation) -> dict[str, int]:
    """Write the five protected grids with the public status, and why each cell was withheld;
    returns the counts for ops.runs (`before`, `after_primary`: the visitors observed on the way)."""
    hourly_counts = _write_observed(
        grids[ZONE_HOURLY], ZONE_HOURLY, keys, "cells",
        [*_cell_metrics("cells"), F.sum(C.VISITORS).alias(PUBLISHED_VISITORS)], release=public_status)
    counts = {"visitors_total": int(before.get["visitors_total"] or 0)}
    published = hourly_counts.pop(PUBLISHED_VISITORS)
    counts["visitors_in_suppressed_cells"] = counts["visitors_total"] - published
    # The information loss of secondary suppression alone (both passes), in visitor-hours.
    counts["visitors_in_secondary_cells"] = int(after_primary.get["published"] or 0) - published
    counts |= hourly_counts
    for table, prefix in ((ZONE_HOURLY_TOTAL, "total_cells"), (ZONE_DAILY, "daily_cells"),
                          (ZONE_DAILY_TOTAL, "daily_total_cells"), (ZONE_DAILY_MARGINS, "margin_cells")):
        metrics = _cell_metrics(prefix, visit_metrics=C.VISITS in table.names)
        counts |= _write_observed(grids[table], table, keys, prefix, metrics, release=public_status)
    withheld = [withheld_cells(grid, table.name, run_id) for table, grid in grids.items()]
    replace_partition(functools.reduce(DataFrame.unionByName, withheld), WITHHELD_CELLS, keys)
    return counts


def _before_secondary(cells: DataFrame, table: Table, keys: Sequence[str], k: int,
                      previous: dict[Table, DataFrame] | None, nesting: Nesting | None) -> DataFrame:
    """A grid after primary suppression: against the replaced release, if any, then across zone sets."""
    if previous is not None:
        cells = suppress_against_release(cells, previous[table], keys, k)
    return cells if nesting is None else nesting.protect(cells, table, [c for c in keys if c not in DAY_KEYS], k)


def _protected(grids: dict[Table, DataFrame], k: int) -> dict[Table, DataFrame]:
    """The grids after the LP pass (protect_linked) and, last, the visit metrics' secondary
    suppression, on the final pattern of withheld cells: hours and cohorts each add up to the
    day (footfall.privacy.suppression). Checkpointed (the grids are small): the visit metrics'
    window rules, the writes and ops.withheld_cells plan from the stored rows, not from the
    grids' whole lineage, and totals and daily are computed once, not again for withheld_cells."""
    out = {t: grid.localCheckpoint() for t, grid in protect_linked(grids, k).items()}
    day_totals = out[ZONE_DAILY_TOTAL]
    for table, disjoint in ((ZONE_HOURLY_TOTAL, False), (ZONE_DAILY, True)):
        out[table] = out[table].transform(suppress_visit_secondary, day_totals, DAY_KEYS, k,
                                          disjoint_people=disjoint).localCheckpoint()
    return out


def _write_observed(df: DataFrame, table: Table, keys: dict[str, object], rows: str, metrics: Sequence[Column] = (),
                    release: Callable[[DataFrame], DataFrame] | None = None) -> dict[str, int]:
    """Replace the (date, zone set) partition of `table` with `df`; the rows written (named
    `rows`) and the metrics observed on the way, before `release` (if given) turns `df` into
    the rows written."""
    observation = Observation(table.name)
    with step("compute", table.name, df.sparkSession, zone_set=str(keys[C.ZONE_SET])) as s:
        observed = df.observe(observation, F.count(F.lit(1)).alias(rows), *metrics)
        replace_partition(observed if release is None else release(observed), table, keys)
        counts = {name: int(value or 0) for name, value in observation.get.items()}
        # By name: Observation.get is a map whose order is lost beyond four metrics.
        s.record(rows_out=counts[rows])
    return counts


def _cell_metrics(prefix: str, visit_metrics: bool = True) -> list[Column]:
    """The number of cells published, withheld as primary and as secondary (against
    the replaced release, or either pass), counted before the public status hides why; and, if
    the table has `visit_metrics`, the published cells without a visit count, and without a
    dwell histogram (all of zone_hourly's)."""
    by_status = [
        F.count(F.when(F.col(C.STATUS).isin(*statuses), 1)).alias(f"{prefix}_{name}")
        for name, statuses in (("published", (STATUS_PUBLISHED,)), ("suppressed_primary", (WITHHELD_PRIMARY,)),
                               ("suppressed_secondary", (WITHHELD_REPUBLISH, WITHHELD_SUBTRACTION, WITHHELD_LINKED,
                                                         WITHHELD_NESTED)))
    ]
    published = F.col(C.STATUS) == STATUS_PUBLISHED
    withheld = [F.count(F.when(published & F.col(metric).isNull(), 1)).alias(f"{prefix}_{name}_withheld")
                for name, metric in (("visits", C.VISITS), ("histogram", C.PASSERSBY))]
    return [*by_status, *withheld] if visit_metrics else by_status
