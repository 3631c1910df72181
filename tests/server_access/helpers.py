"""Helpers for the access tests: run a caller's query, run hand-written SQL, make tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import textwrap
import time
from collections.abc import Callable
from typing import Any

import metrics_layer as ml
from metrics_layer.api import Query
from metrics_layer.planner.query import MetricQuery
from metrics_layer.server.access import PolicyAccess

ISSUER = "https://issuer.test/"
AUDIENCE = "metrics-api"
SECRET = "s" * 24 + "-hs256-secret-for-tests"
KEY_DE = "de-key-" + "k" * 40
KEY_ADMIN = "admin-key-" + "a" * 40


def run(access: PolicyAccess, layer: ml.SemanticLayer, *metrics: str, **fields: Any) -> list[Any]:
    """The rows of a caller's query under ``access``, as lists."""
    query = access.restrict(layer, MetricQuery.of(list(metrics), **fields))
    return [list(row) for row in Query(layer, query).run().rows]


def sql_rows(demo_sql: Callable[[str], list[tuple[object, ...]]], sql: str) -> list[Any]:
    return [list(row) for row in demo_sql(textwrap.dedent(sql))]


def token(claims: dict[str, Any], *, key: Any = SECRET, algorithm: str = "HS256") -> str:
    """A JWT with defaults for iss, aud, sub and exp (an hour ahead); a claim given as None
    is left out."""
    import jwt

    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": now + 3600} | claims
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm)


def forged(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token put together by hand (what PyJWT refuses to make): ``secret`` None leaves the
    signature empty (``alg: none``); otherwise HMAC-SHA256 with ``secret``."""

    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": now + 3600} | claims
    signing = part(header) + b"." + part(payload)
    signature = b""
    if secret is not None:
        digest = hmac.new(secret, signing, hashlib.sha256).digest()
        signature = base64.urlsafe_b64encode(digest).rstrip(b"=")
    return (signing + b"." + signature).decode("ascii")
