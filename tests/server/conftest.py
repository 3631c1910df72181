"""The service on the shipped definitions and the demo DuckDB, and small fakes of the parts
others plug in (an authenticator, an access policy, a result cache), to test the hook points."""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from metrics_layer.api import SemanticLayer
from metrics_layer.errors import UserError
from metrics_layer.planner.query import MetricQuery
from tests.conftest import DEFINITIONS

with warnings.catch_warnings():
    # Starlette asks for another HTTP client package than the one FastAPI documents.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from metrics_layer.server.app import create_app
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.contracts import Principal


def client_for(config: ServerConfig) -> TestClient:
    return TestClient(create_app(config), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def demo_url(demo_db: Path) -> str:
    return f"duckdb:///{demo_db}"


@pytest.fixture(scope="module")
def client(demo_url: str) -> Iterator[TestClient]:
    """An anonymous service on the shipped definitions."""
    with client_for(
        ServerConfig(project=DEFINITIONS, connection=demo_url, allow_anonymous=True)
    ) as found:
        yield found


class Denied(UserError):
    """What the fake policy raises for a hidden name (a UserError, shown as 403)."""


@dataclass
class FakeAccess:
    """Hides the names in ``hidden``; ``where`` is always and-ed into the query's filter.
    Records every query it restricts."""

    key: str
    hidden: frozenset[str] = frozenset()
    where: str | None = None
    restricted: list[MetricQuery] = field(default_factory=list)

    def sees_metric(self, name: str) -> bool:
        return name not in self.hidden

    def sees_dimension(self, name: str) -> bool:
        return name not in self.hidden

    def restrict(self, layer: SemanticLayer, query: MetricQuery) -> MetricQuery:
        self.restricted.append(query)
        for name in (*query.metrics, *query.by):
            if name.partition(".")[0] in self.hidden or name in self.hidden:
                raise Denied(
                    f"'{name}' is not visible to you",
                )
        if self.where is None:
            return query
        where = self.where if query.where is None else f"({query.where}) AND ({self.where})"
        return replace(query, where=where)


@dataclass
class FakeAuthenticator:
    """``X-Test-User: name`` authenticates ``name``; the principal's access is ``policies``'."""

    policies: Mapping[str, FakeAccess]
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        user = headers.get("x-test-user")
        if user not in self.policies:
            raise UserError("unknown user; send X-Test-User")
        return Principal(user, self.roles.get(user, ()))

    def access(self, principal: Principal) -> FakeAccess:
        return self.policies[principal.subject]


@dataclass
class FakeCache:
    """A dict; counts how often each key was computed."""

    kept: dict[str, bytes] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    ttls: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_or_compute(self, key: str, compute: Callable[[], bytes], ttl: float) -> bytes:
        with self.lock:
            self.ttls.append(ttl)
            if key not in self.kept:
                self.kept[key] = compute()
                self.computed[key] = self.computed.get(key, 0) + 1
            return self.kept[key]

    def clear(self) -> None:
        self.kept.clear()


def tenant_access(keys: Mapping[str, str], *, hidden_dimensions: tuple[str, ...] = ()) -> str:
    """An access file for ``keys``: ``"admin"`` is an admin's key (subject ``ops``); any other
    name is a tenant's (subject ``dashboard-<name>``) whose row filter keeps its country, the
    name in capitals. Tenants do not see ``mrr``, nor ``hidden_dimensions``."""
    entries = []
    for name, key in keys.items():
        digest = hashlib.sha256(key.encode()).hexdigest()
        if name == "admin":
            entries.append(f"  - subject: ops\n    sha256: {digest}\n    roles: [admin]\n")
        else:
            entries.append(
                f"  - subject: dashboard-{name}\n    sha256: {digest}\n    roles: [tenant]\n"
                f"    claims: {{country: {name.upper()}}}\n"
            )
    hidden = (
        f"    dimensions: {{deny: [{', '.join(hidden_dimensions)}]}}\n" if hidden_dimensions else ""
    )
    return (
        "api_keys:\n"
        + "".join(entries)
        + "policies:\n"
        + "  - name: admin\n    when: {roles: [admin]}\n"
        + "  - name: tenant\n    when: {roles: [tenant]}\n    metrics: {deny: [mrr]}\n"
        + hidden
        + '    row_filter: "user.country = {claims.country}"\n'
    )


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an error response, checked for its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "field", "message"} <= set(body["error"]), body
    return dict(body["error"])
