"""The HTTP service: catalogue, queries, SQL, health and reloads over one served layer.

Routes are thin: each calls the library as a user would (``layer.query``, ``catalogue()``,
``describe()``), applies the caller's access (``access.restrict`` on every query, ``sees_*``
on every catalogue entry) and, when a cache is configured, keeps encoded results in it.
docs/service.md describes every route and decision.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metrics_layer.api import Query, SemanticLayer
from metrics_layer.engine.urls import redact
from metrics_layer.errors import MetricsLayerError, UnsupportedError, UserError
from metrics_layer.server.anonymous import ANONYMOUS, OpenAccess
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.contracts import Access, Principal
from metrics_layer.server.encoding import Format, encode
from metrics_layer.server.models import (
    CatalogueMetric,
    CompileRequest,
    CompileResponse,
    DimensionList,
    ErrorBody,
    Health,
    MetricList,
    QueryRequest,
    QueryResponse,
    Readiness,
    ReloadResponse,
)
from metrics_layer.server.problems import Problem, diagnostics_body, problem_of, relative
from metrics_layer.server.reload import Attempt, Definitions

__all__ = ["ADMIN_ROLE", "create_app"]

log = logging.getLogger("metrics_layer.server")

ADMIN_ROLE = "admin"
"""The role a principal needs for ``POST /v1/admin/reload`` (anonymous services: anyone)."""


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    said = {
        400: "the query is invalid (the message names the field and the fix)",
        401: "not authenticated",
        403: "the caller's access policy hides what was asked for",
        404: "no such metric",
        406: "Accept names no type the route writes",
        413: "the request body is larger than the server's limit",
        422: "the request does not match the schema, asks for a broken metric, or the "
        "result has more rows than max_rows",
        502: "the database refused the query or is unreachable",
        504: "the query ran longer than the timeout",
        503: "no definitions loaded, or the database is unreachable",
    }
    return {s: {"model": ErrorBody, "description": said[s]} for s in statuses}


_RESULT_TYPES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the result; CSV or an Arrow IPC stream by Accept",
        "content": {"text/csv": {}, "application/vnd.apache.arrow.stream": {}},
    }
}


class _Caller:
    """Who is asking and what they may see."""

    def __init__(self, principal: Principal, access: Access) -> None:
        self.principal = principal
        self.access = access


def create_app(config: ServerConfig) -> FastAPI:
    """The service for ``config``; raises UserError when it may not start (no authenticator
    and anonymous access not allowed) and DefinitionError when no definitions load at all."""
    if config.authenticator is None and not config.allow_anonymous:
        raise UserError(
            "the service has no authenticator and anonymous access is not allowed: configure "
            "an authenticator, or allow anonymous access explicitly (ServerConfig("
            "allow_anonymous=True), `metrics-layer serve --allow-anonymous`) for a service "
            "only trusted callers can reach"
        )
    _check_limits(config)
    definitions = Definitions(config)
    first = definitions.reload()
    if definitions.layer is None:
        from metrics_layer.errors import DefinitionError

        if first.errors:
            raise DefinitionError(first.errors)
        raise UserError(first.message or "the definitions cannot be loaded")
    root = Path(config.project)
    root = root if root.is_dir() else root.parent
    if definitions.layer.broken:
        log.warning(
            "%d broken metric(s) not served (GET /readyz lists why): %s",
            len(definitions.layer.broken),
            ", ".join(sorted(definitions.layer.broken)),
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.watch is not None:
            definitions.watch(config.watch)
        yield
        definitions.stop()

    app = FastAPI(
        title="metrics_layer",
        summary="KPIs defined once: catalogue, queries and SQL over HTTP",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.definitions = definitions
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-API-Key"],
        )
    app.add_middleware(_BodyLimit, limit=config.limits.max_body_bytes)
    _handlers(app)

    def caller(request: Request) -> _Caller:
        if config.authenticator is None:
            return _Caller(ANONYMOUS, OpenAccess())
        try:
            principal = config.authenticator.authenticate(dict(request.headers))
        except UserError as exc:
            raise Problem(
                401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        return _Caller(principal, config.authenticator.access(principal))

    def served() -> SemanticLayer:
        layer = definitions.layer
        if layer is None:  # pragma: no cover - create_app refuses to start without one
            raise Problem(503, "unavailable", "no definitions are loaded")
        return layer

    Who = Depends(caller)
    Layer = Depends(served)

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    def admin(request: Request) -> bool:
        """Whether the request comes from an admin (anyone, on an anonymous service); never
        refuses: the health routes answer probes that do not authenticate."""
        if config.authenticator is None:
            return True
        try:
            principal = config.authenticator.authenticate(dict(request.headers))
        except UserError:
            return False
        return ADMIN_ROLE in principal.roles

    @app.get("/readyz", response_model=Readiness, responses=_errors(503), tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """Definitions loaded and the database reachable (a one-row query); broken metrics
        listed with their diagnostics, and the last reload's errors, for an admin (others get
        the counts and statuses only). 503 when not ready."""
        layer = definitions.layer
        database = _reach(layer)
        broken = {} if layer is None else layer.broken
        details = admin(request)
        last = _attempt(definitions.last, root)
        if not details:
            database = {**database, "error": None}
            last = None if last is None else {**last, "errors": [], "message": None}
        body = Readiness.model_validate(
            {
                "status": _status(layer, database),
                "metrics": 0 if layer is None else len(_healthy(layer)),
                "broken_count": len(broken),
                "broken": [
                    {"metric": name, "diagnostics": diagnostics_body(found, root)}
                    for name, found in broken.items()
                ]
                if details
                else [],
                "loaded_at": None
                if definitions.loaded is None
                else definitions.loaded.at.isoformat(),
                "last_reload": last,
                "database": database,
            }
        )
        code = 200 if body.status != "unavailable" else 503
        return JSONResponse(body.model_dump(), status_code=code)

    @app.get(
        "/v1/metrics",
        response_model=MetricList,
        responses=_errors(401),
        tags=["catalogue"],
    )
    def metrics(who: _Caller = Who, layer: SemanticLayer = Layer) -> dict[str, Any]:
        """Every served metric the caller may see, with its definition and valid dimensions."""
        whole = layer.catalogue()
        shown = [
            _entry(layer, m, who.access, root)
            for m in whole["metrics"]
            if who.access.sees_metric(m["name"]) and m["name"] not in layer.broken
        ]
        return {"project": whole["project"], "metrics": shown}

    @app.get(
        "/v1/metrics/{name}",
        response_model=CatalogueMetric,
        responses=_errors(401, 403, 404, 422),
        tags=["catalogue"],
    )
    def metric(name: str, who: _Caller = Who, layer: SemanticLayer = Layer) -> dict[str, Any]:
        """One metric; 404 (with a suggestion) when unknown or hidden from the caller, 422
        when the definitions have it broken."""
        if not who.access.sees_metric(name.partition("@")[0]):
            raise Problem(404, "not_found", f"metric: unknown metric '{name}'", field="name")
        _refuse_broken(layer, [name], root)
        try:
            described = layer.describe(name)
        except UserError as exc:
            raise Problem(404, "not_found", str(exc), field="name") from exc
        return _entry(layer, described, who.access, root)

    @app.get(
        "/v1/dimensions",
        response_model=DimensionList,
        responses=_errors(401),
        tags=["catalogue"],
    )
    def dimensions(who: _Caller = Who, layer: SemanticLayer = Layer) -> dict[str, Any]:
        """Every name a query can group or filter by that the caller may see, with the
        served metrics it is valid for."""
        whole = layer.catalogue()
        shown = []
        for d in whole["dimensions"]:
            if not who.access.sees_dimension(d["name"]):
                continue
            d["metrics"] = [
                m for m in d["metrics"] if who.access.sees_metric(m) and m not in layer.broken
            ]
            shown.append(d)
        return {"project": whole["project"], "dimensions": shown}

    @app.post(
        "/v1/query",
        response_model=QueryResponse,
        responses={**_RESULT_TYPES, **_errors(400, 401, 403, 406, 413, 422, 502, 504)},
        tags=["queries"],
    )
    def query(
        body: QueryRequest, request: Request, who: _Caller = Who, layer: SemanticLayer = Layer
    ) -> Response:
        """Compute metrics: columns with types, rows, versions and fingerprints, timings, and
        the SQL with ``include_sql``. JSON, or CSV / Arrow IPC by ``Accept``."""
        chosen = _format(request.headers.get("accept"))
        planned = _planned(layer, body, who.access, root)
        limits = config.limits
        timeout = limits.timeout if body.timeout is None else min(body.timeout, limits.timeout)
        max_rows = limits.max_rows if body.max_rows is None else min(body.max_rows, limits.max_rows)
        started = time.perf_counter()

        def compute() -> bytes:
            result = planned.run(timeout=timeout, max_rows=max_rows)
            timings = {"compile_ms": result.compile_ms, "execute_ms": result.execute_ms}
            return encode(
                result,
                planned.types,
                chosen,
                include_sql=body.include_sql,
                extra={"timings": timings},
            )

        hit = "none"
        if config.cache is None:
            content = compute()
        else:
            computed = []

            def counted() -> bytes:
                computed.append(True)
                return compute()

            key = _cache_key(planned, who.access, layer, chosen, body.include_sql, max_rows)
            content = config.cache.get_or_compute(key, counted, config.cache_ttl)
            hit = "miss" if computed else "hit"
        elapsed = (time.perf_counter() - started) * 1000
        headers = {"X-Cache": hit, "Server-Timing": f"total;dur={elapsed:.1f}"}
        return Response(content, media_type=chosen.value, headers=headers)

    @app.post(
        "/v1/compile",
        response_model=CompileResponse,
        responses=_errors(400, 401, 403, 413, 422),
        tags=["queries"],
    )
    def compile_(
        body: CompileRequest, who: _Caller = Who, layer: SemanticLayer = Layer
    ) -> CompileResponse:
        """The SQL of a query for a dialect (default: the server's database), without running
        it."""
        planned = _planned(layer, body, who.access, root)
        try:
            statement = planned.statement(body.dialect or layer.dialect)
        except UnsupportedError as exc:  # an unknown dialect, or one that cannot express it
            raise Problem(400, "unsupported", str(exc), field="dialect") from exc
        return CompileResponse(
            sql=statement.sql,
            dialect=statement.dialect,
            columns=list(planned.columns),
            versions=dict(planned.versions),
        )

    @app.post(
        "/v1/admin/reload",
        response_model=ReloadResponse,
        responses=_errors(401, 403),
        tags=["admin"],
    )
    def reload(who: _Caller = Who) -> ReloadResponse:
        """Load the definitions again (admin role, or anyone on an anonymous service); a
        failed reload keeps serving the last good definitions and says why."""
        if config.authenticator is not None and ADMIN_ROLE not in who.principal.roles:
            raise Problem(403, "forbidden", f"reloading needs the '{ADMIN_ROLE}' role")
        attempt = definitions.reload()
        layer = definitions.layer
        log.info("definitions reload by %s: %s", who.principal.subject, attempt.ok)
        return ReloadResponse.model_validate(
            {
                "ok": attempt.ok,
                "message": attempt.message,
                "errors": diagnostics_body(attempt.errors, root),
                "metrics": 0 if layer is None else len(_healthy(layer)),
                "broken": [] if layer is None else sorted(layer.broken),
            }
        )

    return app


def _check_limits(config: ServerConfig) -> None:
    """The limits are positive numbers; QueryError naming the limit otherwise."""
    from metrics_layer.engine.connection import check_max_rows, check_timeout

    limits = config.limits
    check_timeout(limits.timeout, "limits.timeout")
    check_max_rows(limits.max_rows, "limits.max_rows")
    check_max_rows(limits.max_body_bytes, "limits.max_body_bytes")
    if config.watch is not None:
        check_timeout(config.watch, "watch")


def _version() -> str:
    from metrics_layer import __version__

    return __version__


# -- queries -------------------------------------------------------------------------------


def _planned(
    layer: SemanticLayer, body: QueryRequest | CompileRequest, access: Access, root: Path
) -> Query:
    """The query as the caller may run it: its fields checked by the library, the access
    policy's restriction applied (its UserError is a 403; a hidden name is refused before
    anything is said about it), broken metrics refused (422), then planned."""
    from metrics_layer.planner.query import MetricQuery

    asked = MetricQuery.of(
        body.metrics,
        by=body.by,
        where=body.where,
        start=body.start,
        end=body.end,
        order=body.order,
        limit=body.limit,
        fill_periods=body.fill_periods,
        whole_periods=body.whole_periods,
    )
    try:
        restricted = access.restrict(layer, asked)
    except UserError as exc:
        raise Problem(403, "forbidden", str(exc), field=getattr(exc, "field", None)) from exc
    _refuse_broken(layer, list(restricted.metrics), root)
    return Query(layer, restricted)


def _refuse_broken(layer: SemanticLayer, names: list[str], root: Path) -> None:
    for name in names:
        found = layer.broken.get(name.partition("@")[0])
        if found is not None:
            raise Problem(
                422,
                "broken_metric",
                f"metric '{name}' is broken in the definitions and not served; fix the "
                "errors listed in diagnostics (GET /readyz lists every broken metric)",
                field="metrics",
                diagnostics=diagnostics_body(found, root),
            )


def _format(accept: str | None) -> Format:
    """The encoding ``Accept`` asks for (JSON when it names none we write); 406 when it names
    only types we do not."""
    if not accept:
        return Format.JSON
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media in wanted:
        if media in ("application/json", "*/*", "application/*"):
            return Format.JSON
        if media == Format.CSV.value or media == "text/*":
            return Format.CSV
        if media == Format.ARROW.value:
            if importlib.util.find_spec("pyarrow") is None:
                raise Problem(
                    406,
                    "not_acceptable",
                    "this server cannot write Arrow (pyarrow is not installed: pip install "
                    "'metrics-layer[server]'); ask for application/json or text/csv",
                    field="Accept",
                )
            return Format.ARROW
    raise Problem(
        406,
        "not_acceptable",
        "Accept names no type this route writes: use application/json, text/csv or "
        "application/vnd.apache.arrow.stream",
        field="Accept",
    )


def _cache_key(
    query: Query, access: Access, layer: SemanticLayer, chosen: Format, sql: bool, rows: int
) -> str:
    """What decides the bytes of a result: the normalised query, the SQL it compiles to, the
    fingerprints of every metric it computes, the access policy, the database (without its
    password), the encoding and what the response includes."""
    prints = {name: layer.fingerprints.get(name) for name in sorted(query.versions)}
    url = layer.connection.url
    parts = [
        repr(query.spec),
        hashlib.sha256(query.sql().encode()).hexdigest(),
        prints,
        access.key,
        "demo" if url is None else redact(url),
        chosen.value,
        sql,
        rows,
    ]
    text = json.dumps(parts, sort_keys=True, default=str)
    return "metrics_layer:result:" + hashlib.sha256(text.encode()).hexdigest()


# -- catalogue -----------------------------------------------------------------------------


def _healthy(layer: SemanticLayer) -> list[str]:
    return [name for name in layer.graph.current if name not in layer.broken]


def _entry(
    layer: SemanticLayer, described: dict[str, Any], access: Access, root: Path
) -> dict[str, Any]:
    """A catalogue entry as the caller may see it, with the names it reads; its file is
    named from the project folder (the server's own paths are not shown)."""
    place = described["defined_in"]
    if place is not None:
        file, colon, line = place.rpartition(":")
        if not colon or not line.isdigit():
            file, colon, line = place, "", ""
        described["defined_in"] = f"{relative(file, root)}{colon}{line}"
    metric = layer.graph.metrics[described["name"]]
    reads = [i.measure or i.name for i in metric.inputs]
    if metric.measure is not None:
        reads.insert(0, metric.measure)
    described["inputs"] = list(dict.fromkeys(reads))
    described["dimensions"] = [
        d for d in described["dimensions"] if access.sees_dimension(d["name"])
    ]
    return described


# -- health --------------------------------------------------------------------------------


def _reach(layer: SemanticLayer | None) -> dict[str, Any]:
    """Whether the database answers a one-row query within five seconds."""
    if layer is None:
        return {"reachable": False, "dialect": None, "error": "no definitions loaded"}
    from metrics_layer.safety.statement import verify

    try:
        statement = verify("SELECT 1", layer.dialect)
        layer.connection.fetch(statement, timeout=5, max_rows=1)
    except MetricsLayerError as exc:
        return {"reachable": False, "dialect": layer.dialect, "error": str(exc)[:1000]}
    return {"reachable": True, "dialect": layer.dialect, "error": None}


def _status(layer: SemanticLayer | None, database: Mapping[str, Any]) -> str:
    if layer is None or not database["reachable"]:
        return "unavailable"
    return "degraded" if layer.broken else "ready"


def _attempt(attempt: Attempt | None, root: Path) -> dict[str, Any] | None:
    if attempt is None:
        return None
    return {
        "at": attempt.at.isoformat(),
        "ok": attempt.ok,
        "message": attempt.message,
        "errors": diagnostics_body(attempt.errors, root),
    }


# -- errors and limits ---------------------------------------------------------------------


def _handlers(app: FastAPI) -> None:
    """Every error as ``{"error": {"type", "field", "message"}}``; never a traceback."""

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(UserError)
    async def user(request: Request, exc: UserError) -> JSONResponse:
        found = problem_of(exc)
        return JSONResponse(found.body(), status_code=found.status)

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


class _BodyLimit:
    """Refuse a request body larger than ``limit`` bytes with 413: by its Content-Length, or,
    without one, as soon as the bytes read pass the limit. The body is read here (at most
    ``limit`` bytes are held) and handed on whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(self.limit, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: the app sees an empty body
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await _too_large(self.limit, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if not handed:
                handed = True
                return whole
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(limit: int, send: Callable[[Message], Awaitable[None]]) -> None:
    body = Problem(
        413, "too_large", f"the request body is larger than {limit:,} bytes; send less"
    ).body()
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
