"""`footfall load-reference --date D`: zones, cells, postcodes, the resident population, the
pseudonymised subscriber snapshot and its market share (the weights of visitors_est).

Zone files are validated on the driver before they reach Spark (footfall.zones.load), a zone
nearly duplicating another of the catalogue is refused, and zones that nearly equal the union of
another set's zones are recorded in ref.zone_relations (footfall.zones.relations). The cell plan
and the CRM snapshot are read and checked by footfall.landing; subscribers are pseudonymised at
the boundary, so the raw msisdn never reaches a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shapely
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError
from footfall.landing.cells import CELL_COLUMNS, cells_from_landing, check_cells
from footfall.landing.crm import (
    OPTOUT_COLUMNS,
    POPULATION_COLUMNS,
    POSTCODE_COLUMNS,
    SUBSCRIBER_COLUMNS,
    dedupe_subscribers,
    opted_out_before,
    population_strata,
    postcode_districts,
    with_age_band,
    with_excluded_reason,
    with_home_district,
    with_normalised_attributes,
)
from footfall.landing.files import landing_file, read_landing_csv
from footfall.localtime import local_day_start_utc
from footfall.manifest import recorded_run
from footfall.observe import step
from footfall.pipeline.estimate import write_market_share
from footfall.privacy.pseudonym import broadcast_key, key_for, normalised_msisdn, with_pseudo_id
from footfall.schemas import (
    CELLS,
    HOME_UNKNOWN,
    MARKET_SHARE,
    POPULATION,
    POSTCODES,
    SUBSCRIBERS,
    ZONE_COVER,
    ZONE_RELATIONS,
    ZONES,
    C,
    cols,
)
from footfall.session import build_session
from footfall.tables import ensure_tables, replace_all, replace_partition
from footfall.zones.cover import cover_frame, cover_rows, stored_level, wanted_level
from footfall.zones.load import ZONE_SUFFIXES, read_zone_file
from footfall.zones.relations import near_duplicates, unions

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None,
                        help="processing date YYYY-MM-DD (default: today)")
    parser.add_argument("--zones", action="append", type=Path, metavar="FILE",
                        help="load only these zone files (GeoJSON, GeoParquet, WKT CSV) instead of the landing folder")
    parser.add_argument("--zone-set", help="zone set name for a single --zones file (default: file stem)")


def command(args: argparse.Namespace, cfg: Config) -> int:
    if args.zone_set and (not args.zones or len(args.zones) != 1):
        raise BadInputError("--zone-set needs exactly one --zones FILE")
    day = args.date or dt.date.today()
    if not args.zones:  # the subscribers are pseudonymised: a missing or short key fails before the session starts
        key_for(cfg.privacy, day)
    spark = build_session(cfg)
    run(spark, cfg, day, args.zones, args.zone_set)
    return EXIT_OK


def check_distinct_zones(spark: SparkSession, sets: dict[str, list[tuple[Any, ...]]], min_area_m2: float
                         ) -> list[tuple[str, str, Any]]:
    """Refuse zones that nearly duplicate another zone of the catalogue: the zone sets being
    loaded together with the zone sets already in ref.zones that they do not replace. Returns
    that catalogue as (set, id, lon/lat polygon)."""
    ensure_tables(spark, (ZONES,))
    kept = spark.table(ZONES.name).where(~F.col(C.ZONE_SET).isin(list(sets))).select(C.ZONE_SET, C.ZONE_ID, C.GEOMETRY)
    catalogue = [(r[C.ZONE_SET], r[C.ZONE_ID], shapely.from_wkb(bytes(r[C.GEOMETRY]))) for r in kept.collect()]
    catalogue += [(row[0], row[1], shapely.from_wkb(row[4])) for rows in sets.values() for row in rows]
    pairs = near_duplicates([(f"{zone_set}/{zone_id}", g) for zone_set, zone_id, g in catalogue], min_area_m2)
    if pairs:
        shown = "; ".join(f"{a} and {b} ({d:.0f} m2)" for a, b, d in pairs[:5])
        more = f" and {len(pairs) - 5} more pairs" if len(pairs) > 5 else ""
        raise BadInputError(
            f"zones differ from another zone by less than {min_area_m2:.0f} m2 (spatial.min_zone_difference_m2): "
            f"{shown}{more}. Their published counts could differ by one person: merge or drop one of each pair"
        )
    return catalogue


def record_relations(spark: SparkSession, catalogue: list[tuple[str, str, Any]], max_difference_share: float) -> int:
    """Replace ref.zone_relations with the catalogue's zones that nearly equal the union of zones
    of another set (footfall.zones.relations.unions); returns the number of such zones."""
    found = unions(catalogue, max_difference_share)
    rows = [(zone_set, zone_id, part_set, part_id, difference)
            for zone_set, zone_id, part_set, parts, difference in found for part_id in parts]
    ensure_tables(spark, (ZONE_RELATIONS,))
    replace_all(spark.createDataFrame(rows, ZONE_RELATIONS.struct), ZONE_RELATIONS)
    for zone_set, zone_id, part_set, parts, difference in found:
        log.info("load-reference: %s/%s is the union of %d zones of %s (differing by %.0f m2)", zone_set, zone_id,
                 len(parts), part_set, difference)
    return len(found)


def load_zones(spark: SparkSession, cfg: Config, files: Sequence[Path], zone_set: str | None = None) -> dict[str, int]:
    """Validate every file first, then replace each zone set's rows (one bad file writes
    nothing), then the relations between the zones of the whole catalogue."""
    sets = {zone_set or f.stem: read_zone_file(f, zone_set) for f in files}
    catalogue = check_distinct_zones(spark, sets, cfg.spatial.min_zone_difference_m2)
    ensure_tables(spark, (ZONE_COVER,))
    for name, rows in sets.items():
        replace_partition(spark.createDataFrame(rows, ZONES.struct), ZONES, {C.ZONE_SET: name})
        # The grid cover the compute joins through (footfall.zones.cover), for the sets it broadcasts.
        pairs = [(row[1], row[4]) for row in rows] if len(rows) <= cfg.spatial.broadcast_max_zones else []
        level = wanted_level(pairs, cfg.spatial.cover_max_cells)
        # A daily load-reference of the same zones keeps their cover: building and writing it is
        # most of this step, and its rows would not change. (No zones to cover: any rows go.)
        stored = spark.table(ZONE_COVER.name).where(F.col(C.ZONE_SET) == name)
        if stored_level(stored, pairs) == level:
            log.info("load-reference: zone set %s, %d zones, its grid cover kept (level %s)", name, len(rows), level)
            continue
        cover = cover_rows(name, pairs, level)
        replace_partition(cover_frame(spark, cover), ZONE_COVER, {C.ZONE_SET: name})
        log.info("load-reference: zone set %s, %d zones, %d grid cells", name, len(rows), len(cover))
    unions_found = record_relations(spark, catalogue, cfg.spatial.union_max_difference_share)
    return {f"zones.{name}": len(rows) for name, rows in sets.items()} | {"zone_unions": unions_found}


def load_cells(spark: SparkSession, cfg: Config) -> int:
    cells = read_landing_csv(spark, landing_file(cfg, "cells", "cells.csv"), CELL_COLUMNS).transform(
        cells_from_landing).cache()
    check_cells(cells)
    replace_all(cells, CELLS)
    n = cells.count()
    cells.unpersist()
    return n


def load_postcodes(spark: SparkSession, cfg: Config) -> int:
    """Replace ref.postcodes with the landing postcodes/postcodes.csv (checked on the driver: a
    postcode list is small); returns its rows."""
    landed = read_landing_csv(spark, landing_file(cfg, "postcodes", "postcodes.csv"), POSTCODE_COLUMNS).collect()
    rows = postcode_districts((r[0], r[1]) for r in landed)
    replace_all(spark.createDataFrame(rows, POSTCODES.struct), POSTCODES)
    return len(rows)


def load_population(spark: SparkSession, cfg: Config) -> int:
    """Replace ref.population with the landing population/population.csv (checked on the driver,
    footfall.landing.crm.population_strata); returns its rows."""
    landed = read_landing_csv(spark, landing_file(cfg, "population", "population.csv"), POPULATION_COLUMNS).collect()
    rows = population_strata(tuple(r) for r in landed)
    replace_all(spark.createDataFrame(rows, POPULATION.struct), POPULATION)
    return len(rows)


def load_subscribers(spark: SparkSession, cfg: Config, day: dt.date) -> dict[str, int]:
    """The subscriber snapshot for `day`, pseudonymised with the epoch key of `day`, with each
    subscriber's home district (ref.postcodes, loaded first)."""
    key = key_for(cfg.privacy, day)
    crm = read_landing_csv(spark, landing_file(cfg, "subscribers", "subscribers.csv"), SUBSCRIBER_COLUMNS)
    optouts = read_landing_csv(spark, landing_file(cfg, "optouts", "optouts.csv"), OPTOUT_COLUMNS)
    bc = broadcast_key(spark, key)
    try:
        snapshot = (
            crm.transform(dedupe_subscribers)
            .transform(with_age_band, day)
            .transform(with_normalised_attributes)
            .transform(with_home_district, spark.table(POSTCODES.name))
            .transform(with_excluded_reason, opted_out_before(optouts, local_day_start_utc(day, cfg.time_zone)))
            .transform(with_pseudo_id, bc, key.key_id)
            .withColumn(C.SNAPSHOT_DATE, F.lit(day))
            .select(*cols(SUBSCRIBERS))
        )
        replace_partition(snapshot, SUBSCRIBERS, {C.SNAPSHOT_DATE: day})
    finally:
        bc.destroy()
    stored = spark.table(SUBSCRIBERS.name).where(F.col(C.SNAPSHOT_DATE) == F.lit(day))
    by_reason = {r[C.EXCLUDED_REASON]: r["count"] for r in stored.groupBy(C.EXCLUDED_REASON).count().collect()}
    home_unknown = stored.where(F.col(C.HOME_DISTRICT) == HOME_UNKNOWN).count()
    delivered = crm.select(F.count("*").alias("rows"),
                           F.count(normalised_msisdn(F.col(C.MSISDN))).alias("with_msisdn")).first()
    assert delivered is not None  # an aggregate without grouping always has one row
    total = sum(by_reason.values())
    counts = {"subscribers.in": delivered["rows"], "subscribers.stored": total,
              "subscribers.included": by_reason.pop(None, 0),
              "subscribers.duplicates": delivered["with_msisdn"] - total,
              "subscribers.without_msisdn": delivered["rows"] - delivered["with_msisdn"],
              "subscribers.home_unknown": home_unknown}
    counts.update({f"subscribers.excluded.{reason}": n for reason, n in by_reason.items()})
    return counts


