"""Table, column and data-set containers for the demo data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

Value: TypeAlias = int | str | bool | Decimal | dt.date | dt.datetime | None
Row: TypeAlias = tuple[Value, ...]

SQL_TYPES = frozenset(
    {"INTEGER", "BIGINT", "VARCHAR", "BOOLEAN", "TIMESTAMP", "DATE", "DECIMAL(10,2)"}
)


@dataclass(frozen=True)
class Column:
    """A column with a portable SQL type."""

    name: str
    sql_type: str
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.sql_type not in SQL_TYPES:
            raise ValueError(f"unsupported SQL type {self.sql_type!r} for {self.name!r}")


@dataclass(frozen=True)
class Key:
    """The column a table is indexed by, and whether its values are unique."""

    column: str
    unique: bool = False


@dataclass(frozen=True)
class Table:
    """A table definition together with its rows, in column order."""

    name: str
    columns: tuple[Column, ...]
    rows: list[Row]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def column_types(self) -> tuple[str, ...]:
        return tuple(column.sql_type for column in self.columns)


@dataclass(frozen=True)
class DemoData(Mapping[str, Table]):
    """The demo tables, keyed by table name, in load order."""

    tables: tuple[Table, ...]

    def __getitem__(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (table.name for table in self.tables)

    def __len__(self) -> int:
        return len(self.tables)
