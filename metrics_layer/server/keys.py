"""Result cache keys: one text for every question whose answer may be shared.

``result_key`` hashes everything an encoded result depends on (docs/caching.md: the key): every
field of the query that takes part in its equality (whatever fields ``MetricQuery`` gains), the
version and fingerprint of every metric it computes (inputs and pinned ``name@N`` versions
included), the SQL compiled for the connection's dialect (so a changed dimension, join or
target is a new key even where no fingerprint changed), the project's period settings, the
access policy applied, the connection without its password, the output format and options,
and the project's date today. A reloaded project whose definitions changed therefore never
finds the results of the old ones.

The key is a SHA-256 digest: nothing of its input (a filter, a policy key, a host name) can be
read back from it, and the connection's password is not part of the input at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from metrics_layer.errors import QueryError

if TYPE_CHECKING:
    from metrics_layer.api import Query, SemanticLayer
    from metrics_layer.planner.query import MetricQuery

__all__ = ["KEY_FORMAT", "connection_identity", "plain", "result_key"]

# Names this layout of the key's input; a release that changes the layout changes it, so that
# a Redis shared with workers of another release never serves them a value it did not mean.
KEY_FORMAT = 1
# The longest output format name accepted (formats are short names: json, csv, arrow).
_MAX_FORMAT = 100
# Query options of a connection URL that carry a secret rather than say which database is read.
_SECRET_OPTION = re.compile(r"pass|pwd|secret|token|key|auth|cred", re.IGNORECASE)


def result_key(
    layer: SemanticLayer,
    query: MetricQuery | Query,
    *,
    access_key: str,
    connection: str | None,
    fmt: str,
    options: Mapping[str, str | int | float | bool | None] | None = None,
    today: dt.date | None = None,
) -> str:
    """The cache key of ``query``'s result on ``layer``, encoded as ``fmt``, for callers under
    the access policy ``access_key``, read from the database at ``connection`` (a SQLAlchemy
    URL; None: the embedded demo DuckDB, as ``Connection(None)``). ``options`` holds anything
    else the encoded bytes depend on (whether the SQL is included, the row cap applied), by
    name, as text, numbers, booleans or None.

    ``query`` is the query as it will run: after an access policy added its row filter. A
    ``MetricQuery`` is planned here (unknown names raise the same ``QueryError`` as
    ``layer.query``); pass the planned ``Query`` instead to plan once. ``today`` (default: the
    date in the project's time zone) is part of the key because a result may depend on it
    (open conversion windows, ``Result.incomplete``), so keys change at midnight.

    >>> import metrics_layer as ml
    >>> layer = ml.load("definitions")
    >>> q = layer.query("signups", by="metric_time.month")
    >>> key = result_key(layer, q, access_key="public", connection=None, fmt="json")
    >>> key.startswith("r1-"), len(key)
    (True, 67)
    >>> key == result_key(layer, q.spec, access_key="public", connection=None, fmt="json")
    True
    >>> key == result_key(layer, q, access_key="tenant_7", connection=None, fmt="json")
    False
    """
    from metrics_layer.api import Query
    from metrics_layer.engine.urls import dialect_of

    access_key = _text(access_key, "access_key", allow_empty=True)
    fmt = _text(fmt, "fmt", allow_empty=False)
    if len(fmt) > _MAX_FORMAT:
        raise QueryError(f"a format name is at most {_MAX_FORMAT} characters", field="fmt")
    if today is not None and (not isinstance(today, dt.date) or isinstance(today, dt.datetime)):
        raise QueryError(
            f"expected a date such as datetime.date(2026, 4, 5), not {type(today).__name__}",
            field="today",
        )
    identity = connection_identity(connection)
    extra = _options(options)
    if isinstance(query, Query):
        if query.layer is not layer:
            raise QueryError(
                "was planned on another layer; pass its MetricQuery (query.spec) instead",
                field="query",
            )
        planned = query
    else:
        planned = Query(layer, query)
    settings = layer.graph.settings
    prints = layer.fingerprints
    payload = {
        "key": KEY_FORMAT,
        "project": settings.name,
        "query": plain(planned.spec),
        "metrics": {name: [v, prints.get(name)] for name, v in sorted(planned.versions.items())},
        "sql": planned.sql(dialect_of(connection)),
        "periods": [settings.time_zone, settings.week_start.value, settings.fiscal_year_start],
        "access": access_key,
        "connection": identity,
        "format": fmt,
        "options": extra,
        "today": (today or _today(settings.time_zone)).isoformat(),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"r{KEY_FORMAT}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


def connection_identity(url: str | None) -> str:
    """Which database ``url`` reads, without its password: the password is dropped, not
    masked, and so are query options that name a secret (``?password=``, ``?token=``). The
    default driver is filled in, so ``postgresql://`` and ``postgresql+psycopg://`` are one
    database. A bad URL raises the same redacted ``EngineError`` as connecting would.

    >>> connection_identity("postgresql://app:s3cret@127.0.0.1:5432/prod?sslmode=require")
    'postgresql+psycopg://app@127.0.0.1:5432/prod?sslmode=require'
    >>> connection_identity("mysql://app@127.0.0.1/prod?password=s3cret")
    'mysql+pymysql://app@127.0.0.1/prod'
    >>> connection_identity(None)
    'demo'
    """
    if url is None:
        return "demo"
    return _identity(_text(url, "connection", allow_empty=False))


@functools.lru_cache(maxsize=64)
def _identity(url: str) -> str:
    """``connection_identity`` of a URL, kept: parsing and rendering a URL with SQLAlchemy
    takes about half a millisecond, and every cached query of a service asks for the same
    one (a bad URL raises, and nothing is kept)."""
    from sqlalchemy.engine import URL

    from metrics_layer.engine.urls import parse

    parsed = parse(url)
    # A new URL, not ``parsed.set(password=None)``: ``set`` leaves what is given as None.
    kept = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query={k: v for k, v in parsed.query.items() if not _SECRET_OPTION.search(k)},
    )
    return kept.render_as_string(hide_password=False)


def plain(value: object) -> object:
    """``value`` as JSON-safe data for a key: a dataclass (the query, its ``OrderBy`` items, an
    access policy's row filter) as its fields that take part in its equality, by name; dates
    in ISO form; tuples as lists. Any other value is an error: a key must never depend on a
    ``repr`` that could hide a difference.

    >>> from metrics_layer.planner.query import MetricQuery
    >>> plain(MetricQuery.of("signups", by="metric_time.month", order="-signups"))["order"]
    [{'descending': True, 'name': 'signups'}]
    >>> plain(dt.date(2026, 1, 31))
    '2026-01-31'
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in sorted(dataclasses.fields(value), key=lambda f: f.name)
            if f.compare
        }
    raise TypeError(f"a cache key cannot hold a {type(value).__name__}")


def _options(options: object) -> dict[str, object]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise QueryError(f"expected a mapping, not {type(options).__name__}", field="options")
    for name, value in options.items():
        if not isinstance(name, str):
            raise QueryError(f"names are text, not {type(name).__name__}", field="options")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise QueryError(
                f"{name!r} is a {type(value).__name__}; give text, a number, a boolean or None",
                field="options",
            )
    return dict(options)


def _text(value: object, field: str, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise QueryError(f"expected text, not {type(value).__name__}", field=field)
    if not allow_empty and not value:
        raise QueryError("is empty", field=field)
    return value


def _today(time_zone: str) -> dt.date:
    """Today's date in ``time_zone`` (an IANA name the project checked)."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(time_zone)).date()
