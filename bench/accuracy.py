"""`python -m bench.accuracy`: the pipeline's restricted.visits against the generator's ground truth.

    python -m bench.accuracy --data-dir .data/accuracy/30000 --date 2026-03-14 \\
        [--key-file .data/demo.key] --out bench/results/accuracy.json

`make accuracy SUBSCRIBERS=30000` generates the day, runs `footfall run` on it and calls this.
The Delta tables are read by path below `<data-dir>/warehouse` with one Spark session
(footfall.session.build_session) and handed to pandas; the truth is `<data-dir>/truth`
(docs/generator.md). Truth and pipeline are linked by the pseudonym: HMAC-SHA256 with the epoch
key of the date, derived from the master key the pipeline used (FOOTFALL_PSEUDONYM_KEY if set,
else --key-file / privacy.key_file, exactly as footfall resolves it). Method, definitions and
denominators: docs/accuracy.md; the metrics: bench/accuracy_metrics.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely

from bench import accuracy_metrics as m

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATE = "2026-03-14"
PRESENCE_TOL = {"districts": 0.10, "localities": 0.15}  # per zone and hour, cells with P >= 20
SET_SUM_TOL = 0.05
ONE_VISIT_MIN = 0.90  # districts, localities: observed true stays of 15+ min recovered as one visit
DWELL_RATIO_TOL = 0.20
PHANTOM_MAX = 0.10
STOREFRONT_RECOVERED_MIN = 0.80
STOREFRONT_DWELL_TOL = 0.25
STAY_SETS = ("districts", "localities")


@dataclass(frozen=True)
class Params:
    min_population: int = 20  # presence cells evaluated: P >= this
    min_zone_stays: int = 20  # dwell statistics: zones with at least this many true stays
    min_zone_visits: int = 10  # ... and (statistics from visits) this many visits
    passby_tolerance_m: float = 50.0
    min_dwell_s: float = 300.0  # visits.min_dwell_minutes


@dataclass(frozen=True)
class Day:
    date: dt.date
    start: pd.Timestamp  # local midnight as a tz-naive UTC instant
    n_hours: int  # 23, 24 or 25


def local_day(date: dt.date, time_zone: str) -> Day:
    z = ZoneInfo(time_zone)
    s = dt.datetime.combine(date, dt.time(0), tzinfo=z).astimezone(dt.UTC)
    e = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=z).astimezone(dt.UTC)
    return Day(date, pd.Timestamp(s.replace(tzinfo=None)), int((e - s).total_seconds() // 3600))


# -- the truth ------------------------------------------------------------------------------------


def included_subscribers(subs: pd.DataFrame, date: dt.date) -> pd.Series:
    """What ingest keeps: consumer or business, not opted out, not under 18 by the CRM birth date
    at the date (an unknown or implausible birth date is kept)."""
    born = pd.to_datetime(subs["crm_birth_date"], errors="coerce")
    had_birthday = (born.dt.month < date.month) | ((born.dt.month == date.month) & (born.dt.day <= date.day))
    age = date.year - born.dt.year - np.where(had_birthday, 0, 1)
    minor = ((age >= 0) & (age <= 120) & (age < 18)).fillna(False).astype(bool)
    return subs["kind"].isin(["consumer", "business"]) & ~subs["opted_out"].astype(bool) & ~minor


def normalised(msisdn: pd.Series) -> pd.Series:
    """footfall.privacy.pseudonym.normalised_msisdn in pandas: no spaces, no '+' or '00' prefix."""
    return msisdn.astype(str).str.replace(r"\s+", "", regex=True).str.replace(r"^(\+|00)", "", regex=True)


def _naive_utc(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s)
    if s.dt.tz is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.astype("datetime64[us]")


def load_truth(truth_dir: str, day: Day, pseudonym: Any) -> tuple[pd.DataFrame, int]:
    """The true stays of the day of included subscribers (zone_set, zone_id, pseudo_id, start,
    end, dur_s, stay_type, lon, lat) and the number of included subscribers. `pseudonym(msisdn)`
    is the epoch key's (footfall.privacy.pseudonym.EpochKey.pseudonym)."""
    subs = pd.read_parquet(Path(truth_dir, "subscribers"))
    included = set(normalised(subs.loc[included_subscribers(subs, day.date), "msisdn"]))
    stays = pd.read_parquet(Path(truth_dir, "visits"), filters=[("event_date", "==", day.date)])
    msisdn = normalised(stays["msisdn"])
    stays = stays[msisdn.isin(included).to_numpy()].copy()
    msisdn = msisdn[msisdn.isin(included)]
    stays["pseudo_id"] = msisdn.map({x: pseudonym(x) for x in msisdn.unique()}).to_numpy()
    stays["start"], stays["end"] = _naive_utc(stays["start"]), _naive_utc(stays["end"])
    stays["dur_s"] = (stays["end"] - stays["start"]).dt.total_seconds()
    cols = ["zone_set", "zone_id", "pseudo_id", "start", "end", "dur_s", "stay_type", "lon", "lat"]
    return stays[cols].reset_index(drop=True), len(included)


