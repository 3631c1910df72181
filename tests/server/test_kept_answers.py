"""What the service keeps between requests (catalogue pages, planned queries) follows a
reload: a metric added to the definitions appears in ``GET /v1/metrics`` and
``GET /v1/dimensions`` at once, and a query on a metric whose definition changed gives the
new definition's SQL, not the plan kept for the old one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics_layer.server.config import ServerConfig
from tests.api.test_partial_load import broken_project
from tests.server.conftest import client_for

ADDED = """\
metrics:
  - name: signups_kept_test
    type: simple
    measure: users.signups
    filter: "country = 'DE'"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return broken_project(tmp_path_factory.mktemp("kept"))


@pytest.fixture(scope="module")
def client(project: Path, demo_url: str) -> Iterator[Any]:
    config = ServerConfig(project=project, connection=demo_url, allow_anonymous=True)
    with client_for(config) as served:
        yield served


def _listed(client: Any) -> tuple[set[str], set[str]]:
    metrics = {m["name"] for m in client.get("/v1/metrics").json()["metrics"]}
    dims = client.get("/v1/dimensions").json()["dimensions"]
    valid = {m for d in dims if d["name"] == "users.country" for m in d["metrics"]}
    return metrics, valid


def test_catalogue_and_plans_follow_a_reload(client: Any, project: Path) -> None:
    before, valid_before = _listed(client)
    assert "signups_kept_test" not in before
    assert "signups_kept_test" not in valid_before
    assert _listed(client) == (before, valid_before)  # asked again: the kept pages

    added = project / "metrics" / "kept.yml"
    added.write_text(ADDED, encoding="utf-8")
    try:
        assert client.post("/v1/admin/reload").json()["ok"] is True
        after, valid_after = _listed(client)
        assert after == before | {"signups_kept_test"}
        assert "signups_kept_test" in valid_after
        asked = {"metrics": ["signups_kept_test"], "dialect": "duckdb"}
        first = client.post("/v1/compile", json=asked).json()["sql"]
        assert "'DE'" in first

        added.write_text(ADDED.replace("'DE'", "'FR'"), encoding="utf-8")
        assert client.post("/v1/admin/reload").json()["ok"] is True
        second = client.post("/v1/compile", json=asked).json()["sql"]
        assert "'FR'" in second
        assert "'DE'" not in second
    finally:
        added.unlink()
    assert client.post("/v1/admin/reload").json()["ok"] is True
    assert _listed(client) == (before, valid_before)
