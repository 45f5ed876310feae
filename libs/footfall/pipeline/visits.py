"""Steps 5 and 6 of the stay model: stays and travel observations -> visits of one zone set, and
the cohort attached (docs/definitions.md, "Visits").

A stay is one point, its centroid, with its sigma: it is a visit of every zone of the set whose
polygon it intersects, provided sigma <= zone_sigma_factor x the zone's equivalent radius
sqrt(area_m2 / pi) (a 25 m store-front buffer takes stays located to 15 m; a district takes
cell-only stays). The visit inherits the stay's estimated start and end. The measured events of
moving bursts under the same rule make pass-by visits, one per (burst, zone), from the first to
the last event in the zone; one within passby_merge_s of a stay visit of the same person and
zone is dropped (the person leaving or reaching that stay). Dwell = end - start; a visit with
dwell < min_dwell is a pass-by.
"""

from __future__ import annotations

import datetime as dt
import math

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from footfall.config import VisitsSection
from footfall.localtime import week_start
from footfall.schemas import HOME_UNKNOWN, VISITS, C, cols
from footfall.schemas.day import D
from footfall.zones.cover import Cover
from footfall.zones.join import assign_zones

UNKNOWN = "unknown"
LIMIT = "_sigma_limit_m"  # the zone's largest admissible sigma
IS_STAY = "_is_stay"
_DROP = "_redundant"
# The zone stays `stay_visits` returns: the zone, the visit and what the duration model needs.
ZONE_STAY_COLUMNS = (
    C.ZONE_SET, C.ZONE_ID, C.CATEGORY, LIMIT, C.PSEUDO_ID, D.START_S, D.END_S, C.N_EVENTS, D.FIRST_OBS,
    D.LAST_OBS, D.START_LO, D.START_HI, D.END_LO, D.END_HI, D.VIRTUAL, D.BURSTS_PER_S, D.STAY_NO,
)
_ZONE_COLUMNS = (C.ZONE_SET, C.ZONE_ID, C.CATEGORY, C.AREA_M2)


def sigma_limit(area_m2: Column, p: VisitsSection) -> Column:
    """The largest sigma of a point placed in a zone: zone_sigma_factor x sqrt(area / pi)."""
    return p.zone_sigma_factor * F.sqrt(area_m2 / math.pi)


def largest_limit(zones: DataFrame, p: VisitsSection) -> float:
    """The largest sigma any zone of `zones` admits (points beyond it need not be joined)."""
    row = zones.agg(F.max(sigma_limit(F.col(C.AREA_M2), p)).alias("m")).first()
    return float(row["m"]) if row is not None and row["m"] is not None else 0.0


def _placed(points: DataFrame, zones: DataFrame, cover: Cover | None, p: VisitsSection) -> DataFrame:
    """Points (lon, lat, sigma_m) x the zones that contain them and admit their sigma."""
    candidates = points.where(F.col(D.SIGMA_M) <= largest_limit(zones, p))
    zoned = assign_zones(candidates, zones, cover, _ZONE_COLUMNS)
    return zoned.withColumn(LIMIT, sigma_limit(F.col(C.AREA_M2), p)).where(F.col(D.SIGMA_M) <= F.col(LIMIT))


def stay_visits(stay_points: DataFrame, zones: DataFrame, cover: Cover | None, p: VisitsSection) -> DataFrame:
    """day.stay_points -> one row per (stay, zone it is placed in): ZONE_STAY_COLUMNS."""
    return _placed(stay_points, zones, cover, p).select(*ZONE_STAY_COLUMNS)


def passby_visits(travel_points: DataFrame, zones: DataFrame, cover: Cover | None, p: VisitsSection) -> DataFrame:
    """Measured events of moving bursts (day.observations) -> one visit per (burst, zone):
    zone_set, zone_id, pseudo_id, start_s, end_s, n_events."""
    placed = _placed(travel_points.where(F.col(D.MEASURED)), zones, cover, p)
    return placed.groupBy(C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, D.BURST_NO).agg(
        F.min(D.T_S).alias(D.START_S), F.max(D.T_S).alias(D.END_S), F.count(F.lit(1)).alias(C.N_EVENTS),
    ).drop(D.BURST_NO)


