"""A metric query as the caller states it, checked for shape before any planning."""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics_layer.errors import QueryError
from metrics_layer.spec.models import DEFAULT_MAX_ROWS

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "MAX_LIMIT",
    "MAX_NAME_LENGTH",
    "MetricQuery",
    "OrderBy",
    "RowPolicy",
    "checked_name",
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# A name is an identifier path (entity.dimension.grain): anything longer is not a name, and
# echoing it back in a "did you mean" would only make the error as large as the input.
MAX_NAME_LENGTH = 1000
# Control, format (invisible), surrogate, line and paragraph separator characters.
_NOT_IN_NAMES = ("Cc", "Cf", "Cs", "Zl", "Zp")
# The largest LIMIT: the default row cap (``max_rows``), which any result must fit anyway.
MAX_LIMIT = DEFAULT_MAX_ROWS


@dataclass(frozen=True)
class OrderBy:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class RowPolicy:
    """A condition every row must meet besides ``where``: an access policy's row filter with
    the caller's claim values in it as literals, parsed and checked before it gets here.

    Queries compare and hash it by ``text``, its SQL in sqlglot's own dialect, where two
    filters differing in any name or literal differ: sqlglot trees compare by a hash of their
    structure, and two tenants' filters must never be taken for one another in the
    compiled-SQL cache.

    >>> import sqlglot
    >>> RowPolicy.of(sqlglot.parse_one("user.country = 'DE'"))
    RowPolicy(text="user.country = 'DE'")
    """

    text: str
    tree: exp.Expr = dataclasses.field(compare=False, repr=False)

    @classmethod
    def of(cls, tree: exp.Expr) -> RowPolicy:
        return cls(tree.sql(), tree)


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
    fill_periods: bool = False
    # Widen start/end to whole periods of the coarsest metric_time grain (planner/periods.py).
    whole_periods: bool = False
    # The access policy's row filter, ANDed with ``where`` by the planner: set by the service
    # (server/access.py), never from caller input.
    policy: RowPolicy | None = None

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
        fill_periods: bool = False,
        whole_periods: bool = False,
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
            repeated = sorted(n for n, count in Counter(names).items() if count > 1)
            if repeated:
                raise QueryError(f"'{repeated[0]}' is listed twice; list it once", field=field)
        if where is not None and not isinstance(where, str):
            raise QueryError("must be a SQL boolean as a string", field="where")
        if where is not None and not _is_text(where):
            raise QueryError(
                "holds a lone surrogate (bytes that were not UTF-8); send the filter as text",
                field="where",
            )
        start_date, end_date = _date(start, "start"), _date(end, "end")
        if start_date and end_date and start_date > end_date:
            raise QueryError(
                f"start {start_date} is after end {end_date}; swap them", field="start"
            )
        row_limit = _limit(limit)
        if not isinstance(fill_periods, bool):
            raise QueryError(
                f"expected True or False, not {_shown(fill_periods)}", field="fill_periods"
            )
        if not isinstance(whole_periods, bool):
            raise QueryError(
                f"expected True or False, not {_shown(whole_periods)}", field="whole_periods"
            )
        orders = tuple(
            OrderBy(item[1:].strip(), True) if item.startswith("-") else OrderBy(item)
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
            limit=row_limit,
            fill_periods=fill_periods,
            whole_periods=whole_periods,
        )


def _names(value: str | Sequence[str] | None, field: str) -> list[str]:
    """Names as a list of stripped strings; every other shape is a QueryError.

    >>> _names(" signups ", "metrics")
    ['signups']
    >>> _names(b"signups", "metrics")
    Traceback (most recent call last):
    metrics_layer.errors.QueryError: metrics: expected a name or a list of names, got bytes
    """
    if value is None:
        return []
    if isinstance(value, (bytes, bytearray, memoryview)) or not isinstance(value, (str, Sequence)):
        raise QueryError(
            f"expected a name or a list of names, got {type(value).__name__}", field=field
        )
    items = [value] if isinstance(value, str) else list(value)
    return [checked_name(item, field) for item in items]


def checked_name(value: object, field: str) -> str:
    """One name, stripped: a non-blank string of at most MAX_NAME_LENGTH characters without
    control or invisible characters; anything else is a QueryError naming ``field``.

    >>> checked_name(" user.plan ", "by")
    'user.plan'
    >>> checked_name("user\\u200b.plan", "by")
    Traceback (most recent call last):
    metrics_layer.errors.QueryError: by: 'user\\u200b.plan' contains a control or invisible ...
    """
    if not isinstance(value, str) or not value.strip():
        raise QueryError(f"expected names as strings, got {_shown(value)}", field=field)
    if len(value) > MAX_NAME_LENGTH:
        raise QueryError(
            f"a name of {len(value):,} characters ({_shown(value)}) is not a name; names are "
            f"at most {MAX_NAME_LENGTH:,} characters",
            field=field,
        )
    name = value.strip()
    # Printable ASCII has none of those characters: only other names are read one by one.
    plain = name.isascii() and name.isprintable()
    if not plain and any(unicodedata.category(c) in _NOT_IN_NAMES for c in name):
        raise QueryError(
            f"{_shown(value)} contains a control or invisible character; names are letters, "
            "digits, '_' and '.'",
            field=field,
        )
    return name


def _is_text(value: str) -> bool:
    """Whether ``value`` is valid Unicode text (no lone surrogates), so any driver can send it.

    >>> _is_text("user.country = 'DE'"), _is_text("user.country = '\\udcff'")
    (True, False)
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _limit(value: object) -> int | None:
    """A row limit: a whole number from 1 to MAX_LIMIT (numpy integers too, not booleans)."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise QueryError(
            f"must be a positive whole number, not {_shown(value)}", field="limit"
        ) from None
    if number < 1:
        raise QueryError(f"must be a positive whole number, not {_shown(value)}", field="limit")
    if number > MAX_LIMIT:
        raise QueryError(
            f"{number:,} is above the largest limit, {MAX_LIMIT:,}; ask for a coarser grain or "
            "fewer dimensions, or page with filters",
            field="limit",
        )
    return number


def _shown(value: object, width: int = 60) -> str:
    """``repr(value)``, shortened when it is longer than ``width``, for echoing caller input.

    >>> _shown("x" * 100, 10)
    "'xxxxxx...(102 characters)"
    >>> _shown(5)
    '5'
    """
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 3]}...({len(text)} characters)"


def _date(value: str | dt.date | None, field: str) -> dt.date | None:
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if isinstance(value, dt.datetime):
        raise QueryError("give a calendar date (YYYY-MM-DD), not a timestamp", field=field)
    if isinstance(value, dt.date):
        return value
    try:
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"{_shown(value)} is not a date; write YYYY-MM-DD, e.g. 2026-01-31", field=field
        ) from None
