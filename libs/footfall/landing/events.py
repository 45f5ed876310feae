"""Validating and classifying delivered event rows, as Spark SQL expressions in one pass.

Every delivered row ends in exactly one of three places: accepted (restricted.events), rejected
with a reason code (ops.rejected_events, pseudonymised) or excluded (counted, never stored). The
only Python is the HMAC per distinct msisdn (footfall.privacy.pseudonym). Reason codes and
rules: docs/ingest.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from footfall.errors import FootfallError
from footfall.landing.cells import CELL_LAT, CELL_LON, CELL_OK, CELL_RANGE, cells_valid_on, with_cell
from footfall.landing.files import CORRUPT, EVENT_COLUMNS, ROW_ID, parse_timestamp
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
