"""The stays of one local day, computed once for every zone set (docs/definitions.md).

restricted.events is read, positioned and sorted once: bursts (footfall.pipeline.bursts), stays
over the whole trajectory with the night place (stays) and their start and end (timeline).
What the zone sets then join is small: one point per stay and the measured events of moving
bursts. Each step is materialised (persisted and counted) inside its footfall-step line, so the
line's seconds are that step's work. What the zone sets read is checkpointed (localCheckpoint):
their plans start from the stored rows, not from the stay model's whole lineage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from footfall.config import VisitsSection
from footfall.localtime import local_day_start_utc
from footfall.observe import step
from footfall.pipeline import dwell, stays, timeline
from footfall.pipeline.bursts import bursts, local_frame, observations
from footfall.schemas.day import D

_LEVEL = StorageLevel.MEMORY_AND_DISK


def day_bounds(day: dt.date, time_zone: str) -> tuple[float, float]:
    """The local day's start and end (the next local midnight) in epoch seconds."""
    def epoch(d: dt.date) -> float:
        return local_day_start_utc(d, time_zone).replace(tzinfo=dt.UTC).timestamp()

    return epoch(day), epoch(day + dt.timedelta(days=1))


@dataclass
class Day:
    """What every zone set of the day reads: stay points, travel points (measured events of
    moving bursts) and the share of stationary bursts within each sigma (dwell.precise_shares).
    The points are local checkpoints, released by Spark's cleaner once no longer referenced."""

    stay_points: DataFrame
    travel_points: DataFrame
    precise_shares: list[float]
    counts: dict[str, int]


def build(spark: SparkSession, events: DataFrame, zones: DataFrame, day: dt.date, time_zone: str,
          p: VisitsSection) -> Day:
    """The day's stays from its events (restricted.events of `day`) and the zone catalogue
    (ref.zones, which centres the local metric frame)."""
    day_start, day_end = day_bounds(day, time_zone)
    frame = local_frame(zones)
    kept: list[DataFrame] = []

    def keep(df: DataFrame, name: str, checkpoint: bool = False, **fields: int) -> tuple[DataFrame, int]:
        with step("compute", name, spark) as s:
            if checkpoint:
                stored = df.localCheckpoint()
            else:
                stored = df.persist(_LEVEL)
                kept.append(stored)
            rows = stored.count()
            s.record(**fields, rows_out=rows)
        return stored, rows

    try:
        observed, n_events = keep(events.transform(observations, frame, p), "observations")
        burst_rows, n_bursts = keep(observed.transform(bursts), "bursts", rows_in=n_events)
        travel, n_travel = keep(observed.where(F.col(D.MOVING) & F.col(D.MEASURED)), "travel_points",
                                checkpoint=True, rows_in=n_events)
        shares = dwell.precise_shares(burst_rows)
        hourly = stays.hour_shares(burst_rows, day_start, round((day_end - day_start) / 3600))
        linked = (burst_rows.transform(stays.link_stays, p)
                  .transform(stays.with_night_place, burst_rows, day_start, day_end, p)
                  .transform(stays.with_rates, burst_rows, hourly, day_start, p))
        stay_rows, n_stays = keep(linked, "stays", rows_in=n_bursts)
        points, _ = keep(timeline.estimate(stay_rows, burst_rows, day_start, day_end, frame, p), "stay_points",
                         checkpoint=True, rows_in=n_stays)
    except BaseException:
        for df in kept:
            df.unpersist()
        raise
    for df in kept:  # the zone sets read only the checkpointed points
        df.unpersist()
    counts = {"events_observed": n_events, "bursts": n_bursts, "travel_events": n_travel, "stays": n_stays}
    return Day(points, travel, shares, counts)
