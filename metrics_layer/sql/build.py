"""Turn a plan into one sqlglot SELECT: a CTE per aggregation, then the grain join.

CTE names say what they compute: ``events_agg`` aggregates events at the query grain;
``events_per_day`` then ``events_per_day_rollup`` measure per day and roll up;
``*_periods`` holds the first or last period, or the number of periods, of each time bucket;
``grain_keys`` is every combination of grain values any aggregation produced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import assert_never

from sqlglot import exp

from metrics_layer.graph.entity_metrics import narrowed, prune, rows_narrowed
from metrics_layer.planner.conditions import conjunction
from metrics_layer.planner.plan import (
    PER_PERIOD,
    SNAPSHOT_DAY,
    AggColumn,
    Aggregation,
    Daily,
    Fill,
    Lookup,
    Periods,
    Plan,
    Shifted,
    expressions,
)
from metrics_layer.spec.models import Grain, Rollup, SemiAdditive
from metrics_layer.sql.calendar import has_marker, in_calendar, join_calendar
from metrics_layer.sql.names import (
    alias,
    cast,
    cast_operand,
    column,
    date_literal,
    ident,
    table_alias,
)
from metrics_layer.sql.nodes import DATE_DAYS, NodesByKind, by_kind, nodes_of
from metrics_layer.sql.spine import (
    DIGITS,
    FIRST_DAY,
    LAST_DAY,
    bounds_select,
    days_select,
    digits_cte,
    read_by,
    spine_last,
)
from metrics_layer.sql.time import shift, within_dates
from metrics_layer.sql.windows import JOINED_WINDOWS, window_ctes

__all__ = ["FIXED_NAMES", "Built", "build_select", "built"]

PERIOD = PER_PERIOD
FIRST = "first_period"
LAST = "last_period"
COUNT = "period_count"
KEPT = "kept_rows"
KEYS = "grain_keys"
EDGES = "edges"
# Dialects on which a semi-additive scan by time buckets of several days finds each bucket's
# last (first) day first and then aggregates the rows of that day alone (``_edges_first_ctes``,
# two reads of the source), instead of aggregating every day of the range and keeping the last
# (``_daily_ctes``, one read). Both give the same rows. A distinct count per day over every
# row of the range took a third more than the hand-written query's on Spark, which counts the
# last days' rows, and 1.08-1.17x of it on DuckDB (1.00-1.02x in two reads). PostgreSQL,
# SQLite, MariaDB and ClickHouse were faster in one read (docs/benchmarks.md, "a tenth round").
EDGES_FIRST = frozenset({"spark", "duckdb"})
FILL_TIMES = "fill_times"
FILL_BOUNDS = "fill_bounds"
FILL_DAYS = "fill_days"
FILL_PERIODS = "fill_periods"
FILL_OTHERS = "fill_others"
# The CTE names the statement may hold besides its scans' names and words added to those
# (``events_agg_periods``): the planner keeps every scan's name clear of them
# (``planner._Scan``).
FIXED_NAMES = frozenset(
    {FILL_TIMES, FILL_BOUNDS, FILL_DAYS, FILL_PERIODS, FILL_OTHERS, KEYS, DIGITS}
)


def build_select(plan: Plan, *, consume: bool = False) -> exp.Select:
    """The whole query for ``plan`` as a sqlglot tree, dialect-neutral (the forms that
    ``built`` chooses for a dialect are those of no dialect named).

    With ``consume`` the tree takes the plan's own expressions where each is used once, instead
    of copies: faster, and the plan must not be used again.
    """
    return built(plan, consume=consume).tree


@dataclass(frozen=True)
class Built:
    """A query's tree (``build_select``) and, when building it looked for calendar markers,
    its nodes by type from that walk (``sql/nodes.py: by_kind``), for the dialect's rules to
    start from (``sql/dialects.py: render``) instead of walking the tree again."""

    tree: exp.Select
    nodes: NodesByKind | None


def built(plan: Plan, *, consume: bool = False, dialect: str | None = None) -> Built:
    """``build_select``, with the nodes by type of the tree when they were found.

    ``dialect``: the dialect the tree is for, where two forms give the same rows and one is
    faster on that engine (``sql/windows.py``: ``JOINED_WINDOWS``); its rules still apply
    after (``sql/dialects.py: render``).
    """
    take: Take = _same if consume else _copy
    joined = JOINED_WINDOWS.get(dialect or "", 1)
    edges_first = dialect in EDGES_FIRST
    shared_days = {a.daily.shared for a in plan.aggregations if a.daily is not None}
    ctes: list[exp.CTE] = []
    final_names: list[str] = []
    defining: list[str] = []
    relations = _Relations(ctes)
    finals: dict[str, Aggregation] = {}
    read = _read_directly(plan)
    for aggregation in plan.aggregations:
        edges = edges_first and _edges_first(aggregation, shared_days)
        built, final = _aggregation_ctes(aggregation, relations, take, joined, edges)
        ctes.extend(built)
        finals[final] = aggregation
        if read is not None and final not in read:
            continue  # read only through a shifted view
        final_names.append(final)
        if aggregation.offset is None:
            defining.append(final)
    for shifted in plan.shifted:
        ctes.append(_shifted_cte(shifted, finals[shifted.of]))
        final_names.append(shifted.name)
    aliases = [g.alias for g in plan.groupings]
    if plan.fill is not None:
        select = _filled_select(plan, plan.fill, aliases, final_names, defining, relations, take)
    else:
        complete = next((f for f in defining if _every_period(finals[f], plan)), None)
        select = _final_select(
            plan, aliases, final_names, defining or final_names, ctes, take, complete
        )
    if plan.within:
        select.set("where", exp.Where(this=_within(plan.within, select)))
    order = _order(plan.order, aliases)
    if order:
        select.set("order", exp.Order(expressions=order))
    if plan.limit is not None:
        select.set("limit", exp.Limit(expression=exp.Literal.number(plan.limit)))
    if ctes:
        select.set("with_", exp.With(expressions=ctes))
    if plan.calendar is None:  # no calendar period can be named: the tree is not walked
        return Built(select, None)
    nodes = by_kind(select)
    if plan.calendar.spine or has_marker(nodes.get(exp.Anonymous, ())):
        join_calendar(select, plan.calendar)
        nodes = by_kind(select)
    return Built(select, nodes)


def _every_period(agg: Aggregation, plan: Plan) -> bool:
    """Whether ``agg``'s rows are every period of the query's range, and the query is grouped
    by built-in grains of metric_time alone, so that every other aggregation's periods are
    among them: a rolling or cumulative aggregation fills in the periods of its day spine,
    which without an offset spans the range."""
    window = agg.window
    if window is None or agg.offset is not None or agg.groups:
        return False
    if window.spine.start is None or window.spine.end is None:
        return False
    times = [a for a, _ in window.periods]
    return bool(times) and all(g.alias in plan.never_null for g in plan.groupings)


def _within(
    within: tuple[tuple[str, dt.date | None, dt.date | None], ...], select: exp.Select
) -> exp.Expr:
    """The grain keys of ``select``'s base table within their (start, end)."""
    base = select.args["from_"].this.alias_or_name
    kept = [within_dates(column(name, base), start, end) for name, start, end in within]
    return exp.and_(*(k for k in kept if k is not None), copy=False)


