"""What one caller may see: the metrics and dimensions its access policy shows, and the row
filter added to every query it runs (``server/contracts.py: Access``; docs/access.md).

Names are compared as what they stand for, not as written: ``user.country``,
``users.country``, ``user.country`` in a ``where`` and a bare ``country`` in a filter over
``users`` are one dimension (``users.country``), so a deny list cannot be stepped around by
another spelling. A name that is hidden or unknown gets one answer, which suggests only
visible names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from sqlglot import exp

from metrics_layer.api import SemanticLayer
from metrics_layer.errors import AccessError, QueryError, did_you_mean
from metrics_layer.graph.calendars import PART_NAMES
from metrics_layer.graph.expressions import column_parts, parse_condition
from metrics_layer.graph.graph import METRIC_TIME, Graph
from metrics_layer.planner.conditions import conjunction
from metrics_layer.planner.dimensions import ValidNames, ValidNamesFinder
from metrics_layer.planner.planner import extent_of
from metrics_layer.planner.query import MetricQuery, RowPolicy
from metrics_layer.server.policies import Names, Policy

__all__ = ["DENIED_KEY", "PolicyAccess", "dimension_keys", "policy_problems"]

# The key of an Access that refuses everything (no policy applies).
DENIED_KEY = "denied"


class PolicyAccess:
    """The access of one principal under ``policy`` (None: no policy applies, nothing is
    visible), with ``claims`` filled into its row filter once, here: a missing or unusable
    claim is an AccessError before any query."""

    def __init__(self, policy: Policy | None, claims: Mapping[str, Any], graph: Graph) -> None:
        self.policy = policy
        self.graph = graph
        self.row: RowPolicy | None = None
        if policy is not None and policy.row_filter is not None:
            self.row = RowPolicy.of(policy.row_filter.fill(claims))
        if policy is None:
            self._key = DENIED_KEY
        else:
            text = json.dumps(
                [policy.canonical, None if self.row is None else self.row.text], sort_keys=True
            )
            self._key = "policy-" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def key(self) -> str:
        """A hash of the policy and of its row filter with the claim values in it: equal keys,
        equal visible names and equal rows."""
        return self._key

    def sees_metric(self, name: str) -> bool:
        """Whether metric ``name`` (any of its versions, ``name@N``) is visible."""
        if self.policy is None:
            return False
        return self.policy.metrics.admits(name.partition("@")[0])

    def sees_dimension(self, name: str) -> bool:
        """Whether every dimension ``name`` can stand for is visible (an unknown name is not).
        ``metric_time`` is visible unless a deny list names it."""
        return self._sees(self.graph, name)

    def _sees(self, graph: Graph, name: str) -> bool:
        if self.policy is None:
            return False
        keys = dimension_keys(graph, name)
        if not keys:
            return False
        names = self.policy.dimensions
        denied = _keys_of(graph, names.deny)
        if keys & denied:
            return False
        if names.allow is None:
            return True
        allowed = _keys_of(graph, names.allow) | {METRIC_TIME}
        return keys <= allowed

    def restrict(self, layer: SemanticLayer, query: MetricQuery) -> MetricQuery:
        """``query`` with the row filter added (``MetricQuery.policy``); an AccessError when
        it names a hidden metric or dimension (in metrics, by, where or order), or asks for a
        metric that the row filter cannot reach."""
        graph = layer.graph
        if self.policy is None:
            raise AccessError(
                "no access policy applies to your credentials; ask an administrator for a role"
            )
        metrics: list[str] = []
        for name in query.metrics:
            extent = extent_of(name)
            if extent is not None:
                self._check_dimension(graph, extent[2], "metrics")
                continue
            base = name.partition("@")[0]
            if base not in graph.current or not self.sees_metric(base):
                visible = [m for m in graph.current if self.sees_metric(m)]
                raise AccessError(
                    f"no metric '{base}' is available to you." + did_you_mean(base, visible),
                    field="metrics",
                )
            metrics.append(name)
        for name in query.by:
            self._check_dimension(graph, name, "by")
        if query.where is not None:
            self._check_where(graph, query.where)
        asked = {*query.metrics, *query.by}
        for item in query.order:
            if item.name not in asked:
                raise AccessError(
                    f"'{item.name}' is neither a requested metric nor a 'by' name", field="order"
                )
        if self.row is None:
            return query
        names = self.policy.row_filter.names if self.policy.row_filter is not None else ()
        for name in metrics:
            self._check_reach(graph, name, names)
        if not metrics:
            self._check_listing(graph, query.by, names)
        tree = self.row.tree.copy()
        if query.policy is not None:
            tree = conjunction(query.policy.tree.copy(), tree) or tree
        return dataclasses.replace(query, policy=RowPolicy.of(tree))

    def _check_dimension(self, graph: Graph, name: str, field: str) -> None:
        if self._sees(graph, name):
            return
        visible = [n for n in graph.query_names() if self._sees(graph, n)]
        raise AccessError(
            f"no dimension '{name}' is available to you." + did_you_mean(name, visible),
            field=field,
        )

    def _check_where(self, graph: Graph, where: str) -> None:
        """Every name in ``where`` is a visible dimension; a metric per entity
        (``user.some_metric > 3``) is visible, and only without a row filter: it is computed
        over each entity's rows, which the row filter does not cut."""
        tree = parse_condition(where, field="where")
        for node in tree.find_all(exp.Column):
            parts = column_parts(node)
            name = ".".join(parts)
            if len(parts) == 2 and _metric_valued(graph, parts[0], parts[1]):
                if not self.sees_metric(parts[1]):
                    raise AccessError(f"no metric '{parts[1]}' is available to you", field="where")
                if self.row is not None:
                    raise AccessError(
                        f"'{name}': a metric per {parts[0]} cannot be filtered on under a row "
                        "filter; filter on dimensions",
                        field="where",
                    )
                continue
            self._check_dimension(graph, name, "where")

    def _check_reach(self, graph: Graph, metric: str, names: Iterable[str]) -> None:
        try:
            valid = _valid_names(graph, metric)
        except QueryError:
            return  # an unknown version: the planner says which versions there are
        known = {v.name for v in valid.names}
        for name in names:
            parts = name.split(".")
            if name not in known and ".".join(parts[:-1]) not in known:
                raise AccessError(
                    f"'{metric}' cannot be filtered by your access policy's row filter, so it "
                    "is not available to you; ask an administrator",
                    field="metrics",
                )

    def _check_listing(self, graph: Graph, by: Iterable[str], names: Iterable[str]) -> None:
        """A query without metrics lists values from one source: one must reach both the
        ``by`` names and the row filter's."""
        wanted = [*by, *names]
        for source in graph.sources:
            try:
                for name in wanted:
                    graph.resolve(name, source, field="by")
            except QueryError:
                continue
            return
        raise AccessError(
            f"{', '.join(by)} cannot be listed under your access policy's row filter",
            field="by",
        )


