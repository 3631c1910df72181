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
AuthenticationError    401     ``unauthenticated`` (any UserError of the authenticator too)
AccessError            403     ``forbidden`` (any UserError of ``Access.restrict`` too)
body too large         413     ``too_large``
row cap exceeded       422     ``too_many_rows`` (field ``max_rows``)
statement timeout      504     ``timeout`` (field ``timeout``)
other EngineError      502     ``engine`` (the database refused the query or is down)
a bug                  500     ``internal`` (no detail; the log has the traceback)
=====================  ======  =========================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from metrics_layer.errors import (
    AccessError,
    AuthenticationError,
    Diagnostic,
    EngineError,
    FilterError,
    QueryError,
    StatementError,
    UnsupportedError,
    UserError,
    printable,
)

__all__ = ["Problem", "diagnostics_body", "install_handlers", "problem_of", "relative"]

log = logging.getLogger("metrics_layer.server")

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
    if isinstance(exc, AuthenticationError):
        return Problem(401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, AccessError):
        return Problem(403, "forbidden", str(exc), field=exc.field)
    if isinstance(exc, FilterError):
        return Problem(400, "filter", str(exc), field=exc.field)
    if isinstance(exc, QueryError):
        return Problem(400, "query", str(exc), field=exc.field)
    if isinstance(exc, UnsupportedError):
        return Problem(400, "unsupported", str(exc))
    if isinstance(exc, StatementError):
        return Problem(400, "statement", str(exc))
    if isinstance(exc, EngineError):
        # The row cap and the timeout are bounds the client can ask within.
        text = str(exc)
        if exc.limit == "max_rows":
            return Problem(422, "too_many_rows", text, field="max_rows")
        if exc.limit == "timeout":
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


def install_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": {"type", "field", "message"}}``; never a traceback."""

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(UserError)
    async def user(request: Request, exc: UserError) -> JSONResponse:
        found = problem_of(exc)
        return JSONResponse(found.body(), status_code=found.status, headers=found.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = _invalid(list(exc.errors()))
        return JSONResponse(found.body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
        found = Problem(exc.status_code, kind, str(exc.detail))
        return JSONResponse(found.body(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        found = Problem(500, "internal", "an internal error; the server's log has the details")
        return JSONResponse(found.body(), status_code=500)


EXAMPLE_BODY = '{"metrics": ["signups"], "by": ["metric_time.month"]}'


def _invalid(errors: list[Any]) -> Problem:
    """The first schema error of a request body, naming the field (``by[0]``) and the fix."""
    first = errors[0] if errors else {}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    kind = first.get("type")
    place = [p for p in first.get("loc", ()) if p != "body"]
    if kind == "json_invalid":
        return Problem(
            422,
            "request",
            "the body is not valid JSON; send a JSON object with Content-Type: "
            f"application/json, such as {EXAMPLE_BODY}",
        )
    if not place:
        return Problem(
            422,
            "request",
            "the body must be a JSON object of the query's fields, sent with Content-Type: "
            f"application/json, such as {EXAMPLE_BODY}",
        )
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in place).lstrip(".")
    message = str(first.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        message = "unknown field; /openapi.json lists the fields of each route"
    return Problem(422, "request", f"{field}: {message}{more}", field=field)
