"""A partial load serves the healthy metrics and lists each broken one with its errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import metrics_layer as ml
from tests.conftest import DEFINITIONS

BROKEN = """\
metrics:
  - name: bad_measure
    type: simple
    measure: users.no_such_measure
  - name: built_on_bad
    type: derived
    expr: "bad_measure + signups"
  - name: bad_filter
    type: simple
    measure: users.signups
    filter: "nonexistent_dim = 1"
  - name: on_bad_filter
    type: derived
    expr: "bad_filter * 2"
"""


def broken_project(folder: Path) -> Path:
    """The shipped definitions plus a file of broken metrics (line numbers fixed above)."""
    shutil.copytree(DEFINITIONS, folder, dirs_exist_ok=True)
    (folder / "metrics.lock").unlink()
    (folder / "metrics" / "broken.yml").write_text(BROKEN, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> ml.SemanticLayer:
    folder = broken_project(tmp_path_factory.mktemp("broken"))
    return ml.load(folder, connection=f"duckdb:///{demo_db}", partial=True)


def test_a_full_load_still_refuses_the_project(tmp_path: Path) -> None:
    with pytest.raises(ml.DefinitionError, match="no_such_measure"):
        ml.load(broken_project(tmp_path))


def test_broken_metrics_and_their_dependents_are_listed_with_the_errors(
    partial: ml.SemanticLayer,
) -> None:
    broken = partial.broken
    assert sorted(broken) == ["bad_filter", "bad_measure", "built_on_bad", "on_bad_filter"]
    # Own errors point at their own lines; dependents carry the error of what they use.
    assert [(d.line, "no_such_measure" in d.message) for d in broken["bad_measure"]] == [(4, True)]
    assert [d.line for d in broken["built_on_bad"]] == [4]
    assert [(d.line, "nonexistent_dim" in d.message) for d in broken["bad_filter"]] == [(11, True)]
    assert [d.line for d in broken["on_bad_filter"]] == [11]
    assert all(d.file.endswith("broken.yml") for ds in broken.values() for d in ds)


def test_healthy_metrics_are_served_and_broken_ones_refused(
    partial: ml.SemanticLayer, layer: ml.SemanticLayer
) -> None:
    got = partial.query(["signups"], by=["metric_time.year"]).run()
    assert got.rows == layer.query(["signups"], by=["metric_time.year"]).run().rows
    for name in ("on_bad_filter", "bad_measure"):
        with pytest.raises(ml.QueryError, match=f"metric '{name}' is broken") as caught:
            partial.query(["signups", name])
        assert caught.value.field == "metrics"


def test_a_clean_project_has_nothing_broken(layer: ml.SemanticLayer) -> None:
    assert dict(layer.broken) == {}


def test_partial_must_be_a_boolean() -> None:
    with pytest.raises(ml.QueryError, match="partial"):
        ml.load(DEFINITIONS, partial="yes")  # type: ignore[arg-type]


def test_metrics_on_a_broken_source_carry_the_source_error(tmp_path: Path) -> None:
    shutil.copytree(DEFINITIONS, tmp_path, dirs_exist_ok=True)
    (tmp_path / "metrics.lock").unlink()
    users = tmp_path / "sources" / "users.yml"
    text = users.read_text(encoding="utf-8")
    broken = text.replace(
        "      - {name: signups, agg: count, description: Registered users.}\n",
        '      - {name: signups, agg: count, expr: "x(", description: Registered users.}\n',
        1,
    )
    assert broken != text
    users.write_text(broken, encoding="utf-8")
    layer = ml.load(tmp_path, partial=True)
    assert "signups" in layer.broken
    assert "signups" not in layer.graph.metrics
    [reason] = layer.broken["signups"]
    assert reason.file.endswith("users.yml")
    assert reason.line == 15
    assert "cannot parse" in reason.message
    assert "daily_active_users" not in layer.broken  # events are untouched
