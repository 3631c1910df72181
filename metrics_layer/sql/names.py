"""Names that metrics_layer invents (CTEs, aliases), quoted only where a dialect needs it."""

from __future__ import annotations

from sqlglot import exp

__all__ = ["RESERVED", "column", "ident", "table_alias"]

# Words reserved in at least one supported engine; an invented name equal to one is quoted
# everywhere, consistently, so every dialect accepts it.
RESERVED = frozenset(
    [
        "all",
        "alter",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "at",
        "authorization",
        "between",
        "binary",
        "both",
        "by",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "cross",
        "cube",
        "current",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "date",
        "day",
        "default",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "grouping",
        "having",
        "hour",
        "if",
        "ilike",
        "in",
        "inner",
        "insert",
        "intersect",
        "interval",
        "into",
        "is",
        "join",
        "key",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "minute",
        "month",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "over",
        "partition",
        "primary",
        "qualify",
        "quarter",
        "range",
        "recursive",
        "references",
        "right",
        "rollup",
        "rows",
        "second",
        "select",
        "session_user",
        "set",
        "similar",
        "some",
        "symmetric",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "unnest",
        "update",
        "user",
        "using",
        "value",
        "values",
        "variadic",
        "week",
        "when",
        "where",
        "window",
        "with",
        "within",
        "year",
    ]
)


def ident(name: str) -> exp.Identifier:
    """An identifier, quoted when the name is a reserved word.

    >>> ident("user").sql(), ident("signups").sql()
    ('"user"', 'signups')
    """
    return exp.to_identifier(name, quoted=name.lower() in RESERVED)


def column(name: str, table: str | None = None) -> exp.Column:
    """``table.name`` built from invented names.

    >>> column("user", "events_agg").sql()
    'events_agg."user"'
    """
    return exp.Column(this=ident(name), table=ident(table) if table else None)


def table_alias(name: str) -> exp.TableAlias:
    return exp.TableAlias(this=ident(name))
