"""Result values in the same Python types on every engine, as the plan says each column is.

Drivers disagree: SQLite returns dates as ``str`` and booleans as 0/1, MariaDB sums as
``Decimal`` and dates sometimes as ``datetime``, PostgreSQL ``numeric`` as ``Decimal``. Each
column is converted by its :class:`~metrics_layer.planner.types.ValueType`; NULL stays ``None``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any, assert_never
from zoneinfo import ZoneInfo

from metrics_layer.planner.types import ValueType

__all__ = ["normalise_rows"]

Convert = Callable[[Any], Any]


def normalise_rows(
    rows: Sequence[Sequence[Any]], types: Sequence[ValueType], time_zone: str
) -> tuple[tuple[Any, ...], ...]:
    """``rows`` with each value converted to its column's type.

    >>> import decimal
    >>> types = [ValueType.DATE, ValueType.INTEGER, ValueType.FLOAT, ValueType.BOOLEAN]
    >>> normalise_rows([("2026-01-31", decimal.Decimal("3"), 1, 0)], types, "UTC")
    ((datetime.date(2026, 1, 31), 3, 1.0, False),)
    """
    converters = [_converter(t, time_zone) for t in types]
    return tuple(
        tuple(
            None if value is None else convert(value)
            for convert, value in zip(converters, row, strict=True)
        )
        for row in rows
    )


def _converter(kind: ValueType, time_zone: str) -> Convert:
    if kind is ValueType.DATE:
        return _date
    if kind is ValueType.TIMESTAMP:
        zone = ZoneInfo(time_zone)
        return lambda value: _timestamp(value, zone)
    if kind is ValueType.INTEGER:
        return _integer
    if kind is ValueType.FLOAT:
        return _float
    if kind is ValueType.BOOLEAN:
        return _boolean
    if kind is ValueType.AS_RETURNED:
        return _same
    assert_never(kind)


def _same(value: Any) -> Any:
    return value


def _date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _timestamp(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(zone).replace(tzinfo=None)
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, (decimal.Decimal, float)) and value == int(value):
        return int(value)
    return value


def _float(value: Any) -> Any:
    # A MIN/MAX over a non-numeric column (a date, say) is left as it is.
    if isinstance(value, (int, decimal.Decimal)) and not isinstance(value, bool):
        return float(value)
    return value


def _boolean(value: Any) -> Any:
    if isinstance(value, int):
        return bool(value)
    return value
