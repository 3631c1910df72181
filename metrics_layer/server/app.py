"""The HTTP service: catalogue, queries, SQL, health and reloads over one served layer.

Routes are thin: each calls the library as a user would (``layer.query``, ``catalogue()``,
``describe()``), applies the caller's access (``access.restrict`` on every query, ``sees_*``
on every catalogue entry) and, when a cache is configured, keeps encoded results in it.
docs/service.md describes every route and decision.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from metrics_layer.errors import UserError
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.encoding import negotiate
from metrics_layer.server.health import attempt_body, cache_body, reach, status
from metrics_layer.server.limits import BodyLimit
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
from metrics_layer.server.page import add_page
from metrics_layer.server.problems import Problem, diagnostics_body, install_handlers
from metrics_layer.server.service import ADMIN_ROLE, Caller, Service

__all__ = ["ADMIN_ROLE", "app_of", "create_app", "from_environment"]

log = logging.getLogger("metrics_layer.server")


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


def create_app(config: ServerConfig) -> FastAPI:
    """The service for ``config`` over HTTP; raises UserError when it may not start (no
    authenticator and anonymous access not allowed) and DefinitionError when no definitions
    load at all (or the access file has errors)."""
    return app_of(Service(config))


def app_of(service: Service) -> FastAPI:
    """The HTTP app of a started service (the SQL interface and the MCP server may serve the
    same one)."""
    config = service.config
    definitions = service.definitions
    root = service.root
    cache = service.cache

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
        # Operation ids are the route names (query, compile, metric, ...): what a generated
        # client calls its methods.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.definitions = definitions
    app.state.service = service
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-API-Key"],
        )
    app.add_middleware(BodyLimit, limit=config.limits.max_body_bytes)
    install_handlers(app)

    # The dependencies are coroutines: FastAPI runs a plain function dependency in its thread
    # pool, a hop per dependency per request that costs more than what they do (read headers,
    # check a key or a token's signature, never wait on I/O).
    async def caller(request: Request) -> Caller:
        return service.caller(dict(request.headers))

    Who = Depends(caller)

    add_page(app)  # GET /: the catalogue page, which reads the routes below as its caller

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Readiness, responses=_errors(503), tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """Definitions loaded and the database reachable (a one-row query); broken metrics
        listed with their diagnostics, and the last reload's errors, for an admin (others get
        the counts and statuses only). 503 when not ready."""
        layer = definitions.layer
        database = reach(layer)
        broken = {} if layer is None else layer.broken
        details = service.is_admin(dict(request.headers))
        last = attempt_body(definitions.last, root)
        if not details:
            database = {**database, "error": None}
            last = None if last is None else {**last, "errors": [], "message": None}
        body = Readiness.model_validate(
            {
                "status": status(layer, database),
                "metrics": 0 if layer is None else len(service.healthy()),
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
                "cache": cache_body(cache, details),
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
    def metrics(who: Caller = Who) -> Response:
        """Every served metric the caller may see, with its definition and valid dimensions."""
        return _json(service.metrics_json(who))

    @app.get(
        "/v1/metrics/{name}",
        response_model=CatalogueMetric,
        responses=_errors(401, 403, 404, 422),
        tags=["catalogue"],
    )
    def metric(name: str, who: Caller = Who) -> dict[str, Any]:
        """One metric; 404 when unknown or hidden from the caller (suggesting only metrics the
        caller sees), 422 when the definitions have it broken."""
        return service.metric(who, name)

    @app.get(
        "/v1/dimensions",
        response_model=DimensionList,
        responses=_errors(401),
        tags=["catalogue"],
    )
    def dimensions(who: Caller = Who) -> Response:
        """Every name a query can group or filter by that the caller may see, with the
        served metrics it is valid for."""
        return _json(service.dimensions_json(who))

    @app.post(
        "/v1/query",
        response_model=QueryResponse,
        responses={**_RESULT_TYPES, **_errors(400, 401, 403, 406, 413, 422, 502, 504)},
        tags=["queries"],
    )
    def query(body: QueryRequest, request: Request, who: Caller = Who) -> Response:
        """Compute metrics: columns with types, rows, versions and fingerprints, timings, and
        the SQL with ``include_sql``. JSON, or CSV / Arrow IPC by ``Accept``."""
        chosen = negotiate(request.headers.get("accept"))
        answer = service.query(who, body, chosen)
        headers = {"X-Cache": answer.cache, "Server-Timing": f"total;dur={answer.elapsed_ms:.1f}"}
        return Response(answer.content, media_type=chosen.value, headers=headers)

    @app.post(
        "/v1/compile",
        response_model=CompileResponse,
        responses=_errors(400, 401, 403, 413, 422),
        tags=["queries"],
        name="compile",
    )
    def compile_(body: CompileRequest, who: Caller = Who) -> CompileResponse:
        """The SQL of a query for a dialect (default: the server's database), without running
        it."""
        return service.compile(who, body)

    @app.post(
        "/v1/admin/reload",
        response_model=ReloadResponse,
        responses=_errors(401, 403),
        tags=["admin"],
    )
    def reload(who: Caller = Who) -> ReloadResponse:
        """Load the definitions again (admin role, or anyone on an anonymous service); a
        failed reload keeps serving the last good definitions and says why."""
        if service.authenticator is not None and ADMIN_ROLE not in who.principal.roles:
            raise Problem(403, "forbidden", f"reloading needs the '{ADMIN_ROLE}' role")
        attempt = definitions.reload()
        layer = definitions.layer
        log.info("definitions reload by %s: %s", who.principal.subject, attempt.ok)
        return ReloadResponse.model_validate(
            {
                "ok": attempt.ok,
                "message": attempt.message,
                "errors": diagnostics_body(attempt.errors, root),
                "metrics": 0 if layer is None else len(service.healthy()),
                "broken": [] if layer is None else sorted(layer.broken),
            }
        )

    return app


def from_environment() -> FastAPI:
    """The app of each worker of ``metrics-layer serve --workers N`` (a uvicorn factory): its
    configuration comes from the ``METRICS_LAYER_SERVE`` variable the command set."""
    import os

    from metrics_layer.server.config import CONFIG_VARIABLE, from_text

    text = os.environ.get(CONFIG_VARIABLE)
    if not text:
        raise UserError(
            f"{CONFIG_VARIABLE} is not set: start workers with `metrics-layer serve --workers N`"
        )
    return create_app(from_text(text))


def _version() -> str:
    from metrics_layer import __version__

    return __version__


def _json(content: bytes) -> Response:
    return Response(content, media_type="application/json")
