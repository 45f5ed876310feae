"""Local time of the configured zone (time_zone, e.g. Europe/Berlin): where a local day starts in
UTC and which local clock hours it has. Used by ingest (the day's bounds), compute (the hours of
the published grids) and dp alike; and the ISO week (Monday to Sunday) of the week release.

Spark runs with a UTC session time zone (footfall.session), so instants are handled as naive UTC
datetimes here, as Spark shows them.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from zoneinfo import ZoneInfo


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week of `day`: the week_start of its week release."""
    return day - dt.timedelta(days=day.weekday())


def week_label(monday: dt.date) -> str:
    """ISO year and week, e.g. 2026-W11: what `footfall compute-week --week` takes."""
    return monday.strftime("%G-W%V")


def local_day_start_utc(day: dt.date, time_zone: str) -> dt.datetime:
    """The UTC instant (naive, as Spark's UTC session shows it) at which local `day` starts."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(time_zone))
    return start.astimezone(dt.UTC).replace(tzinfo=None)


# Day parts by local clock hour: (name, first hour, hour after the last). They cover the day, so
# on a DST day the night, which holds 02:00, has 5 or 7 clock hours (docs/definitions.md).
DAY_PARTS = (("night", 0, 6), ("morning", 6, 10), ("midday", 10, 14), ("afternoon", 14, 18), ("evening", 18, 24))


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


class DayPart(NamedTuple):
    name: str
    hours: tuple[LocalHour, ...]  # its local clock hours of the day, in order

    @property
    def start(self) -> dt.datetime:
        """The UTC instant (naive) at which its first hour starts."""
        return self.hours[0].hour_start


def part_of(local_hour: int) -> str:
    """The name of the day part holding a local clock hour."""
    return next(name for name, first, end in DAY_PARTS if first <= local_hour < end)


def day_parts(hours: list[LocalHour]) -> list[DayPart]:
    """The day parts of a day (DAY_PARTS), each with its hours among `hours` (day_hours' list)."""
    return [DayPart(name, tuple(h for h in hours if first <= h.local_hour < end)) for name, first, end in DAY_PARTS]
