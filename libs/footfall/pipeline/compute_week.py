"""`footfall compute-week --week 2026-W11`: the week release (issue 16) of days already published.

For each zone set, from restricted.visits of the ISO week's seven local days (Monday to Sunday):
the distinct subscribers per zone over the week by cohort, in all, by age band and by gender,
and by home district (footfall.pipeline.aggregate.aggregate_week); cells below k withheld, and
then the cells the LP over the week beside its published days would use to narrow a withheld
cell (footfall.privacy.week); the week's partition of footfall.zone_weekly, zone_weekly_total,
zone_weekly_margins and zone_weekly_catchment replaced, with each published cell's population
estimate (visitors_est: footfall.pipeline.estimate, the Monday snapshot's weights), and the
week's rows of ops.withheld_cells (dated by the Monday). The days stay as published.

Refused before any work when the week is published already (a week is immutable, and so are its
days: footfall.pipeline.release), and unless every day of the week is published for the zone set by a
suppress-mode compute, the week's subscriber snapshots carry one pseudonymisation key (a person
under two keys would be counted twice), and each subscriber's visits carry one cohort and home
district all week (a day computed before cohorts were fixed per week, or before a snapshot of the
week was reloaded, is to be computed again with `footfall compute --republish`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import re

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from footfall.config import MODE_SUPPRESS, Config
from footfall.errors import EXIT_OK, BadInputError, ConfigError, PublishedDayError
from footfall.localtime import day_hours, week_label
from footfall.manifest import recorded_run
from footfall.pipeline.aggregate import aggregate_week, bound_contributions, explode_visit_hours
from footfall.pipeline.estimate import WEEK, with_visitors_est
from footfall.pipeline.publish import write_observed
from footfall.pipeline.release import chosen_zone_sets, released, weeks_published, zone_counts
from footfall.pipeline.utility import LEVELS, WEEK_LEVELS, coverage_counts, utility
from footfall.privacy.suppression import (
    protect_week,
    public_status,
    published_days,
    suppress_primary,
    withheld_cells,
)
from footfall.schemas import (
    HOME_UNKNOWN,
    MARKET_SHARE,
    PUBLISHED_TABLES,
    RUNS,
    STATUS_PUBLISHED,
    SUBSCRIBERS,
    VISITS,
    WEEK_TABLES,
    WITHHELD_CELLS,
    ZONE_CATCHMENT,
    ZONE_WEEKLY_TOTAL,
    ZONES,
    C,
    Table,
)
from footfall.session import build_session
from footfall.tables import ensure_tables, replace_partition


def iso_week(text: str) -> dt.date:
    """The Monday of ISO week `text` (YYYY-Www, e.g. 2026-W11)."""
    found = re.fullmatch(r"(\d{4})-W(\d{2})", text.strip())
    try:
        if found:
            return dt.date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not an ISO week: write YYYY-Www, e.g. 2026-W11")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--week", required=True, type=iso_week, help="ISO week YYYY-Www (Monday to Sunday)")
    parser.add_argument("--zone-set", action="append", dest="zone_sets", metavar="NAME",
                        help="zone set to release (repeatable; default: every zone set in ref.zones)")


def command(args: argparse.Namespace, cfg: Config) -> int:
    spark = build_session(cfg)
    for zone_set, counts in run(spark, cfg, args.week, args.zone_sets).items():
        shown = {k: v for k, v in counts.items() if not k.startswith("utility_")}
        print(f"compute-week {week_label(args.week)} [{zone_set}]: " + ", ".join(f"{k}={v}" for k, v in sorted(
            shown.items())) + f"\n    {utility(counts)}")
    return EXIT_OK


def run(spark: SparkSession, cfg: Config, monday: dt.date, zone_sets: list[str] | None = None
        ) -> dict[str, dict[str, int]]:
    """Release the ISO week starting `monday` for the zone sets; returns the counts per set."""
    if cfg.privacy.mode != MODE_SUPPRESS:
        raise ConfigError(f"the week release publishes suppressed counts: privacy.mode is {cfg.privacy.mode}, "
                          f"set it to {MODE_SUPPRESS}")
    ensure_tables(spark, (ZONES, SUBSCRIBERS, MARKET_SHARE, VISITS, RUNS, *PUBLISHED_TABLES, *WEEK_TABLES,
                          WITHHELD_CELLS))
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    chosen = chosen_zone_sets(zone_counts(spark.table(ZONES.name)), zone_sets)
    weeks = weeks_published(spark, monday, chosen)
    if weeks:
        raise PublishedDayError(f"the week of {monday.isoformat()} is already published for {', '.join(weeks)}: "
                                "published weeks are immutable (a week republish is not supported); nothing was "
                                "computed or written")
    _check_days(spark, days, chosen)
    _check_key(spark, days)
    results = {}
    for zone_set in chosen:
        with recorded_run(spark, cfg, "compute-week", monday, zone_set, {"week": week_label(monday)}) as rec:
            rec.counts.update(_release(spark, cfg, days, zone_set, rec.run_id))
            results[zone_set] = dict(rec.counts)
    return results


def _check_days(spark: SparkSession, days: list[dt.date], zone_sets: list[str]) -> None:
    """Every day published for every zone set, by a finished suppress-mode compute."""
    missing, other = [], []
    for day in days:
        found = released(spark, day)
        for zone_set in zone_sets:
            run_id, modes = found.get(zone_set, (None, set()))
            if run_id is None:
                missing.append(f"{day.isoformat()} {zone_set}")
            elif modes != {MODE_SUPPRESS}:
                other.append(f"{day.isoformat()} {zone_set} ({', '.join(sorted(modes))})")
    if other:
        raise BadInputError(f"days of the week released in another privacy mode: {'; '.join(other)}. The week "
                            "release bounds suppressed days; nothing was written")
    if missing:
        raise BadInputError(f"days of the week not published: {'; '.join(missing)}. Run footfall compute "
                            "--date D for each of them first; nothing was written")


def _check_key(spark: SparkSession, days: list[dt.date]) -> None:
    """One pseudonymisation key over the week's snapshots (docs/privacy.md, epochs and periods)."""
    keys = sorted(r[0] for r in spark.table(SUBSCRIBERS.name).where(F.col(C.SNAPSHOT_DATE).isin(*days)).select(
        C.KEY_ID).distinct().collect())
    if len(keys) != 1:
        raise BadInputError(f"the week's subscriber snapshots carry {len(keys)} pseudonymisation keys "
                            f"({', '.join(keys) or 'none'}): a person would be counted once per key. A week lies "
                            "in one key epoch unless privacy.key_epoch_days changed within it; nothing was written")


