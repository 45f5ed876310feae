"""`make bench SIZE=XS|S|M|L`: the three benchmark stages side by side on one generated day.

    python -m bench.run --size S [--stages ingest,join,compute] [--results-dir bench/results]

The day is generated once under .data/bench/<size> (landing files, reference tables) and
reused by later runs. Each measured step runs in its own process (bench.worker). Stage 1 counts
of every system must be identical, or the run fails (exit 1) after writing the results.
Results: <results-dir>/<size>.json; `python -m bench.report` renders the tables and the plot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from bench import systems
from bench.worker import CORES, ROOT

DATE = "2026-03-14"
# Subscribers per size; the generator makes about 100 events per subscriber and day.
SIZES = {"XS": 2_000, "S": 100_000, "M": 300_000, "L": 1_000_000}
ZONE_SETS = ("localities", "storefronts")
# The naive UDF runs on the first files of the points (1M rows each) up to this many rows: at
# its rate the whole of S would take far longer than every other system together.
NAIVE_MAX_ROWS = 1_000_000


def log(msg: str) -> None:
    print(f"[bench {dt.datetime.now(dt.UTC):%H:%M:%S}] {msg}", flush=True)


FOOTFALL_SRC: str | None = None  # --footfall-src: measure another version of libs/footfall


def worker(step: str, common: list[str], *extra: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    cmd = [sys.executable, "-m", "bench.worker", step, *common, "--out", out, *extra]
    # SCARF_NO_ANALYTICS: SedonaDB's usage beacon off, as footfall's (footfall.session.NO_TELEMETRY)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYTHONWARNINGS="ignore", SCARF_NO_ANALYTICS="true")
    if FOOTFALL_SRC:
        # ahead of the editable install: the workers import footfall from there
        env["PYTHONPATH"] = os.pathsep.join(p for p in (FOOTFALL_SRC, env.get("PYTHONPATH")) if p)
        env["BENCH_CONF_DIR"] = str(Path(FOOTFALL_SRC).parent / "conf")
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: step {step} {' '.join(extra)} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(Path(out).read_text())
    os.unlink(out)
    result["process_wall_s"] = time.perf_counter() - started
    return result


def git_head() -> str:
    proc = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip()


def rates(result: dict[str, Any]) -> dict[str, Any]:
    """events/s/core from wall clock on the CORES cores, and CPU-seconds per million events."""
    events, wall, cpu = result["events"], result["wall_s"], result["cpu_s"]
    result["events_per_s_per_core"] = events / wall / CORES if wall else None
    result["cpu_s_per_million"] = cpu / events * 1e6 if events else None
    result["events_per_cpu_s"] = events / cpu if cpu else None
    result["measured_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result


def versions() -> dict[str, str]:
    names = ("pyspark", "apache-sedona", "delta-spark", "duckdb", "duckdb-extension-spatial", "sedonadb", "shapely",
             "psutil")
    out = {n: metadata.version(n) for n in names}
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    out["java"] = (java.stderr or java.stdout).splitlines()[0] if java.returncode == 0 else "?"
    out["python"] = platform.python_version()
    return out


def machine() -> dict[str, Any]:
    import psutil

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "kernel": platform.release(), "load_avg_at_start": os.getloadavg()}


def check_counts(name: str, got: pd.DataFrame, want: pd.DataFrame) -> str | None:
    """None if equal, else a short description of the first differences."""
    merged = got.merge(want, on=["zone_id", "hour"], how="outer", suffixes=("_got", "_want"), indicator=True)
    bad = merged[(merged["_merge"] != "both") | (merged["n_got"] != merged["n_want"])]
    if bad.empty:
        return None
    return f"{name}: {len(bad)} (zone, hour) cells differ, e.g.\n{bad.head(10).to_string()}"


def stage_join(common: list[str], data_dir: Path, work: Path, only: list[str] | None,
               save: Any = None, max_files: int | None = None) -> dict[str, Any]:
    points = sorted(str(p) for p in (data_dir / "stage1" / "points").glob("*.parquet"))[:max_files]
    zones = next(str(p) for p in (data_dir / "stage1" / "zones").glob("*.parquet"))
    import pyarrow.parquet as pq

    rows = 0
    naive_files: list[str] = []
    for f in points:
        if naive_files and rows + pq.ParquetFile(f).metadata.num_rows > NAIVE_MAX_ROWS:
            break
        naive_files.append(f)
        rows += pq.ParquetFile(f).metadata.num_rows
    all_list, naive_list = work / "files_all.json", work / "files_naive.json"
    all_list.write_text(json.dumps(points))
    naive_list.write_text(json.dumps(naive_files))
    out: dict[str, Any] = {"zone_sets": {}, "mismatches": []}
    for zone_set in ZONE_SETS:
        per_system: dict[str, Any] = {}
        counts: dict[str, pd.DataFrame] = {}
        for system in systems.SYSTEMS:
            if only and system not in only:
                continue
            subsample = system == "naive_udf" and len(naive_files) < len(points)
            counts_file = work / f"counts-{zone_set}-{system}.parquet"
            log(f"stage 1 [{zone_set}] {system}" + (f" on {rows:,} of the rows (subsample)" if subsample else ""))
            result = rates(worker("join", common, "--system", system, "--zone-set", zone_set, "--zones", zones,
                                  "--files", str(naive_list if system == "naive_udf" else all_list),
                                  "--counts-out", str(counts_file)))
            result["subsample"] = subsample
            counts[system] = pd.read_parquet(counts_file)
            per_system[system] = result
            out["zone_sets"][zone_set] = per_system
            if save is not None:  # partial results survive an interrupted run
                save(out)
            log(f"  {result['events']:,} events, {result['pairs']:,} pairs in {result['wall_s']:.1f} s wall, "
                f"{result['cpu_s']:.1f} CPU-s, {result['events_per_s_per_core']:,.0f} events/s/core "
                f"[{result['operator']}]")
        # Every system on the full data must agree exactly; the subsampled naive UDF must agree
        # with DuckDB on the same files.
        full = [s for s in counts if not per_system[s]["subsample"]]
        for s in full[1:]:
            problem = check_counts(f"{zone_set}: {s} vs {full[0]}", counts[s], counts[full[0]])
            if problem:
                out["mismatches"].append(problem)
        subs = [s for s in counts if per_system[s]["subsample"]]
        if subs:
            reference, _ = systems.duckdb_counts(naive_files, zones, zone_set, CORES)
            for s in subs:
                problem = check_counts(f"{zone_set}: {s} vs duckdb on the same {len(naive_files)} file(s)",
                                       counts[s], reference)
                if problem:
                    out["mismatches"].append(problem)
        out["zone_sets"][zone_set] = per_system
    return out


def write_results(args: argparse.Namespace, results: dict[str, Any], subscribers: int, stages: list[str],
                  final: bool) -> Path:
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / f"{args.size}.json"
    if args.label:  # a labelled measurement (e.g. a "before") goes to its own file
        target = results_dir / f"{args.size}-{args.label}.json"
    # Stages not run this time keep their last result (each stage records when it was measured);
    # every finished run is also appended to <size>.history.jsonl (the before/after of changes).
    merged = dict(results)
    if target.exists():
        previous = json.loads(target.read_text())
        if previous.get("subscribers") == subscribers:
            merged["stages"] = {**previous.get("stages", {}), **results["stages"]}
    target.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    if final:
        with (results_dir / f"{args.size}.history.jsonl").open("a") as history:
            history.write(json.dumps({"run": {k: results.get(k) for k in ("started_utc", "finished_utc", "machine",
                                                                          "label", "footfall_src")},
                                      "measured": stages, "git": git_head(),
                                      "stages": {s: results["stages"][s] for s in stages if s in results["stages"]}},
                                     default=str) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--subscribers", type=int, help="override the size's subscriber count")
    parser.add_argument("--stages", default="ingest,join,compute",
                        help="comma-separated; `prepare` alone only generates and loads the reference data")
    parser.add_argument("--systems", help="stage 1 systems, comma-separated (default: all)")
    parser.add_argument("--data-root", default=str(ROOT / ".data" / "bench"))
    parser.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--footfall-src", help="a libs/ folder of another footfall version to measure, with "
                        "its conf/ beside it (git archive REV libs conf | tar -x -C /tmp/before; then "
                        "--footfall-src /tmp/before/libs), for before/after numbers")
    parser.add_argument("--max-files", type=int,
                        help="stage 1 reads only the first N Parquet files of the events (1M rows each)")
    parser.add_argument("--label", help="a name for this measurement, kept in the results (e.g. ingest-before)")
    args = parser.parse_args(argv)
    global FOOTFALL_SRC
    FOOTFALL_SRC = str(Path(args.footfall_src).resolve()) if args.footfall_src else None
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    subscribers = args.subscribers or SIZES[args.size]
    data_dir = Path(args.data_root, args.size).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = Path(args.data_root, "bench.key").resolve()
    from footfall.privacy.pseudonym import ensure_demo_key

    ensure_demo_key(key_file)
    common = ["--data-dir", str(data_dir), "--key-file", str(key_file), "--date", DATE,
              "--driver-memory", args.driver_memory]
    results: dict[str, Any] = {
        "size": args.size, "subscribers": subscribers, "date": DATE, "cores": CORES,
        "command": "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv),
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(), "versions": versions(), "stages": {}, "label": args.label,
        "footfall_src": FOOTFALL_SRC,
    }
    prepared = data_dir / f".prepared-{subscribers}"
    if not prepared.exists():
        log(f"generating {args.size}: {subscribers:,} subscribers (about {subscribers * 100:,} events) in {data_dir}")
        results["prepare"] = worker("prepare", common, "--subscribers", str(subscribers))
        prepared.touch()
        (data_dir / ".exported").unlink(missing_ok=True)
    needs_events = ("join" in stages or "compute" in stages) and not (data_dir / ".ingested").exists()
    if "ingest" in stages or needs_events:
        log("stage 2: ingest")
        results["stages"]["ingest"] = rates(worker("ingest", common))
        (data_dir / ".ingested").touch()
        r = results["stages"]["ingest"]
        log(f"  {r['events']:,} events in {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s, "
            f"{r['events_per_s_per_core']:,.0f} events/s/core, {r['events_per_cpu_s']:,.0f} events/CPU-s")
    if "join" in stages:
        if not (data_dir / ".exported").exists():
            log("exporting the ingested events as Parquet for stage 1")
            results["export"] = worker("export", common)
            (data_dir / ".exported").touch()
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            only = args.systems.split(",") if args.systems else None
            def save(partial: dict[str, Any]) -> None:
                results["stages"]["join"] = partial
                write_results(args, results, subscribers, stages, final=False)

            results["stages"]["join"] = stage_join(common, data_dir, Path(tmp), only, save, args.max_files)
    if "compute" in stages:
        log("stage 3: compute (events table -> published tables, every zone set)")
        results["stages"]["compute"] = rates(worker("compute", common))
        r = results["stages"]["compute"]
        log(f"  {r['events']:,} events in {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s, "
            f"{r['events_per_s_per_core']:,.0f} events/s/core")
    results["finished_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    target = write_results(args, results, subscribers, stages, final=True)
    log(f"results: {target}")
    mismatches = results["stages"].get("join", {}).get("mismatches", [])
    if mismatches:
        print("\nBENCH FAILED: stage 1 counts differ between systems:\n" + "\n\n".join(mismatches), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
