"""`make attack-week`: the tests' own attacker (tests/attacker_week.py) on a published ISO week of
a data folder and its seven days, reading only what an analyst reads (`footfall duckdb`: the
published tables), not footfall's auditor.

For each zone of the zone set whose week publishes at least one cell, the LP over the seven
days' tables (each day with its own relations, tests/attacker.py) and the week's four (the week
bounds its days, its cohorts and home districts add up) narrows every withheld cell of the days
and the week; a zone whose week publishes nothing adds nothing to what its days publish (the
day attacker, tests/attack_day.py, covers those). `--every N` attacks every N-th of them only.
Prints each zone's exposures; exits 1 if there is any, 2 if the week published nothing.

    PYTHONPATH=tests .venv/bin/python tests/attack_week.py --data .data/week/30000-s300 --week 2026-W11 \\
        --zone-set storefronts
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd
from attack_day import OPTIONAL, TABLES, read_day
from attacker import _cells
from attacker_week import week_leaks
from support import table_location

from footfall.analyst import duck
from footfall.pipeline.compute_week import iso_week
from footfall.schemas import ZONE_WEEKLY, ZONE_WEEKLY_CATCHMENT, ZONE_WEEKLY_MARGINS, ZONE_WEEKLY_TOTAL, C

# The week's tables, the attacker's name of their cells and the columns that name them
WEEK_TABLES = ((ZONE_WEEKLY, "weekly", (C.AGE_BAND, C.GENDER)), (ZONE_WEEKLY_TOTAL, "week_total", ()),
               (ZONE_WEEKLY_MARGINS, "week_margin", (C.AGE_BAND, C.GENDER)),
               (ZONE_WEEKLY_CATCHMENT, "week_catchment", (C.HOME_DISTRICT,)))


def read_week(data: Path, monday: dt.date, zone_set: str) -> dict[str, pd.DataFrame]:
    """The week's four published tables of `zone_set`, through footfall duckdb."""
    con = duck.connect({t.name: str(table_location(data, t)) for t, _, _ in WEEK_TABLES})
    try:
        return {t.name: con.execute(f"SELECT * FROM {t.name} WHERE {C.WEEK_START} = ? AND {C.ZONE_SET} = ?",
                                    [monday, zone_set]).df() for t, _, _ in WEEK_TABLES}
    finally:
        con.close()


def week_cells(frames: dict[str, pd.DataFrame], zone_id: str) -> dict[tuple, float | None]:
    """One zone's week cells by the attacker's names: published visitors, or None if withheld."""
    cells: dict[tuple, float | None] = {}
    for table, kind, keys in WEEK_TABLES:
        frame = frames[table.name]
        for row in frame[frame[C.ZONE_ID] == zone_id].to_dict("records"):
            cells[(kind, *(row[key] for key in keys))] = (
                float(row[C.VISITORS]) if row[C.STATUS] == "published" else None)
    return cells


def day_cells(frames: dict[str, pd.DataFrame], zone_set: str, zone_id: str) -> dict[tuple, float | None]:
    """One zone's cells of one day's tables (tests/attacker.py `_cells`)."""
    def of(table) -> pd.DataFrame | None:
        frame = frames.get(table.name)
        return None if frame is None else frame[(frame[C.ZONE_SET] == zone_set) & (frame[C.ZONE_ID] == zone_id)]

    return _cells(*(of(t) for t in TABLES), *(of(t) for t, _ in OPTIONAL))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the data folder of the run")
    parser.add_argument("--week", type=iso_week, required=True, help="ISO week YYYY-Www")
    parser.add_argument("--zone-set", required=True)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--every", type=int, default=1, metavar="N",
                        help="attack every N-th zone only (a sample, by zone id): about 30 s per store front")
    args = parser.parse_args(argv)
    started = time.monotonic()
    week = read_week(args.data, args.week, args.zone_set)
    published = week[ZONE_WEEKLY_TOTAL.name]
    zones = sorted({z for frame in week.values() for z in frame.loc[frame[C.STATUS] == "published", C.ZONE_ID]})
    if published.empty:
        print(f"no week release of {args.week} for {args.zone_set} in {args.data}: run compute-week first",
              file=sys.stderr)
        return 2
    days = [args.week + dt.timedelta(days=i) for i in range(7)]
    read = read_day(args.data, days[0], days[-1])[0]  # one duckdb connection for the seven days
    frames = {day.isoformat(): {name: frame[pd.to_datetime(frame[C.EVENT_DATE]) == pd.Timestamp(day)]
                                for name, frame in read.items()}
              for day in days}
    print(f"{len(zones)} of {len(published)} zones with a published week cell "
          f"({sum(len(f) for f in week.values()):,} week rows, seven days)")
    zones = zones[::args.every]
    exposures = 0
    for i, zone_id in enumerate(zones, 1):
        found = week_leaks(zone_id, {day: day_cells(f, args.zone_set, zone_id) for day, f in frames.items()},
                           week_cells(week, zone_id), args.k)
        exposures += len(found)
        print(f"{i}/{len(zones)} {zone_id}: {len(found)} exposures{f', e.g. {found[0]}' if found else ''} "
              f"({time.monotonic() - started:.0f} s)", flush=True)
    print(f"{exposures} exposures in {len(zones)} zones ({time.monotonic() - started:.0f} s)")
    return 1 if exposures else 0


if __name__ == "__main__":
    sys.exit(main())
