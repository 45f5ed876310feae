"""Render bench/results/<size>.json into markdown tables and the scaling plot.

    python -m bench.report [--results-dir bench/results]

Writes <results-dir>/summary.md (pasted into docs/benchmarks.md) and <results-dir>/scaling.png
(CPU-seconds per million events against the number of events, per system and stage).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ORDER = ("XS", "S", "M", "L")
FOOTFALL = "footfall_cover"  # footfall's join for zone sets up to spatial.broadcast_max_zones
BASELINES = ("duckdb", "sedonadb", "sedona_broadcast", "sedona_partitioned", "naive_udf")
LABELS = {
    "footfall_cover": "footfall, grid cover (equi-join)",
    "sedona_broadcast": "Sedona broadcast index join (footfall's join before the cover)",
    "sedona_partitioned": "footfall, Sedona partitioned (RangeJoin)",
    "duckdb": "DuckDB spatial",
    "sedonadb": "SedonaDB",
    "naive_udf": "naive PySpark + shapely UDF",
}


def load(results_dir: Path) -> dict[str, dict[str, Any]]:
    found = {p.stem: json.loads(p.read_text()) for p in results_dir.glob("*.json")}
    return {s: found[s] for s in ORDER if s in found}


def _n(v: float | None, fmt: str = ",.0f") -> str:
    return "-" if v is None else format(v, fmt)


def _gb(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**30:.2f}"


def _spill(r: dict[str, Any]) -> str:
    s = r.get("spill")
    if not s:
        return "n/a"
    return f"{(s['memory_bytes_spilled'] + s['disk_bytes_spilled']) / 2**20:,.0f}"


def join_table(res: dict[str, Any]) -> list[str]:
    # The ratio is this system's CPU-s per event over footfall's join's: above 1, footfall does
    # the same work on fewer CPU-seconds.
    lines = ["| zone set | system | events | wall s | events/s/core (wall) | events/CPU-s | CPU-s per M events "
             "| peak RSS GB | spill MiB | join operator | footfall's speed ÷ this system's |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for zone_set, systems in res["stages"]["join"]["zone_sets"].items():
        ff = systems.get(FOOTFALL)
        for name, r in systems.items():
            ratio = (r["cpu_s_per_million"] / ff["cpu_s_per_million"]) if ff else None
            label = LABELS.get(name, name) + (" (subsample)" if r.get("subsample") else "")
            lines.append(
                f"| {zone_set} | {label} | {r['events']:,} | {r['wall_s']:.1f} | {_n(r['events_per_s_per_core'])} "
                f"| {_n(r['events_per_cpu_s'])} | {_n(r['cpu_s_per_million'], '.2f')} | {_gb(r['peak_rss_bytes'])} "
                f"| {_spill(r)} | {r['operator']} | {_n(ratio, '.2f')} |")
    return lines


def stage_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| size | stage | events | wall s | events/s/core (wall) | events/CPU-s | CPU-s per M events "
             "| peak RSS GB | spill MiB |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size, res in results.items():
        for stage in ("ingest", "compute"):
            r = res["stages"].get(stage)
            if r:
                lines.append(f"| {size} | {stage} | {r['events']:,} | {r['wall_s']:.1f} "
                             f"| {_n(r['events_per_s_per_core'])} | {_n(r['events_per_cpu_s'])} "
                             f"| {_n(r['cpu_s_per_million'], '.2f')} | {_gb(r['peak_rss_bytes'])} | {_spill(r)} |")
    return lines


def labelled_table(results_dir: Path, results: dict[str, dict[str, Any]]) -> list[str]:
    """Labelled measurements (`bench.run --label NAME`, e.g. the code before a change) against the
    size's main result of the same stage."""
    lines = ["| size | stage | measurement | footfall code | events | wall s | events/CPU-s | CPU-s per M events "
             "| peak RSS GB | spill MiB | cost vs current |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for path in sorted(results_dir.glob("*-*.json")):
        size, label = path.stem.split("-", 1)
        res = json.loads(path.read_text())
        for stage in ("ingest", "compute"):
            r = res["stages"].get(stage)
            now = results.get(size, {}).get("stages", {}).get(stage)
            if not r:
                continue
            ratio = r["cpu_s_per_million"] / now["cpu_s_per_million"] if now else None
            src = res.get("footfall_src")
            code = (src if "/" not in src else "exported tree " + src) if src else "working tree"
            lines.append(f"| {size} | {stage} | {label} | {code} | {r['events']:,} | {r['wall_s']:.1f} "
                         f"| {_n(r['events_per_cpu_s'])} | {_n(r['cpu_s_per_million'], '.2f')} "
                         f"| {_gb(r['peak_rss_bytes'])} | {_spill(r)} | {_n(ratio, '.2f')} |")
    return lines


def series(results: dict[str, dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for res in results.values():
        for stage in ("ingest", "compute"):
            r = res["stages"].get(stage)
            if r:
                out.setdefault(stage, []).append((r["events"], r["cpu_s_per_million"]))
        for zone_set, systems in res["stages"].get("join", {}).get("zone_sets", {}).items():
            for name, r in systems.items():
                if not r.get("subsample"):
                    out.setdefault(f"join {zone_set}: {name}", []).append((r["events"], r["cpu_s_per_million"]))
    return {k: sorted(v) for k, v in out.items()}


def plot(results: dict[str, dict[str, Any]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    # One colour per system or stage, one line style per zone set: twelve lines stay apart.
    colours: dict[str, str] = {}
    for name, points in series(results).items():
        system = name.split(": ")[-1]
        colour = colours.setdefault(system, f"C{len(colours)}")
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", label=name, color=colour, linestyle="--" if "storefronts" in name else "-")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("events processed by the step")
    ax.set_ylabel("CPU-seconds per million events")
    ax.set_title("footfall benchmark: cost per event by size (flat = linear scaling)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)


def summary(results: dict[str, dict[str, Any]], results_dir: Path) -> str:
    parts: list[str] = []
    for size, res in results.items():
        m, v = res["machine"], res["versions"]
        finished = res.get("finished_utc", "(unfinished)")
        parts += [f"### {size}: {res['subscribers']:,} subscribers, run {res['started_utc']} to {finished}",
                  "", f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; load average at start "
                  f"{', '.join(f'{x:.1f}' for x in m['load_avg_at_start'])}. Command: `{res['command']}`.", "",
                  "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()), ""]
        if "join" in res["stages"]:
            parts += ["Stage 1, spatial join + hourly count per zone:", "", *join_table(res), ""]
            mism = res["stages"]["join"].get("mismatches")
            checked = "finished_utc" in res
            verdict = ("NO" if mism else "yes") if checked else "not compared by the harness (run interrupted)"
            parts += [f"Counts identical across systems: {verdict}", ""]
    parts += ["### Stages 2 and 3", "", *stage_table(results), ""]
    labelled = labelled_table(results_dir, results)
    if len(labelled) > 2:
        parts += ["### Labelled measurements (before/after)", "", *labelled, ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.report")
    parser.add_argument("--results-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    folder = Path(args.results_dir)
    results = load(folder)
    if not results:
        raise SystemExit(f"no results in {folder}: run make bench first")
    (folder / "summary.md").write_text(summary(results, folder))
    plot(results, folder / "scaling.png")
    print(f"wrote {folder / 'summary.md'} and {folder / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
