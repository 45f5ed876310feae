"""Validating and classifying delivered event rows, as Spark SQL expressions in one pass.

Every delivered row ends in exactly one of three places: accepted (restricted.events), rejected
with a reason code (ops.rejected_events, pseudonymised, raw fields scrubbed; a malformed row keeps
no field at all) or excluded (counted, never stored). The only Python is the HMAC per distinct
msisdn (footfall.privacy.pseudonym). Reason codes and rules: docs/ingest.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from footfall.errors import FootfallError
from footfall.landing.cells import CELL_LAT, CELL_LON, CELL_OK, CELL_RANGE, cells_valid_on, with_cell
from footfall.landing.files import BLOCK_START, CORRUPT, EVENT_COLUMNS, ROW_ID, parse_timestamp
from footfall.privacy.pseudonym import normalised_msisdn
from footfall.schemas import (
    EVENTS,
    EXCLUDED_M2M,
    EXCLUDED_MINOR,
    EXCLUDED_OPTED_OUT,
    EXCLUDED_UNKNOWN,
    REJECTED_EVENTS,
    C,
    cols,
)

STATUS = "_status"
COPY_RANK = "_copy_rank"
KNOWN = "_known_subscriber"
TS, X, Y, ACC = "_ts", "_x", "_y", "_acc"
FIRST_ID, ROWS_BEFORE, BLOCK_ROWS = "_first_id", "_rows_before", "_block_rows"

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

# A digit run that could be an MSISDN, IMSI or IMEI: 10 or more digits, optionally with a leading
# `+` and single spaces between digits (`+49 176 12345678`), not glued to a digit before it and not
# the decimals of a number (a digit, a point, then the run: `52.5200001234567` is kept). ISO
# timestamps, decimal coordinates and ECGI cell ids (`262-07-1040001-11`) have no such run;
# epoch seconds or milliseconds do, and are scrubbed too (docs/ingest.md).
IDENTIFIER_LIKE = r"(?<![0-9])(?<![0-9]\.)\+?[0-9](?: ?[0-9]){9,}"
SCRUBBED = "<scrubbed>"


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
    copies = Window.partitionBy(C.MSISDN, *EVENT_COLUMNS[1:]).orderBy(C.SOURCE_FILE, BLOCK_START, ROW_ID)
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


def for_writes(df: DataFrame) -> DataFrame:
    """Classified rows -> only the columns the two writes read, which ingest caches once: the
    delivered text fields of a rejected row only (NULL in every other row), the pseudonym, the
    parsed fields and the cell's site, and each row's place in its file (every row's:
    `block_offsets` counts the rows of each block)."""
    rejected = F.col(STATUS).isin(*REJECT_REASONS)
    text = (C.EVENT_TIME, C.LON, C.LAT, C.ACCURACY_M)
    return df.select(
        STATUS, C.PSEUDO_ID, C.KEY_ID, TS, X, Y, ACC, CELL_LON, CELL_LAT, CELL_RANGE, C.CELL_ID, C.EVENT_TYPE,
        *[F.when(rejected, F.col(c)).alias(c) for c in text], C.SOURCE_FILE, BLOCK_START, ROW_ID,
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


def block_offsets(df: DataFrame) -> DataFrame:
    """Read rows -> one row per file block: its first row id and the file's rows in earlier blocks.

    A block's rows are read one after the other in one partition, so their row ids are
    consecutive; a gzip file is one block, a large plain CSV or Parquet file may be several."""
    earlier = Window.partitionBy(C.SOURCE_FILE).orderBy(BLOCK_START).rowsBetween(Window.unboundedPreceding, -1)
    return (
        df.groupBy(C.SOURCE_FILE, BLOCK_START)
        .agg(F.min(ROW_ID).alias(FIRST_ID), F.count(F.lit(1)).alias(BLOCK_ROWS))
        .withColumn(ROWS_BEFORE, F.coalesce(F.sum(BLOCK_ROWS).over(earlier), F.lit(0)))
        .select(C.SOURCE_FILE, BLOCK_START, FIRST_ID, ROWS_BEFORE)
    )


def with_source_row(df: DataFrame, offsets: DataFrame) -> DataFrame:
    """The row's position in its file (`source_row`): 1 = the first data row after the header.
    Spark's CSV reader skips blank lines without a trace, so they are not counted: in a file
    without blank lines the row is on line source_row + 1."""
    joined = df.alias("r").join(
        F.broadcast(offsets).alias("o"),
        (F.col(f"r.{C.SOURCE_FILE}") == F.col(f"o.{C.SOURCE_FILE}"))
        & (F.col(f"r.{BLOCK_START}") == F.col(f"o.{BLOCK_START}")),
        how="left",
    )
    position = F.col(f"o.{ROWS_BEFORE}") + F.col(f"r.{ROW_ID}") - F.col(f"o.{FIRST_ID}") + 1
    return joined.select("r.*", position.alias(C.SOURCE_ROW))


def scrubbed(column: str) -> Column:
    """A delivered text field with every identifier-like digit run replaced by `<scrubbed>`."""
    return F.regexp_replace(F.col(column), IDENTIFIER_LIKE, SCRUBBED)


def rejected_rows(df: DataFrame, day: dt.date, run_id: str) -> DataFrame:
    """Classified rows with their `source_row` (`with_source_row`) -> ops.rejected_events. A
    malformed row keeps neither fields nor pseudonym: its fields are split by position, so its
    msisdn field may hold an IMSI and any other field the msisdn. Other rows keep their fields,
    scrubbed of identifier-like digit runs; their msisdn field is the msisdn, stored as pseudonym."""
    keep = F.col(STATUS) != MALFORMED

    def raw(column: str) -> Column:
        return F.when(keep, scrubbed(column))

    return df.where(F.col(STATUS).isin(*REJECT_REASONS)).select(
        F.lit(day).alias(C.EVENT_DATE), F.col(STATUS).alias(C.REASON),
        F.when(keep, F.col(C.PSEUDO_ID)).alias(C.PSEUDO_ID),
        raw(C.EVENT_TIME).alias(C.RAW_EVENT_TIME), raw(C.CELL_ID).alias(C.CELL_ID),
        raw(C.EVENT_TYPE).alias(C.EVENT_TYPE), raw(C.LON).alias(C.RAW_LON), raw(C.LAT).alias(C.RAW_LAT),
        raw(C.ACCURACY_M).alias(C.RAW_ACCURACY_M), C.SOURCE_FILE, C.SOURCE_ROW, F.lit(run_id).alias(C.RUN_ID),
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
