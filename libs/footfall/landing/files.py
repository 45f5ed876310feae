"""Reading the operator's landing files: header checks, all-string reads, the day's event files.

Everything is read as strings first (every column a string, the CSV's corrupt-record text kept),
so validation can name what was delivered; parsing and classification are footfall.landing.events.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from footfall.config import Config
from footfall.errors import BadInputError
from footfall.schemas import C

ISO_UTC = "yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX"
EVENT_COLUMNS = (C.MSISDN, C.EVENT_TIME, C.CELL_ID, C.EVENT_TYPE, C.LON, C.LAT, C.ACCURACY_M)
# Added to every delivered event row by read_events: the CSV parser's corrupt-record text, a row id
# (Spark's monotonically increasing id: partition << 33 + position in the read partition) and the
# byte offset of the file block (split) the row was read from. A block's rows are read one after
# the other in one partition, so row id and block start give the row's position in its file
# (footfall.landing.events.with_source_row).
CORRUPT = "_corrupt_record"
ROW_ID = "_row_id"
BLOCK_START = "_block_start"


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
    """Delivered rows as strings, plus the corrupt-record text (CSV), the file name, a row id and the
    start of the file block the row was read from."""
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
                      F.monotonically_increasing_id().alias(ROW_ID),
                      F.col("_metadata.file_block_start").alias(BLOCK_START))


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