def dimension_keys(graph: Graph, name: str) -> frozenset[str]:
    """What a dimension name can stand for: ``source.dimension``, an entity (its key) or
    ``metric_time``; with a last part naming a grain or date part, also what the name without
    it stands for. Empty for a name that is none of these.

    >>> import metrics_layer as ml
    >>> graph = ml.load("definitions").graph
    >>> sorted(dimension_keys(graph, "user.country")), sorted(dimension_keys(graph, "country"))
    (['users.country'], ['users.country'])
    >>> sorted(dimension_keys(graph, "user.signed_up_at.month"))
    ['users.signed_up_at']
    """
    parts = name.strip().split(".")
    keys = set(_declared(graph, parts))
    if len(parts) > 1 and (graph.period(parts[-1]) is not None or parts[-1] in PART_NAMES):
        keys |= _declared(graph, parts[:-1])
    return frozenset(keys)


def _declared(graph: Graph, parts: list[str]) -> set[str]:
    if not parts or not all(parts):
        return set()
    if parts[0] == METRIC_TIME:
        return {METRIC_TIME} if len(parts) <= 2 else set()
    if len(parts) == 1:
        (name,) = parts
        found = {name} if name in graph.primary or name in graph.key_only else set()
        return found | {f"{s.name}.{name}" for s in graph.sources.values() if name in s.dimensions}
    if len(parts) != 2:
        return set()
    owner, dimension = parts
    found = set()
    for source in graph.primaries(owner) if owner in graph.primary else ():
        if dimension in graph.sources[source].dimensions:
            found.add(f"{source}.{dimension}")
    if owner in graph.sources and dimension in graph.sources[owner].dimensions:
        found.add(f"{owner}.{dimension}")
    return found


def _keys_of(graph: Graph, names: Iterable[str]) -> frozenset[str]:
    keys: set[str] = set()
    for name in names:
        keys |= dimension_keys(graph, name)
    return frozenset(keys)


def _metric_valued(graph: Graph, owner: str, name: str) -> bool:
    """As the planner reads ``entity.metric`` in a filter (planner.py: _metric_valued)."""
    entity = owner in graph.primary or owner in graph.key_only
    return entity and name in graph.metrics and not graph.has_dimension(owner, name)


def policy_problems(graph: Graph, policies: Iterable[Policy]) -> list[str]:
    """The names in ``policies`` that ``graph`` does not know: a typo in a deny list would
    otherwise hide nothing."""
    problems: list[str] = []
    for policy in policies:
        for kind, names in (("metrics", policy.metrics), ("dimensions", policy.dimensions)):
            for list_name, listed in _lists(names):
                for name in sorted(listed):
                    known = (
                        name in graph.current
                        if kind == "metrics"
                        else bool(dimension_keys(graph, name))
                    )
                    if not known:
                        problems.append(
                            f"policy '{policy.name}': {kind}.{list_name} names '{name}', which "
                            "the definitions do not have"
                        )
        if policy.row_filter is not None:
            for name in policy.row_filter.names:
                if not dimension_keys(graph, name) or "." not in name:
                    problems.append(
                        f"policy '{policy.name}': row_filter names '{name}', which is not an "
                        "entity.dimension or source.dimension of the definitions"
                    )
    return problems


def _lists(names: Names) -> list[tuple[str, frozenset[str]]]:
    found = [("deny", names.deny)]
    if names.allow is not None:
        found.append(("allow", names.allow))
    return found


# Valid names per metric of a few recent graphs (a reload makes a new graph): the
# planner's rules (planner/dimensions.py), worked out once per metric.
_VALID: dict[int, tuple[Graph, ValidNamesFinder, dict[str, ValidNames]]] = {}
_VALID_LOCK = threading.Lock()
_GRAPHS_KEPT = 4


def _valid_names(graph: Graph, metric_name: str) -> ValidNames:
    metric = graph.metric(metric_name)
    with _VALID_LOCK:
        held = _VALID.get(id(graph))
        if held is None or held[0] is not graph:
            while len(_VALID) >= _GRAPHS_KEPT:
                del _VALID[next(iter(_VALID))]
            held = _VALID[id(graph)] = (graph, ValidNamesFinder(graph), {})
        _, finder, found = held
        valid = found.get(metric.name)
        if valid is None:
            valid = found[metric.name] = finder.find(metric)
        return valid
