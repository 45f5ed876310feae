"""`footfall load-reference --date D`: zones, cells and the pseudonymised subscriber snapshot.

Zone files are small (at most ~10k polygons per set), so they are validated on the driver with
shapely and pyproj before they reach Spark: lon/lat check with a CRS guess, repair of invalid
polygons where the repair is unambiguous, duplicate ids, area in EPSG:25833. Subscribers are
pseudonymised at the boundary; the raw msisdn never reaches a table.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shapely
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError
from footfall.localtime import local_day_start_utc
from footfall.manifest import recorded_run
from footfall.observe import step
from footfall.pseudonym import broadcast_key, key_for, normalised_msisdn, with_pseudo_id
from footfall.schemas import (
    CELLS,
    EXCLUDED_M2M,
    EXCLUDED_MINOR,
    EXCLUDED_OPTED_OUT,
    SUBSCRIBERS,
    ZONES,
    C,
    cols,
)
from footfall.session import build_session
from footfall.tables import ensure_tables, replace_partition
from footfall.zones.load import ZONE_SUFFIXES, read_zone_file
from footfall.zones.relations import near_duplicates

log = logging.getLogger(__name__)

SUBSCRIBER_COLUMNS = (C.MSISDN, C.BIRTH_DATE, C.GENDER, C.CONTRACT_TYPE, C.POSTCODE)
OPTOUT_COLUMNS = (C.MSISDN, C.OPTED_OUT_AT)
CELL_COLUMNS = (C.CELL_ID, C.SITE_ID, C.LON, C.LAT, C.AZIMUTH_DEG, C.BEAMWIDTH_DEG, C.RANGE_M, C.RADIO,
                C.VALID_FROM, C.VALID_TO)
# Plausible ages; a birth date implying an age outside this range is treated as unknown.
MAX_AGE = 120
ISO_UTC = "yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX"


# ---------------------------------------------------------------------------------- landing files


def check_header(path: Path, expected: Sequence[str]) -> None:
    """Refuse a CSV (plain or gzip) whose header is not exactly `expected`."""
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise BadInputError(f"landing file {path} cannot be read ({type(exc).__name__}): re-deliver it") from None
    found = [h.strip() for h in header]
    if found != list(expected):
        # The delivered first line is not echoed: without a header it is a data row with an msisdn.
        missing = [c for c in expected if c not in found]
        detail = f"missing {', '.join(missing)}" if missing else "other columns or order"
        raise BadInputError(
            f"landing file {path} does not start with the header {','.join(expected)!r} "
            f"(found {len(found)} columns, {detail})"
        )


def string_schema(columns: Sequence[str]) -> StructType:
    return StructType([StructField(c, StringType(), True) for c in columns])


def landing_file(cfg: Config, *parts: str) -> Path:
    path = Path(cfg.path("landing_dir"), *parts)
    if not path.is_file():
        raise BadInputError(f"landing file {path} is missing: deliver it (an empty file with the header is fine)")
    return path


def read_landing_csv(spark: SparkSession, path: Path, columns: Sequence[str]) -> DataFrame:
    """A small landing CSV with its header checked, every column a string."""
    check_header(path, columns)
    return spark.read.csv(str(path), header=True, schema=string_schema(columns), mode="PERMISSIVE")


def parse_timestamp(column: Column | str) -> Column:
    """ISO-8601 UTC text such as 2026-03-14T07:03:12Z to a timestamp; NULL when unparseable."""
    return F.try_to_timestamp(F.trim(F.col(column) if isinstance(column, str) else column), F.lit(ISO_UTC))


# ------------------------------------------------------------------------------------ transforms


def with_age_band(df: DataFrame, day: dt.date) -> DataFrame:
    """age_band from birth_date (YYYY-MM-DD) at `day`; unknown when missing, unparseable or implausible."""
    born = F.try_to_timestamp(F.trim(C.BIRTH_DATE), F.lit("yyyy-MM-dd")).cast("date")
    had_birthday = (F.month(born) < day.month) | ((F.month(born) == day.month) & (F.dayofmonth(born) <= day.day))
    age = F.lit(day.year) - F.year(born) - F.when(had_birthday, 0).otherwise(1)
    band = (
        F.when(born.isNull() | (age < 0) | (age > MAX_AGE), "unknown")
        .when(age < 18, "under_18")
        .when(age < 25, "18-24").when(age < 35, "25-34").when(age < 45, "35-44")
        .when(age < 55, "45-54").when(age < 65, "55-64").otherwise("65+")
    )
    return df.withColumn(C.AGE_BAND, band)


def with_normalised_attributes(df: DataFrame) -> DataFrame:
    """gender -> F | M | unknown, contract_type -> consumer | business | m2m | unknown."""
    gender = F.upper(F.trim(C.GENDER))
    contract = F.lower(F.trim(C.CONTRACT_TYPE))
    return df.withColumn(
        C.GENDER,
        F.when(gender.isin("F", "FEMALE", "W", "WEIBLICH"), "F").when(gender.isin("M", "MALE", "MAENNLICH"), "M")
        .otherwise("unknown"),
    ).withColumn(
        C.CONTRACT_TYPE,
        F.when(contract.isin("consumer", "business", "m2m"), contract).when(contract == "iot", "m2m")
        .otherwise("unknown"),
    )


def dedupe_subscribers(df: DataFrame) -> DataFrame:
    """One row per normalised msisdn: the smallest (birth_date, gender, contract_type, postcode),
    so a rerun keeps the same one. Rows without an msisdn are dropped."""
    attrs = (C.BIRTH_DATE, C.GENDER, C.CONTRACT_TYPE, C.POSTCODE)
    kept = F.min(F.struct(*[F.coalesce(F.col(a), F.lit("")) for a in attrs], *attrs)).alias("kept")
    return (
        df.withColumn(C.MSISDN, normalised_msisdn(F.col(C.MSISDN))).where(F.col(C.MSISDN).isNotNull())
        .groupBy(C.MSISDN).agg(kept).select(C.MSISDN, *[F.col(f"kept.{a}").alias(a) for a in attrs])
    )


def opted_out_before(optouts: DataFrame, day_start_utc: dt.datetime) -> DataFrame:
    """Normalised msisdns whose opt-out applies on the day starting at `day_start_utc`.

    An opt-out applies from the first run after it: opted_out_at before the start of the local
    day. A row without a readable time applies too (when in doubt, leave the person out).
    """
    at = parse_timestamp(C.OPTED_OUT_AT)
    return (
        optouts.withColumn(C.MSISDN, normalised_msisdn(F.col(C.MSISDN)))
        .where(F.col(C.MSISDN).isNotNull() & (at.isNull() | (at < F.lit(day_start_utc))))
        .select(C.MSISDN).distinct()
    )


def with_excluded_reason(subscribers: DataFrame, opted_out: DataFrame) -> DataFrame:
    """excluded_reason: opted_out, else m2m, else under_18, else NULL; under_18 becomes age band unknown
    (excluded rows never reach a cohort, and the table's bands are the published ones)."""
    flagged = subscribers.alias("s").join(
        F.broadcast(opted_out.withColumn("opted_out", F.lit(True)).alias("o")),
        F.col(f"s.{C.MSISDN}") == F.col(f"o.{C.MSISDN}"), how="left",
    ).select("s.*", F.coalesce(F.col("o.opted_out"), F.lit(False)).alias("opted_out"))
    reason = (
        F.when(F.col("opted_out"), EXCLUDED_OPTED_OUT)
        .when(F.col(C.CONTRACT_TYPE) == "m2m", EXCLUDED_M2M)
        .when(F.col(C.AGE_BAND) == "under_18", EXCLUDED_MINOR)
    )
    return (
        flagged.withColumn(C.EXCLUDED_REASON, reason)
        .withColumn(C.AGE_BAND, F.when(F.col(C.AGE_BAND) == "under_18", "unknown").otherwise(F.col(C.AGE_BAND)))
        .drop("opted_out")
    )


def cells_from_landing(raw: DataFrame) -> DataFrame:
    """Typed cell plan; unparseable numbers and dates become NULL (checked by `check_cells`)."""
    def num(name: str) -> Column:
        return F.col(name).try_cast("double").alias(name)

    def day(name: str) -> Column:
        return F.try_to_timestamp(F.trim(name), F.lit("yyyy-MM-dd")).cast("date").alias(name)

    return raw.select(
        F.trim(C.CELL_ID).alias(C.CELL_ID), F.trim(C.SITE_ID).alias(C.SITE_ID), num(C.LON), num(C.LAT),
        num(C.AZIMUTH_DEG), num(C.BEAMWIDTH_DEG), num(C.RANGE_M), F.trim(C.RADIO).alias(C.RADIO),
        day(C.VALID_FROM), day(C.VALID_TO),
    ).select(*cols(CELLS))


def check_cells(cells: DataFrame) -> None:
    """Refuse a cell plan with a missing id or position, or a duplicate id (ids named)."""
    bad = cells.where(F.col(C.CELL_ID).isNull() | (F.col(C.CELL_ID) == "") | F.col(C.LON).isNull()
                      | F.col(C.LAT).isNull() | F.col(C.RANGE_M).isNull()).select(C.CELL_ID).limit(3).collect()
    if bad:
        ids = ", ".join(repr(r[C.CELL_ID]) for r in bad)
        raise BadInputError(f"cell plan has cells without id, lon, lat or range_m ({ids}): fix cells.csv")
    dup = cells.groupBy(C.CELL_ID).count().where(F.col("count") > 1).limit(3).collect()
    if dup:
        raise BadInputError(f"cell plan has duplicate cell ids ({', '.join(r[C.CELL_ID] for r in dup)})")


# ------------------------------------------------------------------------------------------- job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None,
                        help="processing date YYYY-MM-DD (default: today)")
    parser.add_argument("--zones", action="append", type=Path, metavar="FILE",
                        help="load only these zone files (GeoJSON, GeoParquet, WKT CSV) instead of the landing folder")
    parser.add_argument("--zone-set", help="zone set name for a single --zones file (default: file stem)")