def true_path(stays: pd.DataFrame) -> pd.DataFrame:
    """Each person's distinct true stays in time order (a stay is in truth once per zone)."""
    return (stays[["pseudo_id", "start", "end", "lon", "lat"]].drop_duplicates(["pseudo_id", "start"])
            .sort_values(["pseudo_id", "start"]).reset_index(drop=True))


# -- the pipeline's tables, by path ---------------------------------------------------------------


def read_delta(spark: Any, path: str, columns: list[str], date: dt.date | None = None,
               date_column: str | None = None) -> pd.DataFrame:
    """Columns of a Delta table as pandas; timestamps as tz-naive UTC (sent as epoch micros)."""
    from pyspark.sql import functions as F

    df = spark.read.format("delta").load(path)
    if date_column:
        df = df.where(F.col(date_column) == F.lit(date))
    types = dict(df.dtypes)
    stamps = [c for c in columns if types[c] == "timestamp"]
    pdf = df.select(*[F.unix_micros(F.col(c)).alias(c) if c in stamps else F.col(c) for c in columns]).toPandas()
    for c in stamps:
        pdf[c] = pd.to_datetime(pdf[c], unit="us")
    return pdf


def load_pipeline(spark: Any, warehouse: str, date: dt.date) -> dict[str, Any]:
    from footfall.schemas import EVENTS, SUBSCRIBERS, VISITS, ZONE_DAILY_TOTAL, ZONES, C

    def path(table: Any) -> str:
        schema, name = table.name.split(".")
        return str(Path(warehouse, f"{schema}.db", name))

    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    visits = read_delta(spark, path(VISITS), [C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, C.VISIT_START, C.VISIT_END,
                                              C.DWELL_S, C.IS_PASSBY], date, C.EVENT_DATE)
    events = read_delta(spark, path(EVENTS), [C.PSEUDO_ID, C.EVENT_TIME], date, C.EVENT_DATE)
    zones = read_delta(spark, path(ZONES), [C.ZONE_SET, C.ZONE_ID, C.CATEGORY, C.GEOMETRY])
    zones[C.GEOMETRY] = shapely.from_wkb(zones[C.GEOMETRY].map(bytes).to_numpy())
    est_cols = [C.ZONE_SET, C.ZONE_ID, C.VISITS, C.STAYS_EST, C.DWELL_EST_MEDIAN_MIN, C.DWELL_EST_LT5_SHARE,
                C.DWELL_EST_5_15_SHARE, C.DWELL_EST_15_60_SHARE, C.DWELL_EST_60PLUS_SHARE]
    estimates = read_delta(spark, path(ZONE_DAILY_TOTAL), est_cols, date, C.EVENT_DATE)
    subs = read_delta(spark, path(SUBSCRIBERS), [C.EXCLUDED_REASON], date, C.SNAPSHOT_DATE)
    visits["dwell_s"] = visits["dwell_s"].astype(float)
    visits["is_passby"] = visits["is_passby"].astype(bool)
    return {"visits": visits, "events": events, "zones": zones, "estimates": estimates,
            "included_pipeline": int(subs[C.EXCLUDED_REASON].isna().sum())}


