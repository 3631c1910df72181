"""The joins of one scan: dimension sources joined many-to-one along entity paths."""

from __future__ import annotations

import dataclasses

from sqlglot import exp

from metrics_layer.graph.graph import Graph, JoinStep
from metrics_layer.graph.model import Source
from metrics_layer.planner.plan import Aggregation, Join, expressions

__all__ = ["Joins", "requalify", "unread_joins_dropped"]


class Joins:
    """The joins of one scan: one LEFT JOIN per distinct entity path, named after its source.

    A history source (``valid_from``/``valid_to``) is joined as of each row's time: the scan's
    ``time`` dimension (its metric_time) must fall in the row's validity, ``valid_from <= time``
    and ``time < valid_to`` (or ``valid_to`` NULL), both as stored.
    """

    def __init__(self, graph: Graph, source: str, time: str | None = None) -> None:
        self.graph = graph
        self.source = source
        self.time = time
        self._aliases: dict[tuple[JoinStep, ...], str] = {(): source}
        self._joins: list[Join] = []

    def alias(self, path: tuple[JoinStep, ...]) -> str:
        for end in range(1, len(path) + 1):
            prefix = path[:end]
            if prefix in self._aliases:
                continue
            step = prefix[-1]
            taken = set(self._aliases.values())
            alias = (
                step.right
                if step.right not in taken
                else (f"{step.right}_via_{'_'.join(s.entity for s in prefix)}")
            )
            left_alias = self._aliases[prefix[:-1]]
            left = self.graph.sources[step.left].entities[step.entity]
            right = self.graph.sources[step.right].entities[step.entity]
            # New trees (the keys are copied): linked, not copied again.
            on = exp.and_(
                *(
                    exp.EQ(
                        this=requalify(lk.copy(), step.left, left_alias),
                        expression=requalify(rk.copy(), step.right, alias),
                    )
                    for lk, rk in zip(left.keys, right.keys, strict=True)
                ),
                copy=False,
            )
            target = self.graph.sources[step.right]
            if target.valid_from is not None:
                on = exp.and_(on, self._valid(target, alias, left_alias, step.left), copy=False)
            self._aliases[prefix] = alias
            self._joins.append(Join(alias, target.relation, on))
        return self._aliases[path]

    def _valid(self, history: Source, alias: str, left_alias: str, left: str) -> exp.Expr:
        """The scan's time within a row's validity (the graph admits only a direct hop from
        the scan's own source to a history source)."""
        assert left == self.source, "a history source is joined from the scan's source"
        name = self.time or self.graph.sources[left].time
        assert name is not None, "the graph refuses a history join from a source without time"
        time = self.graph.sources[left].dimensions[name].expr.copy()
        at = requalify(time, left, left_alias)
        assert history.valid_from is not None
        start = requalify(history.valid_from.copy(), history.name, alias)
        inside: exp.Expr = exp.LTE(this=start, expression=at)
        if history.valid_to is None:
            return inside
        end = requalify(history.valid_to.copy(), history.name, alias)
        open_or_later = exp.Or(
            this=exp.Is(this=end, expression=exp.Null()),
            expression=exp.LT(this=at.copy(), expression=end.copy()),
        )
        return exp.and_(inside, exp.Paren(this=open_or_later), copy=False)

    def extra(self, alias: str, relation: exp.Expr, on: exp.Expr) -> str:
        """LEFT JOIN ``relation`` (a per-entity metric, for a metric-valued filter) under
        ``alias``, once per scan; the alias it is joined under."""
        if alias not in {j.alias for j in self._joins}:
            self._joins.append(Join(alias, relation, on))
        return alias

    def joins(self) -> tuple[Join, ...]:
        return tuple(self._joins)


def requalify(expression: exp.Expr, source: str, alias: str | None) -> exp.Expr:
    """Point columns of ``source`` at the table alias ``alias`` (in place).

    >>> requalify(exp.column("plan", "users"), "users", "users_via_owner").sql()
    'users_via_owner.plan'
    """
    if alias is None or alias == source:
        return expression

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table == source:
            return exp.column(node.this.copy(), table=alias)
        return node

    return expression.transform(rule, copy=False)


def unread_joins_dropped(aggregation: Aggregation) -> Aggregation:
    """``aggregation`` without the joins nothing of it reads: no expression of its own and no
    ON condition of a join it keeps names the join's alias. Each join is many-to-one, so
    dropping one leaves the rows as they were; the filters a derived source's entities
    already passed (``Narrow``) leave their joins unread."""
    read = {
        c.table
        for value in expressions(aggregation, skip=("relation", "joins", "narrow"))
        for c in value.find_all(exp.Column)
    }
    kept = list(aggregation.joins)
    while unread := [join for join in kept if join.alias not in read and not _reached(join, kept)]:
        kept = [join for join in kept if join not in unread]
    return dataclasses.replace(aggregation, joins=tuple(kept))


def _reached(join: Join, joins: list[Join]) -> bool:
    """Whether another of ``joins`` is joined through ``join`` (its ON names ``join``)."""
    return any(
        c.table == join.alias
        for other in joins
        if other is not join
        for c in other.on.find_all(exp.Column)
    )
