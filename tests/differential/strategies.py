"""hypothesis strategies for valid queries over the fixture.

A query is valid by construction: every ``by`` and ``where`` name is reachable from every
source its metrics read (or, without metrics, from one source), ``order`` names only its own
columns, and ``start`` is not after ``end``. Literals are drawn from the fixture's values and
their near misses (other case, a trailing space), and dates from the month, quarter, year and
daylight-saving boundaries the rows sit on.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from decimal import Decimal

from hypothesis import strategies as st

from .fixture import PROJECTS, Project
from .grammar import (
    And,
    Between,
    Compare,
    CompareColumns,
    Filter,
    In,
    IsNull,
    IsTrue,
    Like,
    Literal,
    Not,
    Or,
    Query,
    names_in,
)
from .reference import METRICS, SOURCES, reachable, source_of

__all__ = ["queries"]

D = dt.date

# Names a query may group by. Decimal dimensions (amount, credit) are left out of ``by``: their
# Python type is whatever the engine returns (docs/queries.md, Result types); they are filtered
# on instead.
BY = (
    "metric_time",
    "metric_time.hour",
    "metric_time.day",
    "metric_time.week",
    "metric_time.month",
    "metric_time.quarter",
    "metric_time.year",
    "user",
    "team",
    "order",
    "user.country",
    "users.plan",
    "user.is_active",
    "team.name",
    "user.signed_up_at.month",
    "user.signed_up_at.week",
    "order.status",
    "order.is_gift",
    "orders.quantity",
    "order.shipped_on",
    "order.shipped_on.quarter",
)

TEXT = ("user.country", "user.plan", "users.country", "team.name", "order.status")
TEXT_VALUES = (
    "DE", "de", "DE ", "De", "FR", "Fr", "fr", "US", "us", "IT",
    "pro", "Pro", "free", "Free ", "Free", "enterprise",
    "paid", "Paid", "PAID", "paid ", "refunded",
    "Core", "core", "Core ", "", "a", "Z",
)  # fmt: skip
PATTERNS = (
    "D%", "d%", "%E", "%e", "_E", "__", "___", "%", "_", "% ", "%E ", "F_", "P%", "p%",
    "%ai%", "paid%", "%id", "Core_", "C%e", "%r%",
)  # fmt: skip
NUMBERS = ("user.credit", "order.amount", "orders.quantity")
NUMBER_VALUES: tuple[Literal, ...] = (
    0, 1, 2, 3, 10, -1, Decimal("2.5"), Decimal("2.50"), Decimal("-2.50"), Decimal("0.05"),
    Decimal("0.5"), Decimal("-0.50"), Decimal("1.15"), Decimal("7.25"), Decimal("99.99"),
    Decimal("10.005"),
)  # fmt: skip
BOOLEANS = ("user.is_active", "order.is_gift")
KEYS = ("user", "order", "team")
DATES = (
    "metric_time",
    "metric_time.month",
    "metric_time.week",
    "user.signed_up_at",
    "order.shipped_on",
    "order.shipped_on.month",
)
BOUNDARIES = (
    D(2025, 12, 31), D(2026, 1, 1), D(2026, 1, 4), D(2026, 1, 5), D(2026, 1, 31),
    D(2026, 2, 1), D(2026, 2, 2), D(2026, 2, 15), D(2026, 2, 28), D(2026, 3, 1),
    D(2026, 3, 2), D(2026, 3, 7), D(2026, 3, 8), D(2026, 3, 9), D(2026, 3, 28),
    D(2026, 3, 29), D(2026, 3, 30), D(2026, 3, 31), D(2026, 4, 1), D(2026, 6, 30),
    D(2026, 7, 1), D(2026, 10, 24), D(2026, 10, 25), D(2026, 10, 26), D(2026, 10, 31),
    D(2026, 11, 1), D(2026, 11, 2), D(2026, 12, 31), D(2027, 1, 1), D(2027, 1, 4),
)  # fmt: skip
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")


def _leaf(names: Sequence[str]) -> st.SearchStrategy[Filter]:
    """One condition over one of ``names`` (or two text names)."""
    options: list[st.SearchStrategy[Filter]] = []
    text = [n for n in TEXT if n in names]
    numbers = [n for n in NUMBERS if n in names]
    booleans = [n for n in BOOLEANS if n in names]
    keys = [n for n in KEYS if n in names]
    dates = [n for n in DATES if n in names]
    if text:
        name = st.sampled_from(text)
        value = st.sampled_from(TEXT_VALUES)
        options += [
            st.builds(Compare, name, st.sampled_from(COMPARISONS), value),
            st.builds(In, name, st.lists(value, min_size=1, max_size=3).map(tuple), st.booleans()),
            st.builds(Between, name, value, value, st.booleans()),
            st.builds(Like, name, st.sampled_from(PATTERNS), st.booleans()),
            st.builds(IsNull, name, st.booleans()),
        ]
        if len(text) > 1:
            options.append(st.builds(CompareColumns, name, st.sampled_from(("=", "<>", "<")), name))
    if numbers:
        name = st.sampled_from(numbers)
        value = st.sampled_from(NUMBER_VALUES)
        options += [
            st.builds(Compare, name, st.sampled_from(COMPARISONS), value),
            st.builds(In, name, st.lists(value, min_size=1, max_size=3).map(tuple), st.booleans()),
            st.builds(Between, name, value, value, st.booleans()),
            st.builds(IsNull, name, st.booleans()),
        ]
    if booleans:
        name = st.sampled_from(booleans)
        options += [
            st.builds(IsTrue, name),
            st.builds(IsNull, name, st.booleans()),
        ]
    if keys:
        name = st.sampled_from(keys)
        value = st.integers(0, 13)
        options += [
            st.builds(Compare, name, st.sampled_from(COMPARISONS), value),
            st.builds(In, name, st.lists(value, min_size=1, max_size=3).map(tuple), st.booleans()),
        ]
    if dates:
        name = st.sampled_from(dates)
        value = st.sampled_from(BOUNDARIES)
        options += [
            st.builds(Compare, name, st.sampled_from(COMPARISONS), value),
            st.builds(Between, name, value, value, st.booleans()),
        ]
    return st.one_of(options)


@functools.cache
def filters(names: tuple[str, ...]) -> st.SearchStrategy[Filter]:
    """Conditions over ``names`` combined with AND, OR and NOT (built once per set of names)."""
    return st.recursive(
        _leaf(names),
        lambda inner: st.one_of(
            st.builds(Not, inner), st.builds(And, inner, inner), st.builds(Or, inner, inner)
        ),
        max_leaves=4,
    )


METRIC_LISTS = st.lists(st.sampled_from(sorted(METRICS)), min_size=1, max_size=3, unique=True)
FILTERABLE = tuple(dict.fromkeys((*TEXT, *NUMBERS, *BOOLEANS, *KEYS, *DATES)))


@st.composite
def queries(draw: st.DrawFn, projects: Sequence[Project] = PROJECTS) -> Query:
    project = draw(st.sampled_from(projects))
    # One query in ten lists dimension values without metrics.
    listing = draw(st.integers(0, 9)) == 0
    metrics = () if listing else tuple(draw(METRIC_LISTS))
    if metrics:
        sources = set().union(*(source_of(m) for m in metrics))

        def usable(name: str) -> bool:
            return all(reachable(name, s) for s in sources)
    else:
        # Without metrics: names of a source (never metric_time), read from the one that
        # reaches them all with the fewest joins.
        def usable(name: str) -> bool:
            return not name.startswith("metric_time")

    # at most one metric_time grain, anywhere among the names
    names = [n for n in BY if usable(n) and not n.startswith("metric_time")]
    times = [n for n in BY if usable(n) and n.startswith("metric_time")]
    by = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    if times and draw(st.booleans()):
        by.insert(draw(st.integers(0, len(by))), draw(st.sampled_from(times)))
    where = draw(st.none() | filters(tuple(n for n in FILTERABLE if usable(n))))
    if not metrics:
        wanted = set(by) | (names_in(where) if where is not None else set())
        if not by or not any(all(reachable(n, s) for n in wanted) for s in SOURCES):
            by, where = ["team.name"], None
    start = end = None
    if metrics:
        start = draw(st.none() | st.sampled_from(BOUNDARIES))
        end = draw(
            st.none() | st.sampled_from([d for d in BOUNDARIES if start is None or d >= start])
        )
    columns = [*by, *metrics]
    order = tuple(
        ("-" if descending else "") + name
        for name, descending in draw(
            st.lists(
                st.tuples(st.sampled_from(columns), st.booleans()),
                max_size=2,
                unique_by=lambda t: t[0],
            )
        )
    )
    limit = draw(st.none() | st.integers(1, 5))
    return Query(
        project.time_zone, project.week_start, metrics, tuple(by), where, start, end, order, limit
    )
