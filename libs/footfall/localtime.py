"""Local time of the configured zone (time_zone, e.g. Europe/Berlin): where a local day starts in
UTC and which local clock hours it has. Used by ingest (the day's bounds), compute (the hours of
the published grids) and dp alike.

Spark runs with a UTC session time zone (footfall.session), so instants are handled as naive UTC
datetimes here, as Spark shows them.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from zoneinfo import ZoneInfo


def local_day_start_utc(day: dt.date, time_zone: str) -> dt.datetime:
    """The UTC instant (naive, as Spark's UTC session shows it) at which local `day` starts."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(time_zone))
    return start.astimezone(dt.UTC).replace(tzinfo=None)


class LocalHour(NamedTuple):
    hour_start: dt.datetime  # UTC, naive
    local_hour: int
    utc_offset_min: int


def day_hours(day: dt.date, time_zone: str) -> list[LocalHour]:
    """The local clock hours of `day`: 23, 24 or 25 of them, each with its UTC start and offset.

    Steps through the day in UTC, so the skipped hour of spring-forward does not exist and the
    repeated hour of fall-back appears twice (with different offsets). This assumes UTC offsets
    change by whole hours, true for every zone footfall is configured for (Europe/*).
    """
    start, end = local_day_start_utc(day, time_zone), local_day_start_utc(day + dt.timedelta(days=1), time_zone)
    zone = ZoneInfo(time_zone)
    hours = []
    t = start
    while t < end:
        local = t.replace(tzinfo=dt.UTC).astimezone(zone)
        offset = local.utcoffset() or dt.timedelta(0)
        hours.append(LocalHour(t, local.hour, int(offset.total_seconds()) // 60))
        t += dt.timedelta(hours=1)
    return hours