def _check_cohorts(visits: DataFrame) -> None:
    attributes = F.struct(C.AGE_BAND, C.GENDER, F.coalesce(C.HOME_DISTRICT, F.lit(HOME_UNKNOWN)))
    mixed = visits.groupBy(C.PSEUDO_ID).agg(F.count_distinct(attributes).alias("n")).where(F.col("n") > 1).count()
    if mixed:
        raise BadInputError(f"{mixed} subscribers have visits in two cohorts or home districts this week: days "
                            "computed with different snapshots. Compute the week's days again with footfall "
                            "compute --republish; nothing was written")


def _release(spark: SparkSession, cfg: Config, days: list[dt.date], zone_set: str, run_id: str) -> dict[str, int]:
    """The week's four tables of one zone set (module doc) and why their cells were withheld
    (ops.withheld_cells, dated by the Monday); returns the counts for ops.runs, with the utility
    of the days and the week together (footfall.pipeline.utility)."""
    k = cfg.privacy.k
    in_week = (F.col(C.EVENT_DATE).between(F.lit(days[0]), F.lit(days[-1]))) & (F.col(C.ZONE_SET) == zone_set)
    visits = spark.table(VISITS.name).where(in_week).localCheckpoint()
    _check_cohorts(visits)
    # The days' home districts (their catchment rows) and the week's, and unknown: a full grid.
    homes = {r[0] for r in spark.table(ZONE_CATCHMENT.name).where(in_week).select(C.HOME_DISTRICT).distinct()
             .collect()}
    homes |= {r[0] or HOME_UNKNOWN for r in visits.select(C.HOME_DISTRICT).distinct().collect()} | {HOME_UNKNOWN}
    zones = spark.table(ZONES.name).where(F.col(C.ZONE_SET) == zone_set)
    grids = {t: g.transform(suppress_primary, k).localCheckpoint() for t, g in aggregate_week(
        visits, zones, days[0], sorted(homes)).items()}
    # The days' cells of the zones with a published week cell only: the others need no LP
    # (protect_week), and a week of zone_hourly is 7 x 24 x 21 cells per zone.
    answered = functools.reduce(DataFrame.union, [g.where(F.col(C.STATUS) == STATUS_PUBLISHED).select(C.ZONE_ID)
                                                  for g in grids.values()]).distinct()
    published = {t: spark.table(t.name).where(in_week) for t in PUBLISHED_TABLES}
    grids = protect_week(grids, published_days({t: rows.join(F.broadcast(answered), [C.ZONE_ID], "left_semi")
                                                for t, rows in published.items()}), k)
    grids = {t: g.localCheckpoint() for t, g in grids.items()}  # read thrice: utility, why withheld, the write
    counts: dict[str, int] = {"visits_in": visits.count()} | _utility(cfg, visits, days, {**published, **grids})
    withheld = functools.reduce(DataFrame.unionByName, [withheld_cells(g, t.name, run_id) for t, g in grids.items()])
    replace_partition(withheld, WITHHELD_CELLS, {C.EVENT_DATE: days[0], C.ZONE_SET: zone_set,
                                                 C.TABLE_NAME: tuple(t.name for t in grids)})
    weights = spark.table(MARKET_SHARE.name).where(F.col(C.SNAPSHOT_DATE) == F.lit(days[0]))
    # The week total last: it marks the week as published (release.weeks_published), so a run that
    # fails before it may be run again.
    for table, grid in sorted(with_visitors_est(grids, weights, WEEK).items(), key=lambda t: t[0] is ZONE_WEEKLY_TOTAL):
        name = table.name.split(".")[1]
        counts |= write_observed(grid, table, {C.WEEK_START: days[0], C.ZONE_SET: zone_set}, f"{name}_cells", [
            F.count(F.when(F.col(C.STATUS) == STATUS_PUBLISHED, 1)).alias(f"{name}_published")],
            release=public_status)
    return counts


def _utility(cfg: Config, visits: DataFrame, days: list[dt.date], grids: dict[Table, DataFrame]) -> dict[str, int]:
    """The utility counts of the week's visits at the days' levels (`grids`: the days as published)
    and the week's (the week's grids after disclosure control), as compute counts a day's."""
    bounded = visits.transform(bound_contributions, cfg.privacy.max_visits_per_zone_hour,
                               cfg.privacy.max_dwell_minutes)
    # Each day's visits with that day's hours only, as its compute did: a visit cut at midnight
    # ends at the next day's first hour, which is not one of its hours.
    visit_hours = functools.reduce(DataFrame.unionByName, [
        bounded.where(F.col(C.EVENT_DATE) == F.lit(day)).transform(explode_visit_hours, day_hours(day, cfg.time_zone))
        for day in days])
    return coverage_counts(visit_hours, grids, (*LEVELS, *WEEK_LEVELS))