def command(args: argparse.Namespace, cfg: Config) -> int:
    if args.zone_set and (not args.zones or len(args.zones) != 1):
        raise BadInputError("--zone-set needs exactly one --zones FILE")
    spark = build_session(cfg)
    run(spark, cfg, args.date or dt.date.today(), args.zones, args.zone_set)
    return EXIT_OK


def check_distinct_zones(spark: SparkSession, sets: dict[str, list[tuple[Any, ...]]], min_area_m2: float) -> None:
    """Refuse zones that nearly duplicate another zone of the catalogue: the zone sets being
    loaded together with the zone sets already in ref.zones that they do not replace."""
    ensure_tables(spark, (ZONES,))
    kept = spark.table(ZONES.name).where(~F.col(C.ZONE_SET).isin(list(sets))).select(C.ZONE_SET, C.ZONE_ID, C.GEOMETRY)
    zones = [(f"{r[C.ZONE_SET]}/{r[C.ZONE_ID]}", shapely.from_wkb(bytes(r[C.GEOMETRY]))) for r in kept.collect()]
    zones += [(f"{row[0]}/{row[1]}", shapely.from_wkb(row[4])) for rows in sets.values() for row in rows]
    pairs = near_duplicates(zones, min_area_m2)
    if pairs:
        shown = "; ".join(f"{a} and {b} ({d:.0f} m2)" for a, b, d in pairs[:5])
        more = f" and {len(pairs) - 5} more pairs" if len(pairs) > 5 else ""
        raise BadInputError(
            f"zones differ from another zone by less than {min_area_m2:.0f} m2 (spatial.min_zone_difference_m2): "
            f"{shown}{more}. Their published counts could differ by one person: merge or drop one of each pair"
        )


def load_zones(spark: SparkSession, files: Sequence[Path], zone_set: str | None = None,
               min_area_m2: float = 0.0) -> dict[str, int]:
    """Validate every file first, then replace each zone set's rows: one bad file writes nothing."""
    sets = {zone_set or f.stem: read_zone_file(f, zone_set) for f in files}
    check_distinct_zones(spark, sets, min_area_m2)
    for name, rows in sets.items():
        replace_partition(spark.createDataFrame(rows, ZONES.struct), ZONES, {C.ZONE_SET: name})
        log.info("load-reference: zone set %s, %d zones", name, len(rows))
    return {f"zones.{name}": len(rows) for name, rows in sets.items()}


def load_cells(spark: SparkSession, cfg: Config) -> int:
    cells = read_landing_csv(spark, landing_file(cfg, "cells", "cells.csv"), CELL_COLUMNS).transform(
        cells_from_landing).cache()
    check_cells(cells)
    cells.write.format("delta").mode("overwrite").saveAsTable(CELLS.name)
    n = cells.count()
    cells.unpersist()
    return n


def load_subscribers(spark: SparkSession, cfg: Config, day: dt.date) -> dict[str, int]:
    """The subscriber snapshot for `day`, pseudonymised with the epoch key of `day`."""
    key = key_for(cfg.privacy, day)
    crm = read_landing_csv(spark, landing_file(cfg, "subscribers", "subscribers.csv"), SUBSCRIBER_COLUMNS)
    optouts = read_landing_csv(spark, landing_file(cfg, "optouts", "optouts.csv"), OPTOUT_COLUMNS)
    bc = broadcast_key(spark, key)
    try:
        snapshot = (
            crm.transform(dedupe_subscribers)
            .transform(with_age_band, day)
            .transform(with_normalised_attributes)
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
    delivered = crm.select(F.count("*").alias("rows"),
                           F.count(normalised_msisdn(F.col(C.MSISDN))).alias("with_msisdn")).first()
    assert delivered is not None  # an aggregate without grouping always has one row
    total = sum(by_reason.values())
    counts = {"subscribers.in": delivered["rows"], "subscribers.stored": total,
              "subscribers.included": by_reason.pop(None, 0),
              "subscribers.duplicates": delivered["with_msisdn"] - total,
              "subscribers.without_msisdn": delivered["rows"] - delivered["with_msisdn"]}
    counts.update({f"subscribers.excluded.{reason}": n for reason, n in by_reason.items()})
    return counts


def run(spark: SparkSession, cfg: Config, day: dt.date, zone_files: Sequence[Path] | None = None,
        zone_set: str | None = None) -> dict[str, int]:
    """Load the reference data for processing date `day`; returns the counts recorded in ops.runs.

    With `zone_files`, only those zone sets are (re)loaded; otherwise zones, cells and subscribers
    all come from the landing folder.
    """
    ensure_tables(spark, (ZONES, CELLS, SUBSCRIBERS))
    parameters = {"zones": [str(f) for f in zone_files or []], "zone_set": zone_set}
    with recorded_run(spark, cfg, "load-reference", day, parameters=parameters) as rec:
        if zone_files:
            with step("load-reference", "zones", spark) as s:
                rec.counts.update(load_zones(spark, zone_files, zone_set, cfg.spatial.min_zone_difference_m2))
                zones_loaded = sum(v for k, v in rec.counts.items() if k.startswith("zones."))
                s.record(rows_in=zones_loaded, rows_out=zones_loaded)  # one bad zone refuses its file
            return rec.counts
        key_for(cfg.privacy, day)  # a missing key fails before anything is written
        zone_dir = Path(cfg.path("landing_dir"), "zones")
        files = sorted(p for p in zone_dir.glob("*") if p.suffix in ZONE_SUFFIXES) if zone_dir.is_dir() else []
        if not files:
            raise BadInputError(f"no zone files in {zone_dir}: deliver at least one ({', '.join(ZONE_SUFFIXES)})")
        with step("load-reference", "zones", spark) as s:
            rec.counts.update(load_zones(spark, files, min_area_m2=cfg.spatial.min_zone_difference_m2))
            zones_loaded = sum(v for k, v in rec.counts.items() if k.startswith("zones."))
            s.record(rows_in=zones_loaded, rows_out=zones_loaded)  # one bad zone refuses its file
        with step("load-reference", "cells", spark) as s:
            rec.counts["cells"] = load_cells(spark, cfg)
            s.record(rows_in=rec.counts["cells"], rows_out=rec.counts["cells"])  # a bad cell refuses the plan
        with step("load-reference", "subscribers", spark) as s:
            rec.counts.update(load_subscribers(spark, cfg, day))
            s.record(rows_in=rec.counts["subscribers.in"], rows_out=rec.counts["subscribers.stored"])
        log.info("load-reference %s: %s", day, rec.counts)
        return rec.counts
