"""ClickHouse's rules: the types, text functions and division that give DuckDB's values there.

The session settings of ``engine/adapters/clickhouse.py`` make NULLs behave as in standard SQL
(``join_use_nulls``, ``aggregate_functions_null_for_empty``, ``cast_keep_nullable``); these
rules settle what a setting cannot. Each rewrites one node and leaves every other node alone;
they run from ``RULES["clickhouse"]`` in ``metrics_layer.sql.dialects``.
"""

from __future__ import annotations

from sqlglot import exp

__all__ = [
    "clickhouse_day",
    "clickhouse_decimal_cast",
    "clickhouse_distinct_keys",
    "clickhouse_division",
    "clickhouse_lead",
    "clickhouse_local_time",
    "clickhouse_one_step",
    "clickhouse_percentile",
    "clickhouse_types",
    "clickhouse_unread_columns",
    "clickhouse_utf8",
]

_Type = exp.DataType.Type
_FLOATS = (_Type.DOUBLE, _Type.FLOAT)


def clickhouse_types(node: exp.Expr) -> exp.Expr:
    """``DATE`` as ``Date32``, ``TIMESTAMP`` as ``DateTime64(6)`` and ``TIMESTAMPTZ`` as
    ``DateTime64(6, 'UTC')``.

    ClickHouse's ``Date`` and ``DateTime`` start in 1970 and turn an earlier value into
    1970-01-01 without an error; ``DateTime`` also drops fractions of a second. ``Date32``
    and ``DateTime64(6)`` (microseconds, as DuckDB) keep the value. A
    ClickHouse time is always an instant; the zone in the type is the one it is shown in.

    >>> cast = exp.cast(exp.column("d"), "DATE")
    >>> cast.transform(clickhouse_types).sql("clickhouse")
    'CAST(d AS Nullable(Date32))'
    >>> exp.cast(exp.column("t"), "TIMESTAMP").transform(clickhouse_types).sql("clickhouse")
    'CAST(t AS Nullable(DateTime64(6)))'
    >>> exp.cast(exp.column("t"), "TIMESTAMPTZ").transform(clickhouse_types).sql("clickhouse")
    "CAST(t AS Nullable(DateTime64(6, 'UTC')))"
    """
    if not isinstance(node, exp.DataType):
        return node
    if node.this == _Type.DATE:
        return exp.DataType(this=_Type.DATE32)
    if node.this in (_Type.TIMESTAMP, _Type.DATETIME, _Type.TIMESTAMPTZ) and not node.expressions:
        parameters = list(_microseconds().expressions)
        if node.this == _Type.TIMESTAMPTZ:
            parameters.append(exp.DataTypeParam(this=exp.Literal.string("UTC")))
        return exp.DataType(this=_Type.DATETIME64, expressions=parameters)
    return node


def _microseconds() -> exp.DataType:
    precision = exp.DataTypeParam(this=exp.Literal.number(6))
    return exp.DataType(this=_Type.DATETIME64, expressions=[precision])


def clickhouse_local_time(node: exp.Expr) -> exp.Expr:
    """A UTC time as the wall-clock time of another zone, without a zone, as DuckDB's
    ``AT TIME ZONE`` gives it.

    ClickHouse's ``AT TIME ZONE`` (``toTimeZone``) keeps the instant and only changes the zone it
    is shown in, so an hour bucket would still be an instant: 02:30 summer time and 02:30
    winter time, on the night the clocks go back, would be two groups instead of one local
    hour. The local time written out in the zone (``toString(t, zone)``) and read back in the
    session's zone, UTC, is the wall-clock time. The compiler converts only from UTC
    (``sql/time.py``); a naive time is UTC there.

    >>> node = exp.ConvertTimezone(source_tz=exp.Literal.string("UTC"),
    ...                            target_tz=exp.Literal.string("Europe/Berlin"),
    ...                            timestamp=exp.column("t"))
    >>> clickhouse_local_time(node).sql("clickhouse")
    "CAST(toString(CAST(t AS Nullable(DateTime64(6))), 'Europe/Berlin') AS Nullable(DateTime64(6)))"
    """
    if not isinstance(node, exp.ConvertTimezone):
        return node
    instant = exp.cast(node.args["timestamp"].copy(), _microseconds())
    local = exp.Anonymous(this="toString", expressions=[instant, node.args["target_tz"].copy()])
    return exp.cast(local, _microseconds())