def _read_directly(plan: Plan) -> set[str] | None:
    """The CTEs the metrics read (None: every aggregation, for a listing without metrics).
    An aggregation the metrics read only through a shifted view does not join the grain: it
    defines no period of its own."""
    if not plan.shifted or not plan.metrics:
        return None
    return {c.table for m in plan.metrics for c in m.expr.find_all(exp.Column)}


def _shifted_cte(shifted: Shifted, of: Aggregation) -> exp.CTE:
    """The rows of ``of`` at the query grain, each metric_time grouping moved by the offset."""
    moved, final = dict(shifted.moved), shifted.of
    values = [alias(moved[a].copy(), a) if a in moved else column(a, final) for a, _ in of.groups]
    values += [column(c.alias, final) for c in of.columns]
    select = _select(values, exp.Table(this=ident(final)))
    return exp.CTE(this=select, alias=table_alias(shifted.name))


def _order(requested: tuple[tuple[str, bool], ...], aliases: list[str]) -> list[exp.Ordered]:
    """The requested order, then every grain key not in it (ascending): rows are one per grain,
    so the order is total and ties break the same way on every engine. NULLs sort last.

    >>> [o.sql("postgres") for o in _order((("n", True),), ["a", "b"])]
    ['n DESC NULLS LAST', 'a', 'b']
    """
    named = {name for name, _ in requested}
    return [
        exp.Ordered(this=column(name), desc=descending, nulls_first=False)
        for name, descending in requested
    ] + [exp.Ordered(this=column(name), nulls_first=False) for name in aliases if name not in named]


def _final_select(
    plan: Plan,
    aliases: list[str],
    names: list[str],
    defining: list[str],
    ctes: list[exp.CTE],
    take: Take,
    complete: str | None = None,
) -> exp.Select:
    """Join the aggregations on the grain. The grain's rows are those of the aggregations that
    define it (all but period-over-period ones): an offset value joins onto existing periods
    and never adds a period of its own. When one of them holds every period of the range
    (``complete``), the others are joined onto it: no union of every aggregation's keys, which
    MariaDB computes every aggregation again for."""
    metrics = [alias(take(m.expr), m.alias) for m in plan.metrics]
    if len(names) == 1:
        return _on_grain(names[0], aliases, [], metrics, plan.never_null)
    if not aliases:
        select = _select(metrics, exp.Table(this=ident(names[0])))
        for name in names[1:]:
            _join(select, exp.Table(this=ident(name)), None, kind="CROSS")
        return select
    base = defining[0] if complete is None else complete
    if len(defining) > 1 and complete is None:
        ctes.append(exp.CTE(this=_keys(aliases, defining, distinct=True), alias=table_alias(KEYS)))
        base = KEYS
    others = [n for n in names if n != base]
    return _on_grain(base, aliases, others, metrics, plan.never_null)


