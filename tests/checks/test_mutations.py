"""Valid definitions, mutated as data (keys deleted, types changed, names swapped, hostile
strings inserted): the checker never raises, and every diagnostic has a registered code, a
hint and a place."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics_layer as ml
from metrics_layer.checks.codes import CODES

VALID: dict[str, dict[str, Any]] = {
    "sources.yml": {
        "sources": [
            {
                "name": "users",
                "table": "app.users",
                "time": "signed_up_at",
                "entities": [{"name": "user", "key": "id", "primary": True}],
                "dimensions": [
                    {"name": "signed_up_at", "type": "time"},
                    {"name": "country"},
                ],
                "measures": [{"name": "signups", "agg": "count"}],
            },
            {
                "name": "orders",
                "table": "shop.orders",
                "time": "ordered_at",
                "entities": [
                    {"name": "order", "key": "id", "primary": True},
                    {"name": "user", "key": "user_id"},
                ],
                "dimensions": [{"name": "ordered_at", "type": "time"}, {"name": "channel"}],
                "measures": [
                    {"name": "order_count", "agg": "count"},
                    {"name": "revenue", "agg": "sum", "expr": "amount"},
                    {"name": "p90", "agg": "percentile", "expr": "amount", "percentile": 0.9},
                ],
            },
        ]
    },
    "metrics.yml": {
        "metrics": [
            {"name": "signups", "type": "simple", "measure": "users.signups"},
            {
                "name": "revenue",
                "type": "simple",
                "measure": "orders.revenue",
                "filter": "user.country = 'DE'",
                "version": 2,
                "changelog": [{"version": 2, "date": "2026-01-05", "change": "DE only."}],
            },
            {"name": "orders_made", "type": "simple", "measure": "orders.order_count"},
            {
                "name": "revenue_per_order",
                "type": "ratio",
                "numerator": "revenue",
                "denominator": "orders_made",
                "status": "certified",
                "owner": "finance",
                "description": "Revenue over orders.",
            },
            {
                "name": "growth",
                "type": "derived",
                "expr": "revenue - prior",
                "inputs": [{"metric": "revenue", "alias": "prior", "offset": "1 month"}],
            },
            {
                "name": "weekly_orders",
                "type": "rolling",
                "measure": "orders.order_count",
                "window": "7 days",
            },
        ]
    },
}

HOSTILE = st.sampled_from(
    [
        "",
        "x" * 300,
        "\x1b[31m::error::x",
        "a: b",
        "1; DROP TABLE users",
        "'",
        "users.signups",
        "signups",
        "metric_time.month",
        "(((((((((((a)))))))))))",
        "\u202e",
        "2026-02-30",
        "NaN",
    ]
)
VALUES = st.one_of(
    HOSTILE,
    st.integers(min_value=-3, max_value=200),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({}),
    st.lists(HOSTILE, max_size=2),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``node`` that can be mutated."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*path, index)))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    files = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        name = draw(st.sampled_from(sorted(files)))
        places = [p for p in _paths(files[name]) if p]
        if not places:
            continue
        path = draw(st.sampled_from(places))
        try:
            parent = _parent(files[name], path)
        except (KeyError, IndexError, TypeError):
            continue
        kind = draw(st.sampled_from(["delete", "retype", "swap", "hostile", "duplicate"]))
        key = path[-1]
        try:
            if kind == "delete":
                del parent[key]
            elif kind in ("retype", "hostile"):
                parent[key] = draw(VALUES if kind == "retype" else HOSTILE)
            elif kind == "swap":
                other = draw(st.sampled_from(places))
                other_parent = _parent(files[name], other)
                parent[key], other_parent[other[-1]] = (
                    copy.deepcopy(other_parent[other[-1]]),
                    copy.deepcopy(parent[key]),
                )
            elif isinstance(parent, list):
                parent.append(copy.deepcopy(parent[key]))
        except (KeyError, IndexError, TypeError):
            continue
    return files


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=mutated())
def test_mutated_definitions_never_raise_and_every_diagnostic_is_complete(
    files: dict[str, Any],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, data in files.items():
            (root / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        graph, diagnostics = ml.check(root)
        for diagnostic in diagnostics:
            assert diagnostic.code in CODES, diagnostic
            assert diagnostic.hint, diagnostic
            assert diagnostic.file is not None, diagnostic
            assert diagnostic.message, diagnostic
            if Path(diagnostic.file).name in files:  # in a definitions file: at a line
                assert diagnostic.line is not None, diagnostic
        places = [(d.file or "", d.line or 0, d.column or 1) for d in diagnostics]
        assert places == sorted(places)
        errors = [d for d in diagnostics if d.level is ml.Level.ERROR]
        if errors:
            with pytest.raises(ml.DefinitionError) as caught:
                ml.load(root)
            assert {str(d) for d in caught.value.diagnostics} >= {str(d) for d in errors}
        else:
            assert graph is not None
            ml.load(root)


def test_the_unmutated_definitions_are_valid() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, data in VALID.items():
            (root / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        layer = ml.load(root)
        assert sorted(layer.graph.metrics) == [
            "growth",
            "orders_made",
            "revenue",
            "revenue_per_order",
            "signups",
            "weekly_orders",
        ]