def estimate_stats(estimates: pd.DataFrame) -> pd.DataFrame:
    """zone_daily_total's published dwell estimates as counts per bin (share x stays_est)."""
    e = estimates.set_index("zone_id")
    out = pd.DataFrame({f"n_{b}": e[f"dwell_est_{b}_share"] * e["stays_est"] for b in m.HIST_NAMES}, index=e.index)
    out["median_min"] = e["dwell_est_median_min"]
    out["visits"] = e["visits"]
    return out


# -- evaluation -----------------------------------------------------------------------------------


def evaluate_set(visits: pd.DataFrame, truth: pd.DataFrame, events: pd.DataFrame, path: pd.DataFrame,
                 zones: pd.DataFrame, estimates: pd.DataFrame | None, day: Day, p: Params) -> dict:
    """Every metric of one zone set (bench/accuracy_metrics.py)."""
    truth = truth.assign(observed=m.observed_mask(truth, events))
    v, tr = m.match_visits(visits, truth)
    vstats = m.visit_dwell_stats(visits)
    vstats = vstats[vstats["visits"] >= p.min_zone_visits]
    cells = m.presence_cells(visits, truth, day.start, day.n_hours)
    published = (m.dwell_metrics(truth, estimate_stats(estimates), p.min_zone_stays, min_dwell_s=p.min_dwell_s)
                 if estimates is not None and len(estimates) else {"zones_evaluated": 0})
    return {
        "presence": m.presence_summary(cells, day.n_hours, p.min_population),
        "recovery": m.recovery_metrics(tr),
        "visits": {**m.visit_metrics(v), "true_stays": len(tr),
                   "true_median_dur_min": round(float(tr["dur_s"].median() / 60), 1) if len(tr) else None},
        "passby": m.passby_precision(visits, path, zones, p.passby_tolerance_m),
        "dwell_from_visits": m.dwell_metrics(truth, vstats, p.min_zone_stays, min_dwell_s=p.min_dwell_s),
        "dwell_published": published,
    }


def evaluate(pipe: dict[str, Any], truth: pd.DataFrame, day: Day, p: Params,
             zone_sets: list[str] | None = None) -> dict:
    visits, events, zones, est = pipe["visits"], pipe["events"], pipe["zones"], pipe["estimates"]
    path = true_path(truth)
    sets = zone_sets or sorted(set(truth["zone_set"]) | set(visits["zone_set"]))
    out = {}
    for zs in sets:
        vs = visits[visits["zone_set"] == zs].reset_index(drop=True)
        ts = truth[truth["zone_set"] == zs].reset_index(drop=True)
        out[zs] = evaluate_set(vs, ts, events, path, zones[zones["zone_set"] == zs], est[est["zone_set"] == zs], day, p)
    return out


# -- targets and report ---------------------------------------------------------------------------


def _row(criterion: str, target: str, measured: str, met: bool | None) -> dict:
    return {"criterion": criterion, "target": target, "measured": measured, "met": met}