def _filled_select(
    plan: Plan,
    fill: Fill,
    aliases: list[str],
    names: list[str],
    defining: list[str],
    relations: _Relations,
    take: Take,
) -> exp.Select:
    """Every period of the spine, crossed with every other grain value the aggregations found,
    then each aggregation joined onto those keys."""
    ctes = relations.ctes
    relations.digits()
    spine = fill.spine
    if spine.start is None or spine.end is None:
        times = _keys([fill.bounded_by], defining, distinct=False)
        ctes.append(exp.CTE(this=times, alias=table_alias(FILL_TIMES)))
    bounds = bounds_select(
        spine.start,
        spine.end,
        exp.Table(this=ident(FILL_TIMES)),
        column(fill.bounded_by, FILL_TIMES),
    )
    ctes.append(exp.CTE(this=bounds, alias=table_alias(FILL_BOUNDS)))
    ctes.append(
        exp.CTE(
            this=days_select(FILL_BOUNDS, spine.digits, spine_last(spine.start, spine.end)),
            alias=table_alias(FILL_DAYS),
        )
    )
    periods = read_by(
        _select([alias(e.copy(), a) for a, e in fill.periods], exp.Table(this=ident(FILL_DAYS))),
        FILL_DAYS,
    )
    known = in_calendar(fill.periods)
    if known is not None:
        periods.set("where", exp.Where(this=known))
    periods.set("group", exp.Group(expressions=[e.copy() for _, e in fill.periods]))
    ctes.append(exp.CTE(this=periods, alias=table_alias(FILL_PERIODS)))
    timed = {a for a, _ in fill.periods}
    others = [a for a in aliases if a not in timed]
    base = FILL_PERIODS
    if others:
        found = _keys(others, defining, distinct=True)
        ctes.append(exp.CTE(this=found, alias=table_alias(FILL_OTHERS)))
        keys = _select(
            [column(a, FILL_PERIODS if a in timed else FILL_OTHERS) for a in aliases],
            exp.Table(this=ident(FILL_PERIODS)),
        )
        _join(keys, exp.Table(this=ident(FILL_OTHERS)), None, kind="CROSS")
        ctes.append(exp.CTE(this=keys, alias=table_alias(KEYS)))
        base = KEYS
    metrics = [alias(take(m.expr), m.alias) for m in plan.metrics]
    return _on_grain(base, aliases, names, metrics, plan.never_null)


def _on_grain(
    base: str,
    aliases: list[str],
    names: list[str],
    metrics: list[exp.Alias],
    never_null: frozenset[str] = frozenset(),
) -> exp.Select:
    """The grain keys of ``base`` and the metrics, each of ``names`` LEFT JOINed onto ``base``
    on every grain key: null-safe equality (a NULL group matches a NULL group), plain equality
    for the keys in ``never_null``."""
    groups = [alias(column(a, base), a) for a in aliases]
    select = _select([*groups, *metrics], exp.Table(this=ident(base)))
    for name in names:
        on = exp.and_(
            *(
                (exp.EQ if a in never_null else exp.NullSafeEQ)(
                    this=column(a, base), expression=column(a, name)
                )
                for a in aliases
            ),
            copy=False,
        )
        _join(select, exp.Table(this=ident(name)), on, side="LEFT")
    return select


def _keys(aliases: list[str], names: list[str], *, distinct: bool) -> exp.Query:
    """The columns ``aliases`` of every CTE of ``names``, one UNION (ALL unless ``distinct``)."""
    query: exp.Query = _select_keys(aliases, names[0])
    for name in names[1:]:
        query = exp.Union(this=query, expression=_select_keys(aliases, name), distinct=distinct)
    return query


def _select_keys(aliases: list[str], name: str) -> exp.Select:
    return _select([column(a, name) for a in aliases], exp.Table(this=ident(name)))


