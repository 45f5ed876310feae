"""`footfall generate`: the job that writes a synthetic landing folder and its ground truth.

What it writes, and why the same seed gives byte-identical files: the package docstring
(footfall.synthetic) and docs/generator.md. Here: GenerateParams, `run` (reference data, zones and
cell plan on the driver, event and truth files written by Spark tasks), the report.json it
returns, and the command's arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from footfall.config import Config
from footfall.errors import EXIT_OK, ConfigError
from footfall.synthetic import network
from footfall.synthetic.output import local_folder, write_event_files, write_truth_files
from footfall.synthetic.population import crm_csv, draw_subscribers, optouts_csv
from footfall.synthetic.reference import Reference, load_reference, population_csv, postcodes_csv
from footfall.synthetic.vocabulary import (
    BERLIN_BBOX,
    CLASSIFICATION_ORDER,
    CSV_ONLY_FAULTS,
    DEFAULT_BUFFER_M,
    DEFAULT_DATE,
    DEFAULT_EVENTS,
    DEFAULT_MARKET_SHARE,
    DEFAULT_SEED,
    GENDER_SPELLINGS,
    ROW_FAULTS,
    ROWS_PER_FILE_TARGET,
    STOREFRONT_CATEGORIES,
    SUBSCRIBER_SHARES,
    ZONE_SETS,
)
from footfall.synthetic.world import Day, build_world, make_days
from footfall.synthetic.zones import Zone, build_zone_sets, zones_geojson

log = logging.getLogger(__name__)


def default_subscribers(population: pd.DataFrame, market_share: float) -> int:
    """SIMs in the CRM when --subscribers is not given: market share x Berlin's residents."""
    return round(market_share * int(population["population"].sum()))


@functools.lru_cache(maxsize=2)
def prepare(reference_dir: str, seed: int, first_date: dt.date, buffer_m: float, storefronts: int | None = None,
            ) -> tuple[Reference, dict[str, list[Zone]], network.CellPlan]:
    """Reference data, zone sets and the cell plan (memoised: tests generate several times). The
    plan is built on all POIs, so that --storefronts changes the shops, not the network."""
    ref = load_reference(reference_dir)
    zones = build_zone_sets(ref, STOREFRONT_CATEGORIES, buffer_m, storefronts)
    locs = ref.localities
    plan = network.build_cell_plan(list(locs["geometry"]), locs["population"].to_numpy(float), ref.berlin,
                                   ref.pois["lon"].to_numpy(), ref.pois["lat"].to_numpy(), seed, first_date)
    return ref, zones, plan


@dataclass(frozen=True)
class GenerateParams:
    first_date: dt.date = DEFAULT_DATE
    days: int = 1
    subscribers: int | None = None
    market_share: float = DEFAULT_MARKET_SHARE
    events_per_subscriber: float = DEFAULT_EVENTS
    seed: int = DEFAULT_SEED
    fmt: str = "csv"
    storefront_buffer_m: float = DEFAULT_BUFFER_M
    storefronts: int | None = None  # keep only this many store fronts (the demo: fewer shops, more visits each)
    faults: Mapping[str, float] = field(default_factory=dict)
    truncated_gzip: bool = False
    subscribers_per_file: int | None = None

    def row_faults(self) -> dict[str, float]:
        rates = {k: float(self.faults.get(k, v)) for k, v in ROW_FAULTS.items()}
        if self.fmt == "parquet":
            rates.update(dict.fromkeys(CSV_ONLY_FAULTS, 0.0))  # a Parquet file has no lines to break
        return rates

    def shares(self) -> dict[str, float]:
        return {k: float(self.faults.get(k, v)) for k, v in SUBSCRIBER_SHARES.items()}


