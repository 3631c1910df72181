"""Every error metrics_layer raises, in one tree.

::

    MetricsLayerError                 root: catch this to catch everything
    ├── UserError                     something the caller can fix; the message says how
    │   ├── DefinitionError           YAML, schema, reference or graph errors (carries diagnostics)
    │   ├── QueryError                a bad query: unknown name, unreachable dimension, bad option
    │   │   └── FilterError           a filter that is not a safe boolean over declared names
    │   ├── UnsupportedError          a feature the target dialect cannot express
    │   ├── EngineError               connecting to or running on a database failed
    │   ├── StatementError            SQL text that is not one plain read-only query
    │   ├── AuthenticationError       no valid API key or token (the service answers 401)
    │   └── AccessError               the caller's access policy refuses the query (403)
    └── InternalError                 a bug in metrics_layer: please report it

Third-party exceptions (yaml, jsonschema, pydantic, sqlglot, SQLAlchemy) never escape: they are
mapped at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from enum import StrEnum

__all__ = [
    "AccessError",
    "AuthenticationError",
    "DefinitionError",
    "Diagnostic",
    "EngineError",
    "FilterError",
    "InternalError",
    "Level",
    "MetricsLayerError",
    "QueryError",
    "StatementError",
    "UnsupportedError",
    "UserError",
    "did_you_mean",
    "printable",
]


class Level(StrEnum):
    """How serious a diagnostic is: errors fail ``check``, warnings fail it only with
    ``--strict``, notes never (a breaking change made correctly, listed for reviewers)."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Diagnostic:
    """One finding about the definitions, with the place it points at.

    >>> str(Diagnostic(Level.ERROR, "unknown measure 'x'", "defs/a.yml", 3, 5))
    "defs/a.yml:3:5: error: unknown measure 'x'"
    """

    level: Level
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    code: str = "definition"
    # What to do about it, in the project's own names (shown apart from the message).
    hint: str | None = None

    @property
    def where(self) -> str:
        if self.file is None:
            return "<definitions>"
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def __str__(self) -> str:
        """The place, the level, the message and the fix, on one line.

        >>> str(Diagnostic(Level.WARNING, "no lockfile", "defs", code="lock-missing",
        ...                hint="run metrics-layer lock"))
        'defs: warning: no lockfile; run metrics-layer lock'
        """
        fix = f"; {self.hint}" if self.hint else ""
        return f"{self.where}: {self.level.value}: {self.message}{fix}"


class MetricsLayerError(Exception):
    """Root of every exception metrics_layer raises."""


class UserError(MetricsLayerError):
    """An error the caller can fix; the message names the place and the fix."""


class DefinitionError(UserError):
    """The definitions cannot be loaded; ``diagnostics`` lists every problem found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.level is Level.ERROR]
        head = f"{len(errors)} error(s) in the definitions:" if len(errors) > 1 else ""
        body = "\n".join(str(d) for d in errors)
        super().__init__(f"{head}\n{body}" if head else body)


class QueryError(UserError):
    """A query that cannot be compiled; ``field`` names the query field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class FilterError(QueryError):
    """A filter expression that is not a safe boolean over declared dimensions."""


class UnsupportedError(UserError):
    """The target dialect cannot express what the query needs."""


class EngineError(UserError):
    """Connecting to, or running a query on, a database failed; ``sql`` is the query, if any.

    ``limit`` names the bound the query ran into, when that was the cause: ``"timeout"`` (it
    ran longer than its timeout) or ``"max_rows"`` (it returned more rows than its cap); the
    caller can then ask again within it. None for every other failure."""

    def __init__(self, message: str, *, sql: str | None = None, limit: str | None = None) -> None:
        self.sql = sql
        self.limit = limit
        super().__init__(message)


class StatementError(UserError):
    """SQL text refused by the statement guard (``metrics_layer.safety.statement``).

    Raised for text a caller hands in; SQL the compiler produced and the guard refused becomes
    an InternalError instead.
    """

    def __init__(self, message: str, *, sql: str | None = None) -> None:
        self.sql = sql
        super().__init__(message)


class AuthenticationError(UserError):
    """A request without valid credentials: no key or token, an unknown key, a token that
    is expired, not yet valid, for another audience or issuer, or not signed as configured.

    The message says what to send instead and never quotes the key or token, nor whether a
    key with a given prefix exists.
    """


class AccessError(UserError):
    """A query the caller's access policy refuses: a metric or dimension it does not see, a
    claim its row filter needs and the token lacks, or a metric the row filter cannot reach.
    ``field`` names the query field at fault; the message names only what the caller asked
    for, never a hidden name."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class InternalError(MetricsLayerError):
    """A bug in metrics_layer rather than in the caller's input."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return `` Did you mean 'x'?`` for the closest candidate, or ``""``.

    >>> did_you_mean("daily_active_user", ["daily_active_users", "signups"])
    " Did you mean 'daily_active_users'?"
    >>> did_you_mean("zzz", ["signups"])
    ''
    """
    matches = get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


def printable(text: str) -> str:
    r"""``text`` with every control or invisible character written as its escape, so that a
    message quoting input stays one line and cannot move a cursor, recolour a terminal or start
    a CI command.

    >>> printable("a\nb\x1b[31m\u200bc")
    'a\\nb\\x1b[31m\\u200bc'
    >>> printable("naïve, 指标")
    'naïve, 指标'
    """
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )
