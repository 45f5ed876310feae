"""Steps 2 and 3 of the stay model: bursts -> stays over the whole trajectory, and the night place
(docs/definitions.md, "Stays" and "The night place").

Over a subscriber's informative (sigma <= informative_sigma_m), stationary bursts in time order,
a burst starts a new stay when it is the first, when a moving burst lies between it and the
previous one, or when the two centroids are farther apart than same_place_m + same_place_z x
sqrt(sigma_1^2 + sigma_2^2): a stay continues across any unobserved time within the day.
Cell-only stationary bursts join the previous stay when the stay's centroid is within their cell
range (sigma x accuracy_sigma_factor) with no travel in between, else the next one, else they
form coarse stays of their own. Per stay: first and last observation, bursts, events and the
inverse-variance centroid over its bursts.

The night place is the first stay's place when the first and last stays are the same place,
else whichever of the two was observed closer to its midnight. When the subscriber's first
(last) observation is not a stay there, a virtual stay observed only at local midnight is added
there, so that the night before the first observation (after the last) is spent somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.window import WindowSpec

from footfall.config import VisitsSection
from footfall.schemas import C, cols
from footfall.schemas.day import STAYS, D

_MV = "_moving_before"  # moving bursts of the subscriber up to and including this one
_INFORMATIVE = "_informative"
_RANGE = "_range_m"
_FIRST, _LAST, _HOME = "_first", "_last", "_home"
_FIRST_MOVE, _LAST_MOVE, _MAX_NO = "_first_move", "_last_move", "_max_no"
_KEEP = (C.PSEUDO_ID, D.FIRST_OBS, D.LAST_OBS, C.N_EVENTS, D.X_M, D.Y_M, D.SIGMA_M)


def _by_time() -> WindowSpec:
    return Window.partitionBy(C.PSEUDO_ID).orderBy(D.FIRST_OBS, D.LAST_OBS)


def _running(flag: Column) -> Column:
    return F.sum(flag.cast("long")).over(_by_time().rowsBetween(Window.unboundedPreceding, 0))


def same_place(x1: Column, y1: Column, s1: Column, x2: Column, y2: Column, s2: Column,
               p: VisitsSection) -> Column:
    """Two centroids are one place: closer than same_place_m + z x their combined sigma."""
    return F.hypot(x1 - x2, y1 - y2) <= p.same_place_m + p.same_place_z * F.hypot(s1, s2)


def _stationary(bursts: DataFrame, p: VisitsSection) -> DataFrame:
    """The stationary bursts with the running count of moving bursts and whether informative."""
    return bursts.withColumn(_MV, _running(F.col(D.MOVING))).where(~F.col(D.MOVING)).select(
        *_KEEP, _MV, (F.col(D.SIGMA_M) <= p.informative_sigma_m).alias(_INFORMATIVE),
        (F.col(D.SIGMA_M) * p.accuracy_sigma_factor).alias(_RANGE))


def _link(informative: DataFrame, p: VisitsSection) -> DataFrame:
    """Informative stationary bursts -> the same with stay_no (1, 2, ... per subscriber)."""
    prev = {c: F.lag(c).over(_by_time()) for c in (D.X_M, D.Y_M, D.SIGMA_M, _MV)}
    new = prev[D.X_M].isNull() | (prev[_MV] != F.col(_MV)) | ~same_place(
        F.col(D.X_M), F.col(D.Y_M), F.col(D.SIGMA_M), prev[D.X_M], prev[D.Y_M], prev[D.SIGMA_M], p)
    return informative.withColumn(D.STAY_NO, _running(new))


def _centroids(members: DataFrame) -> DataFrame:
    """groupBy stay: the inverse-variance centroid over its bursts and its sigma."""
    w = 1.0 / (F.col(D.SIGMA_M) * F.col(D.SIGMA_M))
    sums = members.groupBy(C.PSEUDO_ID, D.STAY_NO).agg(
        F.min(D.FIRST_OBS).alias(D.FIRST_OBS), F.max(D.LAST_OBS).alias(D.LAST_OBS),
        F.count(F.lit(1)).alias(D.N_BURSTS), F.sum(C.N_EVENTS).alias(C.N_EVENTS),
        F.sum(w).alias("_sw"), F.sum(w * F.col(D.X_M)).alias("_swx"), F.sum(w * F.col(D.Y_M)).alias("_swy"),
    )
    return sums.select(
        C.PSEUDO_ID, D.STAY_NO, D.FIRST_OBS, D.LAST_OBS, D.N_BURSTS, C.N_EVENTS,
        (F.col("_swx") / F.col("_sw")).alias(D.X_M), (F.col("_swy") / F.col("_sw")).alias(D.Y_M),
        (1.0 / F.sqrt(F.col("_sw"))).alias(D.SIGMA_M),
    )


def _attach(coarse: DataFrame, linked: DataFrame, p: VisitsSection) -> DataFrame:
    """Cell-only stationary bursts -> the same with the stay_no of the informative stay they join
    (previous, else next: within their range, no travel in between), NULL if none."""
    timeline = linked.withColumn(_INFORMATIVE, F.lit(True)).unionByName(
        coarse.withColumn(D.STAY_NO, F.lit(None).cast("long")))
    before = _by_time().rowsBetween(Window.unboundedPreceding, -1)
    after = _by_time().rowsBetween(1, Window.unboundedFollowing)
    mv = F.when(F.col(_INFORMATIVE), F.col(_MV))
    near = timeline.select(
        *_KEEP, _MV, _RANGE,
        F.last(D.STAY_NO, ignorenulls=True).over(before).alias("_prev"), F.last(mv, True).over(before).alias("_pmv"),
        F.first(D.STAY_NO, ignorenulls=True).over(after).alias("_next"), F.first(mv, True).over(after).alias("_nmv"),
    ).where(~F.col(_INFORMATIVE))
    centres = _centroids(linked).select(C.PSEUDO_ID, D.STAY_NO, D.X_M, D.Y_M)

    def joined(frame: DataFrame, key: str, alias: str) -> DataFrame:
        return frame.alias("b").join(
            centres.alias(alias), (F.col(f"b.{C.PSEUDO_ID}") == F.col(f"{alias}.{C.PSEUDO_ID}"))
            & (F.col(f"b.{key}") == F.col(f"{alias}.{D.STAY_NO}")), how="left",
        ).select("b.*", F.hypot(F.col(f"b.{D.X_M}") - F.col(f"{alias}.{D.X_M}"),
                                F.col(f"b.{D.Y_M}") - F.col(f"{alias}.{D.Y_M}")).alias(f"{key}_d"))

    both = joined(joined(near, "_prev", "p"), "_next", "n")
    fits_prev = (F.col("_pmv") == F.col(_MV)) & (F.col("_prev_d") <= F.col(_RANGE))
    fits_next = (F.col("_nmv") == F.col(_MV)) & (F.col("_next_d") <= F.col(_RANGE))
    stay = F.when(F.coalesce(fits_prev, F.lit(False)), F.col("_prev")).when(
        F.coalesce(fits_next, F.lit(False)), F.col("_next"))
    return both.select(*_KEEP, _MV, _RANGE, stay.alias(D.STAY_NO))


def _coarse_stays(leftover: DataFrame) -> DataFrame:
    """Cell-only bursts that joined no stay: consecutive ones within each other's range, with no
    travel in between, form one coarse stay (stay_no -1, -2, ...)."""
    prev = {c: F.lag(c).over(_by_time()) for c in (D.X_M, D.Y_M, _RANGE, _MV)}
    new = prev[D.X_M].isNull() | (prev[_MV] != F.col(_MV)) | (
        F.hypot(F.col(D.X_M) - prev[D.X_M], F.col(D.Y_M) - prev[D.Y_M]) > F.least(F.col(_RANGE), prev[_RANGE]))
    return leftover.withColumn(D.STAY_NO, -_running(new))


def link_stays(bursts: DataFrame, p: VisitsSection) -> DataFrame:
    """day.bursts -> stays (pseudo_id, stay_no, first/last observation, bursts, events, centroid,
    sigma): day.stays without the night place and the rates."""
    stationary = _stationary(bursts, p)
    linked = _link(stationary.where(F.col(_INFORMATIVE)), p)
    attached = _attach(stationary.where(~F.col(_INFORMATIVE)), linked, p)
    coarse = _coarse_stays(attached.where(F.col(D.STAY_NO).isNull()))
    members = [frame.select(*_KEEP, D.STAY_NO) for frame in (linked, attached.where(F.col(D.STAY_NO).isNotNull()),
                                                              coarse)]
    return _centroids(members[0].unionByName(members[1]).unionByName(members[2]))


def _field(struct: str, name: str) -> Column:
    return F.col(f"{struct}.{name}")


def _place(struct: str) -> tuple[Column, Column, Column]:
    return _field(struct, D.X_M), _field(struct, D.Y_M), _field(struct, D.SIGMA_M)


def _night(stays: DataFrame, bursts: DataFrame, day_start: float, day_end: float, p: VisitsSection) -> DataFrame:
    """Per subscriber: the night place and whether its first and last observations are stays there."""
    fields = F.struct(D.STAY_NO, D.FIRST_OBS, D.LAST_OBS, D.X_M, D.Y_M, D.SIGMA_M)
    ends = stays.groupBy(C.PSEUDO_ID).agg(
        F.min_by(fields, F.struct(D.FIRST_OBS, D.STAY_NO)).alias(_FIRST),
        F.max_by(fields, F.struct(D.FIRST_OBS, D.STAY_NO)).alias(_LAST), F.max(D.STAY_NO).alias(_MAX_NO))
    moves = bursts.where(F.col(D.MOVING)).groupBy(C.PSEUDO_ID).agg(
        F.min(D.FIRST_OBS).alias(_FIRST_MOVE), F.max(D.LAST_OBS).alias(_LAST_MOVE))
    night = ends.join(moves, C.PSEUDO_ID, how="left")
    same = same_place(*_place(_FIRST), *_place(_LAST), p)
    first_home = same | (_field(_FIRST, D.FIRST_OBS) - day_start <= day_end - _field(_LAST, D.LAST_OBS))
    return night.select(
        C.PSEUDO_ID, _MAX_NO, F.when(first_home, F.col(_FIRST)).otherwise(F.col(_LAST)).alias(_HOME),
        # The first (last) observation is a stay at the night place, not travel before (after) it.
        (first_home & ~F.coalesce(F.col(_FIRST_MOVE) < _field(_FIRST, D.FIRST_OBS), F.lit(False))
         ).alias("_starts_home"),
        ((same | ~first_home) & ~F.coalesce(F.col(_LAST_MOVE) > _field(_LAST, D.LAST_OBS), F.lit(False))
         ).alias("_ends_home"),
    )


def with_night_place(stays: DataFrame, bursts: DataFrame, day_start: float, day_end: float,
                     p: VisitsSection) -> DataFrame:
    """Stays -> the same with at_home and virtual, plus the virtual stays at the local midnights
    (stay_no 0 at the start, one above the subscriber's largest at the end)."""
    night = _night(stays, bursts, day_start, day_end, p)
    at_home = same_place(*_place("s"), *_place(f"n.{_HOME}"), p)
    real = stays.alias("s").join(night.alias("n"), F.col(f"s.{C.PSEUDO_ID}") == F.col(f"n.{C.PSEUDO_ID}"),
                                 how="inner").select("s.*", at_home.alias(D.AT_HOME), F.lit(False).alias(D.VIRTUAL))
    if not p.night_anchor:
        return real
    virtual = [
        night.where(~F.col(flag)).select(
            C.PSEUDO_ID, number.cast("long").alias(D.STAY_NO), F.lit(edge).alias(D.FIRST_OBS),
            F.lit(edge).alias(D.LAST_OBS), F.lit(0).cast("long").alias(D.N_BURSTS),
            F.lit(0).cast("long").alias(C.N_EVENTS),
            *[F.col(f"{_HOME}.{c}").alias(c) for c in (D.X_M, D.Y_M, D.SIGMA_M)],
            F.lit(True).alias(D.AT_HOME), F.lit(True).alias(D.VIRTUAL))
        for flag, edge, number in (("_starts_home", day_start, F.lit(0)),
                                   ("_ends_home", day_end, F.greatest(F.col(_MAX_NO), F.lit(0)) + 1))
    ]
    return real.unionByName(virtual[0]).unionByName(virtual[1])


def hour_index(t: Column, day_start: float, n_hours: int) -> Column:
    """The hour (0 .. n_hours) an instant falls in, counted in whole hours since local midnight
    (the day's start), so on a DST day not the wall-clock hour after the change (the
    spring-forward day's index 2 is 03:00-04:00 local)."""
    return F.least(F.greatest(F.floor((t - day_start) / 3600), F.lit(0)), F.lit(n_hours)).cast("int")


def with_rates(stays: DataFrame, bursts: DataFrame, hour_shares: Sequence[float], day_start: float,
               p: VisitsSection) -> DataFrame:
    """Stays -> day.stays: each subscriber's bursts (and informative stationary bursts) per second
    around the stay: its number of them that day x the day's share of bursts in the stay's middle
    hour / 3600 (the observation rate the duration model assumes; 0 for virtual stays).
    `hour_shares`: the share of all bursts in each local hour (see `hour_shares`)."""
    informative = ~F.col(D.MOVING) & (F.col(D.SIGMA_M) <= p.informative_sigma_m)
    per_day = bursts.groupBy(C.PSEUDO_ID).agg(F.count(F.lit(1)).alias("_n"),
                                              F.count(F.when(informative, 1)).alias("_i"))
    share = F.element_at(F.array(*[F.lit(float(s)) for s in hour_shares]),
                         hour_index((F.col(D.FIRST_OBS) + F.col(D.LAST_OBS)) / 2, day_start, len(hour_shares) - 1) + 1)
    observed = ~F.col(D.VIRTUAL)
    joined = stays.alias("s").join(per_day.alias("r"), F.col(f"s.{C.PSEUDO_ID}") == F.col(f"r.{C.PSEUDO_ID}"),
                                   how="left").select("s.*", "r._n", "r._i")
    return joined.select(
        "*", F.when(observed, F.coalesce(F.col("_n"), F.lit(0)) * share / 3600.0).otherwise(0.0).alias(D.BURSTS_PER_S),
        F.when(observed, F.coalesce(F.col("_i"), F.lit(0)) * share / 3600.0).otherwise(0.0).alias(D.INFORMATIVE_PER_S),
    ).select(*cols(STAYS))


def hour_shares(bursts: DataFrame, day_start: float, n_hours: int) -> list[float]:
    """The share of the day's bursts starting in each hour 0 .. n_hours since local midnight
    (`hour_index`; the last slot catches the instant of the next midnight)."""
    counts = {r["h"]: r["n"] for r in bursts.groupBy(hour_index(F.col(D.FIRST_OBS), day_start, n_hours).alias("h"))
              .agg(F.count(F.lit(1)).alias("n")).collect()}
    total = sum(counts.values())
    return [counts.get(h, 0) / total if total else 0.0 for h in range(n_hours + 1)]
