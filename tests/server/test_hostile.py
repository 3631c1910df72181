"""Hostile request bodies: every field with wrong types, huge and nested values, unicode and
SQL injection attempts. Each ends in a 4xx with the error shape, never a 500, and nothing
reaches the database but a checked query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.server.conftest import error_of

INJECTIONS = [
    "'; DROP TABLE users; --",
    "signups; DELETE FROM users",
    "1=1 OR user.plan = 'pro'",
    "user.plan = 'pro' UNION SELECT password FROM pg_shadow",
    "(SELECT count(*) FROM users) > 0",
    "signups/* comment */",
    'metric_time.year"; --',
    "pg_sleep(10)",
]
WEIRD = [
    "x" * 100_000,
    "指标 \u202e\u200b🙂",
    "\u0000",
    "a\nb\rc\x1b[31m",
    "",
    " ",
]
WRONG_TYPES: list[Any] = [1, 1.5, True, None, [], {}, [[1]], {"$ne": 1}, [{"a": {"b": [1]}}]]

QUERY_FIELDS = [
    "metrics",
    "by",
    "where",
    "start",
    "end",
    "order",
    "limit",
    "fill_periods",
    "whole_periods",
    "include_sql",
    "timeout",
    "max_rows",
]
LIST_FIELDS = {"metrics", "by", "order"}


def _valid() -> dict[str, Any]:
    return {"metrics": ["signups"], "by": ["metric_time.year"]}


def _check(response: Any) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    error = error_of(response)
    assert len(error["message"]) <= 2_000
    assert "Traceback" not in response.text
    return error


@pytest.mark.parametrize("field", QUERY_FIELDS)
@pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
def test_wrong_types_in_every_field(client: Any, field: str, value: Any) -> None:
    body = _valid()
    body[field] = value
    response = client.post("/v1/query", json=body)
    if response.status_code == 200:
        assert _legitimate(field, value), (field, value)
        return
    error = _check(response)
    if response.status_code == 422:
        assert error["field"] is None or error["field"].split("[")[0] == field


# A filter that is a plain boolean over declared names, and an empty filter or date, are
# legitimate: they are served.
SERVED = {
    ("where", "1=1 OR user.plan = 'pro'"),
    ("where", ""),
    ("where", " "),
    ("start", ""),
    ("end", ""),
}


def _legitimate(field: str, value: Any) -> bool:
    """Whether ``value`` is a value ``field`` may hold (the request is then served)."""
    if field in ("limit", "max_rows"):
        return type(value) is int or value is None
    if field == "timeout":
        return type(value) in (int, float) or value is None
    if field in ("fill_periods", "whole_periods", "include_sql"):
        return type(value) is bool
    if field in ("by", "order"):
        return value == []
    return value is None and field != "metrics"


@pytest.mark.parametrize("field", QUERY_FIELDS)
@pytest.mark.parametrize("text", INJECTIONS + WEIRD, ids=lambda t: repr(t[:30]))
def test_text_in_every_field(client: Any, field: str, text: str) -> None:
    body = _valid()
    body[field] = [text] if field in LIST_FIELDS else text
    response = client.post("/v1/query", json=body)
    if (field, text) in SERVED:
        assert response.status_code == 200
        return
    _check(response)


@pytest.mark.parametrize("text", INJECTIONS + WEIRD, ids=lambda t: repr(t[:30]))
def test_text_in_compile_dialect_and_metric_route(client: Any, text: str) -> None:
    _check(client.post("/v1/compile", json={"metrics": ["signups"], "dialect": text or "?"}))
    if text.isprintable() and text.strip() and len(text) < 10_000:
        _check(client.get("/v1/metrics/" + text.replace("/", "%2F").replace("?", "%3F")))


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'"signups"',
        b"null",
        b'{"metrics": ["signups"], "metrics": 3}',
        b'{"metrics": ["signups"], "unknown": 1}',
        b'{"metrics": ["signups"], "limit": 1e400}',
        b'{"metrics": ["signups"], "timeout": NaN}',
        b'{"metrics": ["signups"], "limit": 99999999999999999999999999}',
        b"\xff\xfe\x00",
        b'{"metrics": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    ],
)
def test_malformed_bodies(client: Any, raw: bytes) -> None:
    response = client.post("/v1/query", content=raw, headers={"Content-Type": "application/json"})
    _check(response)


def test_unknown_field_names_the_field(client: Any) -> None:
    response = client.post("/v1/query", json={**_valid(), "sql": "SELECT 1"})
    error = _check(response)
    assert response.status_code == 422
    assert error["field"] == "sql"
    assert error["type"] == "request"
    assert "unknown field" in error["message"]


def test_a_wrong_item_names_its_place(client: Any) -> None:
    response = client.post("/v1/query", json={"metrics": ["signups"], "by": ["ok", 3]})
    assert error_of(response)["field"] == "by[1]"


@pytest.mark.parametrize("raw", [b"{", b"[]"])
def test_a_body_that_is_not_an_object_says_what_to_send(client: Any, raw: bytes) -> None:
    response = client.post("/v1/query", content=raw, headers={"Content-Type": "application/json"})
    error = _check(response)
    assert error["field"] is None
    assert '{"metrics": ["signups"]' in error["message"]


def test_an_injected_filter_is_a_400_naming_where(client: Any) -> None:
    response = client.post("/v1/query", json={**_valid(), "where": "1=1; DROP TABLE users"})
    error = _check(response)
    assert response.status_code == 400
    assert (error["type"], error["field"]) == ("filter", "where")


def test_a_bad_date_is_a_400_naming_start(client: Any) -> None:
    response = client.post("/v1/query", json={**_valid(), "start": "2026-02-30"})
    error = _check(response)
    assert (response.status_code, error["field"]) == (400, "start")


def test_the_database_is_untouched(
    client: Any, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    before = demo_sql("SELECT count(*) FROM users")
    for text in INJECTIONS:
        client.post("/v1/query", json={**_valid(), "where": text})
    assert demo_sql("SELECT count(*) FROM users") == before
