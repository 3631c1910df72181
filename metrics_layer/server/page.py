"""``GET /``: the metric catalogue page, plain HTML, CSS and JavaScript shipped in the package.

The page holds no data. Its scripts (``static/*.js``, JavaScript modules that ``page.js``
imports) read ``GET /v1/metrics`` and ``POST /v1/query`` with the caller's own credential (an
API key or bearer token typed into the page, or none on an anonymous service), so they show
exactly what the API shows that caller, and the page needs no authentication itself. Charts
are drawn by uPlot, vendored in ``static/uplot`` with its licence. Nothing is loaded from
another host: the Content-Security-Policy sent with the page allows only this service's own
files and API, and no inline script, as a second guard behind the scripts' rule of setting
every text from the definitions as text, never as HTML.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from metrics_layer.server.problems import Problem

__all__ = ["ASSETS", "CONTENT_SECURITY_POLICY", "PAGE_PATHS", "STATIC", "add_page"]

STATIC = Path(__file__).with_name("static")
"""The folder of the page's files (package data)."""

ASSETS: dict[str, str] = {
    "page.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "words.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
    "uplot/uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uplot/uPlot.min.css": "text/css; charset=utf-8",
    "uplot/LICENSE": "text/plain; charset=utf-8",
}
"""The files served under ``/static/``, with their media types: nothing else is."""

PAGE_PATHS = frozenset({"/", "/static/{name:path}"})
"""The page's routes; they are left out of the OpenAPI document (they are not the API)."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""Only this service's files and API; no inline script or style sheet, no other host."""

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidated on every load (a 304 when unchanged), so a new version shows at once.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class _File:
    content: bytes
    media_type: str
    etag: str


def add_page(app: FastAPI) -> None:
    """Registers ``GET /`` (the page) and ``GET /static/{name}`` (its files) on ``app``.

    The files are read once, here: a missing one fails at start, not on a request."""
    files = {"": _read("index.html", "text/html; charset=utf-8")}
    files.update({name: _read(name, media_type) for name, media_type in ASSETS.items()})

    @app.get("/", include_in_schema=False)
    def page(request: Request) -> Response:
        """The catalogue page."""
        return _send(files[""], request)

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str, request: Request) -> Response:
        """One of the page's files; any other name is a 404."""
        found = files.get(name) if name else None
        if found is None:
            raise Problem(404, "not_found", "no such file of the catalogue page", field="name")
        return _send(found, request)


def _read(name: str, media_type: str) -> _File:
    content = (STATIC / name).read_bytes()
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    return _File(content, media_type, etag)


def _send(file: _File, request: Request) -> Response:
    headers = {**_HEADERS, "ETag": file.etag}
    if file.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(file.content, media_type=file.media_type, headers=headers)
