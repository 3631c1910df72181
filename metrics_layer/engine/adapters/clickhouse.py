"""ClickHouse, embedded through chdb: read-only, time-limited, UTC, with standard NULL semantics.

URLs: ``chdb:///absolute/path/to/dir`` (an existing chdb data directory) or ``chdb://`` (an
empty in-memory database, for sources whose ``sql`` selects literal rows). chdb hosts one
embedded ClickHouse per process, bound to one data directory; every query of every
``Connection`` goes through one process-wide ``_Engine`` that holds it, under one lock:

- each query gets its own chdb connection whose session settings are ``SETTINGS`` below, with
  ``readonly=1`` first, so that neither the query nor a ``SETTINGS`` clause in it can change
  any of them, write, or read a file or URL (tests/engine/test_clickhouse.py proves it);
- queries run one at a time in a process: a second thread waits for the first to finish
  (at most its timeout);
- a query for another directory closes the open one first (nothing is written, so nothing is
  lost), which costs a restart of the engine (tens of milliseconds).

Values come back in the JSON format with their ClickHouse types, and become the Python types
DuckDB gives (``_value``): integers, floats, ``Decimal``, ``bool``, ``str``, ``date``, and
``datetime`` (time-zone-aware, in UTC, when the column has a time zone).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chdb import _chdb  # the optional package: this module is imported only for chdb:// URLs

from metrics_layer.errors import EngineError, printable

__all__ = ["SETTINGS", "ClickHouse", "connect", "engine_path"]

# Session settings of every query, in this order: readonly first, so nothing after the
# connection string can change the rest.
SETTINGS: tuple[tuple[str, str], ...] = (
    # no writes, no DDL, no table functions that read files or URLs, no SET / SETTINGS changes
    ("readonly", "1"),
    ("session_timezone", "UTC"),
    # SQL semantics that ClickHouse changes by default:
    ("join_use_nulls", "1"),  # an outer join's missing side is NULL, not 0 or ''
    ("aggregate_functions_null_for_empty", "1"),  # SUM over no rows is NULL, not 0
    ("cast_keep_nullable", "1"),  # CAST(NULL AS Float64) is NULL, not an error
    ("union_default_mode", "DISTINCT"),  # a bare UNION removes duplicates
    ("transform_null_in", "0"),  # NULL IN (...) and NULL NOT IN (...) are NULL, as NULL = x
    ("count_distinct_implementation", "uniqExact"),  # COUNT(DISTINCT x) is exact
    # exact values in the JSON result
    ("output_format_json_quote_64bit_integers", "1"),
    ("output_format_json_quote_64bit_floats", "1"),
    ("output_format_json_quote_decimals", "1"),
    ("output_format_json_quote_denormals", "1"),
    ("date_time_output_format", "iso"),  # every DateTime as its UTC instant, 'Z' at the end
    # a query of several conversion, retention or churn metrics nests one derived source each
    # and exceeds the default budget of plan optimizations (10,000)
    ("query_plan_max_optimizations_to_apply", "100000"),
    ("result_overflow_mode", "break"),
    ("timeout_overflow_mode", "throw"),
)
_FORMAT = "JSONCompactEachRowWithNamesAndTypes"
_MEMORY = ":memory:"


def connect(url: str) -> ClickHouse:
    """The adapter for a ``chdb://`` URL; EngineError for a URL that names no usable directory.

    >>> connect("chdb://").path
    ':memory:'
    """
    return ClickHouse(engine_path(url))


def engine_path(url: str) -> str:
    """The chdb data directory of ``url`` (``:memory:`` for ``chdb://``).

    A directory must exist already: a mistyped path is an error here, never a new, empty
    database that answers every query with "unknown table".

    >>> engine_path("chdb://")
    ':memory:'
    >>> engine_path("chdb://relative/dir")
    Traceback (most recent call last):
    ...
    metrics_layer.errors.EngineError: chdb:// needs an absolute directory ... not 'relative/dir'
    """
    rest = url.split("://", 1)[1]
    if rest == "":
        return _MEMORY
    if not rest.startswith("/") or any(c in rest for c in "?#&"):
        raise EngineError(
            "chdb:// needs an absolute directory (chdb:///absolute/path/to/dir) or nothing "
            f"(chdb://, an empty in-memory database), not {printable(rest)!r}"
        )
    path = Path(rest)
    if not path.is_dir():
        raise EngineError(
            f"no chdb database at {printable(rest)!r}; check the path in the URL "
            "(chdb:///absolute/path/to/dir), or load the demo there with "
            "`metrics-layer demo --connection chdb:///absolute/path/to/dir`"
        )
    return str(path.resolve())


class _Engine:
    """The one embedded ClickHouse of this process, and the lock every use of it takes.

    ``anchor`` is a connection held open between queries, so that the engine is not started
    again for each of them; ``users`` are the adapters that have run a query and are not
    closed yet (of any directory): the engine stops when the last one closes.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.path: str | None = None
        self.anchor: Any = None
        self.users: weakref.WeakSet[ClickHouse] = weakref.WeakSet()

    @contextmanager
    def connection(self, path: str, settings: str) -> Iterator[Any]:
        """A new chdb connection to ``path`` with ``settings`` (``a=1&b=2``), under the lock."""
        with self.lock:
            if self.path != path:
                self._close()
                self.anchor = _open(path, "readonly=1")
                self.path = path
            connection = _open(path, settings)
            try:
                yield connection
            finally:
                connection.close()

    def register(self, adapter: ClickHouse) -> None:
        with self.lock:
            self.users.add(adapter)

    def release(self, adapter: ClickHouse) -> None:
        """One adapter less; the engine stops with the last one (freeing the directory)."""
        with self.lock:
            self.users.discard(adapter)
            if not self.users:
                self._close()

    def close_unused(self) -> None:
        """Stop the engine when no adapter uses it (after the demo loader wrote to it)."""
        with self.lock:
            if not self.users:
                self._close()

    def _close(self) -> None:
        if self.anchor is not None:
            self.anchor.close()
        self.anchor = None
        self.path = None


ENGINE = _Engine()


def _open(path: str, settings: str) -> Any:
    try:
        return _chdb.connect(f"{path}?{settings}")  # type: ignore[attr-defined]
    except RuntimeError as exc:
        detail = _detail(str(exc))
        if "already initialized with path" in detail:
            raise EngineError(
                "chdb runs one database per process, and another one is open in this process "
                f"(outside metrics_layer): {detail}. Close that chdb connection first, or "
                "point the URL at the same directory"
            ) from exc
        if "Error initializing EmbeddedServer" in detail:
            raise EngineError(
                f"cannot open the chdb database at {path!r}: ClickHouse could not start there; "
                "another process may have it open (ClickHouse lets one process use a "
                "directory at a time): close it there, or copy the directory"
            ) from exc
        raise EngineError(f"cannot open the chdb database at {path!r}: {detail}") from exc


class ClickHouse:
    """An ``Adapter`` for one chdb directory (see the module docstring)."""

    name = "ClickHouse (chdb)"

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"<ClickHouse {self.path}>"

    def fetch(
        self, sql: str, *, timeout: float, max_rows: int, time_zones: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
        """Run one query read-only within ``timeout`` seconds; at most ``max_rows + 1`` rows.

        ClickHouse carries its own time-zone database, so every zone name it accepts converts;
        an unknown one is an error from the query itself.
        """
        del time_zones
        ENGINE.register(self)
        settings = _settings(timeout, max_rows)
        with ENGINE.connection(self.path, settings) as connection:
            try:
                result = connection.query(sql, _FORMAT)
            except RuntimeError as exc:
                raise _query_error(str(exc), sql, timeout) from exc
            text = bytes(result.bytes()).decode("utf-8", errors="replace")
        columns, rows = _parse(text)
        return columns, rows[: max_rows + 1]

    def close(self) -> None:
        ENGINE.release(self)


def _settings(timeout: float, max_rows: int) -> str:
    """The connection string's settings: ``SETTINGS``, the timeout and the row cap.

    >>> _settings(2.5, 10).split("&")[-2:]
    ['max_execution_time=2.5', 'max_result_rows=11']
    """
    pairs = [
        *SETTINGS,
        ("max_execution_time", f"{timeout:g}"),
        ("max_result_rows", str(max_rows + 1)),
    ]
    return "&".join(f"{name}={value}" for name, value in pairs)


# -- errors ------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:Code: \d+\. )?(?:DB::Exception: )?(?:default: )?")
_VERSION = re.compile(r" \(version [^)]*\)")
_REPEATED_CODE = re.compile(r"( \([A-Z_]+\))\.\1$")


def _detail(message: str) -> str:
    """The first line of a ClickHouse error, without its code and version noise.

    >>> _detail("Code: 60. DB::Exception: Code: 60. DB::Exception: Unknown table "
    ...         "expression identifier 'users'. (UNKNOWN_TABLE) (version 26.9.2.1)")
    "Unknown table expression identifier 'users'. (UNKNOWN_TABLE)"
    """
    lines = message.strip().splitlines()
    line = lines[0] if lines else "unknown error"
    line = _REPEATED_CODE.sub(r"\1", _VERSION.sub("", line))
    previous = None
    while previous != line:
        previous, line = line, _PREFIX.sub("", line)
    return printable(line.strip())


def _query_error(message: str, sql: str, timeout: float) -> EngineError:
    detail = _detail(message)
    if "TIMEOUT_EXCEEDED" in detail:
        return EngineError(
            f"the query ran longer than the {timeout:g} s timeout; narrow the date range, "
            "add filters, or raise timeout=... (--timeout on the command line)",
            sql=sql,
            limit="timeout",
        )
    if "READONLY" in detail:
        return EngineError(
            f"the database refused the query: {detail}. metrics_layer reads chdb databases "
            "read-only; load data with chdb itself (or `metrics-layer demo --connection`)",
            sql=sql,
        )
    return EngineError(
        f"the database refused the query: {detail}. Check that the connection points at the "
        "right chdb directory and that the tables exist; `metrics-layer compile` shows the SQL",
        sql=sql,
    )


# -- values ------------------------------------------------------------------------------------


def _parse(text: str) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    """Column names and typed rows from JSONCompactEachRowWithNamesAndTypes.

    >>> _parse('["n", "d"]\\n["UInt64", "Nullable(Decimal(10, 2))"]\\n["3", "2.50"]\\n[1, null]\\n')
    (('n', 'd'), ((3, Decimal('2.50')), (1, None)))
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return (), ()
    names = tuple(str(name) for name in json.loads(lines[0]))
    types = [str(kind) for kind in json.loads(lines[1])]
    rows = []
    for line in lines[2:]:
        values = json.loads(line)
        rows.append(
            tuple(
                None if value is None else _value(value, kind)
                for value, kind in zip(values, types, strict=True)
            )
        )
    return names, tuple(rows)


_WRAPPERS = ("Nullable(", "LowCardinality(", "SimpleAggregateFunction(")
_ZONE = re.compile(r"'([^']+)'\)$")


def _inner(kind: str) -> str:
    """The type inside Nullable(...) and LowCardinality(...).

    >>> _inner("LowCardinality(Nullable(String))")
    'String'
    """
    changed = True
    while changed:
        changed = False
        for wrapper in _WRAPPERS:
            if kind.startswith(wrapper) and kind.endswith(")"):
                kind = kind[len(wrapper) : -1]
                changed = True
    return kind


def _value(value: Any, kind: str) -> Any:
    """One JSON value as the Python type of its ClickHouse type.

    >>> _value("2026-01-31T22:30:00.000000Z", "DateTime64(6, 'Europe/Berlin')")
    datetime.datetime(2026, 1, 31, 22, 30, tzinfo=datetime.timezone.utc)
    >>> _value("2026-01-31T23:30:00Z", "DateTime"), _value(1, "Bool"), _value("nan", "Float64")
    (datetime.datetime(2026, 1, 31, 23, 30), True, nan)
    """
    inner = _inner(kind)
    if inner.startswith("Variant(") and value is not None:
        # COALESCE(a Decimal, 0.5) is a Variant: the value is one of the member types.
        for member in _members(inner[len("Variant(") : -1]):
            try:
                return _value(value, member)
            except (ValueError, TypeError, ArithmeticError):
                continue
        return value
    if inner.startswith(("Int", "UInt")):
        return int(value)
    if inner.startswith(("Float", "BFloat")):
        return float(value)
    if inner.startswith("Decimal"):
        return decimal.Decimal(str(value))
    if inner == "Bool":
        return bool(value)
    if inner.startswith(("String", "FixedString", "Enum")):
        return str(value)
    if inner in ("Date", "Date32"):
        return dt.date.fromisoformat(str(value))
    if inner.startswith("DateTime"):
        return _datetime(str(value), inner)
    if inner == "Nothing":
        return None
    return value


def _members(types: str) -> list[str]:
    """The comma-separated types of a Variant, commas inside parentheses kept.

    >>> _members("Decimal(38, 2), Float64")
    ['Decimal(38, 2)', 'Float64']
    """
    members: list[str] = []
    depth, start = 0, 0
    for position, character in enumerate(types):
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        elif character == "," and depth == 0:
            members.append(types[start:position].strip())
            start = position + 1
    members.append(types[start:].strip())
    return members


def _datetime(text: str, kind: str) -> dt.datetime:
    """An ISO UTC instant: time-zone-aware when the column has a zone, naive UTC otherwise."""
    head, _, fraction = text.rstrip("Z").partition(".")
    value = dt.datetime.fromisoformat(head)
    if fraction:
        value = value.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return value.replace(tzinfo=dt.UTC) if _ZONE.search(kind) else value