def _aggregation_ctes(
    agg: Aggregation, relations: _Relations, take: Take, joined: int, edges_first: bool
) -> tuple[list[exp.CTE], str]:
    if agg.window is not None:
        return window_ctes(agg, relations, take, joined)
    if agg.daily is not None and edges_first:
        return _edges_first_ctes(agg, agg.daily, relations, take), agg.name
    if agg.daily is not None:
        return _daily_ctes(agg, agg.daily, relations, take), agg.name
    ctes: list[exp.CTE] = []
    periods = f"{agg.name}_periods"
    needed = _periods_needed(agg)
    on_calendar = agg.periods is not None and agg.periods.spine is not None
    by_arithmetic = agg.periods is not None and agg.periods.grains is not None
    if agg.periods is not None and needed and not on_calendar:
        ctes.append(_periods_cte(agg, agg.periods, periods, needed, relations, take))
    regroup = dict(agg.regroup)
    inner = [(a, e) for a, e in agg.groups if a not in regroup]
    group_by = [e.copy() for _, e in inner]
    scan = _select([alias(take(e), a) for a, e in inner], _scanned(agg, relations))
    for join in agg.joins:
        _join(scan, relations.use(join.relation, join.alias), take(join.on), side="LEFT")
    if agg.keep is not None and agg.periods is not None:
        edge = LAST if agg.keep is SemiAdditive.LAST else FIRST
        on = _partition_match(agg.periods, periods)
        on.append(exp.EQ(this=agg.periods.period.copy(), expression=column(edge, periods)))
        _join(scan, exp.Table(this=ident(periods)), exp.and_(*on, copy=False), kind="INNER")
    if agg.where is not None:
        scan.set("where", exp.Where(this=take(agg.where)))
    if agg.per is not None:
        group_by.append(agg.per.copy())
        scan.append("expressions", alias(take(agg.per), PERIOD))
    for c in agg.columns:
        scan.append("expressions", alias(take(c.call), c.alias))
    if group_by:
        scan.set("group", exp.Group(expressions=group_by))
    ctes.append(exp.CTE(this=scan, alias=table_alias(agg.name)))
    if agg.per is None or agg.periods is None:
        return ctes, agg.name
    if needed and on_calendar and not by_arithmetic:
        ctes.extend(_calendar_periods_ctes(agg, agg.periods, periods, needed, relations))
    range_days = None
    if needed and by_arithmetic:
        range_days = _range_days(agg, agg.periods, f"{agg.name}_bounds", relations)
        if range_days.cte is not None:
            ctes.append(range_days.cte)
    rolled = f"{agg.name}_rollup"
    aliases = [a for a, _ in agg.groups]

    def key(name: str) -> exp.Expr:
        """A grain key in the rollup: the per-day step's column, or computed from its day."""
        return regroup[name].copy() if name in regroup else column(name, agg.name)

    outer = _select(
        [alias(key(a), a) if a in regroup else key(a) for a in aliases],
        exp.Table(this=ident(agg.name)),
    )

    def bucket_edge(name: str) -> exp.Expr:
        """A bucket's first or last day, or its number of days."""
        assert agg.periods is not None
        if range_days is None:
            return column(name, periods)
        return _bucket_days(agg.periods, key, name, range_days.first, range_days.last)

    for c in agg.columns:
        outer.append("expressions", alias(_rollup(c, agg.name, bucket_edge), c.alias))
    match = [exp.EQ(this=key(a), expression=column(a, periods)) for a, _ in agg.periods.partition]
    if needed and match and not by_arithmetic:
        _join(outer, exp.Table(this=ident(periods)), exp.and_(*match, copy=False), kind="INNER")
    elif needed and not by_arithmetic:
        _join(outer, exp.Table(this=ident(periods)), None, kind="CROSS")
    if range_days is not None and range_days.cte is not None:
        # The range's bounds read from the source: one row. A row without a time is on no
        # day, so it is in no bucket (with both bounds given, the range leaves it out).
        _join(outer, exp.Table(this=ident(range_days.cte.alias)), None, kind="CROSS")
        undated = exp.Is(this=column(PERIOD, agg.name), expression=exp.Null())
        outer.set("where", exp.Where(this=exp.Not(this=undated)))
    if aliases:
        outer.set("group", exp.Group(expressions=[key(a) for a in aliases]))
    ctes.append(exp.CTE(this=outer, alias=table_alias(rolled)))
    return ctes, rolled