def _presence_rows(res: dict) -> list[dict]:
    rows = []
    for zs, tol in ((z, t) for z, t in PRESENCE_TOL.items() if z in res):
        pr = res[zs]["presence"]
        name = f"{zs}: visitors / present per zone x hour (cells P >= {pr['min_population']})"
        target = f"every cell within ±{tol:.0%}"
        if not pr["cells_evaluated"]:
            rows.append(_row(name, target, "no cell to evaluate", None))
            continue
        lo, hi = pr["cell_ratio_min"], pr["cell_ratio_max"]
        within = pr[f"share_cells_within_{round(tol * 100)}pct"]
        measured = f"min {lo:.3f}, max {hi:.3f}; {within:.1%} of {pr['cells_evaluated']} cells within"
        rows.append(_row(name, target, measured, bool(lo >= 1 - tol - 1e-9 and hi <= 1 + tol + 1e-9)))
    for zs in (*STAY_SETS, "storefronts"):
        if zs in res and res[zs]["presence"]["set_sum_ratio_min"] is not None:
            pr = res[zs]["presence"]
            lo, hi = pr["set_sum_ratio_min"], pr["set_sum_ratio_max"]
            ok = lo >= 1 - SET_SUM_TOL - 1e-9 and hi <= 1 + SET_SUM_TOL + 1e-9
            rows.append(_row(f"{zs}: zone set summed per hour", f"every hour within ±{SET_SUM_TOL:.0%}"
                             + ("" if zs in STAY_SETS else " (for information)"), f"min {lo:.3f}, max {hi:.3f}",
                             bool(ok) if zs in STAY_SETS else None))
    return rows


def _stay_rows(res: dict) -> list[dict]:
    rows = []
    for zs in (z for z in STAY_SETS if z in res):
        b = res[zs]["recovery"]["15+"]
        rows.append(_row(f"{zs}: observed true stays of 15+ min recovered as one visit", f">= {ONE_VISIT_MIN:.0%}",
                         f"{b['one_visit_obs']:.1%} of {b['observed']} (of all {b['true_stays']}: "
                         f"{b['one_visit_all']:.1%}; split {b['split_obs']:.1%})", b["one_visit_obs"] >= ONE_VISIT_MIN))
        ratio = b["dwell_ratio_median"]
        rows.append(_row(f"{zs}: median recovered dwell / true duration (15+ min, as one visit)",
                         f"within ±{DWELL_RATIO_TOL:.0%}", "n/a" if ratio is None else
                         f"{ratio:.3f} (median abs error {b['dwell_abs_err_median_min']} min)",
                         ratio is not None and abs(ratio - 1) <= DWELL_RATIO_TOL + 1e-9))
        vm = res[zs]["visits"]
        ph, stays = vm["phantom_share"], vm["visits"] - vm["passby_visits"]
        rows.append(_row(f"{zs}: phantom visits (not pass-by, no true stay)", f"< {PHANTOM_MAX:.0%}",
                         "n/a" if ph is None else f"{ph:.1%} of {stays}", ph is not None and ph < PHANTOM_MAX))
    return rows


def _storefront_rows(res: dict) -> list[dict]:
    if "storefronts" not in res:
        return []
    r, rows = res["storefronts"], []
    a = r["recovery"]["all"]
    rows.append(_row("storefronts: observed true stays recovered", f">= {STOREFRONT_RECOVERED_MIN:.0%}",
                     f"{a['recovered_obs']:.1%} of {a['observed']} (as one visit {a['one_visit_obs']:.1%}; "
                     f"of all {a['true_stays']}: {a['recovered_all']:.1%})",
                     a["recovered_obs"] >= STOREFRONT_RECOVERED_MIN))
    d = r["dwell_published"]
    n = d["zones_evaluated"]
    scope = f"zones with >= {Params.min_zone_stays} true stays and a published estimate"
    tol = f"every zone within ±{STOREFRONT_DWELL_TOL:.0%}"
    if not n:
        return [*rows, _row(f"storefronts: published dwell statistics ({scope})", tol, "no zone to evaluate", None)]
    rows.append(_row(f"storefronts: published dwell median per zone and day ({scope})", tol,
                     f"{d['median_within_tol']:.1%} of {n} zones within; median rel. error "
                     f"{d['median_rel_err_median']:+.1%}", d["median_within_tol"] >= 1.0))
    rows.append(_row(f"storefronts: published dwell histogram per zone and day ({scope})",
                     f"{tol} (each bin share, or ±5 points)", f"{d['hist_all_shares_within_tol']:.1%} of {n} zones "
                     f"within; median TV distance {d['hist_tv_median']:.3f}", d["hist_all_shares_within_tol"] >= 1.0))
    return rows