_UTF8: dict[type[exp.Expr], str] = {
    exp.Lower: "lowerUTF8",
    exp.Upper: "upperUTF8",
    exp.Left: "leftUTF8",
}


def clickhouse_utf8(node: exp.Expr) -> exp.Expr:
    """LOWER, UPPER, SUBSTRING and LEFT by character: ClickHouse's own work on bytes (``lower``
    leaves 'É' as it is, ``substring`` can cut a character in two).

    >>> clickhouse_utf8(exp.Lower(this=exp.column("c"))).sql("clickhouse")
    'lowerUTF8(c)'
    >>> node = exp.Substring(this=exp.column("c"), start=exp.Literal.number(1),
    ...                      length=exp.Literal.number(2))
    >>> clickhouse_utf8(node).sql("clickhouse")
    'substringUTF8(c, 1, 2)'
    """
    if isinstance(node, exp.Substring):
        arguments = [node.this, node.args.get("start"), node.args.get("length")]
        present = [argument.copy() for argument in arguments if argument is not None]
        return exp.Anonymous(this="substringUTF8", expressions=present)
    name = _UTF8.get(type(node))
    if name is None:
        return node
    arguments = [node.this, node.args.get("expression")]
    return exp.Anonymous(
        this=name, expressions=[argument.copy() for argument in arguments if argument is not None]
    )


def _is_float(value: exp.Expr) -> bool:
    return isinstance(value, exp.Cast) and value.to.is_type(*_FLOATS)


def clickhouse_division(node: exp.Expr) -> exp.Expr:
    """``a / b`` in floating point, as DuckDB divides: ClickHouse divides a ``Decimal`` within
    its scale and cuts the rest (10.05 / 4 is 2.51 there, 2.5125 on DuckDB).

    >>> div = exp.Div(this=exp.column("a"), expression=exp.Literal.number(4))
    >>> clickhouse_division(div).sql("clickhouse")
    'CAST(a AS Nullable(Float64)) / 4'
    """
    if not isinstance(node, exp.Div) or _is_float(node.this):
        return node
    node.set("this", exp.cast(node.this, _Type.DOUBLE))
    return node


def clickhouse_percentile(node: exp.Expr) -> exp.Expr:
    """``PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x)`` as ClickHouse's exact
    ``quantileExactInclusive(p)(x)``: the same linear interpolation between the two nearest
    values (ClickHouse's ``quantile`` and ``median`` are approximate, and it has no
    ``WITHIN GROUP``). NULLs are skipped as by ``PERCENTILE_CONT``.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY x)", "postgres")
    >>> clickhouse_percentile(tree).sql("clickhouse")
    'quantileExactInclusive(0.9)(x)'
    """
    if not (isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont)):
        return node
    ordered = node.expression.expressions[0]
    if ordered.args.get("desc"):
        return node  # left to UNSUPPORTED: the compiler orders ascending
    return exp.ParameterizedAgg(
        this="quantileExactInclusive",
        expressions=[node.this.this.copy()],
        params=[ordered.this.copy()],
    )


# Wide enough to hold a Float64 or a narrower Decimal exactly for rounding (18 digits before the
# point); the one cast to DECIMAL that ``clickhouse_decimal_cast`` leaves alone.
_EXACT = exp.DataType.build("DECIMAL(38, 20)")


