"""Fingerprints: equal for every rewriting that keeps the meaning, different for every edit
that changes it. Each case is a text edit of one small project."""

from __future__ import annotations

from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.graph.fingerprint import Fingerprints

BASE = """\
project:
  name: shop
  time_zone: Europe/Berlin
sources:
  - name: orders
    table: shop.orders
    time: ordered_at
    entities: [{name: customer, key: customer_id}]
    dimensions:
      - {name: ordered_at, type: time}
      - {name: channel}
      - {name: paid_at, type: time}
    measures:
      - {name: revenue, agg: sum, expr: amount}
      - {name: buyers, agg: count_distinct, expr: customer_id}
  - name: customers
    table: shop.customers
    entities: [{name: customer, key: id, primary: true}]
    dimensions:
      - {name: country}
      - {name: is_test, type: boolean}
metrics:
  - name: revenue
    label: Revenue
    owner: finance
    type: simple
    measure: orders.revenue
    filter: "customer.country = 'DE' AND channel <> 'api'"
  - name: active_customers
    type: simple
    measure: orders.buyers
    filter: "NOT customer.is_test"
  - name: revenue_per_buyer
    type: derived
    expr: "r / b"
    inputs:
      - {metric: revenue, alias: r}
      - {metric: active_customers, alias: b}
  - name: revenue_growth
    type: derived
    expr: "revenue - last_week"
    inputs:
      - {metric: revenue}
      - {metric: revenue, alias: last_week, offset: 1 week}
  - name: weekly_buyers
    type: rolling
    measure: orders.buyers
    window: 7 days
"""


def prints(tmp_path: Path, text: str) -> dict[str, str]:
    folder = tmp_path / "defs"
    folder.mkdir(exist_ok=True)
    (folder / "metrics_layer.yml").write_text(text)
    graph, found = ml.check(folder)
    assert graph is not None
    # Two names for one meaning load, reported as equivalent-metrics; any other error is a
    # broken edit.
    errors = [d for d in found if d.level is ml.Level.ERROR and d.code != "equivalent-metrics"]
    assert errors == []
    return Fingerprints(graph).all()


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# Rewritings that keep every metric's meaning: (old text, new text).
SAME = {
    "filter spacing and case": (
        "\"customer.country = 'DE' AND channel <> 'api'\"",
        "\"customer.country='DE'   and channel<>'api'\"",
    ),
    "AND operands swapped": (
        "\"customer.country = 'DE' AND channel <> 'api'\"",
        "\"channel <> 'api' AND ('DE' = customer.country)\"",
    ),
    "redundant parentheses": ('"NOT customer.is_test"', '"(NOT (customer.is_test))"'),
    "label, owner, description": (
        "    label: Revenue\n    owner: finance\n",
        "    label: Net sales\n    owner: sales\n    description: x\n",
    ),
    "keys reordered, flow style": (
        "    entities: [{name: customer, key: customer_id}]",
        "    entities:\n      - key: customer_id\n        name: customer",
    ),
    "input alias renamed": (
        'expr: "r / b"\n    inputs:\n      - {metric: revenue, alias: r}',
        'expr: "rev / b"\n    inputs:\n      - {metric: revenue, alias: rev}',
    ),
    "status and tags": (
        "    type: rolling\n",
        "    type: rolling\n    status: draft\n    tags: [x]\n",
    ),
    "a YAML comment": ("    window: 7 days\n", "    window: 7 days  # one week\n"),
}


@pytest.mark.parametrize("case", sorted(SAME))
def test_rewritings_keep_every_fingerprint(tmp_path: Path, case: str) -> None:
    old, new = SAME[case]
    assert prints(tmp_path, edited(BASE, old, new)) == prints(tmp_path, BASE)


def test_renaming_a_source_keeps_the_fingerprints_of_what_reads_it(tmp_path: Path) -> None:
    renamed = BASE.replace("name: orders", "name: purchases").replace("orders.", "purchases.")
    assert prints(tmp_path, renamed) == prints(tmp_path, BASE)