def _validate(p: GenerateParams) -> None:
    unknown = set(p.faults) - set(ROW_FAULTS) - set(SUBSCRIBER_SHARES)
    if unknown:
        names = ", ".join([*ROW_FAULTS, *SUBSCRIBER_SHARES])
        raise ConfigError(f"unknown fault {sorted(unknown)[0]!r}: use one of {names}")
    for k, v in p.faults.items():
        if not 0.0 <= v < 1.0:
            raise ConfigError(f"fault rate {k}={v} must be in [0, 1)")
    if sum(p.row_faults().values()) > 0.5:
        raise ConfigError("the row fault rates add up to more than 0.5: lower them")
    if p.fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format {p.fmt!r}: use csv or parquet")
    if p.fmt == "parquet" and (p.truncated_gzip or any(p.faults.get(f, 0) > 0 for f in CSV_ONLY_FAULTS)):
        raise ConfigError("--truncated-gzip, malformed and shifted_columns lines exist only with --format csv")
    if p.days < 1 or (p.subscribers is not None and p.subscribers < 1) or p.events_per_subscriber <= 0:
        raise ConfigError("--days, --subscribers and --events-per-subscriber must be positive")
    if p.storefronts is not None and p.storefronts < 1:
        raise ConfigError(f"--storefronts {p.storefronts}: give a positive number of store fronts, or leave it out "
                          "for all of them")
    if not 0 < p.market_share <= 1:
        raise ConfigError("--market-share must be in (0, 1]")


