"""Every error response, in one shape: ``{"error": {"type", "field", "message"}}``.

The library's errors map to statuses here (docs/service.md: errors):

=====================  ======  =========================================================
error                  status  type
=====================  ======  =========================================================
request body invalid   422     ``request`` (wrong JSON type, unknown field, too long)
QueryError             400     ``query`` (unknown name, bad date, bad option)
FilterError            400     ``filter`` (a ``where`` that is not a safe boolean)
UnsupportedError       400     ``unsupported`` (the dialect cannot express the query)
StatementError         400     ``statement``
broken metric          422     ``broken_metric`` (with the definitions' diagnostics)
unknown metric (GET)   404     ``not_found``
not authenticated      401     ``unauthenticated``
hidden by the policy   403     ``forbidden``
body too large         413     ``too_large``
row cap exceeded       422     ``too_many_rows`` (field ``max_rows``)
statement timeout      504     ``timeout`` (field ``timeout``)
other EngineError      502     ``engine`` (the database refused the query or is down)
a bug                  500     ``internal`` (no detail; the log has the traceback)
=====================  ======  =========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from metrics_layer.errors import (
    Diagnostic,
    EngineError,
    FilterError,
    QueryError,
    StatementError,
    UnsupportedError,
    UserError,
    printable,
)

__all__ = ["Problem", "diagnostics_body", "problem_of", "relative"]

# The longest message a response carries (a message may quote what was sent).
MOST_CHARS = 2_000


class Problem(Exception):
    """An error response: status, type, field, message and, for broken metrics, the
    definitions' diagnostics."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        field: str | None = None,
        diagnostics: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.field = field
        self.message = _shown(message)
        self.diagnostics = diagnostics
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "field": self.field, "message": self.message}
        if self.diagnostics is not None:
            error["diagnostics"] = list(self.diagnostics)
        return {"error": error}


def problem_of(exc: UserError) -> Problem:
    """The response for a library error raised by a request."""
    if isinstance(exc, FilterError):
        return Problem(400, "filter", str(exc), field=exc.field)
    if isinstance(exc, QueryError):
        return Problem(400, "query", str(exc), field=exc.field)
    if isinstance(exc, UnsupportedError):
        return Problem(400, "unsupported", str(exc))
    if isinstance(exc, StatementError):
        return Problem(400, "statement", str(exc))
    if isinstance(exc, EngineError):
        # EngineError has no kinds yet: the row cap and the timeout are told by their
        # messages (engine/connection.py), so the client learns it can fix them.
        text = str(exc)
        if "more than max_rows" in text:
            return Problem(422, "too_many_rows", text, field="max_rows")
        if "longer than the" in text and "timeout" in text:
            return Problem(504, "timeout", text, field="timeout")
        return Problem(502, "engine", text)
    return Problem(400, "user", str(exc))


def diagnostics_body(
    diagnostics: Iterable[Diagnostic], root: Path | None = None
) -> list[dict[str, Any]]:
    """Diagnostics as JSON, files relative to the project folder ``root`` (the service's own
    paths are not shown)."""
    return [
        {
            "level": d.level.value,
            "code": d.code,
            "message": _shown(d.message),
            "file": relative(d.file, root),
            "line": d.line,
            "column": d.column,
            "hint": d.hint,
        }
        for d in diagnostics
    ]


def relative(file: str | None, root: Path | None) -> str | None:
    """``file`` relative to the project folder ``root`` (its name alone when outside it)."""
    if file is None or root is None:
        return file
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(file).name


def _shown(text: str) -> str:
    text = printable(text)
    return text if len(text) <= MOST_CHARS else text[: MOST_CHARS - 3] + "..."
