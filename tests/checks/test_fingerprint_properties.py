"""Fingerprints under generated rewritings: any filter written any equivalent way, in a file
laid out any way, has one fingerprint; changing one value in it changes the fingerprint."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics_layer as ml
from metrics_layer.graph.fingerprint import Fingerprints

SOURCES: list[dict[str, Any]] = [
    {
        "name": "orders",
        "table": "shop.orders",
        "time": "ordered_at",
        "entities": [{"name": "customer", "key": "customer_id"}],
        "dimensions": [
            {"name": "ordered_at", "type": "time"},
            {"name": "channel"},
            {"name": "amount_band", "expr": "amount / 10"},
        ],
        "measures": [{"name": "revenue", "agg": "sum", "expr": "amount"}],
    },
    {
        "name": "customers",
        "table": "shop.customers",
        "entities": [{"name": "customer", "key": "id", "primary": True}],
        "dimensions": [{"name": "country"}, {"name": "is_test", "type": "boolean"}],
    },
]

# A filter as a tree: ("and"|"or", [children]) or ("cmp", column, operator, value).
COLUMNS = ["channel", "customer.country", "amount_band"]
VALUES = ["'web'", "'DE'", "'api'", "3", "'de'"]
comparisons = st.tuples(
    st.just("cmp"), st.sampled_from(COLUMNS), st.sampled_from(["=", "<>"]), st.sampled_from(VALUES)
)
filters = st.recursive(
    comparisons,
    lambda inner: st.tuples(
        st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)
    ),
    max_leaves=6,
)


def written(tree: Any, rng: random.Random, plain: bool) -> str:
    """``tree`` as SQL; unless ``plain``, operands shuffled, sides swapped, keyword case and
    spacing varied, extra parentheses added."""
    if tree[0] == "cmp":
        _, column, operator, value = tree
        left, right = (value, column) if not plain and rng.random() < 0.5 else (column, value)
        space = "" if not plain and rng.random() < 0.3 else " "
        text = f"{left}{space}{operator}{space}{right}"
        return f"({text})" if not plain and rng.random() < 0.3 else text
    children = list(tree[1])
    if not plain:
        rng.shuffle(children)
    keyword = tree[0].upper() if plain or rng.random() < 0.5 else tree[0]
    return "(" + f" {keyword} ".join(written(c, rng, plain) for c in children) + ")"


def laid_out(metric: dict[str, Any], rng: random.Random, plain: bool) -> str:
    """The project file; unless ``plain``, keys shuffled and flow or block style chosen."""

    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            if not plain:
                rng.shuffle(items)
            return {k: shuffled(v) for k, v in items}
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    document = shuffled({"sources": SOURCES, "metrics": [metric]})
    flow = None if plain else rng.choice([True, False, None])
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=flow, width=1000)


def fingerprint(text: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "defs.yml").write_text(text)
        return Fingerprints(ml.load(Path(folder) / "defs.yml").graph).metric("revenue")


def metric(condition: str) -> dict[str, Any]:
    return {"name": "revenue", "type": "simple", "measure": "orders.revenue", "filter": condition}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=filters, seed=st.integers(0, 2**32 - 1))
def test_any_equivalent_writing_has_one_fingerprint(tree: Any, seed: int) -> None:
    rng = random.Random(seed)
    plain = fingerprint(laid_out(metric(written(tree, rng, True)), rng, True))
    rewritten = fingerprint(laid_out(metric(written(tree, rng, False)), rng, False))
    assert rewritten == plain


def changed(tree: Any, path: list[int]) -> Any:
    """``tree`` with the value of one comparison (chosen by ``path``) replaced."""
    if tree[0] == "cmp":
        _, column, operator, value = tree
        return ("cmp", column, operator, "'zz'" if value != "'zz'" else "'yy'")
    index = path[0] % len(tree[1]) if path else 0
    children = list(tree[1])
    children[index] = changed(children[index], path[1:])
    return (tree[0], children)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=filters, path=st.lists(st.integers(0, 5), max_size=4), seed=st.integers(0, 99))
def test_changing_one_value_changes_the_fingerprint(tree: Any, path: list[int], seed: int) -> None:
    rng = random.Random(seed)
    before = fingerprint(laid_out(metric(written(tree, rng, True)), rng, True))
    after = fingerprint(laid_out(metric(written(changed(tree, path), rng, True)), rng, True))
    assert after != before