def run(spark: Any, params: GenerateParams, reference_dir: str, landing: str, truth: str,
        time_zone: str = "Europe/Berlin") -> dict[str, Any]:
    """Generate the landing folder and the ground truth; returns the report (also written)."""
    _validate(params)
    started = time.time()
    land, tru = local_folder(landing).resolve(), local_folder(truth).resolve()
    if tru == land or land in tru.parents or tru in land.parents:
        raise ConfigError(f"the truth folder {tru} must be apart from the landing folder {land}")
    ref, zones, plan = prepare(str(reference_dir), params.seed, params.first_date, params.storefront_buffer_m,
                               params.storefronts)
    n = params.subscribers or default_subscribers(ref.population, params.market_share)
    days = make_days(params.first_date, params.days, time_zone)
    spf = params.subscribers_per_file or max(1, round(ROWS_PER_FILE_TARGET / params.events_per_subscriber))
    log.info("generate: %d subscribers x %d day(s) from %s, seed %d", n, params.days, params.first_date, params.seed)

    subs = draw_subscribers(ref, n, params.seed, params.first_date, days[0].start_utc, params.shares())
    world = build_world(ref, subs, plan, zones, days, params.seed, params.events_per_subscriber,
                        params.row_faults(), params.fmt, spf, only_zoned_shops=params.storefronts is not None)

    _write_driver_files(land, tru, plan, subs, zones, {"postcodes": postcodes_csv(ref),
                                                       "population": population_csv(ref)})
    bc = spark.sparkContext.broadcast(world)
    t_events = time.time()
    files = write_event_files(spark, bc, land, days, world.n_chunks(), params.fmt)
    events_s = time.time() - t_events
    write_truth_files(spark, bc, tru, world.n_chunks() * len(days), subs)
    bc.unpersist()
    truncated = _truncate_last_file(land, files) if params.truncated_gzip else None
    report = _report(params, n, days, subs, files, truncated, plan, zones, spf, events_s, time.time() - started)
    (tru / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    return report


def _write_driver_files(land: Path, tru: Path, plan: network.CellPlan, subs: pd.DataFrame,
                        zones: Mapping[str, Sequence[Zone]], reference: Mapping[str, str]) -> None:
    """Clear what an earlier run left, then write the files the driver makes itself: the cell
    plan, the CRM snapshot, the opt-outs, the zone files and the `reference` files from the
    Berlin data (<name>/<name>.csv: the postcodes' districts, the resident population)."""
    for sub in ("events", "subscribers", "optouts", "cells", "zones", *reference):
        shutil.rmtree(land / sub, ignore_errors=True)
    shutil.rmtree(tru / "visits", ignore_errors=True)
    shutil.rmtree(tru / "subscribers", ignore_errors=True)
    (tru / "report.json").unlink(missing_ok=True)
    for sub in ("subscribers", "optouts", "cells", "zones", *reference):
        (land / sub).mkdir(parents=True, exist_ok=True)
    tru.mkdir(parents=True, exist_ok=True)
    (land / "cells" / "cells.csv").write_text(plan.cells_csv())
    (land / "subscribers" / "subscribers.csv").write_text(crm_csv(subs))
    (land / "optouts" / "optouts.csv").write_text(optouts_csv(subs))
    for name, text in reference.items():
        (land / name / f"{name}.csv").write_text(text)
    for name in ZONE_SETS:
        (land / "zones" / f"{name}.geojson").write_text(zones_geojson(zones[name]), encoding="utf-8")


def _truncate_last_file(land: Path, files: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """--truncated-gzip: cut the last events file in half; what was cut, for the report."""
    victim = sorted(files)[-1]
    path = land / victim
    data = path.read_bytes()
    keep = max(64, len(data) // 2)
    path.write_bytes(data[:keep])
    return {"file": victim, "bytes_original": len(data), "bytes_kept": keep, "rows_written": files[victim]["rows"]}


def _report(params: GenerateParams, n: int, days: list[Day], subs: pd.DataFrame, files: dict[str, dict[str, int]],
            truncated: dict[str, Any] | None, plan: network.CellPlan, zones: Mapping[str, Sequence[Zone]],
            spf: int, events_s: float, total_s: float) -> dict[str, Any]:
    people = subs["kind"] != "m2m"
    first = dt.date.fromordinal(days[0].ordinal)
    crm = pd.to_datetime(subs["crm_birth_date"].replace("", None), format="%Y-%m-%d")
    crm_age = first.year - crm.dt.year - ((first.month * 100 + first.day) < (crm.dt.month * 100 + crm.dt.day))
    known = {s.lower() for s in (*GENDER_SPELLINGS["F"][0], *GENDER_SPELLINGS["M"][0])}
    faults = dict.fromkeys(CLASSIFICATION_ORDER, 0)
    by_day: dict[str, int] = {}
    for name, c in files.items():
        for k in CLASSIFICATION_ORDER:
            faults[k] += c[k]
        day = name.split("/")[1].removeprefix("date=")
        by_day[day] = by_day.get(day, 0) + c["rows"]
    return {
        "generator": "footfall generate",
        "parameters": {**{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(params).items()},
                       "subscribers": n, "subscribers_per_file": spf,
                       "row_fault_rates": params.row_faults(), "subscriber_shares": params.shares()},
        "subscribers": {
            "total": n,
            "consumer": int((subs["kind"] == "consumer").sum()),
            "business": int((subs["kind"] == "business").sum()),
            "m2m": int((subs["kind"] == "m2m").sum()),
            "opted_out": int(subs["opted_out"].sum()),
            "under_18_true": int((people & (subs["true_age"] < 18)).sum()),
            "under_18_crm": int((crm_age < 18).sum()),
            "unknown_gender": int((people & ~subs["crm_gender"].str.lower().isin(known)).sum()),
            "unknown_birth_date": int((people & (subs["crm_birth_date"] == "")).sum()),
            "note": "unknown_* count people (consumer + business); M2M SIMs have neither. Gender spellings "
                    "F/f/female/w mean F and M/m/male mean M; ''/X/d are unknown. under_18_crm uses the CRM "
                    "birth date on the first day.",
        },
        "events": {"rows": sum(by_day.values()), "rows_by_day": by_day},
        "faults": faults,
        "classification_order": list(CLASSIFICATION_ORDER),
        "classification": {
            "malformed": "the line does not have exactly 7 comma-separated fields",
            "missing_field": "msisdn/event_time/cell_id/event_type empty, or lon/lat/accuracy_m partly empty",
            "bad_timestamp": "event_time is not YYYY-MM-DDTHH:MM:SSZ with a valid date and time",
            "outside_day": "event_time is not within the folder's local day (Europe/Berlin)",
            "bad_coordinates": f"lon/lat NaN or outside the box {BERLIN_BBOX}",
            "unknown_cell": "cell_id not in cells/cells.csv",
            "duplicate": "the line repeats an earlier line of the same day exactly",
            "unknown_msisdn": "msisdn not in subscribers/subscribers.csv",
            "shifted_columns": "8 fields: an IMSI (15 digits, 26207...) before a row that is clean otherwise; "
                               "ingest rejects it as malformed",
            "opted_out": "msisdn in optouts/optouts.csv",
            "m2m": "contract_type m2m",
            "under_18": "CRM birth date gives an age under 18 on the folder's date",
            "clean": "none of the above",
        },
        "files": files,
        "truncated_file": truncated,
        "network": {"sites": plan.n_sites, "active_cells": len(plan.cell_id), "retired_cells": len(plan.retired_rows)},
        "zones": {k: len(v) for k, v in zones.items()},
        "seconds": {"events": round(events_s, 1), "total": round(total_s, 1)},
    }


def _fault_arg(text: str) -> tuple[str, float]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=RATE, e.g. duplicate=0.01")
    name, rate = text.split("=", 1)
    try:
        return name.strip(), float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: RATE must be a number") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=dt.date.fromisoformat, default=DEFAULT_DATE,
                        help=f"first local date (default {DEFAULT_DATE}, a Saturday)")
    parser.add_argument("--days", type=int, default=1, help="number of days (default 1)")
    parser.add_argument("--subscribers", type=int, default=None,
                        help="SIMs in the CRM (default: market share x Berlin's residents)")
    parser.add_argument("--market-share", type=float, default=DEFAULT_MARKET_SHARE,
                        help=f"share of residents who are subscribers, used without --subscribers "
                             f"(default {DEFAULT_MARKET_SHARE})")
    parser.add_argument("--events-per-subscriber", type=float, default=DEFAULT_EVENTS,
                        help=f"mean events per subscriber and day (default {DEFAULT_EVENTS:g})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default="csv",
                        help="events as gzipped CSV (default) or Parquet (all columns strings)")
    parser.add_argument("--storefront-buffer-m", type=float, default=DEFAULT_BUFFER_M,
                        help=f"store-front zone radius in metres (default {DEFAULT_BUFFER_M:g})")
    parser.add_argument("--storefronts", type=int, default=None, metavar="N",
                        help="keep N store fronts, the same ones on every run; the city's other shops of their "
                             "categories are gone, so these get their visits (default: all, about 4,600)")
    parser.add_argument("--fault", type=_fault_arg, action="append", default=[], metavar="NAME=RATE",
                        help="a fault rate (repeatable): row faults " + ", ".join(
                            f"{k} ({v:g})" for k, v in ROW_FAULTS.items())
                        + "; subscriber shares " + ", ".join(f"{k} ({v:g})" for k, v in SUBSCRIBER_SHARES.items()))
    parser.add_argument("--truncated-gzip", action="store_true", help="cut the last events file in half")
    parser.add_argument("--subscribers-per-file", type=int, default=None,
                        help=f"subscribers per events file (default {ROWS_PER_FILE_TARGET:,} / events per subscriber)")
    parser.add_argument("--output", help="landing folder (default paths.landing_dir)")
    parser.add_argument("--truth", help="ground-truth folder (default paths.truth_dir)")


def params_from_args(args: argparse.Namespace) -> GenerateParams:
    return GenerateParams(
        first_date=args.date, days=args.days, subscribers=args.subscribers, market_share=args.market_share,
        events_per_subscriber=args.events_per_subscriber, seed=args.seed, fmt=args.fmt,
        storefront_buffer_m=args.storefront_buffer_m, storefronts=args.storefronts, faults=dict(args.fault),
        truncated_gzip=args.truncated_gzip,
        subscribers_per_file=args.subscribers_per_file,
    )


def command(args: argparse.Namespace, cfg: Config) -> int:
    from footfall.session import build_session

    params = params_from_args(args)
    _validate(params)
    spark = build_session(cfg)
    landing = args.output or cfg.path("landing_dir")
    truth = args.truth or cfg.path("truth_dir")
    report = run(spark, params, cfg.paths.reference_dir, landing, truth, cfg.time_zone)
    faults = {k: v for k, v in report["faults"].items() if k != "clean"}
    print(f"landing: {landing}")
    print(f"truth:   {truth} (report.json)")
    print(f"subscribers: {report['subscribers']['total']:,}; event rows: {report['events']['rows']:,} "
          f"in {len(report['files'])} file(s); {report['seconds']['events']} s for the events")
    print("counted:", ", ".join(f"{k}={v:,}" for k, v in faults.items()))
    if report["truncated_file"]:
        print("truncated:", report["truncated_file"]["file"])
    return EXIT_OK


__all__ = ["GenerateParams", "add_arguments", "command", "run"]
