"""The operator's cell plan (cells.csv): typed, checked, and the serving cell attached to events."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from footfall.errors import BadInputError
from footfall.schemas import CELLS, C, cols

CELL_COLUMNS = (C.CELL_ID, C.SITE_ID, C.LON, C.LAT, C.AZIMUTH_DEG, C.BEAMWIDTH_DEG, C.RANGE_M, C.RADIO,
                C.VALID_FROM, C.VALID_TO)
# Added by with_cell: the serving site's position and range, and whether the cell is in the plan.
CELL_LON, CELL_LAT, CELL_RANGE, CELL_OK = "_cell_lon", "_cell_lat", "_cell_range", "_cell_ok"


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
