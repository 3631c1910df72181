"""Per-request bounds the app enforces itself: the request body's size (413, before it is
parsed), and the configured limits checked when the service starts."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metrics_layer.server.config import ServerConfig
from metrics_layer.server.problems import Problem

__all__ = ["BodyLimit", "check_limits"]


def check_limits(config: ServerConfig) -> None:
    """The limits are positive numbers; QueryError naming the limit otherwise."""
    from metrics_layer.engine.connection import check_max_rows, check_timeout

    limits = config.limits
    check_timeout(limits.timeout, "limits.timeout")
    check_max_rows(limits.max_rows, "limits.max_rows")
    check_max_rows(limits.max_body_bytes, "limits.max_body_bytes")
    if config.watch is not None:
        check_timeout(config.watch, "watch")


class BodyLimit:
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