def run(spark: SparkSession, cfg: Config, day: dt.date, zone_files: Sequence[Path] | None = None,
        zone_set: str | None = None) -> dict[str, int]:
    """Load the reference data for processing date `day`; returns the counts recorded in ops.runs.

    With `zone_files`, only those zone sets are (re)loaded; otherwise zones, cells and subscribers
    all come from the landing folder.
    """
    ensure_tables(spark, (ZONES, CELLS, POSTCODES, POPULATION, SUBSCRIBERS, MARKET_SHARE))
    parameters = {"zones": [str(f) for f in zone_files or []], "zone_set": zone_set}
    with recorded_run(spark, cfg, "load-reference", day, parameters=parameters) as rec:
        if zone_files:
            with step("load-reference", "zones", spark) as s:
                rec.counts.update(load_zones(spark, cfg, zone_files, zone_set))
                zones_loaded = sum(v for k, v in rec.counts.items() if k.startswith("zones."))
                s.record(rows_in=zones_loaded, rows_out=zones_loaded)  # one bad zone refuses its file
            return rec.counts
        key_for(cfg.privacy, day)  # a missing key fails before anything is written
        zone_dir = Path(cfg.path("landing_dir"), "zones")
        files = sorted(p for p in zone_dir.glob("*") if p.suffix in ZONE_SUFFIXES) if zone_dir.is_dir() else []
        if not files:
            raise BadInputError(f"no zone files in {zone_dir}: deliver at least one ({', '.join(ZONE_SUFFIXES)})")
        with step("load-reference", "zones", spark) as s:
            rec.counts.update(load_zones(spark, cfg, files))
            zones_loaded = sum(v for k, v in rec.counts.items() if k.startswith("zones."))
            s.record(rows_in=zones_loaded, rows_out=zones_loaded)  # one bad zone refuses its file
        with step("load-reference", "cells", spark) as s:
            rec.counts["cells"] = load_cells(spark, cfg)
            s.record(rows_in=rec.counts["cells"], rows_out=rec.counts["cells"])  # a bad cell refuses the plan
        with step("load-reference", "postcodes", spark) as s:
            rec.counts["postcodes"] = load_postcodes(spark, cfg)
            s.record(rows_in=rec.counts["postcodes"], rows_out=rec.counts["postcodes"])  # a bad row refuses the file
        with step("load-reference", "population", spark) as s:
            rec.counts["population"] = load_population(spark, cfg)
            s.record(rows_in=rec.counts["population"], rows_out=rec.counts["population"])  # a bad row refuses it
        with step("load-reference", "subscribers", spark) as s:
            rec.counts.update(load_subscribers(spark, cfg, day))
            s.record(rows_in=rec.counts["subscribers.in"], rows_out=rec.counts["subscribers.stored"])
        with step("load-reference", "market_share", spark) as s:
            snapshot = spark.table(SUBSCRIBERS.name).where(F.col(C.SNAPSHOT_DATE) == F.lit(day))
            rec.counts["market_share"] = write_market_share(spark, snapshot, spark.table(POPULATION.name), day,
                                                            cfg.privacy.k)
            s.record(rows_in=rec.counts["subscribers.included"], rows_out=rec.counts["market_share"])
        log.info("load-reference %s: %s", day, rec.counts)
        return rec.counts
