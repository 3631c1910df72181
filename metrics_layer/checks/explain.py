"""What changed in a metric between two graphs, in words, from what their fingerprints hash.

Only a base revision can say this (the lock knows a hash, the base the old definition): the two
``Fingerprints.meaning`` of the metric are compared part by part, and a changed measure is
looked into (its source's table or SQL, its aggregation, its expression or time dimension).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from metrics_layer.graph.fingerprint import Fingerprints

__all__ = ["describe", "explainer"]

# The parts of a metric's meaning, in the words of its definition, in the order they are told.
_PARTS = {
    "kind": "type",
    "measure": "measure",
    "base": "base event",
    "conversion": "conversion event",
    "activity": "activity event",
    "entity": "entity",
    "constant": "constant",
    "after": "after",
    "cohort_periods": "cohort_periods",
    "on_or_after": "on_or_after",
    "calculation": "calculation",
    "inputs": "inputs (metrics, offsets)",
    "expr": "expression",
    "filter": "filter",
    "window": "window",
    "grain_to_date": "grain_to_date",
    "period": "period",
    "per": "per",
    "rollup": "rollup",
    "fill_null": "fill_null",
    "fill_periods": "fill_periods",
    "cohort_table": "cohort_table",
    "periods": "the project's time_zone, week_start or fiscal_year_start",
    "format": "fingerprint format",
}


def describe(
    old: Mapping[str, object], new: Mapping[str, object], measure: Callable[[], str] | None = None
) -> str:
    """The parts that differ between two meanings, e.g. ``"filter changed"``.

    >>> describe({"kind": "simple", "filter": "a"}, {"kind": "simple", "filter": "b"})
    'filter changed'
    >>> describe({"kind": "simple", "window": [7, "day"]}, {"kind": "rolling"})
    'type changed: simple → rolling'
    >>> describe({"kind": "simple", "window": 1}, {"kind": "simple", "filter": "x", "window": 2})
    'filter, window changed'
    >>> describe({"kind": "churn", "period": "week"}, {"kind": "churn", "period": "month"})
    'period changed'
    """
    if old.get("kind") != new.get("kind"):
        return f"type changed: {old.get('kind')} → {new.get('kind')}"
    changed = [key for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
    order = list(_PARTS)
    changed.sort(key=lambda key: order.index(key) if key in order else len(order))
    words = []
    for key in changed:
        if key == "measure" and measure is not None:
            words.append(measure())
        else:
            words.append(_PARTS.get(key, key))
    return f"{', '.join(words)} changed" if words else "what it reads changed"


def explainer(old: Fingerprints, new: Fingerprints) -> Callable[[str, str], str]:
    """``explain(old_name, new_name)`` for ``changes.compare`` over two graphs."""

    def explain(old_name: str, new_name: str) -> str:
        before = old.graph.metrics[old_name]
        after = new.graph.metrics[new_name]

        def measure() -> str:
            if before.measure is None or after.measure is None:
                return "measure"
            was = old.graph.measures[before.measure]
            now = new.graph.measures[after.measure]
            if old.source(was.source) != new.source(now.source):
                return f"source table/SQL of measure {after.measure}"
            if was.agg != now.agg:
                return f"aggregation of measure {after.measure} ({was.agg.value} → {now.agg.value})"
            if before.measure != after.measure and old.measure(before.measure) != new.measure(
                after.measure
            ):
                return f"measure ({before.measure} → {after.measure})"
            return f"measure {after.measure} (its expression or time dimension)"

        told = describe(old.meaning(before), new.meaning(after), measure)
        inputs = [
            item.name
            for item in after.inputs
            if item.measure is None
            and item.name in old.graph.metrics
            and item.name in new.graph.metrics
            and old.metric(item.name) != new.metric(item.name)
        ]
        if inputs:
            names = ", ".join(dict.fromkeys(inputs))
            told = told.replace("inputs (metrics, offsets)", f"input metric {names}")
        return told

    return explain