def without_redundant_passbys(visits: DataFrame, merge_s: float) -> DataFrame:
    """Stay visits and pass-bys of one zone set (IS_STAY tells them apart) -> the same without
    the pass-bys within `merge_s` of a stay visit of the same person and zone."""
    order = Window.partitionBy(C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID).orderBy(D.START_S, D.END_S)
    stay = F.col(IS_STAY)
    stay_end = F.last(F.when(stay, F.col(D.END_S)), ignorenulls=True).over(
        order.rowsBetween(Window.unboundedPreceding, 0))
    stay_start = F.first(F.when(stay, F.col(D.START_S)), ignorenulls=True).over(
        order.rowsBetween(0, Window.unboundedFollowing))
    near = (F.col(D.START_S) - stay_end <= merge_s) | (stay_start - F.col(D.END_S) <= merge_s)
    # A window function cannot stand in a WHERE: the flag is a column first.
    flagged = visits.withColumn(_DROP, ~stay & F.coalesce(near, F.lit(False)))
    return flagged.where(~F.col(_DROP)).drop(_DROP)


def zone_visits(zone_stays: DataFrame, passbys: DataFrame, event_date: dt.date, p: VisitsSection) -> DataFrame:
    """Zone stays (ZONE_STAY_COLUMNS, with their final start and end) and pass-bys of one zone set
    -> restricted.visits without the cohort. Times are rounded to whole seconds."""
    stays = zone_stays.select(
        C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, D.START_S, D.END_S, C.N_EVENTS, F.lit(True).alias(IS_STAY),
        F.when(~F.col(D.VIRTUAL), F.col(D.FIRST_OBS)).alias(D.FIRST_OBS),
        F.when(~F.col(D.VIRTUAL), F.col(D.LAST_OBS)).alias(D.LAST_OBS))
    travel = passbys.select(
        C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, D.START_S, D.END_S, C.N_EVENTS, F.lit(False).alias(IS_STAY),
        F.col(D.START_S).alias(D.FIRST_OBS), F.col(D.END_S).alias(D.LAST_OBS))
    kept = stays.unionByName(travel).transform(without_redundant_passbys, p.passby_merge_s)

    def instant(seconds: str) -> Column:
        return F.timestamp_seconds(F.round(F.col(seconds)).cast("long"))

    dwell = F.round(F.col(D.END_S)).cast("long") - F.round(F.col(D.START_S)).cast("long")
    return kept.select(
        C.ZONE_SET, C.ZONE_ID, F.lit(event_date).alias(C.EVENT_DATE), C.PSEUDO_ID,
        instant(D.START_S).alias(C.VISIT_START), instant(D.END_S).alias(C.VISIT_END), dwell.alias(C.DWELL_S),
        C.N_EVENTS, (dwell < p.min_dwell_minutes * 60).alias(C.IS_PASSBY),
        instant(D.FIRST_OBS).alias(C.FIRST_SEEN), instant(D.LAST_OBS).alias(C.LAST_SEEN),
    )


def week_cohorts(snapshots: DataFrame, day: dt.date) -> DataFrame:
    """Each subscriber's cohort and home district on `day`: those of the earliest snapshot of the
    day's ISO week, Monday up to `day`, that holds the subscriber (pseudo_id, age_band, gender,
    home_district). Fixed for the week, so that every day of a week counts a subscriber in the
    cohort and home district a week's release counts it in, and a week's cells bound its days'
    (docs/definitions.md, Cohort); pseudonyms hold for the week as well (key epochs of whole ISO
    weeks, footfall.privacy.pseudonym)."""
    monday = week_start(day)
    first = F.min_by(F.struct(C.AGE_BAND, C.GENDER, C.HOME_DISTRICT), C.SNAPSHOT_DATE).alias("first")
    return (snapshots.where(F.col(C.SNAPSHOT_DATE).between(F.lit(monday), F.lit(day)))
            .groupBy(C.PSEUDO_ID).agg(first).select(C.PSEUDO_ID, "first.*"))


def with_cohort(visits: DataFrame, subscribers: DataFrame) -> DataFrame:
    """Attach age_band, gender and home_district from `week_cohorts` (restricted.visits schema).

    A visit whose pseudo_id has no snapshot row keeps its visit with cohort unknown/unknown and home unknown
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
        F.coalesce(F.col(f"s.{C.HOME_DISTRICT}"), F.lit(HOME_UNKNOWN)).alias(C.HOME_DISTRICT),
        *[F.col(f"v.{c}") for c in (C.VISIT_START, C.VISIT_END, C.DWELL_S, C.N_EVENTS, C.IS_PASSBY, C.FIRST_SEEN,
                                    C.LAST_SEEN)],
    ).select(*cols(VISITS))


def missing_subscribers(visits: DataFrame, subscribers: DataFrame) -> DataFrame:
    """Distinct pseudo_ids with a visit but no snapshot row (counted in ops.runs; should be none)."""
    ids = visits.select(C.PSEUDO_ID).distinct().alias("v")
    return ids.join(
        subscribers.select(C.PSEUDO_ID).alias("s"), F.col(f"v.{C.PSEUDO_ID}") == F.col(f"s.{C.PSEUDO_ID}"),
        how="left_anti",
    )
