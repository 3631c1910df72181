"""A metric query as the caller states it, checked for shape before any planning."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from metrics_layer.errors import QueryError

__all__ = ["MAX_LIMIT", "MetricQuery", "OrderBy"]

MAX_LIMIT = 1_000_000

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class OrderBy:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class MetricQuery:
    """What to compute: metrics by dimensions, filtered, over an inclusive date range."""

    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    where: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    order: tuple[OrderBy, ...] = ()
    limit: int | None = None

    @classmethod
    def of(
        cls,
        metrics: str | Sequence[str] | None = (),
        *,
        by: str | Sequence[str] | None = (),
        where: str | None = None,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        order: str | Sequence[str] | None = (),
        limit: int | None = None,
    ) -> MetricQuery:
        """Normalise loose caller input; every mistake is a QueryError naming the field.

        >>> MetricQuery.of("signups", by="metric_time.week", order="-signups").order
        (OrderBy(name='signups', descending=True),)
        """
        metric_names = _names(metrics, "metrics")
        by_names = _names(by, "by")
        if not metric_names and not by_names:
            raise QueryError("ask for at least one metric or one dimension", field="metrics")
        for field, names in (("metrics", metric_names), ("by", by_names)):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise QueryError(f"'{repeated[0]}' is listed twice; list it once", field=field)
        if where is not None and not isinstance(where, str):
            raise QueryError("must be a SQL boolean as a string", field="where")
        start_date, end_date = _date(start, "start"), _date(end, "end")
        if start_date and end_date and start_date > end_date:
            raise QueryError(
                f"start {start_date} is after end {end_date}; swap them", field="start"
            )
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise QueryError(f"must be a positive whole number, not {limit!r}", field="limit")
        if limit is not None and limit > MAX_LIMIT:
            raise QueryError(
                f"{limit:,} is above the largest limit, {MAX_LIMIT:,}; ask for a coarser grain or "
                "fewer dimensions, or page with filters",
                field="limit",
            )
        orders = tuple(
            OrderBy(item[1:], True) if item.startswith("-") else OrderBy(item)
            for item in _names(order, "order")
        )
        known = set(metric_names) | set(by_names)
        for item in orders:
            if item.name not in known:
                raise QueryError(
                    f"'{item.name}' is neither a requested metric nor a 'by' name; "
                    "order by one of: " + ", ".join(sorted(known)),
                    field="order",
                )
        return cls(
            metrics=tuple(metric_names),
            by=tuple(by_names),
            where=where.strip() or None if where else None,
            start=start_date,
            end=end_date,
            order=orders,
            limit=limit,
        )


def _names(value: str | Sequence[str] | None, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (str, Sequence)):
        raise QueryError(f"expected a name or a list of names, got {value!r}", field=field)
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise QueryError(f"expected names as strings, got {item!r}", field=field)
    return [item.strip() for item in items]


def _date(value: str | dt.date | None, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        raise QueryError("give a calendar date (YYYY-MM-DD), not a timestamp", field=field)
    if isinstance(value, dt.date):
        return value
    try:
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2026-01-31", field=field
        ) from None