def clickhouse_decimal_cast(node: exp.Expr) -> exp.Expr:
    """A cast to ``DECIMAL(p, s)`` rounds half away from zero, as on DuckDB and PostgreSQL.

    ClickHouse cuts the digits off instead, and reads a number literal as a Float64 first:
    ``CAST(0.29 AS Decimal(10, 2))`` is 0.28 there and ``CAST(2.5 AS Decimal(10, 0))`` 2. The
    value goes through its text (a Decimal's digits; a Float64's shortest form, ``1.15`` for
    the double nearest 1.15, as PostgreSQL reads a double) into ``Decimal(38, 20)``, is
    rounded to ``s`` places there (ClickHouse rounds a Decimal half away from zero), then
    cast.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("CAST(x AS DECIMAL(10, 2))")
    >>> clickhouse_decimal_cast(tree).sql()
    'CAST(ROUND(CAST(CAST(x AS TEXT) AS DECIMAL(38, 20)), 2) AS DECIMAL(10, 2))'
    """
    if not isinstance(node, exp.Cast) or not node.to.is_type(_Type.DECIMAL):
        return node
    if node.to == _EXACT:
        return node
    parameters = node.to.expressions
    scale = parameters[1].this if len(parameters) > 1 else exp.Literal.number(0)
    text = exp.Cast(this=node.this, to=exp.DataType.build("TEXT"))
    widened = exp.Cast(this=text, to=_EXACT.copy())
    return exp.Cast(this=exp.Round(this=widened, decimals=scale.copy()), to=node.to.copy())


def clickhouse_day(node: exp.Expr) -> exp.Expr:
    """The day of a value that is not a literal, ``CAST(t AS DATE)``, as ``toDate32(t)``: the
    same day, NULL for NULL, of the type ``Nullable(Date32)`` only where ``t`` is nullable. A
    cast is written with a ``Nullable`` type, and days of that type group, join and compare
    slower: weekly active users by month, whose rows are each event's day and user, took
    half as much CPU again as the hand-written query (124 against 63 ms at 1M events; 69
    ms with ``toDate32``).

    >>> import sqlglot
    >>> clickhouse_day(sqlglot.parse_one("CAST(t AS DATE)")).sql("clickhouse")
    'toDate32(t)'
    >>> clickhouse_day(sqlglot.parse_one("CAST('2026-01-01' AS DATE)")).sql()
    "CAST('2026-01-01' AS DATE)"
    """
    if not isinstance(node, exp.Cast) or not node.to.is_type(_Type.DATE):
        return node
    if isinstance(node.this, (exp.Literal, exp.Null)):
        return node
    return exp.Anonymous(this="toDate32", expressions=[node.this])


def clickhouse_lead(node: exp.Expr) -> exp.Expr:
    """``LEAD(x)`` of a nullable ``x``: NULL after a partition's last row, as in standard SQL,
    where ClickHouse gives the type's default value for a value that cannot be NULL (a day of
    1900-01-01 would end every user's run of active days at once).

    >>> import sqlglot
    >>> clickhouse_lead(sqlglot.parse_one("LEAD(d) OVER (ORDER BY d)").this).sql("clickhouse")
    'lead(toNullable(d))'
    """
    if not isinstance(node, exp.Lead):
        return node
    node.set("this", exp.Anonymous(this="toNullable", expressions=[node.this]))
    return node


def clickhouse_distinct_keys(node: exp.Expr) -> exp.Expr:
    """A SELECT of its GROUP BY keys and nothing else (no aggregate, no HAVING) as SELECT
    DISTINCT: the same rows, and ClickHouse reads the distinct rows faster than the groups
    (the days' users of weekly active users by month, joined to the months: 106 against 65
    ms of CPU for the whole query).

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT DATE(t) AS d, u FROM e GROUP BY u, DATE(t)")
    >>> clickhouse_distinct_keys(tree).sql()
    'SELECT DISTINCT DATE(t) AS d, u FROM e'
    >>> clickhouse_distinct_keys(sqlglot.parse_one("SELECT u, COUNT(*) FROM e GROUP BY u")).sql()
    'SELECT u, COUNT(*) FROM e GROUP BY u'
    """
    group = node.args.get("group") if isinstance(node, exp.Select) else None
    if group is None or node.args.get("having") or node.args.get("distinct"):
        return node
    if any(group.args.get(arg) for arg in ("rollup", "cube", "grouping_sets", "totals")):
        return node
    shown = [e.unalias() for e in node.expressions]
    if len(shown) != len(group.expressions) or set(shown) != set(group.expressions):
        return node
    node.set("group", None)
    node.set("distinct", exp.Distinct())
    return node


