"""The joins of one scan: dimension sources joined many-to-one along entity paths."""

from __future__ import annotations

from sqlglot import exp

from metrics_layer.graph.graph import Graph, JoinStep
from metrics_layer.planner.plan import Join

__all__ = ["Joins", "requalify"]


class Joins:
    """The joins of one scan: one LEFT JOIN per distinct entity path, named after its source."""

    def __init__(self, graph: Graph, source: str) -> None:
        self.graph = graph
        self.source = source
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
            on = exp.and_(
                *(
                    exp.EQ(
                        this=requalify(lk.copy(), step.left, left_alias),
                        expression=requalify(rk.copy(), step.right, alias),
                    )
                    for lk, rk in zip(left.keys, right.keys, strict=True)
                )
            )
            self._aliases[prefix] = alias
            self._joins.append(Join(alias, self.graph.sources[step.right].relation, on))
        return self._aliases[path]

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
