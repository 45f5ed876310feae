"""`footfall ingest --date D`: one local day of landing events into restricted.events.

Every delivered row ends in exactly one of three places: accepted (restricted.events), rejected
with a reason code (ops.rejected_events, pseudonymised) or excluded (counted, never stored).
Validation is Spark SQL expressions over an all-string read, in one pass; the only Python is the
HMAC per distinct msisdn (footfall.pseudonym). Reason codes and rules: docs/ingest.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from sedona.spark.sql import st_aggregates as sta
from sedona.spark.sql import st_constructors as stc
from sedona.spark.sql import st_functions as stf

from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError, FootfallError
from footfall.localtime import local_day_start_utc
from footfall.manifest import recorded_run
from footfall.observe import step
from footfall.pseudonym import broadcast_key, key_for, normalised_msisdn, pseudonym_map
from footfall.reference import check_header, parse_timestamp, string_schema
from footfall.schemas import (
    CELLS,
    EVENTS,
    EXCLUDED_M2M,
    EXCLUDED_MINOR,
    EXCLUDED_OPTED_OUT,
    EXCLUDED_UNKNOWN,
    REJECTED_EVENTS,
    SUBSCRIBERS,
    ZONES,
    C,
    cols,
)
from footfall.session import build_session
from footfall.tables import ensure_tables, replace_partition, table_version

log = logging.getLogger(__name__)

EVENT_COLUMNS = (C.MSISDN, C.EVENT_TIME, C.CELL_ID, C.EVENT_TYPE, C.LON, C.LAT, C.ACCURACY_M)
CORRUPT = "_corrupt_record"
ROW_ID = "_row_id"
STATUS = "_status"
COPY_RANK = "_copy_rank"
KNOWN = "_known_subscriber"
TS, X, Y, ACC = "_ts", "_x", "_y", "_acc"
CELL_LON, CELL_LAT, CELL_RANGE, CELL_OK = "_cell_lon", "_cell_lat", "_cell_range", "_cell_ok"

ACCEPTED = "accepted"
MALFORMED = "malformed"
MISSING_FIELD = "missing_field"
BAD_TIMESTAMP = "bad_timestamp"
OUTSIDE_DAY = "outside_day"
BAD_COORDINATES = "bad_coordinates"
UNKNOWN_CELL = "unknown_cell"
DUPLICATE = "duplicate"
REJECT_REASONS = (MALFORMED, MISSING_FIELD, BAD_TIMESTAMP, OUTSIDE_DAY, BAD_COORDINATES, UNKNOWN_CELL, DUPLICATE)
EXCLUDE_REASONS = (EXCLUDED_OPTED_OUT, EXCLUDED_M2M, EXCLUDED_MINOR, EXCLUDED_UNKNOWN)

BBox = tuple[float, float, float, float]


# ------------------------------------------------------------------------------------ reading


def landing_files(folder: Path) -> tuple[str, list[Path]]:
    """The day's files and their format; refuses a missing folder, no files or a mix of formats."""
    if not folder.is_dir():
        raise BadInputError(f"no landing folder {folder}: deliver the day's events there (or check --date)")
    csvs = sorted(p for p in folder.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    parquets = sorted(p for p in folder.iterdir() if p.name.endswith(".parquet"))
    if csvs and parquets:
        raise BadInputError(f"landing folder {folder} mixes CSV and Parquet files: deliver one format per day")
    if not csvs and not parquets:
        raise BadInputError(f"landing folder {folder} holds no *.csv.gz, *.csv or *.parquet files")
    return ("parquet", parquets) if parquets else ("csv", csvs)


def read_events(spark: SparkSession, folder: Path) -> DataFrame:
    """Delivered rows as strings, plus the corrupt-record text (CSV), the file name and a row id."""
    fmt, files = landing_files(folder)
    if fmt == "csv":
        for path in files:
            check_header(path, EVENT_COLUMNS)
        schema = string_schema((*EVENT_COLUMNS, CORRUPT))
        raw = spark.read.csv([str(p) for p in files], schema=schema, header=True, mode="PERMISSIVE",
                             columnNameOfCorruptRecord=CORRUPT)
    else:
        for path in files:
            names = pq.read_schema(path).names
            if names != list(EVENT_COLUMNS):
                raise BadInputError(f"landing file {path} has the columns {','.join(names)!r}; "
                                    f"expected {','.join(EVENT_COLUMNS)!r}")
        raw = spark.read.parquet(*[str(p) for p in files]).select(
            *[F.col(c).cast("string").alias(c) for c in EVENT_COLUMNS], F.lit(None).cast("string").alias(CORRUPT))
    return raw.select(*EVENT_COLUMNS, CORRUPT, F.col("_metadata.file_name").alias(C.SOURCE_FILE),
                      F.monotonically_increasing_id().alias(ROW_ID))


@contextmanager
def landing_read_errors() -> Iterator[None]:
    """Turn Spark's failure to read a landing file (truncated gzip, bad Parquet) into BadInputError."""
    try:
        yield
    except (Py4JJavaError, PySparkException) as exc:
        text = str(exc)
        found = re.search(r"error while reading file (\S+?)\.?\s", text)
        if found is None:
            raise
        raise BadInputError(f"landing file {found.group(1)} is corrupt or truncated: re-deliver it "
                            "(nothing was written)") from None


# ------------------------------------------------------------------------------------ transforms


def _blank_to_null(column: str) -> Column:
    trimmed = F.trim(F.col(column))
    return F.when(trimmed != "", trimmed)


def with_trimmed_fields(df: DataFrame) -> DataFrame:
    """Trimmed fields (blank = missing) and the normalised msisdn, still as delivered text."""
    return df.select(
        *[_blank_to_null(c).alias(c) if c in EVENT_COLUMNS else F.col(c) for c in df.columns]
    ).withColumn(C.MSISDN, normalised_msisdn(F.col(C.MSISDN)))


def with_copy_rank(df: DataFrame) -> DataFrame:
    """Rank of each row among its exact copies (same msisdn and fields): 1 for the first by file
    name, then position. The rows are hash-partitioned by msisdn first: that one shuffle also
    serves the window (its partition keys include msisdn) and the join with the per-msisdn
    lookup in `with_subscriber`, so the events are shuffled once, not three times."""
    copies = Window.partitionBy(C.MSISDN, *EVENT_COLUMNS[1:]).orderBy(C.SOURCE_FILE, ROW_ID)
    return df.repartition(C.MSISDN).withColumn(COPY_RANK, F.row_number().over(copies))


def stage_rows(df: DataFrame) -> DataFrame:
    """Read rows -> trimmed, normalised rows with their copy rank; what ingest caches once."""
    return df.transform(with_trimmed_fields).transform(with_copy_rank)


def with_parsed_fields(df: DataFrame) -> DataFrame:
    """Parsed time and numbers (NULL if unparseable) of trimmed rows."""
    return (
        df.withColumn(TS, parse_timestamp(C.EVENT_TIME))
        .withColumn(X, F.col(C.LON).try_cast("double"))
        .withColumn(Y, F.col(C.LAT).try_cast("double"))
        .withColumn(ACC, F.col(C.ACCURACY_M).try_cast("double"))
    )


def subscriber_lookup(msisdn_map: DataFrame, subscribers: DataFrame) -> DataFrame:
    """(msisdn, pseudo_id, key_id, excluded_reason, known) for each distinct delivered msisdn."""
    return msisdn_map.alias("m").join(
        subscribers.alias("s"), F.col(f"m.{C.PSEUDO_ID}") == F.col(f"s.{C.PSEUDO_ID}"), how="left"
    ).select(
        f"m.{C.MSISDN}", f"m.{C.PSEUDO_ID}", f"m.{C.KEY_ID}", f"s.{C.EXCLUDED_REASON}",
        F.col(f"s.{C.PSEUDO_ID}").isNotNull().alias(KNOWN),
    )


def with_subscriber(df: DataFrame, lookup: DataFrame) -> DataFrame:
    """Attach pseudonym and exclusion to each row and drop the raw msisdn."""
    # One row per distinct msisdn of the day, possibly millions: adaptive execution broadcasts
    # it when it is small, an explicit hint could exhaust executor memory at scale.
    return df.alias("e").join(
        lookup.alias("l"), F.col(f"e.{C.MSISDN}") == F.col(f"l.{C.MSISDN}"), how="left"
    ).select(
        "e.*", f"l.{C.PSEUDO_ID}", f"l.{C.KEY_ID}", f"l.{C.EXCLUDED_REASON}",
        F.coalesce(F.col(f"l.{KNOWN}"), F.lit(False)).alias(KNOWN),
    ).drop(C.MSISDN)


def cells_valid_on(cells: DataFrame, day: dt.date) -> DataFrame:
    d = F.lit(day)
    return cells.where((F.col(C.VALID_FROM).isNull() | (F.col(C.VALID_FROM) <= d))
                       & (F.col(C.VALID_TO).isNull() | (F.col(C.VALID_TO) >= d)))


def with_cell(df: DataFrame, cells: DataFrame) -> DataFrame:
    """The serving cell's site position and range (NULL when the cell is not in the plan)."""
    return df.alias("e").join(
        F.broadcast(cells.alias("c")), F.col(f"e.{C.CELL_ID}") == F.col(f"c.{C.CELL_ID}"), how="left"
    ).select(
        "e.*", F.col(f"c.{C.LON}").alias(CELL_LON), F.col(f"c.{C.LAT}").alias(CELL_LAT),
        F.col(f"c.{C.RANGE_M}").alias(CELL_RANGE), F.col(f"c.{C.CELL_ID}").isNotNull().alias(CELL_OK),
    )


def _finite(column: str) -> Column:
    return F.col(column).isNotNull() & ~F.isnan(column) & (F.abs(F.col(column)) != float("inf"))


def with_status(df: DataFrame, day_start: dt.datetime, day_end: dt.datetime, service_area: BBox) -> DataFrame:
    """One status per row: accepted, a reject reason or an exclusion reason, first match wins.

    An excluded subscriber's rows are excluded whatever else is wrong with them, so nothing of
    an opted-out, M2M or under-18 subscriber is stored, not even a rejected row.
    """
    measured = F.col(C.LON).isNotNull() & F.col(C.LAT).isNotNull() & F.col(C.ACCURACY_M).isNotNull()
    unmeasured = F.col(C.LON).isNull() & F.col(C.LAT).isNull() & F.col(C.ACCURACY_M).isNull()
    min_x, min_y, max_x, max_y = service_area
    in_area = (_finite(X) & _finite(Y) & _finite(ACC) & (F.col(ACC) >= 0)
               & F.col(X).between(min_x, max_x) & F.col(Y).between(min_y, max_y))
    status = (
        F.when(F.col(KNOWN) & F.col(C.EXCLUDED_REASON).isNotNull(), F.col(C.EXCLUDED_REASON))
        .when(F.col(CORRUPT).isNotNull(), MALFORMED)
        .when(F.col(C.PSEUDO_ID).isNull(), MISSING_FIELD)
        .when(~F.col(KNOWN), EXCLUDED_UNKNOWN)
        .when(F.col(C.EVENT_TIME).isNull() | F.col(C.CELL_ID).isNull() | F.col(C.EVENT_TYPE).isNull()
              | ~(measured | unmeasured), MISSING_FIELD)
        .when(F.col(TS).isNull(), BAD_TIMESTAMP)
        .when((F.col(TS) < F.lit(day_start)) | (F.col(TS) >= F.lit(day_end)), OUTSIDE_DAY)
        .when(measured & ~in_area, BAD_COORDINATES)
        .when(~F.col(CELL_OK), UNKNOWN_CELL)
        .otherwise(ACCEPTED)
    )
    return df.withColumn(STATUS, status)


def with_duplicates_marked(df: DataFrame) -> DataFrame:
    """Exact duplicate rows: the first copy (file name, then position) keeps its status, every
    further accepted copy becomes `duplicate`. Copies share their status, as it depends only on
    the delivered fields; so the rank among all copies (`with_copy_rank`, by normalised msisdn,
    which the pseudonym stands for one to one) decides."""
    is_copy = (F.col(STATUS) == ACCEPTED) & (F.col(COPY_RANK) > 1)
    return df.withColumn(STATUS, F.when(is_copy, DUPLICATE).otherwise(F.col(STATUS))).drop(COPY_RANK)


def classify_staged(df: DataFrame, lookup: DataFrame, cells: DataFrame, day: dt.date, day_start: dt.datetime,
                    day_end: dt.datetime, service_area: BBox) -> DataFrame:
    """Staged rows (`stage_rows`) -> rows with pseudonym (no raw msisdn), cell position and status."""
    return (
        df.transform(with_parsed_fields)
        .transform(with_subscriber, lookup)
        .transform(with_cell, cells_valid_on(cells, day))
        .transform(with_status, day_start, day_end, service_area)
        .transform(with_duplicates_marked)
    )


def classify(df: DataFrame, lookup: DataFrame, cells: DataFrame, day: dt.date, day_start: dt.datetime,
             day_end: dt.datetime, service_area: BBox) -> DataFrame:
    """Read rows -> rows with pseudonym (no raw msisdn), cell position and status."""
    return df.transform(stage_rows).transform(classify_staged, lookup, cells, day, day_start, day_end, service_area)


def accepted_events(df: DataFrame, day: dt.date) -> DataFrame:
    measured = F.col(X).isNotNull()
    return df.where(F.col(STATUS) == ACCEPTED).select(
        F.lit(day).alias(C.EVENT_DATE), C.PSEUDO_ID, C.KEY_ID, F.col(TS).alias(C.EVENT_TIME), C.CELL_ID,
        C.EVENT_TYPE,
        F.when(measured, F.col(X)).otherwise(F.col(CELL_LON)).alias(C.LON),
        F.when(measured, F.col(Y)).otherwise(F.col(CELL_LAT)).alias(C.LAT),
        F.when(measured, F.col(ACC)).otherwise(F.col(CELL_RANGE)).alias(C.ACCURACY_M),
        F.when(measured, "measured").otherwise("cell").alias(C.POSITION_SOURCE),
    ).select(*cols(EVENTS))


def rejected_rows(df: DataFrame, day: dt.date, run_id: str) -> DataFrame:
    return df.where(F.col(STATUS).isin(*REJECT_REASONS)).select(
        F.lit(day).alias(C.EVENT_DATE), F.col(STATUS).alias(C.REASON), C.PSEUDO_ID,
        F.col(C.EVENT_TIME).alias(C.RAW_EVENT_TIME), C.CELL_ID, C.EVENT_TYPE, F.col(C.LON).alias(C.RAW_LON),
        F.col(C.LAT).alias(C.RAW_LAT), F.col(C.ACCURACY_M).alias(C.RAW_ACCURACY_M), C.SOURCE_FILE,
        F.lit(run_id).alias(C.RUN_ID),
    ).select(*cols(REJECTED_EVENTS))


def status_counts() -> list[Column]:
    """Aggregates for Observation: every row, and the rows of each status."""
    return [F.count(F.lit(1)).alias("in")] + [
        F.count(F.when(F.col(STATUS) == s, 1)).alias(s) for s in (ACCEPTED, *REJECT_REASONS, *EXCLUDE_REASONS)
    ]


def summarise(observed: Mapping[str, int], rejected_written: int) -> dict[str, int]:
    """The run's counts; FootfallError (internal) if rows_in != accepted + rejected + excluded."""
    counts = {"in": observed["in"], "accepted": observed[ACCEPTED]}
    counts.update({f"rejected.{r}": observed[r] for r in REJECT_REASONS})
    counts.update({f"excluded.{r}": observed[r] for r in EXCLUDE_REASONS})
    counts["rejected"] = sum(observed[r] for r in REJECT_REASONS)
    counts["excluded"] = sum(observed[r] for r in EXCLUDE_REASONS)
    if counts["in"] != counts["accepted"] + counts["rejected"] + counts["excluded"] or \
            counts["rejected"] != rejected_written:
        raise FootfallError(
            f"internal error: ingest counts do not add up (in={counts['in']}, accepted={counts['accepted']}, "
            f"rejected={counts['rejected']} of which written {rejected_written}, excluded={counts['excluded']})"
        )
    return counts


# ------------------------------------------------------------------------------------------- job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat,
                        help="local date YYYY-MM-DD of the landing folder events/date=D")


