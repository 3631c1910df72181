"""Connection URLs: which one to use, its engine and dialect, and never its password.

>>> redact("postgresql+psycopg://app:s3cret@db.internal:5432/prod")
'postgresql+psycopg://app:***@db.internal:5432/prod'
>>> redact("postgresql:app:s3cret@db.internal/prod")
'postgresql:app:***@db.internal/prod'
>>> scrub("FATAL: password s3cret rejected", ("s3cret",))
'FATAL: password *** rejected'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import unquote

from metrics_layer.errors import EngineError, printable

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "DRIVERS",
    "URL_VARIABLE",
    "dialect_of",
    "parse",
    "redact",
    "resolve_url",
    "scheme",
    "scrub",
    "secrets",
]

URL_VARIABLE = "METRICS_LAYER_URL"

# The driver used when a URL names none: SQLAlchemy 2.1 already picks psycopg for postgresql://,
# but mysql:// would mean mysqlclient, which is not a dependency.
DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}

_EXAMPLES = "postgresql+psycopg://user@127.0.0.1/db or duckdb:///path/to/file.duckdb"


def resolve_url(explicit: str | None, project: str | None) -> str | None:
    """The URL to use, or None for the embedded demo database."""
    return explicit or os.environ.get(URL_VARIABLE) or project


def scheme(url: str) -> str:
    """The backend name of a URL, without its driver: ``postgresql+psycopg://`` → postgresql.

    >>> scheme("mariadb+pymysql://root@127.0.0.1/test")
    'mariadb'
    """
    if "://" not in url:
        raise EngineError(
            f"{redact(url)!r} is not a connection URL (it needs '://'); write a SQLAlchemy URL "
            f"such as {_EXAMPLES}"
        )
    return url.split(":", 1)[0].split("+", 1)[0].lower()


def dialect_of(url: str | None) -> str:
    """The sqlglot dialect of a URL (None: the demo DuckDB).

    >>> dialect_of("postgresql://u@h/db"), dialect_of(None)
    ('postgres', 'duckdb')
    """
    if url is None:
        return "duckdb"
    from metrics_layer.sql.dialects import dialect_name

    return dialect_name(scheme(url))


def parse(url: str) -> URL:
    """The SQLAlchemy URL, with the default driver filled in; EngineError, redacted, if bad."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    name = scheme(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise EngineError(
            f"cannot read connection URL {redact(url)!r}: {scrub(str(exc), secrets(url))}. "
            f"Write a SQLAlchemy URL such as {_EXAMPLES}"
        ) from exc
    if "+" not in parsed.drivername and name in DRIVERS:
        parsed = parsed.set(drivername=f"{name}+{DRIVERS[name]}")
    return parsed


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, even when it does not parse, cut to 200
    characters and with control characters escaped (it is shown in messages).

    >>> redact("postgresql://u:pw1@h/pw1")
    'postgresql://u:***@h/***'
    """
    shown = _redact(url)
    shown = printable(shown)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        password = _password(url)
        if password is None:
            return url
        head, _, host = url.rpartition("@")
        shown = head[: len(head) - len(password)] + "***@" + host
    # The same text elsewhere in the URL (a database named like the password) goes too.
    return scrub(shown, secrets(url))


def secrets(url: str | None) -> tuple[str, ...]:
    """The password of a URL, as written and decoded, for scrubbing messages."""
    if url is None:
        return ()
    password = _password(url)
    if not password:
        return ()
    return tuple({password, unquote(password)})


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def _password(url: str) -> str | None:
    """The text between the user's ':' and the last '@', whether or not '//' is there."""
    head, at, _ = url.rpartition("@")
    if not at:
        return None
    credentials = head.split("://", 1)[1] if "://" in head else head.split(":", 1)[-1]
    if ":" not in credentials:
        return None
    return credentials.split(":", 1)[1]