def _daily_ctes(agg: Aggregation, daily: Daily, relations: _Relations, take: Take) -> list[exp.CTE]:
    """A semi-additive scan per snapshot day (``*_days``: one read of the source), each day's
    rows with the last or first day of their time bucket among those days (``*_periods``, a
    window over the days: engines that compute a CTE once per reference, MariaDB, read the
    source once), and the values of that day at the query grain (``agg.name``)."""
    days, periods = daily.shared or f"{agg.name}_days", f"{agg.name}_periods"
    built = []
    if daily.shared is None:
        built.append(
            exp.CTE(this=_days_select(agg, daily, relations, take), alias=table_alias(days))
        )
    assert agg.periods is not None
    assert agg.keep is not None
    edge = LAST if agg.keep is SemiAdditive.LAST else FIRST
    day: exp.Expr = column(SNAPSHOT_DAY, days)
    if agg.periods.time_range is not None:
        day = exp.Case(ifs=[exp.If(this=take(agg.periods.time_range), true=day)])
    call = exp.Max(this=day) if edge == LAST else exp.Min(this=day)
    partition = [e.copy() for _, e in agg.periods.partition]
    window = exp.Window(this=call, partition_by=partition or None)
    carried = [column(c.alias, days) for c in agg.columns] + [column(SNAPSHOT_DAY, days)]
    if daily.kept is not None:
        carried.append(column(KEPT, days))
    edges = _select(
        [*(alias(take(e), a) for a, e in agg.groups), *carried, alias(window, edge)],
        exp.Table(this=ident(days)),
    )
    kept = _select(
        [column(a, periods) for a, _ in agg.groups]
        + [column(c.alias, periods) for c in agg.columns],
        exp.Table(this=ident(periods)),
    )
    on_edge: exp.Expr = column(SNAPSHOT_DAY, periods).eq(column(edge, periods))
    if daily.kept is not None:
        rows = exp.GT(this=column(KEPT, periods), expression=exp.Literal.number(0))
        on_edge = exp.and_(on_edge, rows, copy=False)
    kept.set("where", exp.Where(this=on_edge))
    built.append(exp.CTE(this=edges, alias=table_alias(periods)))
    built.append(exp.CTE(this=kept, alias=table_alias(agg.name)))
    return built


def _edges_first(agg: Aggregation, shared_days: set[str | None]) -> bool:
    """Whether ``agg``, a semi-additive scan per snapshot day, finds its buckets' edge days
    first (``_edges_first_ctes``) on a dialect of ``EDGES_FIRST``: it counts distinct values
    (a sum per day costs less than a second read: Spark's ``mrr`` by month took 1.2x as long
    in two reads); every time bucket it is grouped by holds several days (by day, every day is
    its bucket's edge); and it reads no other scan's per-day step, nor does any read its own
    (offset inputs share one)."""
    daily, periods = agg.daily, agg.periods
    if daily is None or periods is None or daily.shared is not None or agg.offset is not None:
        return False
    if f"{agg.name}_days" in shared_days or periods.time_range is not None:
        return False
    if any(_is_snapshot_day(e) for _, e in periods.partition):
        return False
    return any(_counts_distinct(c.call) for c in agg.columns)


def _counts_distinct(call: exp.Expr) -> bool:
    """Whether ``call`` is a distinct count (``COUNT(DISTINCT ...)``)."""
    return isinstance(call, exp.Count) and isinstance(call.this, exp.Distinct)


def _is_snapshot_day(node: exp.Expr) -> bool:
    """Whether ``node`` is the per-day step's day, or that day cast to a DATE."""
    day = cast_operand(node, exp.DataType.Type.DATE)
    day = node if day is None else day
    return isinstance(day, exp.Column) and day.name == SNAPSHOT_DAY


def _edges_first_ctes(
    agg: Aggregation, daily: Daily, relations: _Relations, take: Take
) -> list[exp.CTE]:
    """A semi-additive scan in two reads of the source: the last (first) snapshot day of each
    time bucket among the rows of the range, whatever the filters (``*_edges``), then the rows
    of those days that pass the query's filters and one metric's (``Daily.kept``), aggregated
    per bucket and inner group (``agg.name``), each aggregate testing its metric's own filter
    (``Daily.own``). The rows of ``_daily_ctes``, which aggregates every day first: a group
    shown there has a row passing ``kept`` on the edge day, and the rows left out here count
    in no aggregate there."""
    assert agg.periods is not None
    assert agg.keep is not None
    edge = LAST if agg.keep is SemiAdditive.LAST else FIRST
    edges = f"{agg.name}_{EDGES}"

    def over_rows(expression: exp.Expr) -> exp.Expr:
        """A time bucket of the per-day step's day as one of each row's day."""
        return expression.transform(lambda n: daily.day.copy() if _is_snapshot_day(n) else n)

    buckets = [(a, over_rows(e)) for a, e in agg.periods.partition]
    call = exp.Max(this=daily.day.copy()) if edge == LAST else exp.Min(this=daily.day.copy())
    found = _select(
        [*(alias(e, a) for a, e in buckets), alias(call, edge)], _scanned(agg, relations)
    )
    # The range reads the source's own time, and every join is many-to-one (it keeps the
    # source's rows as they are: ``planner/joins.py``), so the edge days need no join.
    if agg.where is not None:
        found.set("where", exp.Where(this=agg.where.copy()))
    if buckets:
        found.set("group", exp.Group(expressions=[e.copy() for _, e in buckets]))
    rows = _select([], _scanned(agg, relations))
    on_edge = exp.EQ(this=daily.day.copy(), expression=column(edge, edges))
    _join(rows, exp.Table(this=ident(edges)), on_edge, kind="INNER")
    for join in agg.joins:
        _join(rows, relations.use(join.relation, join.alias), take(join.on), side="LEFT")
    # The rows that pass the query's filters and one metric's: the groups shown, each
    # aggregate then testing its own filter alone.
    if daily.kept is None:
        calls = [take(c.call) for c in agg.columns]
    else:
        assert len(daily.own) == len(agg.columns)
        calls = [take(call) for call in daily.own]
    where = conjunction(
        None if agg.where is None else take(agg.where),
        None if daily.kept is None else take(daily.kept),
    )
    if where is not None:
        rows.set("where", exp.Where(this=where))
    inner, bucketed = dict(daily.inner), dict(buckets)
    group_by: list[exp.Expr] = []
    for name, _ in agg.groups:
        key = column(name, edges) if name in bucketed else take(inner[name])
        group_by.append(key.copy())
        rows.append("expressions", alias(key, name))
    for c, aggregate in zip(agg.columns, calls, strict=True):
        rows.append("expressions", alias(aggregate, c.alias))
    if group_by:
        rows.set("group", exp.Group(expressions=group_by))
    return [
        exp.CTE(this=found, alias=table_alias(edges)),
        exp.CTE(this=rows, alias=table_alias(agg.name)),
    ]


