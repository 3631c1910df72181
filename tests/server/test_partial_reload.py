"""A project with broken metrics is served partially; definitions reload without a restart,
by the admin route or the file watch, and a failed reload keeps the last good definitions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics_layer.server.config import ServerConfig
from tests.api.test_partial_load import broken_project
from tests.server.conftest import FakeAccess, FakeAuthenticator, client_for, error_of

EXTRA = """\
metrics:
  - name: signups_again
    type: simple
    measure: users.signups
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return broken_project(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def partial(project: Path, demo_url: str) -> Iterator[Any]:
    config = ServerConfig(project=project, connection=demo_url, allow_anonymous=True)
    with client_for(config) as client:
        yield client


def test_readyz_lists_broken_metrics_with_diagnostics(partial: Any) -> None:
    response = partial.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    broken = {b["metric"]: b["diagnostics"] for b in body["broken"]}
    assert sorted(broken) == ["bad_filter", "bad_measure", "built_on_bad", "on_bad_filter"]
    [own] = broken["bad_measure"]
    assert (own["file"], own["line"], own["level"]) == ("metrics/broken.yml", 4, "error")
    assert "no_such_measure" in own["message"]
    assert broken["built_on_bad"] == broken["bad_measure"]


def test_broken_metrics_are_refused_with_422(partial: Any) -> None:
    for path, body in [
        ("/v1/query", {"metrics": ["signups", "built_on_bad"]}),
        ("/v1/compile", {"metrics": ["bad_filter"]}),
    ]:
        response = partial.post(path, json=body)
        assert response.status_code == 422
        error = error_of(response)
        assert error["type"] == "broken_metric"
        assert error["field"] == "metrics"
        assert error["diagnostics"][0]["file"] == "metrics/broken.yml"
    response = partial.get("/v1/metrics/bad_measure")
    assert response.status_code == 422
    assert "no_such_measure" in error_of(response)["diagnostics"][0]["message"]


def test_healthy_metrics_are_served(partial: Any, layer: Any) -> None:
    body = partial.post("/v1/query", json={"metrics": ["signups"]}).json()
    assert body["rows"] == [[layer.query(["signups"]).run().rows[0][0]]]
    names = [m["name"] for m in partial.get("/v1/metrics").json()["metrics"]]
    assert "signups" in names
    assert "bad_filter" not in names
    assert len(names) == len(layer.graph.current)


def test_reload_picks_up_changes_and_a_failed_one_keeps_the_last_good(
    partial: Any, project: Path
) -> None:
    extra = project / "metrics" / "extra.yml"
    extra.write_text(EXTRA, encoding="utf-8")
    done = partial.post("/v1/admin/reload").json()
    assert done["ok"] is True
    assert partial.get("/v1/metrics/signups_again").status_code == 200
    # The project folder gone: nothing loads; the last good definitions stay.
    away = project.with_name(project.name + "-away")
    project.rename(away)
    try:
        failed = partial.post("/v1/admin/reload").json()
        assert failed["ok"] is False
        assert failed["errors"][0]["code"] == "project"
        assert partial.get("/v1/metrics/signups_again").status_code == 200
        ready = partial.get("/readyz").json()
        assert ready["status"] == "degraded"
        assert ready["last_reload"]["ok"] is False
        assert ready["last_reload"]["errors"][0]["code"] == "project"
        assert ready["loaded_at"] < ready["last_reload"]["at"]
    finally:
        away.rename(project)
        extra.unlink()
    assert partial.post("/v1/admin/reload").json()["ok"] is True
    assert partial.get("/v1/metrics/signups_again").status_code == 404


def test_the_watch_reloads_changed_files(tmp_path: Path, demo_url: str) -> None:
    project = broken_project(tmp_path)
    config = ServerConfig(project=project, connection=demo_url, allow_anonymous=True, watch=0.05)
    with client_for(config) as client:
        assert client.get("/v1/metrics/signups_again").status_code == 404
        (project / "metrics" / "extra.yml").write_text(EXTRA, encoding="utf-8")
        deadline = time.monotonic() + 10
        while client.get("/v1/metrics/signups_again").status_code != 200:
            assert time.monotonic() < deadline, "the watch did not reload"
            time.sleep(0.05)


def test_only_an_admin_reads_the_diagnostics_and_hidden_broken_metrics_stay_hidden(
    project: Path, demo_url: str
) -> None:
    policies = {
        "boss": FakeAccess("all"),
        "user": FakeAccess("user", hidden=frozenset({"bad_measure"})),
    }
    config = ServerConfig(
        project=project,
        connection=demo_url,
        authenticator=FakeAuthenticator(policies, {"boss": ("admin",)}),
    )
    with client_for(config) as client:
        probe = client.get("/readyz")  # a probe does not authenticate
        assert probe.status_code == 200
        body = probe.json()
        assert (body["status"], body["broken_count"], body["broken"]) == ("degraded", 4, [])
        as_user = client.get("/readyz", headers={"X-Test-User": "user"}).json()
        assert as_user["broken"] == []
        boss = client.get("/readyz", headers={"X-Test-User": "boss"}).json()
        assert len(boss["broken"]) == 4
        user = {"X-Test-User": "user"}
        assert client.get("/v1/metrics/bad_measure", headers=user).status_code == 404
        hidden = client.post("/v1/query", json={"metrics": ["bad_measure"]}, headers=user)
        assert hidden.status_code == 403
        assert "diagnostics" not in hidden.json()["error"]
        seen = client.post("/v1/query", json={"metrics": ["bad_filter"]}, headers=user)
        assert seen.status_code == 422


def test_queries_answer_while_the_definitions_reload(project: Path, demo_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    config = ServerConfig(project=project, connection=demo_url, allow_anonymous=True)
    ask = {"metrics": ["signups"], "by": ["metric_time.year"]}
    with client_for(config) as client:
        expected = client.post("/v1/query", json=ask).json()["rows"]

        def asking(_: int) -> list[tuple[int, Any]]:
            answers = []
            for _ in range(8):
                response = client.post("/v1/query", json=ask)
                answers.append((response.status_code, response.json()["rows"]))
            return answers

        with ThreadPoolExecutor(4) as pool:
            running = pool.map(asking, range(4))
            reloads = [client.post("/v1/admin/reload").json()["ok"] for _ in range(4)]
            answers = [a for batch in running for a in batch]
    assert reloads == [True] * 4
    assert answers == [(200, expected)] * 32
