"""Visits: gaps-and-islands over one subscriber's events in one zone, and the cohort attached.

A visit is a maximal run of one subscriber's events inside one zone, on one local day, where
consecutive events are at most `max_gap` apart. Dwell = last event - first event. A visit with
dwell < `min_dwell` is a pass-by. Definitions: docs/definitions.md.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from footfall.schemas import VISITS, C, cols

UNKNOWN = "unknown"
_VISIT_NO = "_visit_no"
_NEW_VISIT = "_new_visit"


def _local_date(event_time: str, time_zone: str) -> F.Column:
    return F.to_date(F.from_utc_timestamp(F.col(event_time), time_zone))


def sessionize_visits(zoned: DataFrame, max_gap_minutes: int, min_dwell_minutes: int, time_zone: str) -> DataFrame:
    """Zoned events (zone_set, zone_id, pseudo_id, event_time) -> one row per visit.

    Columns: zone_set, zone_id, event_date, pseudo_id, visit_start, visit_end, dwell_s,
    n_events, is_passby (restricted.visits without the cohort; see `with_cohort`).
    """
    # The local date is part of the window partition: that is the cut at local midnight. An
    # event at 23:58 and one at 00:03 are never one visit, whatever the gap, because the
    # published day must not depend on the day after (and restricted.events holds one day).
    keys = [C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, C.EVENT_DATE]
    by_time = Window.partitionBy(*keys).orderBy(C.EVENT_TIME)
    gap_s = F.col(C.EVENT_TIME).cast("long") - F.lag(C.EVENT_TIME).over(by_time).cast("long")
    # restricted.events has no NULL event_time; one here could not be placed in any visit.
    numbered = (
        zoned.where(F.col(C.EVENT_TIME).isNotNull())
        .withColumn(C.EVENT_DATE, _local_date(C.EVENT_TIME, time_zone))
        .withColumn(_NEW_VISIT, F.when(gap_s <= max_gap_minutes * 60, 0).otherwise(1))
        # The running sum uses the same partitioning and order as the lag above, so Spark
        # sorts once for both (the second Window reuses the first one's order).
        .withColumn(_VISIT_NO, F.sum(_NEW_VISIT).over(by_time.rowsBetween(Window.unboundedPreceding, 0)))
    )
    visits = numbered.groupBy(*keys, _VISIT_NO).agg(
        F.min(C.EVENT_TIME).alias(C.VISIT_START),
        F.max(C.EVENT_TIME).alias(C.VISIT_END),
        F.count(F.lit(1)).alias(C.N_EVENTS),
    )
    dwell_s = F.col(C.VISIT_END).cast("long") - F.col(C.VISIT_START).cast("long")
    return visits.select(
        C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE, C.PSEUDO_ID, C.VISIT_START, C.VISIT_END,
        dwell_s.alias(C.DWELL_S), C.N_EVENTS, (dwell_s < min_dwell_minutes * 60).alias(C.IS_PASSBY),
    )


def with_cohort(visits: DataFrame, subscribers: DataFrame) -> DataFrame:
    """Attach age_band and gender from the day's subscriber snapshot (restricted.visits schema).

    A visit whose pseudo_id has no snapshot row keeps its visit with cohort unknown/unknown
    (dropping it would silently lower every total); `missing_subscribers` counts such ids.
    """
    # No broadcast: neither side is small (millions of subscribers, millions of visits).
    joined = visits.alias("v").join(
        subscribers.alias("s"), F.col(f"v.{C.PSEUDO_ID}") == F.col(f"s.{C.PSEUDO_ID}"), how="left"
    )
    return joined.select(
        *[F.col(f"v.{c}") for c in (C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE, C.PSEUDO_ID)],
        F.coalesce(F.col(f"s.{C.AGE_BAND}"), F.lit(UNKNOWN)).alias(C.AGE_BAND),
        F.coalesce(F.col(f"s.{C.GENDER}"), F.lit(UNKNOWN)).alias(C.GENDER),
        *[F.col(f"v.{c}") for c in (C.VISIT_START, C.VISIT_END, C.DWELL_S, C.N_EVENTS, C.IS_PASSBY)],
    ).select(*cols(VISITS))


def missing_subscribers(visits: DataFrame, subscribers: DataFrame) -> DataFrame:
    """Distinct pseudo_ids with a visit but no snapshot row (counted in ops.runs; should be none)."""
    ids = visits.select(C.PSEUDO_ID).distinct().alias("v")
    return ids.join(
        subscribers.select(C.PSEUDO_ID).alias("s"), F.col(f"v.{C.PSEUDO_ID}") == F.col(f"s.{C.PSEUDO_ID}"),
        how="left_anti",
    )