def targets(res: dict) -> list[dict]:
    """The issue's acceptance criteria: criterion, target, measured, met (None: for information)."""
    return [*_presence_rows(res), *_stay_rows(res), *_storefront_rows(res)]


def markdown_table(rows: list[dict]) -> str:
    met = {True: "yes", False: "**no**", None: "n/a"}
    lines = ["| criterion | target | measured | met |", "|---|---|---|---|"]
    lines += [f"| {r['criterion']} | {r['target']} | {r['measured']} | {met[r['met']]} |" for r in rows]
    return "\n".join(lines)


def _jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_jsonable(x) for x in o]
    if isinstance(o, np.integer | np.bool_):
        return o.item()
    if isinstance(o, float | np.floating):
        return None if np.isnan(o) else float(o)
    return o


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, help="the run's paths.data_dir (warehouse/ and truth/ below it)")
    ap.add_argument("--date", default=DEFAULT_DATE, type=dt.date.fromisoformat, help="local date YYYY-MM-DD")
    ap.add_argument("--key-file", help="master key file (hex) if FOOTFALL_PSEUDONYM_KEY is not set "
                                       "(default: privacy.key_file of the config)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "accuracy.json"), help="JSON results")
    ap.add_argument("--zone-set", action="append", dest="zone_sets", help="zone set(s); default: all")
    ap.add_argument("--env", default="local", help="config environment (default local)")
    ap.add_argument("--conf-dir", default=str(ROOT / "conf"))
    ap.add_argument("--driver-memory", default="4g", help="Spark driver memory (the tables are collected)")
    return ap.parse_args(argv)


def _git_head() -> str:
    proc = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip()


def _meta(args: argparse.Namespace, truth: pd.DataFrame, included: int, pipe: dict, p: Params) -> dict:
    people = set(truth["pseudo_id"])
    linked = len(people & set(pipe["events"]["pseudo_id"].unique())) / max(len(people), 1)
    return {"date": args.date.isoformat(), "data_dir": str(args.data_dir), "code_version": _git_head(),
            "measured_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "included_subscribers_truth": included, "included_subscribers_pipeline": pipe["included_pipeline"],
            "truth_people_with_events": round(linked, 4), "events": len(pipe["events"]),
            "visits": len(pipe["visits"]), "true_stay_rows": len(truth), "params": asdict(p)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from footfall.config import load_config
    from footfall.errors import FootfallError
    from footfall.privacy.pseudonym import epoch_key, load_master_key
    from footfall.session import build_session

    overrides: dict[str, Any] = {"paths.data_dir": args.data_dir, "spark.jars_dir": str(ROOT / ".jars"),
                                 "spark.conf": {"spark.driver.memory": args.driver_memory}}
    if args.key_file:
        overrides["privacy.key_file"] = args.key_file
    try:
        cfg = load_config(args.env, args.conf_dir, overrides)
        key = epoch_key(load_master_key(cfg.privacy), args.date, cfg.privacy.key_epoch_days)
    except FootfallError as exc:
        print(f"bench.accuracy: {exc}", file=sys.stderr)
        return 2
    day, p = local_day(args.date, cfg.time_zone), Params(min_dwell_s=cfg.visits.min_dwell_minutes * 60.0)
    truth, included = load_truth(cfg.path("truth_dir"), day, key.pseudonym)
    spark = build_session(cfg)
    try:
        pipe = load_pipeline(spark, cfg.path("warehouse_dir"), args.date)
    finally:
        spark.stop()
    meta = _meta(args, truth, included, pipe, p)
    if meta["truth_people_with_events"] == 0:
        print("bench.accuracy: no true person has an event under the key's pseudonyms: is it the key the "
              "pipeline ran with (FOOTFALL_PSEUDONYM_KEY / privacy.key_file)?", file=sys.stderr)
        return 2
    res = evaluate(pipe, truth, day, p, args.zone_sets)
    rows = targets(res)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(_jsonable({"meta": meta, "targets": rows, "zone_sets": res}), indent=1))
    print(markdown_table(rows))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
