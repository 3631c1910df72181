"""The queries the differential test asks, as plain values: a filter grammar and a query.

A filter is a tree of the nodes below; ``sql()`` writes it as the ``where`` text the library
parses. Nothing here evaluates anything: the reference evaluator (reference.py) gives the nodes
their meaning, the library gives the text its meaning, and the test compares the two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "And",
    "Between",
    "Compare",
    "CompareColumns",
    "Filter",
    "In",
    "IsNull",
    "IsTrue",
    "Like",
    "Literal",
    "Not",
    "Or",
    "Query",
    "literal_sql",
    "names_in",
]

Literal = str | int | Decimal | dt.date


def literal_sql(value: Literal) -> str:
    """A literal as SQL: strings and dates quoted, numbers as written."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'"
    return str(value)


@dataclass(frozen=True)
class Compare:
    """``name op literal``, op one of = <> < <= > >=."""

    name: str
    op: str
    value: Literal

    def sql(self) -> str:
        return f"{self.name} {self.op} {literal_sql(self.value)}"


@dataclass(frozen=True)
class CompareColumns:
    """``left op right``: two dimensions, no literal."""

    left: str
    op: str
    right: str

    def sql(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class In:
    name: str
    values: tuple[Literal, ...]
    negated: bool = False

    def sql(self) -> str:
        items = ", ".join(literal_sql(v) for v in self.values)
        return f"{self.name} {'NOT IN' if self.negated else 'IN'} ({items})"


@dataclass(frozen=True)
class Between:
    name: str
    low: Literal
    high: Literal
    negated: bool = False

    def sql(self) -> str:
        word = "NOT BETWEEN" if self.negated else "BETWEEN"
        return f"{self.name} {word} {literal_sql(self.low)} AND {literal_sql(self.high)}"


@dataclass(frozen=True)
class IsNull:
    name: str
    negated: bool = False

    def sql(self) -> str:
        return f"{self.name} IS {'NOT NULL' if self.negated else 'NULL'}"


@dataclass(frozen=True)
class Like:
    """``name LIKE 'pattern'``: ``%`` and ``_`` are the only wildcards, no escapes."""

    name: str
    pattern: str
    negated: bool = False

    def sql(self) -> str:
        return f"{self.name} {'NOT LIKE' if self.negated else 'LIKE'} {literal_sql(self.pattern)}"


@dataclass(frozen=True)
class IsTrue:
    """A boolean dimension on its own."""

    name: str

    def sql(self) -> str:
        return self.name


@dataclass(frozen=True)
class Not:
    operand: Filter

    def sql(self) -> str:
        return f"NOT ({self.operand.sql()})"


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter

    def sql(self) -> str:
        return f"({self.left.sql()}) AND ({self.right.sql()})"


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter

    def sql(self) -> str:
        return f"({self.left.sql()}) OR ({self.right.sql()})"


Filter = Compare | CompareColumns | In | Between | IsNull | Like | IsTrue | Not | And | Or


def names_in(node: Filter) -> set[str]:
    """Every dimension name a filter mentions."""
    if isinstance(node, CompareColumns):
        return {node.left, node.right}
    if isinstance(node, Not):
        return names_in(node.operand)
    if isinstance(node, And | Or):
        return names_in(node.left) | names_in(node.right)
    return {node.name}


@dataclass(frozen=True)
class Query:
    """One query, and the project (time zone, week start) it is asked in."""

    time_zone: str
    week_start: str
    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    where: Filter | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    order: tuple[str, ...] = ()
    limit: int | None = None

    def arguments(self) -> dict[str, object]:
        """Keyword arguments of ``layer.query``."""
        return {
            "by": list(self.by),
            "where": None if self.where is None else self.where.sql(),
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "order": list(self.order),
            "limit": self.limit,
        }

    def __str__(self) -> str:
        parts = [f"{list(self.metrics)!r}", f"project={self.time_zone}/{self.week_start}"]
        parts += [f"{k}={v!r}" for k, v in self.arguments().items() if v not in (None, [])]
        return "query(" + ", ".join(parts) + ")"
