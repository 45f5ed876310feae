"""The rules of a release: which computes of a day may publish, and what a republish must do.

A published day is immutable unless republished deliberately (`--republish`, recorded in
ops.runs); a day is released in one privacy mode; in dp mode the budget must allow the release
(footfall.privacy.dp); a published week (footfall.pipeline.compute_week) is immutable, and so are
its days. Everything here is checked before any work, so a refused release computes
and writes nothing. A republish is protected against differencing: its cells are suppressed
against the release they replace (footfall.privacy.suppression.suppress_against_release), and
the replaced files are vacuumed at once, so no time-travel query (`VERSION AS OF`) can read the
old release beside the new one (docs/privacy.md, "Releases").
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from footfall.config import MODE_DP, MODE_SUPPRESS, Config
from footfall.errors import BadInputError, PublishedDayError, ReleaseRefusedError
from footfall.localtime import week_start
from footfall.privacy import dp
from footfall.schemas import RUNS, STATUS_DP, ZONE_HOURLY, ZONE_WEEKLY_TOTAL, ZONES, C
from footfall.tables import ensure_tables

# Every compute writes zone_hourly first: a day with rows there is (being) published, even if
# the compute that wrote them crashed before recording its run.
FIRST_WRITTEN = ZONE_HOURLY


def zone_counts(zones: DataFrame) -> dict[str, int]:
    """Zone set -> number of zones."""
    return {r[C.ZONE_SET]: int(r["n"]) for r in zones.groupBy(C.ZONE_SET).agg(F.count(F.lit(1)).alias("n")).collect()}


def chosen_zone_sets(known: dict[str, int], wanted: list[str] | None) -> list[str]:
    """The zone sets a compute works on: `wanted` (all of `known` when None), each known."""
    if not known:
        raise BadInputError("ref.zones is empty: run footfall load-reference first")
    unknown = sorted(set(wanted or ()) - set(known))
    if unknown:
        raise BadInputError(f"unknown zone set(s) {', '.join(unknown)}: the zone sets in ref.zones are "
                            f"{', '.join(sorted(known))}")
    return list(dict.fromkeys(wanted)) if wanted else sorted(known)


def check_release(spark: SparkSession, cfg: Config, event_date: dt.date, zone_sets: list[str] | None,
                  republish: bool, counts: dict[str, int] | None = None) -> dict[str, str]:
    """Refuse, before any work, a release of `event_date` the rules forbid: check_republish, and in
    dp mode footfall.privacy.dp.check_budget with the zone sets of `counts` (zone set -> zones;
    None: ref.zones as it is now, skipped while it is empty). Returns check_republish's
    published zone sets."""
    published = check_republish(spark, event_date, zone_sets, republish, cfg.privacy.mode)
    if cfg.privacy.mode == MODE_DP:
        if counts is None:
            ensure_tables(spark, (ZONES,))
            counts = zone_counts(spark.table(ZONES.name))
        if counts:
            share = sum(r.epsilon for r in dp.plan_budget(cfg.privacy.epsilon, len(counts),
                                                            dp.Bounds.from_config(cfg)))
            dp.check_budget(spark, event_date, chosen_zone_sets(counts, zone_sets), share, cfg.privacy.epsilon,
                            cfg.privacy.period_days, cfg.privacy.epsilon_period)
    return published


def released(spark: SparkSession, event_date: dt.date) -> dict[str, tuple[str | None, set[str]]]:
    """Zone set -> (run id of its last successful compute or None, the modes it was released in)
    for every zone set of `event_date` with a successful compute or rows in FIRST_WRITTEN."""
    ensure_tables(spark, (RUNS, FIRST_WRITTEN))
    runs = spark.table(RUNS.name).where(
        (F.col(C.JOB) == "compute") & (F.col(C.EVENT_DATE) == F.lit(event_date)) & (F.col(C.STATUS) == "ok")
    ).groupBy(C.ZONE_SET).agg(
        F.max_by(C.RUN_ID, C.STARTED_AT).alias(C.RUN_ID),
        # runs recorded before dp mode existed have no privacy_mode: they were suppression runs
        F.collect_set(F.coalesce(F.get_json_object(C.PARAMETERS, "$.privacy_mode"), F.lit(MODE_SUPPRESS)))
        .alias("modes"),
    ).collect()
    written = spark.table(FIRST_WRITTEN.name).where(F.col(C.EVENT_DATE) == F.lit(event_date)).select(
        C.ZONE_SET, F.when(F.col(C.STATUS) == STATUS_DP, MODE_DP).otherwise(MODE_SUPPRESS).alias("mode")
    ).distinct().collect()
    released: dict[str, tuple[str | None, set[str]]] = {r[C.ZONE_SET]: (r[C.RUN_ID], set(r["modes"])) for r in runs}
    for r in written:
        released.setdefault(r[C.ZONE_SET], (None, set()))[1].add(r["mode"])
    return released


def check_republish(spark: SparkSession, event_date: dt.date, zone_sets: list[str] | None,
                    republish: bool, mode: str) -> dict[str, str]:
    """The zone sets (all when None) whose `event_date` is published, each with the run id of its
    last successful compute ("" if the compute that wrote it did not finish); PublishedDayError if
    there are any and `republish` is not set.

    A published day is immutable: analysts may have used its numbers, and the difference of two
    releases can disclose what each alone hides. A compute that crashed after its first published
    write leaves a day partly published: it counts as published.

    A day is released in one privacy mode (privacy.mode `mode`), whatever the zone set:
    ReleaseRefusedError if any zone set of the day was published in the other. Exact numbers
    beside noisy ones of the same people would leave the noise protecting nothing, and a
    subscriber is in every zone set.
    """
    found = released(spark, event_date)
    other = sorted((m, zone_set) for zone_set, (_, modes) in found.items() for m in modes if m != mode)
    if other:
        shown = ", ".join(f"{zone_set} ({m} mode)" for m, zone_set in other)
        raise ReleaseRefusedError(
            f"{event_date.isoformat()} is published in {shown}: a {mode} release of the same day would "
            "stand beside it, and exact and noisy numbers of the same people together leave the noise "
            "protecting nothing. Nothing was computed or written. A day is released in one privacy mode "
            "(docs/dp.md); compute it with privacy.mode as before")
    published = {z: run_id or "" for z, (run_id, _) in found.items() if zone_sets is None or z in zone_sets}
    monday = week_start(event_date)
    weeks = weeks_published(spark, monday, list(published)) if published else []
    if weeks:
        raise PublishedDayError(
            f"{event_date.isoformat()} lies in the week of {monday.isoformat()}, whose week release is published "
            f"for {', '.join(weeks)}: a changed day beside the week's numbers could be differenced against them. "
            "Published weeks and their days are immutable; nothing was computed or written")
    if published and not republish:
        runs = ", ".join(published[z] or "that did not finish" for z in sorted(published))
        raise PublishedDayError(
            f"{event_date.isoformat()} is already published for {', '.join(sorted(published))} (compute run "
            f"{runs}); published days are immutable. Rerun with --republish to replace it deliberately "
            "(recorded in ops.runs)"
        )
    return published


def weeks_published(spark: SparkSession, monday: dt.date, zone_sets: list[str]) -> list[str]:
    """The zone sets of `zone_sets` whose ISO week starting `monday` has a week release (every
    compute-week writes zone_weekly_total, one row per zone)."""
    ensure_tables(spark, (ZONE_WEEKLY_TOTAL,))
    rows = spark.table(ZONE_WEEKLY_TOTAL.name).where(
        (F.col(C.WEEK_START) == F.lit(monday)) & F.col(C.ZONE_SET).isin(*zone_sets)).select(C.ZONE_SET).distinct()
    return sorted(r[0] for r in rows.collect())