def command(args: argparse.Namespace, cfg: Config) -> int:
    spark = build_session(cfg)
    run(spark, cfg, args.date)
    return EXIT_OK


def service_area(spark: SparkSession, margin_deg: float) -> BBox:
    """Bounding box of all loaded zones, widened by the margin."""
    envelope = spark.table(ZONES.name).select(
        sta.ST_Envelope_Aggr(stc.ST_GeomFromWKB(C.GEOMETRY)).alias("env")
    ).select(stf.ST_XMin("env"), stf.ST_YMin("env"), stf.ST_XMax("env"), stf.ST_YMax("env")).first()
    if envelope is None or envelope[0] is None:
        raise BadInputError("ref.zones is empty: run footfall load-reference first")
    min_x, min_y, max_x, max_y = (float(v) for v in envelope)
    return min_x - margin_deg, min_y - margin_deg, max_x + margin_deg, max_y + margin_deg


def _reference(spark: SparkSession, day: dt.date, key_id: str) -> tuple[DataFrame, DataFrame]:
    hint = f"run footfall load-reference --date {day.isoformat()} first"
    subscribers = spark.table(SUBSCRIBERS.name).where(F.col(C.SNAPSHOT_DATE) == F.lit(day))
    key_ids = [r[C.KEY_ID] for r in subscribers.select(C.KEY_ID).distinct().limit(2).collect()]
    if not key_ids:
        raise BadInputError(f"no subscriber snapshot for {day.isoformat()}: {hint}")
    if key_ids != [key_id]:
        raise BadInputError(f"the subscriber snapshot for {day.isoformat()} was pseudonymised with key "
                            f"{', '.join(key_ids)}, not the current {key_id}: {hint}")
    cells = spark.table(CELLS.name)
    if cells.isEmpty():
        raise BadInputError(f"ref.cells is empty: {hint}")
    return subscribers.select(C.PSEUDO_ID, C.EXCLUDED_REASON), cells