def _days_select(agg: Aggregation, daily: Daily, relations: _Relations, take: Take) -> exp.Select:
    """The rows of ``agg``'s range aggregated per snapshot day and inner group."""
    values = [alias(take(e), a) for a, e in daily.inner]
    scan = _select([*values, alias(take(daily.day), SNAPSHOT_DAY)], _scanned(agg, relations))
    for join in agg.joins:
        _join(scan, relations.use(join.relation, join.alias), take(join.on), side="LEFT")
    if agg.where is not None:
        scan.set("where", exp.Where(this=take(agg.where)))
    for c in agg.columns:
        scan.append("expressions", alias(take(c.call), c.alias))
    if daily.kept is not None:
        counted = exp.Case(ifs=[exp.If(this=take(daily.kept), true=exp.Literal.number(1))])
        scan.append("expressions", alias(exp.Count(this=counted), KEPT))
    groups = [*(e.copy() for _, e in daily.inner), daily.day.copy()]
    scan.set("group", exp.Group(expressions=groups))
    scan.meta[DATE_DAYS] = True  # its snapshots are dates (``Planner._by_day``)
    return scan


Take = Callable[[exp.Expr], exp.Expr]


def _same(expression: exp.Expr) -> exp.Expr:
    return expression


def _copy(expression: exp.Expr) -> exp.Expr:
    return expression.copy()


