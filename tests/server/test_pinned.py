"""A pinned version (``name@N``) over HTTP: queried beside the current one, each column
reporting the version and fingerprint that computed it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.server.config import ServerConfig
from tests.conftest import ROOT
from tests.server.conftest import client_for, error_of

PINNED = ROOT / "docs" / "examples" / "pinned"
ASK = {
    "metrics": ["weekly_active_users", "weekly_active_users@1"],
    "by": ["metric_time.month"],
    "start": "2026-01-01",
    "end": "2026-03-31",
}


@pytest.fixture(scope="module")
def pinned(demo_url: str) -> Iterator[Any]:
    with client_for(
        ServerConfig(project=PINNED, connection=demo_url, allow_anonymous=True)
    ) as client:
        yield client


def test_a_pinned_version_beside_the_current_one(pinned: Any, demo_db: Path) -> None:
    body = pinned.post("/v1/query", json=ASK).json()
    layer = ml.load(PINNED, connection=f"duckdb:///{demo_db}")
    result = layer.query(**ASK).run()
    assert body["rows"] == [[row[0].isoformat(), *row[1:]] for row in result.rows]
    assert [c["name"] for c in body["columns"]] == list(result.columns)
    made = body["metrics"]
    assert (made["weekly_active_users"]["version"], made["weekly_active_users@1"]["version"]) == (
        2,
        1,
    )
    assert (
        made["weekly_active_users@1"]["fingerprint"] == layer.fingerprints["weekly_active_users@1"]
    )
    assert (
        made["weekly_active_users"]["fingerprint"] != made["weekly_active_users@1"]["fingerprint"]
    )


def test_an_unknown_version_is_a_400_listing_the_versions(pinned: Any) -> None:
    response = pinned.post("/v1/query", json={"metrics": ["weekly_active_users@3"]})
    assert response.status_code == 400
    assert "its versions are 1, 2" in error_of(response)["message"]


def test_a_kept_version_in_the_catalogue(pinned: Any) -> None:
    current = pinned.get("/v1/metrics/weekly_active_users").json()
    assert current["versions"] == [1, 2]
    kept = pinned.get("/v1/metrics/weekly_active_users@1")
    assert kept.status_code == 200
    assert kept.json()["version"] == 1