def clickhouse_one_step(node: exp.Expr) -> exp.Expr:
    """The query's last step, a SELECT of one CTE read nowhere else (the metrics over one
    aggregation), merged into it: the CTE's SELECT showing the metrics, their columns replaced
    by what the CTE computes them as. The same rows; ClickHouse spends about 0.4 ms on the
    outer SELECT (cancelled subscriptions by month, 1M events: 4.0 against 3.5 ms of CPU, the
    hand-written query 3.3 ms). Any other node, or a last step that joins, filters, or reads a
    CTE that is read again, is left as it is.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one(
    ...     "WITH a AS (SELECT DATE(t) AS d, COUNT(*) AS n FROM e GROUP BY DATE(t)) "
    ...     "SELECT a.d AS d, COALESCE(a.n, 0) AS n FROM a ORDER BY d"
    ... )
    >>> clickhouse_one_step(tree).sql()
    'SELECT DATE(t) AS d, COALESCE(COUNT(*), 0) AS n FROM e GROUP BY DATE(t) ORDER BY d'
    """
    if not isinstance(node, exp.Select) or node.parent is not None:
        return node
    with_, from_ = node.args.get("with_"), node.args.get("from_")
    if with_ is None or from_ is None or not isinstance(from_.this, exp.Table):
        return node
    if any(node.args.get(arg) for arg in ("joins", "where", "group", "having", "distinct")):
        return node
    read = from_.this
    last = with_.expressions[-1]
    body = last.this
    if read.args.get("db") or read.name != last.alias or not isinstance(body, exp.Select):
        return node
    if any(body.args.get(arg) for arg in ("with_", "distinct", "order", "limit")):
        return node
    if sum(1 for table in node.find_all(exp.Table) if table.name == last.alias) != 1:
        return node
    computed = {e.alias: e.unalias() for e in body.expressions if isinstance(e, exp.Alias)}
    reading = read.alias_or_name
    for expression in node.expressions:
        columns = expression.find_all(exp.Column)
        if not all(c.table == reading and c.name in computed for c in columns):
            return node
    order = node.args.get("order")
    if order is not None and any(c.table for c in order.find_all(exp.Column)):
        return node  # ordered by the CTE's columns, not by the names shown
    shown = [_computed(e, reading, computed) for e in node.expressions]
    body.set("expressions", shown)
    for arg in ("order", "limit"):
        body.set(arg, node.args.get(arg))
    if len(with_.expressions) > 1:
        body.set("with_", exp.With(expressions=with_.expressions[:-1]))
    return body.pop()


def _computed(expression: exp.Expr, table: str, computed: dict[str, exp.Expr]) -> exp.Expr:
    """``expression`` with each column of ``table`` replaced by what ``computed`` holds."""
    return expression.transform(
        lambda n: computed[n.name].copy() if isinstance(n, exp.Column) and n.table == table else n
    )


