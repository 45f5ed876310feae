"""`python -m bench.lp_audit`: the disclosure audit's LPs (footfall.privacy.protect) alone, on the
inputs of a real compute, so that a change to the auditor is measured before/after on the same
cells, without Spark.

    # 1. a compute that also writes each zone set's LP input (protect_linked's long format):
    python -m bench.lp_audit dump --out .data/lp-inputs -- --date 2026-03-14 --republish
    # 2. protect_day (subtraction, then the LPs of protect_zone) over every zone with published and
    #    withheld cells; CPU-s, LPs, extra cells:
    PYTHONPATH=<tree>/libs python -m bench.lp_audit time --inputs .data/lp-inputs [--k 20]

The week's LP (footfall.privacy.week.protect, issue 16) the same way: `dump --week` runs
footfall compute-week with protect_week's per-zone input written, `time --week` times each zone
and prints the slowest.

Step 2 with each tree's libs in turn (e.g. a `git worktree` of the commit before) is the
side-by-side comparison of docs/benchmarks.md; the extra cells' digest must be equal.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import sys
import time
from pathlib import Path

import pandas as pd


def dump(out: Path, compute_args: list[str], week: bool = False) -> int:
    """footfall compute with protect_linked wrapped: its input is written first, per zone set
    (with `week`, compute-week with protect_week wrapped)."""
    from pyspark.sql import DataFrame

    import footfall.pipeline.publish as publish
    import footfall.privacy.suppression as suppression
    from footfall.cli import main

    out.mkdir(parents=True, exist_ok=True)
    if week:
        return _dump_week(out, compute_args)
    protect_linked = suppression.protect_linked

    def writing(grids, k):  # type: ignore[no-untyped-def]
        long = functools.reduce(DataFrame.unionByName, [
            suppression._long(grid, suppression._KIND_OF[table]) for table, grid in grids.items()])
        cells = long.toPandas()
        cells.to_parquet(out / f"{cells['zone_set'].iloc[0]}.parquet")
        return protect_linked(grids, k)

    publish.protect_linked = writing
    return main(["compute", *compute_args])


def _dump_week(out: Path, compute_args: list[str]) -> int:
    import footfall.pipeline.compute_week as compute_week
    from footfall.cli import main
    from footfall.privacy.suppression import week_cells

    protect_week = compute_week.protect_week

    def writing(grids, days, k):  # type: ignore[no-untyped-def]
        cells = week_cells(grids, days).toPandas()
        cells.to_parquet(out / f"week-{cells['zone_set'].iloc[0]}.parquet")
        return protect_week(grids, days, k)

    compute_week.protect_week = writing
    return main(["compute-week", *compute_args])


def time_week(inputs: Path, k: int, slowest: int = 15) -> None:
    """week.protect over each zone of the dumped week inputs: CPU-s in all and the slowest zones
    with their sizes (day cells, withheld day cells, week cells, withheld week cells)."""
    from footfall.privacy import week

    for path in sorted(inputs.glob("week-*.parquet")):
        cells = pd.read_parquet(path)
        rows = []
        t0 = time.process_time()
        for zone_id, zone in cells.groupby("zone_id"):
            of_week = zone["event_date"].isna()
            days, weeks = zone[~of_week].reset_index(drop=True), zone[of_week].reset_index(drop=True)
            t = time.process_time()
            chosen = week.protect(days, weeks, k)
            rows.append((time.process_time() - t, zone_id, len(days), int((days["status"] != "published").sum()),
                         len(weeks), int((weeks["status"] != "published").sum()), len(chosen)))
        print(f"{path.stem}: zones {len(rows)}  CPU-s {time.process_time() - t0:.1f}  extra cells "
              f"{sum(r[-1] for r in rows)}", flush=True)
        for cpu, zone_id, *sizes in sorted(rows, reverse=True)[:slowest]:
            print(f"  {zone_id:24s} {cpu:7.2f} s  day cells {sizes[0]} ({sizes[1]} withheld)  week cells "
                  f"{sizes[2]} ({sizes[3]} withheld)  extra {sizes[4]}", flush=True)


def time_inputs(inputs: Path, k: int) -> None:
    """Print, per zone set, the zones audited, CPU-s, LPs solved (and how many of them the primal
    simplex left without an optimum, re-solved by the dual one) and the extra cells chosen."""
    from footfall.privacy import audit
    from footfall.privacy.protect import protect_day

    solves, fallbacks = [0], [0]
    solve, run = audit.ZoneModel._solve, audit.ZoneModel._run

    def counting(self, *args):  # type: ignore[no-untyped-def]
        solves[0] += 1
        return solve(self, *args)

    def counting_fallbacks(self, h):  # type: ignore[no-untyped-def]
        before = self.fallbacks
        status = run(self, h)
        fallbacks[0] += self.fallbacks - before
        return status

    audit.ZoneModel._solve = counting  # type: ignore[method-assign]
    audit.ZoneModel._run = counting_fallbacks  # type: ignore[method-assign]
    for path in sorted(inputs.glob("*.parquet")):
        cells = pd.read_parquet(path)
        published = cells["status"] == "published"
        mixed = cells.assign(p=published, s=~published).groupby("zone_id")[["p", "s"]].any()
        zones = [z.reset_index(drop=True) for _, z in cells[cells["zone_id"].isin(
            mixed.index[mixed["p"] & mixed["s"]])].groupby("zone_id")]
        solves[0] = fallbacks[0] = 0
        t0 = time.process_time()
        chosen = [protect_day(zone, k) for zone in zones]
        cpu = time.process_time() - t0
        extra = pd.concat(chosen) if chosen else pd.DataFrame()
        digest = hashlib.sha256(extra.astype(str).to_csv(index=False).encode()).hexdigest()[:12]
        print(f"{path.stem:12s} zones {len(zones):5d}  CPU-s {cpu:7.1f}  LPs {solves[0]:7d} "
              f"(dual re-solves {fallbacks[0]})  extra cells {len(extra):5d} (digest {digest})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lp_audit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="footfall compute, writing each zone set's LP input")
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--week", action="store_true", help="footfall compute-week and protect_week's input")
    d.add_argument("compute_args", nargs=argparse.REMAINDER, help="-- then footfall compute's arguments")
    t = sub.add_parser("time", help="protect_day over the dumped inputs")
    t.add_argument("--inputs", type=Path, required=True)
    t.add_argument("--k", type=int, default=20)
    t.add_argument("--week", action="store_true", help="the week inputs, week.protect per zone")
    args = parser.parse_args(argv)
    if args.command == "dump":
        return dump(args.out, [a for a in args.compute_args if a != "--"], args.week)
    (time_week if args.week else time_inputs)(args.inputs, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
