"""Passes over a whole sqlglot tree that every compile makes: which node kinds it holds, and
releasing it once written; and another form of a relation kept in its ``meta``.

Each is one loop over the nodes, without ``Expr.walk``'s order (breadth first, a generator per
node), whose cost per node matters on every compile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeAlias

from sqlglot import exp

__all__ = [
    "CHANGE_MARKS",
    "CORRELATED",
    "DATE_DAYS",
    "EDGE_PERIODS",
    "LATEST",
    "RANGE_JOINED",
    "Alternative",
    "NodesByKind",
    "by_kind",
    "holds",
    "kinds_in",
    "nodes_of",
    "release",
]

# Key in a conversion relation's ``meta``: the same rows with each entity's conversions looked
# up by correlated subqueries, for the engines that run them well (``sql/dialects.py``).
CORRELATED = "correlated"
# Key in the ``meta`` of a ``MAX`` of every row's day: the day of the latest time instead, for
# the engines whose times are typed values (``sql/dialects.py``: ``latest_of_typed_times``).
LATEST = "latest"
# Key in the ``meta`` of the table a churn metric's last observed period is read from: its
# period edges instead, which hold the same periods in a few rows, for MariaDB, which computes
# a CTE again for every read (``sql/dialects.py``: ``observed_from_edges``).
EDGE_PERIODS = "edge_periods"
# Key in the ``meta`` of a window's points (``sql/windows.py``), read once, on the outer side
# of a LEFT JOIN on a range: SQLite computes them first only when told (``sql/sqlite.py``).
RANGE_JOINED = "range_joined"
# Key in the ``meta`` of a semi-additive scan's per-day step whose day is that of a column of
# dates: SQLite groups by the column as written first (``sql/sqlite.py``).
DATE_DAYS = "date_days"
# Key in the ``meta`` of a window's marks (``sql/windows.py``), each run's +1 and -1 on a day
# computed from three of its columns: PostgreSQL keeps it a subquery of its own
# (``sql/dialects.py``: ``postgres_marks_kept``).
CHANGE_MARKS = "change_marks"


@dataclass(frozen=True)
class Alternative:
    """Another form of a relation or expression, kept in its ``meta``: shared by its copies, not
    copied with each (the planner copies relations for every query, and the dialects that
    do not use the form would pay for it). ``tree`` is never changed: a query's changes to
    the form (``changed``) are made on the copy a dialect takes (``taken``), so a dialect
    that does not use the form pays for neither.

    >>> form = Alternative(exp.column("x")).changed(lambda tree: tree.set("table", "t"))
    >>> form.taken().sql(), form.tree.sql()
    ('t.x', 'x')
    """

    tree: exp.Expr
    changes: tuple[Callable[[exp.Expr], None], ...] = ()

    def __deepcopy__(self, memo: dict[int, object]) -> Alternative:
        return self

    def changed(self, change: Callable[[exp.Expr], None]) -> Alternative:
        """The same form, with ``change`` (in place, on a copy) to make after the others."""
        return Alternative(self.tree, (*self.changes, change))

    def taken(self) -> exp.Expr:
        """A copy of the form with its changes made, for one tree."""
        tree = self.tree.copy()
        for change in self.changes:
            change(tree)
        return tree


# The nodes of a tree by their type (``by_kind``).
NodesByKind: TypeAlias = dict[type[exp.Expr], list[exp.Expr]]


def kinds_in(tree: exp.Expr) -> set[type[exp.Expr]]:
    """The node types in ``tree``, in one pass over it (``find`` would walk it once per kind
    asked about).

    >>> sorted(k.__name__ for k in kinds_in(exp.Round(this=exp.column("x"))))
    ['Column', 'Identifier', 'Round']
    """
    return {type(node) for node in nodes_of(tree)}


def by_kind(tree: exp.Expr) -> NodesByKind:
    """The nodes of ``tree`` by their type, in one pass over it: what ``kinds_in`` finds, with
    the nodes themselves, so that a rule for a few kinds is handed those nodes without a walk
    of its own.

    >>> found = by_kind(exp.Round(this=exp.column("x")))
    >>> sorted(k.__name__ for k in found), [n.sql() for n in found[exp.Column]]
    (['Column', 'Identifier', 'Round'], ['x'])
    """
    found: NodesByKind = {}
    for node in nodes_of(tree):
        kind = type(node)
        if kind in found:
            found[kind].append(node)
        else:
            found[kind] = [node]
    return found


def holds(present: Iterable[type[exp.Expr]], kinds: tuple[type[exp.Expr], ...]) -> bool:
    """Whether a type of ``present`` is one of ``kinds`` or a subclass of one (as ``find``).

    >>> holds({exp.Column}, (exp.Round,)), holds({exp.Column}, (exp.Column,))
    (False, True)
    """
    return any(issubclass(kind, kinds) for kind in present)


def release(tree: exp.Expr) -> None:
    """Unlink every node of ``tree`` from its parent.

    A sqlglot node refers to its parent and the parent to it, so a tree nobody uses any more is
    a reference cycle: only a full run of the garbage collector frees it, and that run also
    visits everything alive in the process, in one pause that lands on whichever compile
    happens to trigger it (a 1,000-metric query leaves about 75,000 such objects). Unlinked,
    the tree is freed by reference counting as soon as it is dropped, within the compile that
    made it.

    >>> tree = exp.Not(this=exp.column("x"))
    >>> release(tree)
    >>> tree.this.parent is None
    True
    """
    for node in nodes_of(tree):
        node.parent = None


def nodes_of(tree: exp.Expr) -> list[exp.Expr]:
    """Every node of ``tree``, parents before their children (a list, grown while it is read:
    a generator costs a switch per node). A primitive node (sqlglot's ``is_primitive``: an
    identifier, a literal) holds no nodes, so its arguments are not read.

    >>> [type(n).__name__ for n in nodes_of(exp.Not(this=exp.column("x")))]
    ['Not', 'Column', 'Identifier']
    """
    found = [tree]
    for node in found:
        if node.is_primitive:
            continue
        for value in node.args.values():
            if isinstance(value, exp.Expr):
                found.append(value)
            elif type(value) is list:
                found.extend([item for item in value if isinstance(item, exp.Expr)])
    return found