def clickhouse_unread_columns(node: exp.Expr) -> exp.Expr:
    """The query's CTEs without the columns no step reads: a source's SQL selects what any
    query of it may need (``user_payments`` a subquery for ``ever_paid`` and another for
    ``first_paid_at``), and ClickHouse computes every column of a CTE, a correlated subquery
    it does not need included (paid conversion by week: 10.3 against 8.3 ms of CPU). Only a
    plain SELECT loses columns (no DISTINCT, no ``*``, no ``GROUP BY`` or ``ORDER BY`` by
    position), and nothing at all when the query reads a table by ``*`` or joins with USING;
    a name read without a table keeps every column of that name. A column that decides the
    rows stays (``_decides_rows``): one that makes rows (``arrayJoin``), and an aggregate of
    a SELECT without ``GROUP BY``, whose rows are one only while it has one.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one(
    ...     "WITH s AS (SELECT u.id, u.t, EXISTS(SELECT 1 FROM p WHERE p.id = u.id) AS e, "
    ...     "(SELECT MIN(p.t) FROM p WHERE p.id = u.id) AS f FROM u) "
    ...     "SELECT s.t, COUNT(*) FROM s WHERE s.e GROUP BY s.t"
    ... )
    >>> kept = clickhouse_unread_columns(tree).find(exp.CTE).this.expressions
    >>> [e.alias_or_name for e in kept]
    ['t', 'e']
    >>> starred = sqlglot.parse_one("WITH s AS (SELECT u.id, u.t FROM u) SELECT * FROM s")
    >>> len(clickhouse_unread_columns(starred).find(exp.CTE).this.expressions)
    2
    >>> for body in ("SELECT MAX(u.t) AS m, 1 AS k FROM u", "SELECT u.id, arrayJoin(u.a) AS x, "
    ...              "1 AS k FROM u", "SELECT u.id, 1 AS k FROM u GROUP BY 1",
    ...              "SELECT MAX(u.t) OVER () AS m, 1 AS k FROM u"):
    ...     tree = sqlglot.parse_one(f"WITH s AS ({body}) SELECT s.k FROM s", read="clickhouse")
    ...     print(clickhouse_unread_columns(tree).find(exp.CTE).this.sql("clickhouse"))
    SELECT MAX(u.t) AS m, 1 AS k FROM u
    SELECT arrayJoin(u.a) AS x, 1 AS k FROM u
    SELECT u.id, 1 AS k FROM u GROUP BY 1
    SELECT 1 AS k FROM u
    """
    if not isinstance(node, exp.Select) or node.parent is not None:
        return node
    with_ = node.args.get("with_")
    if with_ is None:
        return node
    if any(join.args.get("using") for join in node.find_all(exp.Join)):
        return node
    if any(isinstance(e, exp.Star) for s in node.find_all(exp.Select) for e in s.expressions):
        return node
    named = {cte.alias: cte for cte in with_.expressions}
    aliases: dict[str, set[str]] = {name: set() for name in named}
    for table in node.find_all(exp.Table):
        if table.name in named and not table.args.get("db"):
            aliases[table.name].add(table.alias_or_name)
    read: dict[str, set[str]] = {}
    whole: set[str] = set()  # tables read by ``t.*``
    bare: set[str] = set()  # names read without a table
    for column_ in node.find_all(exp.Column):
        if isinstance(column_.this, exp.Star):
            whole.add(column_.table)
        elif column_.table:
            read.setdefault(column_.table, set()).add(column_.name)
        else:
            bare.add(column_.name)
    for name, cte in named.items():
        body = cte.this
        if not isinstance(body, exp.Select) or body.args.get("distinct") or aliases[name] & whole:
            continue
        if _by_position(body):
            continue
        used = bare.union(*(read.get(a, set()) for a in aliases[name]))
        kept = [e for e in body.expressions if e.alias_or_name in used or _decides_rows(e, body)]
        if kept and len(kept) < len(body.expressions):
            body.set("expressions", kept)
    return node


def _by_position(select: exp.Select) -> bool:
    """Whether ``select`` groups or orders by a column's position (``GROUP BY 1``)."""
    clauses = [select.args.get("group"), select.args.get("order")]
    return any(
        isinstance(e.unalias() if not isinstance(e, exp.Ordered) else e.this, exp.Literal)
        for clause in clauses
        if clause is not None
        for e in clause.expressions
    )


def _decides_rows(expression: exp.Expr, select: exp.Select) -> bool:
    """Whether leaving ``expression`` out of ``select`` would change its rows: it makes rows
    (``arrayJoin``, a table function), or it is an aggregate and ``select`` has no ``GROUP
    BY`` (one row while it aggregates, a row per row without)."""
    own = list(expression.walk(prune=lambda n: isinstance(n, _OTHER_ROWS)))
    if any(isinstance(n, exp.UDTF) for n in own):
        return True
    return select.args.get("group") is None and any(isinstance(n, exp.AggFunc) for n in own)


# Nodes whose aggregates and table functions are of other rows than the SELECT's: a subquery's
# and a window's.
_OTHER_ROWS = (exp.Subquery, exp.Select, exp.Window)
