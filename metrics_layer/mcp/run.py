"""``metrics-layer mcp``: start the service and serve it over stdio or streamable HTTP.

Over stdio the assistant starts this command and speaks MCP on its stdin and stdout, so there
are no request headers: the caller's API key or token comes from the environment
(``METRICS_LAYER_API_KEY`` or ``METRICS_LAYER_TOKEN``), is checked once before the server
starts (a bad one stops it with a clear message, not a first failing tool call) and again on
every call (an access file that changed is followed). Over HTTP each request carries its own
``X-API-Key`` or ``Authorization: Bearer`` header, as for ``serve``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from metrics_layer.errors import UserError

__all__ = ["KEY_VARIABLE", "TOKEN_VARIABLE", "credentials_from", "run"]

KEY_VARIABLE = "METRICS_LAYER_API_KEY"
"""The API key of the stdio caller (sent as ``X-API-Key``)."""
TOKEN_VARIABLE = "METRICS_LAYER_TOKEN"
"""The JWT of the stdio caller (sent as ``Authorization: Bearer``)."""


def credentials_from(environ: Mapping[str, str]) -> dict[str, str]:
    """The headers standing for the stdio caller: ``{"x-api-key": ...}`` or
    ``{"authorization": "Bearer ..."}``, or none.

    >>> credentials_from({"METRICS_LAYER_API_KEY": "k"})
    {'x-api-key': 'k'}
    >>> credentials_from({})
    {}
    """
    key = environ.get(KEY_VARIABLE, "").strip()
    token = environ.get(TOKEN_VARIABLE, "").strip()
    if key and token:
        raise UserError(
            f"both ${KEY_VARIABLE} and ${TOKEN_VARIABLE} are set; set the one the access file "
            "knows the caller by"
        )
    if key:
        return {"x-api-key": key}
    if token:
        return {"authorization": f"Bearer {token}"}
    return {}


def run(args: argparse.Namespace) -> int:
    """Start the service of ``args`` and serve it until stopped; UserError when it may not
    start (the message names the flag or variable to fix)."""
    from metrics_layer.cli.main import _path
    from metrics_layer.mcp.server import create_server
    from metrics_layer.server.config import Limits, ServerConfig
    from metrics_layer.server.problems import Problem
    from metrics_layer.server.service import Service

    if args.max_rows < 1:
        raise UserError(f"--max-rows: expected a positive number of rows, not {args.max_rows}")
    if not 0 < args.port < 65536:
        raise UserError(f"--port: expected a port from 1 to 65535, not {args.port}")
    config = ServerConfig(
        project=_path(args.project),
        connection=args.connection,
        target=args.target,
        allow_outside=args.allow_outside,
        # One row beyond what a tool call shows tells it that there were more (tools.py).
        limits=Limits(timeout=args.timeout, max_rows=args.max_rows + 1),
        access_file=args.access,
        cache_url=None if args.cache == "off" else args.cache,
        allow_anonymous=args.allow_anonymous,
    )
    stdio = args.transport == "stdio"
    credentials = credentials_from(os.environ) if stdio else {}
    if stdio and args.access is not None and not credentials:  # said before the slow start
        raise UserError(
            "stdio has no request headers: give the caller's API key in "
            f"${KEY_VARIABLE} (or a JWT in ${TOKEN_VARIABLE}), e.g. in the 'env' of the "
            "assistant's server entry (docs/mcp.md)"
        )
    service = Service(config)
    if stdio:
        if service.authenticator is not None:
            try:
                service.caller(credentials)
            except Problem as exc:
                variable = KEY_VARIABLE if "x-api-key" in credentials else TOKEN_VARIABLE
                raise UserError(f"${variable}: {exc.message}") from None
    elif credentials_from(os.environ):
        print(
            f"note: ${KEY_VARIABLE} / ${TOKEN_VARIABLE} are not used over HTTP; each request "
            "sends its own X-API-Key or Authorization header",
            file=sys.stderr,
        )
    server = create_server(service, credentials=credentials, row_cap=args.max_rows)
    if args.transport == "stdio":
        import anyio

        anyio.run(server.run_stdio_async)
        return 0
    import uvicorn

    app = server.streamable_http_app(json_response=True, stateless_http=True, host=args.host)
    print(f"MCP endpoint: http://{args.host}:{args.port}/mcp", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
