"""The project setting cache_ttl: read into the layer's settings, bounded, and not part of any
result key (a changed TTL applies to results computed after it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.server.keys import result_key

SOURCES = """
sources:
  - name: users
    table: users
    time: signed_up_at
    entities: [{name: user, key: user_id, primary: true}]
    dimensions:
      - {name: signed_up_at, type: time, grain: hour}
    measures:
      - {name: signups, agg: count}
metrics:
  - {name: signups, type: simple, measure: users.signups}
"""


def project(write_project: Callable[..., Path], setting: str) -> Path:
    return write_project(
        {"metrics_layer.yml": f"project:\n  name: shop\n{setting}", "defs.yml": SOURCES}
    )


@pytest.mark.parametrize(
    ("setting", "ttl"),
    [
        ("", 300.0),
        ("  cache_ttl: 0\n", 0.0),
        ("  cache_ttl: 2.5\n", 2.5),
        ("  cache_ttl: 604800\n", 604800.0),
    ],
)
def test_cache_ttl_is_read(write_project: Callable[..., Path], setting: str, ttl: float) -> None:
    layer = ml.load(project(write_project, setting))
    assert layer.graph.settings.cache_ttl == ttl


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "cache_ttl must be at least 0, not -1"),
        ("604801", "cache_ttl must be at most 604800.0, not 604801"),
        (".inf", "cache_ttl must be at most 604800.0, not inf"),
        (".nan", "cache_ttl"),
        ("true", "cache_ttl must be a number, not True"),
        ("'300'", "cache_ttl must be a number, not '300'"),
        ("[300]", "cache_ttl must be a number"),
    ],
)
def test_a_bad_cache_ttl_is_a_definition_error(
    write_project: Callable[..., Path], value: str, message: str
) -> None:
    with pytest.raises(ml.DefinitionError, match=message) as raised:
        ml.load(project(write_project, f"  cache_ttl: {value}\n"))
    assert "metrics_layer.yml:3" in str(raised.value)


def test_the_ttl_is_not_part_of_the_key(tmp_path: Path) -> None:
    keys = []
    for ttl in ("60", "600"):
        folder = tmp_path / ttl
        folder.mkdir()
        (folder / "metrics_layer.yml").write_text(f"project:\n  name: shop\n  cache_ttl: {ttl}\n")
        (folder / "defs.yml").write_text(SOURCES)
        layer = ml.load(folder)
        query = layer.query("signups", by="metric_time.month")
        today = dt.date(2026, 4, 5)
        keys.append(
            result_key(layer, query, access_key="", connection=None, fmt="json", today=today)
        )
    assert keys[0] == keys[1]
