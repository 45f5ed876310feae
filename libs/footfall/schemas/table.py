"""Column and table definitions (the machinery; the definitions themselves: footfall.schemas)."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import DataType, StructField, StructType


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DataType
    comment: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str  # schema.table in the catalog
    columns: tuple[Column, ...]
    comment: str
    partition_by: tuple[str, ...] = ()

    @property
    def struct(self) -> StructType:
        return StructType(
            [StructField(c.name, c.dtype, c.nullable, {"comment": c.comment}) for c in self.columns]
        )

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def column(name: str, dtype: DataType, comment: str, nullable: bool = True) -> Column:
    return Column(name, dtype, comment, nullable)


def cols(table: Table) -> list[str]:
    """The column list a transform producing `table` ends its select with."""
    return table.names