def test_same_meaning_under_two_names_has_one_fingerprint(tmp_path: Path) -> None:
    twin = BASE + (
        "  - name: net_sales\n    type: simple\n    measure: orders.revenue\n"
        "    filter: \"channel <> 'api' and customer.country = 'DE'\"\n"
    )
    found = prints(tmp_path, twin)
    assert found["net_sales"] == found["revenue"]
    assert len(set(found.values())) == len(found) - 1


# Edits that change what some metrics compute: (old, new, the metrics whose print changes).
CHANGED = {
    "measure expression": (
        "expr: amount}",
        "expr: amount - tax}",
        {"revenue", "revenue_per_buyer", "revenue_growth"},
    ),
    "aggregation": (
        "agg: sum, expr: amount",
        "agg: avg, expr: amount",
        {"revenue", "revenue_per_buyer", "revenue_growth"},
    ),
    "source table": ("table: shop.orders", "table: shop.orders_v2", "every"),
    "filter value": (
        "country = 'DE'",
        "country = 'de'",
        {"revenue", "revenue_per_buyer", "revenue_growth"},
    ),
    "filter operator": (
        "channel <> 'api'",
        "channel = 'api'",
        {"revenue", "revenue_per_buyer", "revenue_growth"},
    ),
    "a filtered dimension's expression": (
        "- {name: country}",
        "- {name: country, expr: upper(country)}",
        {"revenue", "revenue_per_buyer", "revenue_growth"},
    ),
    "the join key": (
        "key: id, primary: true",
        "key: customer_ref, primary: true",
        {"revenue", "active_customers", "revenue_per_buyer", "revenue_growth"},
    ),
    "an offset": ("offset: 1 week", "offset: 2 weeks", {"revenue_growth"}),
    "a window": ("window: 7 days", "window: 28 days", {"weekly_buyers"}),
    "the time dimension": ("time: ordered_at", "time: paid_at", "every"),
    "the time zone": ("time_zone: Europe/Berlin", "time_zone: UTC", "every"),
    "the type": (
        "type: rolling\n    measure: orders.buyers\n    window: 7 days",
        "type: simple\n    measure: orders.buyers",
        {"weekly_buyers"},
    ),
    "fill_null": (
        '    filter: "NOT customer.is_test"',
        '    filter: "NOT customer.is_test"\n    fill_null: 0',
        {"active_customers", "revenue_per_buyer"},
    ),
    "a derived expression": ('expr: "r / b"', 'expr: "b / r"', {"revenue_per_buyer"}),
}


@pytest.mark.parametrize("case", sorted(CHANGED))
def test_semantic_edits_change_exactly_the_metrics_they_touch(tmp_path: Path, case: str) -> None:
    old, new, touched = CHANGED[case]
    before = prints(tmp_path, BASE)
    after = prints(tmp_path, edited(BASE, old, new))
    changed = {name for name in before if before[name] != after[name]}
    assert changed == (set(before) if touched == "every" else touched)


CONVERSION = """\
  - name: repeat_rate
    type: conversion
    entity: customer
    base: {measure: orders.revenue}
    conversion: {measure: orders.revenue, filter: "channel = 'web'"}
    window: 30 days
"""


def test_a_conversion_metric_is_known_by_its_rows_not_its_name(tmp_path: Path) -> None:
    before = prints(tmp_path, BASE + CONVERSION)["repeat_rate"]
    renamed = prints(tmp_path, BASE + CONVERSION.replace("repeat_rate", "rebuy_rate"))
    assert renamed["rebuy_rate"] == before
    longer = prints(tmp_path, BASE + CONVERSION.replace("30 days", "31 days"))
    assert longer["repeat_rate"] != before
    other_event = prints(tmp_path, BASE + CONVERSION.replace("'web'", "'app'"))
    assert other_event["repeat_rate"] != before
