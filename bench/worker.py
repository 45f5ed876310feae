"""One measured benchmark step in its own process (so each system starts cold and its process
tree is only its own): `python -m bench.worker STEP --data-dir D --out result.json ...`.

Steps: prepare (generate + load-reference, not measured), ingest, export (the ingested events
as plain Parquet for stage 1, not measured), join (one system of stage 1), compute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import TreeMonitor, spark_spill

ROOT = Path(__file__).resolve().parents[1]
CORES = 2


def bench_config(args: argparse.Namespace, extra_conf: dict[str, str] | None = None) -> Any:
    from footfall.config import load_config

    conf = {
        "spark.driver.memory": args.driver_memory,
        # The UI's REST API is where the spill numbers come from.
        "spark.ui.enabled": "true",
        "spark.ui.retainedStages": "20000",
        "spark.ui.retainedJobs": "20000",
        "spark.ui.retainedTasks": "1000",
        # Per-stage CPU and spill after the fact: `make history EVENT_LOG_DIR=.data/bench/<size>/spark-events`.
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": str(Path(args.data_dir, "spark-events")),
        **(extra_conf or {}),
    }
    overrides = {
        "paths.data_dir": args.data_dir,
        "paths.reference_dir": str(ROOT / "data" / "berlin"),
        "spark.jars_dir": str(ROOT / ".jars"),
        "spark.master": f"local[{CORES}]",
        "spark.conf": conf,
        "privacy.key_file": args.key_file,
    }
    # --footfall-src (bench.run) measures another version: its own conf/ goes with its libs/.
    return load_config("local", os.environ.get("BENCH_CONF_DIR", str(ROOT / "conf")), overrides)


def _session(cfg: Any) -> Any:
    from footfall.session import build_session

    Path(cfg.paths.data_dir, "spark-events").mkdir(parents=True, exist_ok=True)

    return build_session(cfg)


def _spill_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    # -1: the REST API did not answer (see spark_spill)
    return {k: (after[k] - before[k]) if min(after[k], before[k]) >= 0 else -1
            for k in after if k in before and k != "stages"}


def _settled_spill(spark: Any) -> dict[str, int]:
    # The listener bus delivers the last stage's metrics asynchronously.
    time.sleep(1.0)
    return spark_spill(spark)


def step_prepare(args: argparse.Namespace) -> dict[str, Any]:
    from footfall import cli

    sets = [f"--set=paths.data_dir={args.data_dir}", f"--set=privacy.key_file={args.key_file}",
            f"--set=spark.master=local[{CORES}]", f"--set=spark.conf={{spark.driver.memory: '{args.driver_memory}'}}",
            f"--set=spark.jars_dir={ROOT / '.jars'}"]
    started = time.perf_counter()
    report = Path(args.data_dir, "truth", "report.json")
    done = report.is_file() and json.loads(report.read_text()).get("subscribers", {}).get("total") == args.subscribers
    # (a day generated before the generator wrote postcodes/ and population/ is generated again:
    # load-reference needs them)
    done = done and all(Path(args.data_dir, "landing", d, f"{d}.csv").is_file() for d in ("postcodes", "population"))
    if not done:  # a landing folder generated before (e.g. a failed load-reference) is reused
        rc = cli.main(["generate", "--date", args.date, "--subscribers", str(args.subscribers), *sets])
        if rc != 0:
            raise SystemExit(f"generate failed with exit code {rc}")
    generated = time.perf_counter()
    # The near-duplicate zone check (a guard for what is published) is off here: the S and M days
    # were generated before the generator dropped store fronts that differ by a sliver (4,766
    # buffers, not 4,612), and every size must load the same zones to be comparable. On a day
    # generated now there is nothing for the check to find.
    rc = cli.main(["load-reference", "--date", args.date, *sets, "--set=spatial.min_zone_difference_m2=0"])
    if rc != 0:
        raise SystemExit(f"load-reference failed with exit code {rc}")
    return {"generate_s": generated - started, "load_reference_s": time.perf_counter() - generated}


def step_ingest(args: argparse.Namespace) -> dict[str, Any]:
    from footfall.pipeline import ingest

    cfg = bench_config(args)
    spark = _session(cfg)
    before = spark_spill(spark)
    monitor = TreeMonitor().start()
    counts = ingest.run(spark, cfg, dt.date.fromisoformat(args.date))
    m = monitor.stop()
    return {"events": counts["in"], "accepted": counts["accepted"], "wall_s": m.wall_s, "cpu_s": m.cpu_s,
            "peak_rss_bytes": m.peak_rss_bytes, "spill": _spill_delta(before, _settled_spill(spark))}


def step_export(args: argparse.Namespace) -> dict[str, Any]:
    from pyspark.sql import functions as F

    from footfall.schemas import EVENTS, ZONES, C

    cfg = bench_config(args, {"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"})
    spark = _session(cfg)
    day = dt.date.fromisoformat(args.date)
    events = spark.table(EVENTS.name).where(F.col(C.EVENT_DATE) == F.lit(day))
    n = events.count()
    files = max(1, -(-n // args.rows_per_file))
    out = Path(args.data_dir, "stage1")
    (events.select(C.PSEUDO_ID, C.EVENT_TIME, C.LON, C.LAT).repartition(files)
     .write.mode("overwrite").parquet(str(out / "points")))
    zones = spark.table(ZONES.name).select(C.ZONE_SET, C.ZONE_ID, C.GEOMETRY)
    zones.coalesce(1).write.mode("overwrite").parquet(str(out / "zones"))
    return {"events": n, "files": files}


def step_join(args: argparse.Namespace) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from bench import systems

    files = json.loads(Path(args.files).read_text())
    zones_file = args.zones
    events = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    spark = None
    if args.system in systems.SPARK_SYSTEMS:
        extra = {}
        if args.system == "sedona_partitioned":
            # Sedona broadcasts a small side by itself (sedona.join.autoBroadcastJoinThreshold
            # follows Spark's 10 MB); switched off so this really is the partitioned RangeJoin.
            extra = {"sedona.join.autoBroadcastJoinThreshold": "-1",
                     "spark.sql.autoBroadcastJoinThreshold": "-1"}
        spark = _session(bench_config(args, extra))
        before = spark_spill(spark)
    cover, cover_s = None, None
    if args.system == "footfall_cover":  # load-reference's work, measured on its own
        started = time.perf_counter()
        cover = systems.prepared_cover(spark, zones_file, args.zone_set)
        cover_s = time.perf_counter() - started
    monitor = TreeMonitor().start()
    if spark is not None:
        counts, operator = systems.spark_counts(spark, files, zones_file, args.zone_set, args.system, cover)
    elif args.system == "duckdb":
        counts, operator = systems.duckdb_counts(files, zones_file, args.zone_set, CORES)
    elif args.system == "sedonadb":
        counts, operator = systems.sedonadb_counts(files, zones_file, args.zone_set, CORES)
    else:
        raise SystemExit(f"unknown system {args.system}")
    m = monitor.stop()
    counts.to_parquet(args.counts_out, index=False)
    spill = _spill_delta(before, _settled_spill(spark)) if spark is not None else None
    return {"events": events, "files": len(files), "pairs": int(counts["n"].sum()), "cells": len(counts),
            "operator": operator, "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_bytes": m.peak_rss_bytes,
            "spill": spill, "cover_build_s": cover_s}


def step_compute(args: argparse.Namespace) -> dict[str, Any]:
    from footfall.pipeline import compute

    cfg = bench_config(args)
    spark = _session(cfg)
    before = spark_spill(spark)
    monitor = TreeMonitor().start()
    # A bench day is measured again after a change (before/after): that replaces its published
    # day, which the job refuses unless told to, as an operator would tell it.
    results = compute.run(spark, cfg, dt.date.fromisoformat(args.date), republish=True)
    m = monitor.stop()
    events = next(iter(results.values()))["events_in"]
    return {"events": events, "zone_sets": {z: {k: c[k] for k in ("events_matched", "visits", "cells")
                                                if k in c} for z, c in results.items()},
            "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_bytes": m.peak_rss_bytes,
            "spill": _spill_delta(before, _settled_spill(spark))}


STEPS = {"prepare": step_prepare, "ingest": step_ingest, "export": step_export, "join": step_join,
         "compute": step_compute}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.worker")
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--out", required=True, help="JSON result file")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--subscribers", type=int)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    parser.add_argument("--system")
    parser.add_argument("--zone-set")
    parser.add_argument("--files", help="JSON list of the Parquet files to read")
    parser.add_argument("--zones", help="the zones Parquet file")
    parser.add_argument("--counts-out")
    args = parser.parse_args(argv)
    # footfall's step lines (rows and seconds per stage of a job) go to the bench log, in the
    # jobs' own format: they say where a step's time went.
    from footfall.cli import configure_logging

    configure_logging()
    result = STEPS[args.step](args)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