class _Relations:
    """Sources defined by SQL become one CTE each (``users_source``), referenced by every scan."""

    def __init__(self, ctes: list[exp.CTE]) -> None:
        self.ctes = ctes
        self.defined: set[str] = set()

    def digits(self) -> None:
        """The spine's table of digits, defined once for every spine of the query."""
        if DIGITS not in self.defined:
            self.defined.add(DIGITS)
            self.ctes.append(digits_cte())

    def use(self, relation: exp.Expr, alias: str | None = None, *, own: bool = False) -> exp.Expr:
        """``relation`` (a source's table or SQL, owned by the graph, so copied; ``own``: made
        for this query, so taken as it is) under ``alias``."""
        alias = alias or relation.alias
        if not isinstance(relation, exp.Subquery):
            table = relation if own else relation.copy()
            table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
            return table
        name = f"{relation.alias}_source"
        if name not in self.defined:
            self.defined.add(name)
            body = relation.this if own else relation.this.copy()
            self.ctes.append(exp.CTE(this=body, alias=table_alias(name)))
        return exp.Table(this=ident(name), alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _scanned(agg: Aggregation, relations: _Relations) -> exp.Expr:
    """The relation ``agg`` scans: its source's, or for a derived source narrowed to the
    query's range, a copy of its own (a CTE per scan, since ranges differ by offset)."""
    if agg.narrow is None:
        return relations.use(agg.relation)
    if agg.narrow.rows:
        own = rows_narrowed(agg.relation, agg.narrow.condition, f"{agg.name}_narrowed")
        return relations.use(own, agg.relation.alias, own=True)
    joins = [(relations.use(j.relation, j.alias), j.on) for j in agg.narrow.joins]
    lookups = [_lookup(each, relations) for each in agg.narrow.lookups if not each.base_rows]
    condition = exp.and_(*lookups, agg.narrow.condition.copy(), copy=False)
    on_base = [each for each in agg.narrow.lookups if each.base_rows]
    base = None
    if on_base:
        rows = on_base[0].base_rows or ""
        base = (rows, exp.and_(*(each.condition.copy() for each in on_base), copy=False))
    own = narrowed(agg.relation, agg.narrow.cte, condition, f"{agg.name}_narrowed", joins, base)
    prune(own, _read_columns(agg))
    return relations.use(own, agg.relation.alias, own=True)


def _lookup(lookup: Lookup, relations: _Relations) -> exp.Expr:
    """``entities.<entity> IN (SELECT <key> FROM <relation> WHERE <condition>)``."""
    keys = _select([lookup.key.copy()], relations.use(lookup.join.relation, lookup.join.alias))
    keys.set("where", exp.Where(this=lookup.condition.copy()))
    return exp.In(this=lookup.entity.copy(), query=exp.Subquery(this=keys))


def _read_columns(agg: Aggregation) -> set[str]:
    """The names of every column ``agg``'s expressions read (of any table): a copy of its
    derived relation keeps those of its columns and drops the others."""
    return {
        n.name
        for value in expressions(agg, skip=("relation",))
        for n in nodes_of(value)
        if isinstance(n, exp.Column)
    }


def _select(expressions: Sequence[exp.Expr], table: exp.Expr) -> exp.Select:
    """``SELECT expressions FROM table``. Here and below clauses are built as nodes, not with
    ``Select.from_``/``where``/``group_by``/``limit``, which parse their arguments first."""
    return exp.Select(expressions=list(expressions), from_=exp.From(this=table))


def _join(
    select: exp.Select,
    table: exp.Expr,
    on: exp.Expr | None,
    *,
    side: str | None = None,
    kind: str | None = None,
) -> None:
    """Append a join to ``select`` (built directly: ``Select.join`` would parse its options)."""
    select.append("joins", exp.Join(this=table, on=on, side=side, kind=kind))


def _periods_cte(
    agg: Aggregation,
    periods: Periods,
    name: str,
    needed: set[str],
    relations: _Relations,
    take: Take,
) -> exp.CTE:
    """First or last period, or the number of periods, of each time bucket (whichever the
    aggregation uses), over every row of the source in the date range (no other filter: an
    empty group still has its periods)."""
    select = _edges_select(periods, needed)
    select.set("from_", exp.From(this=_scanned(agg, relations)))
    if periods.time_range is not None:
        select.set("where", exp.Where(this=take(periods.time_range)))
    if periods.partition:
        select.set("group", exp.Group(expressions=[e.copy() for _, e in periods.partition]))
    return exp.CTE(this=select, alias=table_alias(name))


def _edges_select(periods: Periods, needed: set[str]) -> exp.Select:
    """The partition of ``periods`` with the first and last period and the number of periods
    (those ``needed``), to be read from rows or from a spine's days."""
    select = exp.Select(expressions=[alias(e.copy(), a) for a, e in periods.partition])
    if FIRST in needed:
        select.append("expressions", alias(exp.Min(this=periods.period.copy()), FIRST))
    if LAST in needed:
        select.append("expressions", alias(exp.Max(this=periods.period.copy()), LAST))
    if COUNT in needed:
        distinct = exp.Distinct(expressions=[periods.period.copy()])
        select.append("expressions", alias(exp.Count(this=distinct), COUNT))
    return select


def _calendar_periods_ctes(
    agg: Aggregation, periods: Periods, name: str, needed: set[str], relations: _Relations
) -> list[exp.CTE]:
    """First or last period, or the number of periods, of each time bucket, counted over every
    calendar day of the range (a day spine), not over the source's rows: a day without rows is
    still a day of its bucket, and with both bounds given the source is scanned once. A missing
    bound is the source's first or last day in the range, whatever the filters."""
    assert periods.spine is not None
    relations.digits()
    spine = periods.spine
    bounds, days = f"{name}_bounds", f"{name}_days"
    edges = _range_bounds(agg, periods, relations)
    select = read_by(_edges_select(periods, needed), days)
    select.set("from_", exp.From(this=exp.Table(this=ident(days))))
    conditions = [c for c in (periods.time_range, in_calendar(periods.partition)) if c]
    if conditions:
        select.set("where", exp.Where(this=exp.and_(*conditions)))
    if periods.partition:
        select.set("group", exp.Group(expressions=[e.copy() for _, e in periods.partition]))
    return [
        exp.CTE(this=edges, alias=table_alias(bounds)),
        exp.CTE(this=days_select(bounds, spine.digits), alias=table_alias(days)),
        exp.CTE(this=select, alias=table_alias(name)),
    ]


def _periods_needed(agg: Aggregation) -> set[str]:
    needed: set[str] = set()
    if agg.keep is not None:
        needed.add(LAST if agg.keep is SemiAdditive.LAST else FIRST)
    for c in agg.columns if agg.per is not None else ():
        rollup = c.rollup or Rollup.AVERAGE
        if rollup in (Rollup.AVERAGE, Rollup.MIN) and c.counts:
            needed.add(COUNT)
        elif rollup is Rollup.LAST:
            needed.add(LAST)
        elif rollup is Rollup.FIRST:
            needed.add(FIRST)
    return needed


def _partition_match(periods: Periods, name: str) -> list[exp.Expr]:
    """A source row's time buckets equal to those of the ``name`` CTE's row."""
    return [
        exp.EQ(this=expression.copy(), expression=column(alias, name))
        for alias, expression in periods.partition
    ]


@dataclass(frozen=True)
class _RangeDays:
    """The first and last day of a per-day rollup's range: each a date literal, or a column of
    ``cte`` (one row) when the query left that bound open."""

    first: exp.Expr
    last: exp.Expr
    cte: exp.CTE | None


def _range_days(agg: Aggregation, periods: Periods, name: str, relations: _Relations) -> _RangeDays:
    """The bounds the rollup's date arithmetic cuts buckets with: those given, and a missing one
    the first or last day of the source's rows in the range, whatever the filters (one
    ``MIN``/``MAX`` pass, the same days a spine would have)."""
    spine = periods.spine
    assert spine is not None
    if spine.start is not None and spine.end is not None:
        return _RangeDays(date_literal(spine.start), date_literal(spine.end), None)
    edges = _range_bounds(agg, periods, relations)
    first = date_literal(spine.start) if spine.start is not None else column(FIRST_DAY, name)
    last = date_literal(spine.end) if spine.end is not None else column(LAST_DAY, name)
    return _RangeDays(first, last, exp.CTE(this=edges, alias=table_alias(name)))


def _range_bounds(agg: Aggregation, periods: Periods, relations: _Relations) -> exp.Select:
    """One row: the first and last day of the spine's range, each given or, when open, the
    first or last day of the source's rows in the range, whatever the filters."""
    spine = periods.spine
    assert spine is not None
    assert periods.row_day is not None
    rows = _scanned(agg, relations) if spine.start is None or spine.end is None else None
    return bounds_select(spine.start, spine.end, rows, periods.row_day, periods.row_range)


def _bucket_days(
    periods: Periods,
    key: Callable[[str], exp.Expr],
    edge: str,
    start: exp.Expr,
    end: exp.Expr,
) -> exp.Expr:
    """The first (``edge`` FIRST) or last day (LAST) of each bucket within the range, or its
    number of days (COUNT), by date arithmetic on the bucket's first day (``key`` of each
    grain's alias, in the rollup) and the range's bounds: a month's bucket from ``start`` to
    ``end`` runs from ``GREATEST(start, month)`` to ``LEAST(end, month + 1 month - 1 day)``.
    With several grains (by month and week) a bucket is the days they share."""
    assert periods.grains is not None
    if edge == COUNT:
        first = _bucket_days(periods, key, FIRST, start, end)
        last = _bucket_days(periods, key, LAST, start, end)
        days = exp.DateDiff(this=last, expression=first, unit=exp.var("DAY"))
        return exp.Add(this=days, expression=exp.Literal.number(1))
    if edge == FIRST:
        bounds = [start.copy()] + [key(a) for a, _ in periods.grains]
    else:
        bounds = [end.copy()] + [_last_day(key(a), grain) for a, grain in periods.grains]
    if len(bounds) == 1:
        return bounds[0]
    # No value is NULL (the rollup leaves out a day that is): ``ignore_nulls`` only spares
    # DuckDB's SQL a guard for them.
    kind = exp.Greatest if edge == FIRST else exp.Least
    return kind(this=bounds[0], expressions=bounds[1:], ignore_nulls=True)


def _last_day(first: exp.Expr, grain: Grain) -> exp.Expr:
    """The last day of the ``grain`` bucket starting on ``first``."""
    if grain is Grain.DAY:
        return first
    following = shift(first, 1, grain)
    before = exp.DateSub(this=following, expression=exp.Literal.number(1), unit=exp.var("DAY"))
    return cast(before, exp.DataType.Type.DATE)


def _rollup(c: AggColumn, inner: str, edge: Callable[[str], exp.Expr]) -> exp.Expr:
    value = column(c.alias, inner)
    rollup = c.rollup or Rollup.AVERAGE
    if rollup is Rollup.AVERAGE:
        if not c.counts:
            return exp.Avg(this=value)
        return exp.Div(
            this=cast(exp.Sum(this=value), exp.DataType.Type.DOUBLE),
            expression=exp.Max(this=edge(COUNT)),
        )
    if rollup is Rollup.SUM:
        return exp.Sum(this=value)
    if rollup is Rollup.MIN and c.counts:
        # A period without rows is a 0 for a count: the minimum is 0 when any period is missing.
        missing = exp.LT(this=exp.Count(this=exp.Star()), expression=exp.Max(this=edge(COUNT)))
        return exp.Case(
            ifs=[exp.If(this=missing, true=exp.Literal.number(0))], default=exp.Min(this=value)
        )
    if rollup is Rollup.MIN:
        return exp.Min(this=value)
    if rollup is Rollup.MAX:
        return exp.Max(this=value)
    if rollup is Rollup.LAST or rollup is Rollup.FIRST:
        test = exp.EQ(
            this=column(PERIOD, inner), expression=edge(LAST if rollup is Rollup.LAST else FIRST)
        )
        return exp.Sum(this=exp.Case(ifs=[exp.If(this=test, true=value)]))
    assert_never(rollup)