def run(spark: SparkSession, cfg: Config, day: dt.date) -> dict[str, int]:
    """Ingest local date `day`; returns the counts recorded in ops.runs."""
    key = key_for(cfg.privacy, day)  # a missing key fails before any work
    folder = Path(cfg.path("landing_dir"), "events", f"date={day.isoformat()}")
    ensure_tables(spark, (ZONES, CELLS, SUBSCRIBERS, EVENTS, REJECTED_EVENTS))
    day_start = local_day_start_utc(day, cfg.time_zone)
    day_end = local_day_start_utc(day + dt.timedelta(days=1), cfg.time_zone)
    parameters = {"landing": str(folder), "time_zone": cfg.time_zone, "key_id": key.key_id,
                  "service_area_margin_deg": cfg.ingest.service_area_margin_deg}
    with recorded_run(spark, cfg, "ingest", day, parameters=parameters) as rec:
        raw = read_events(spark, folder)
        subscribers, cells = _reference(spark, day, key.key_id)
        area = service_area(spark, cfg.ingest.service_area_margin_deg)
        rec.parameters["service_area"] = list(area)
        rec.input_versions.update({t.name: table_version(spark, t) for t in (ZONES, CELLS, SUBSCRIBERS)})
        with landing_read_errors():
            if raw.isEmpty():
                raise BadInputError(f"landing folder {folder} holds no event rows: check the export")
        bc = broadcast_key(spark, key)
        # The landing files are parsed once: the staged rows (trimmed text, partitioned by msisdn,
        # copy rank) are cached and feed the pseudonym lookup and both writes. Before, the files
        # were read for the lookup and again for each write, and the events shuffled for the
        # duplicate window and again for the lookup join (before/after: docs/benchmarks.md).
        staged = raw.transform(stage_rows).persist(StorageLevel.MEMORY_AND_DISK)
        lookup = subscriber_lookup(pseudonym_map(staged, bc, key.key_id), subscribers).cache()
        try:
            classified = staged.transform(classify_staged, lookup, cells, day, day_start, day_end, area)
            observed, written = Observation("ingest"), Observation("rejected")
            with step("ingest", "events", spark) as s, landing_read_errors():
                replace_partition(accepted_events(classified.observe(observed, *status_counts()), day),
                                  EVENTS, {C.EVENT_DATE: day})
                s.record(rows_in=observed.get["in"], rows_out=observed.get[ACCEPTED])
            with step("ingest", "rejected_events", spark) as s, landing_read_errors():
                rejects = rejected_rows(classified, day, rec.run_id)
                replace_partition(rejects.observe(written, F.count(F.lit(1)).alias("n")), REJECTED_EVENTS,
                                  {C.EVENT_DATE: day})
                s.record(rows_in=observed.get["in"], rows_out=written.get["n"])
        finally:
            lookup.unpersist()
            staged.unpersist()
            bc.destroy()
        rec.counts.update(summarise(observed.get, written.get["n"]))
        log.info("ingest %s: %d rows in = %d accepted + %d rejected + %d excluded", day, rec.counts["in"],
                 rec.counts["accepted"], rec.counts["rejected"], rec.counts["excluded"])
        return rec.counts

