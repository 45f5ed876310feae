"""`make attack`: the tests' own attacker (tests/attacker.py) on one published day of a data folder,
every zone set and every class of issue #15, reading only what an analyst reads (`footfall duckdb`:
the published tables and ref.zones), not footfall's auditor.

Classes: `lp` (the linear program over a zone's four tables, with status knowledge, and over
zone_daily_margins, zone_daypart and zone_catchment where the data folder has them),
`subtraction` (visit counts and dwell sums, the day minus its hours and minus its cohorts, and
days rebuilt from parts), `denominator` (a dwell mean giving its stays), `nested` (a union of
zones of another set against its parts, on every table; the attacker finds the unions itself,
from the zone polygons). Prints the exposures per class and zone set; exits 1 if there is any, 2
if the day published nothing.

    PYTHONPATH=tests .venv/bin/python tests/attack_day.py --data .data --date 2026-03-10
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd
import shapely
from attacker import denominator_exposures, leaks, nested_exposures, visit_exposures
from support import table_location

from footfall.analyst import duck
from footfall.schemas import (
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONES,
    C,
)

TABLES = (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY, ZONE_DAILY_TOTAL)
CELL_KEYS = ([C.HOUR_START, C.AGE_BAND, C.GENDER], [C.HOUR_START], [C.AGE_BAND, C.GENDER], [])
# Newer data folders also publish zone_daily_margins (one cell per zone, day and age band or gender),
# zone_daypart (one per zone, day, day part and cohort) and zone_catchment (one per zone, day and
# home district).
MARGINS_KEYS = [C.AGE_BAND, C.GENDER]
DAYPART_KEYS = [C.DAY_PART, C.AGE_BAND, C.GENDER]
CATCHMENT_KEYS = [C.HOME_DISTRICT]
OPTIONAL = ((ZONE_DAILY_MARGINS, MARGINS_KEYS), (ZONE_DAYPART, DAYPART_KEYS), (ZONE_CATCHMENT, CATCHMENT_KEYS))
DAY_KEYS = [C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE]
# The attacker's own test for "zone U is the union of zones of set B", independent of
# footfall.zones.relations: B's zones whose representative point lies in U, covering U's area to 2 %.
UNION_TOLERANCE = 0.02


def attacker_unions(zones: pd.DataFrame) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(set, id) -> (part set, part ids) from the published zone polygons (lon/lat WKB)."""
    geometry = shapely.from_wkb(zones[C.GEOMETRY].map(bytes).to_numpy())
    zones = zones.assign(_g=list(geometry), _p=list(shapely.point_on_surface(geometry)))
    found = {}
    for _, zone in zones.iterrows():
        for part_set, candidates in zones[zones[C.ZONE_SET] != zone[C.ZONE_SET]].groupby(C.ZONE_SET):
            inside = candidates[shapely.contains(zone["_g"], candidates["_p"].to_numpy())]
            if inside.empty:
                continue
            covered = shapely.area(shapely.union_all(inside["_g"].to_numpy()))
            if abs(covered - shapely.area(zone["_g"])) <= UNION_TOLERANCE * shapely.area(zone["_g"]):
                found[(zone[C.ZONE_SET], zone[C.ZONE_ID])] = (part_set, sorted(inside[C.ZONE_ID]))
    return found


def read_day(data: Path, day: dt.date, last: dt.date | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The day's four published tables (all zone sets), zone_daily_margins, zone_daypart and
    zone_catchment where the folder has them (older ones do not), and ref.zones, through footfall
    duckdb; with `last`, the days from `day` to `last` in one read (tests/attack_week.py)."""
    tables = (*TABLES, *(t for t, _ in OPTIONAL if table_location(data, t).is_dir()))
    con = duck.connect({t.name: str(table_location(data, t)) for t in (*tables, ZONES)})
    try:
        frames = {t.name: con.execute(f"SELECT * FROM {t.name} WHERE {C.EVENT_DATE} BETWEEN ? AND ?",
                                      [day, last or day]).df()
                  for t in tables}
        zones = con.execute(f"SELECT {C.ZONE_SET}, {C.ZONE_ID}, {C.GEOMETRY} FROM {ZONES.name}").df()
    finally:
        con.close()
    return frames, zones


def attack(frames: dict[str, pd.DataFrame], zones: pd.DataFrame, k: int) -> dict[tuple[str, str], int]:
    """Exposures per (class, zone set); `frames` may lack zone_daily_margins, zone_daypart and
    zone_catchment."""
    hourly, total, daily, day_total = (frames[t.name] for t in TABLES)
    margins, dayparts, catchment = (frames.get(t.name) for t, _ in OPTIONAL)
    found: dict[tuple[str, str], int] = {}
    for zone_set in sorted(set(day_total[C.ZONE_SET])):
        def of(frame: pd.DataFrame, zone_set: str = zone_set) -> pd.DataFrame:
            return frame[frame[C.ZONE_SET] == zone_set]

        found[("lp", zone_set)] = len(leaks(of(hourly), of(total), of(daily), k, of(day_total),
                                            None if margins is None else of(margins),
                                            None if dayparts is None else of(dayparts),
                                            None if catchment is None else of(catchment)))
        found[("subtraction", zone_set)] = (len(visit_exposures(of(total), of(day_total), DAY_KEYS, k))
                                            + len(visit_exposures(of(daily), of(day_total), DAY_KEYS, k)))
        found[("denominator", zone_set)] = sum(
            len(denominator_exposures(of(frame), [*DAY_KEYS, *keys], k))
            for frame, keys in ((total, CELL_KEYS[1]), (daily, CELL_KEYS[2]), (day_total, CELL_KEYS[3])))
    unions = attacker_unions(zones)
    for zone_set in sorted({zone_set for zone_set, _ in unions}):
        mine = {u: parts for u, parts in unions.items() if u[0] == zone_set}
        published = [(frames[t.name], keys) for t, keys in zip(TABLES, CELL_KEYS, strict=True)]
        published += [(frames[t.name], keys) for t, keys in OPTIONAL if t.name in frames]
        found[("nested", zone_set)] = sum(len(nested_exposures(frame, mine, keys, k)) for frame, keys in published)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the data folder of the run (e.g. .data)")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args(argv)
    started = time.monotonic()
    frames, zones = read_day(args.data, args.date)
    rows = {name: len(frame) for name, frame in frames.items()}
    if not rows[ZONE_DAILY_TOTAL.name]:  # nothing to attack is no evidence of safety
        print(f"nothing published for {args.date} in {args.data} ({rows}): run the day first "
              "(make run, or make accuracy for ATTACK_DATA=.data/accuracy/<SUBSCRIBERS>)", file=sys.stderr)
        return 2
    print("attacking " + ", ".join(f"{n:,} rows of {name}" for name, n in rows.items()))
    found = attack(frames, zones, args.k)
    for (kind, zone_set), n in sorted(found.items()):
        print(f"{kind:12s} {zone_set:12s} {n:6d} exposures")
    total = sum(found.values())
    print(f"{total} exposures in all ({time.monotonic() - started:.0f} s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
