"""The allow-lists: node kinds, type names and functions that SQL fragments may hold.

Two audiences, two lists:

- **Filters** (a query's ``where``, a metric's ``filter``, a derived metric's ``expr``) come from
  dashboards and URLs: a boolean over dotted names, literals, operators and a few pure scalar
  functions. Nothing else.
- **Definitions** (a source's ``sql``, ``table``, dimension, measure and key ``expr``) come from
  pull requests: reviewed, but ``metrics-layer check`` runs them before review. They may use
  queries (SELECT, joins, subqueries, CTEs, set operations, window functions) over plain tables
  and the pure functions below, never statements, table functions, file or system functions.

Types are never free text: a cast names one of ``FILTER_TYPES`` or ``DEFINITION_TYPES``, and
parameters are whole numbers. docs/security.md lists all of it; a test keeps the two in step.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.expressions.datatypes import DType

__all__ = [
    "DEFINITION_ANONYMOUS",
    "DEFINITION_FUNCTIONS",
    "DEFINITION_NODES",
    "DEFINITION_TYPES",
    "FILTER_FUNCTIONS",
    "FILTER_NODES",
    "FILTER_TYPES",
    "INTERVAL_UNITS",
    "LIMITS",
    "NAME",
    "TABLE_NAME",
    "Limits",
]

# A dotted name's part, and a table name's part (BigQuery projects may hold '-').
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]*$")

_T = DType

FILTER_TYPES: frozenset[DType] = frozenset(
    {
        _T.TEXT,
        _T.VARCHAR,
        _T.CHAR,
        _T.INT,
        _T.BIGINT,
        _T.SMALLINT,
        _T.DOUBLE,
        _T.FLOAT,
        _T.DECIMAL,
        _T.DATE,
        _T.TIMESTAMP,
        _T.TIMESTAMPTZ,
        _T.BOOLEAN,
    }
)
DEFINITION_TYPES: frozenset[DType] = FILTER_TYPES | frozenset(
    {
        _T.TINYINT,
        _T.UBIGINT,
        _T.UINT,
        _T.INT128,
        _T.DATETIME,
        _T.TIME,
        _T.TIMESTAMPLTZ,
        _T.TIMESTAMPNTZ,
        _T.INTERVAL,
        _T.NCHAR,
        _T.NVARCHAR,
        _T.JSON,
        _T.JSONB,
        _T.UUID,
        _T.BIGDECIMAL,
        _T.BINARY,  # MariaDB/MySQL compare strings byte for byte as CAST(x AS BINARY)
    }
)

INTERVAL_UNITS = frozenset({"SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"})

# Pure scalar functions a filter may call, by sqlglot class.
FILTER_FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Length,
    exp.Coalesce,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Nullif,
    exp.If,
    exp.Case,
    exp.Substring,
    exp.Concat,
    exp.StartsWith,
)

# Node kinds a filter may hold besides its functions. Each one is checked further where it can
# carry text (columns, types, interval units): see ``metrics_layer.safety.trees``.
FILTER_NODES: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.DPipe,
    exp.Cast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Interval,
    exp.Var,
    *FILTER_FUNCTIONS,
)

# Pure functions a definition may call, by sqlglot class: arithmetic, text, dates, conditions,
# aggregates, windows, JSON and regular expressions. No file, network, system, session,
# random-generating, sleeping or table-valued function is here.
DEFINITION_FUNCTIONS: tuple[type[exp.Func], ...] = (
    *FILTER_FUNCTIONS,
    # numbers
    exp.Sqrt,
    exp.Cbrt,
    exp.Pow,
    exp.Exp,
    exp.Ln,
    exp.Log,
    exp.Sign,
    exp.Trunc,
    exp.Greatest,
    exp.Least,
    exp.SafeDivide,
    # text
    exp.Left,
    exp.Right,
    exp.Replace,
    exp.Reverse,
    exp.Repeat,
    exp.Initcap,
    exp.Pad,
    exp.SplitPart,
    exp.StrPosition,
    exp.ConcatWs,
    exp.EndsWith,
    exp.Contains,
    exp.Translate,
    exp.Ascii,
    exp.Chr,
    exp.BitLength,
    exp.MD5,
    exp.SHA,
    exp.SHA2,
    exp.ToChar,
    exp.ToNumber,
    exp.RegexpLike,
    exp.RegexpILike,
    exp.RegexpExtract,
    exp.RegexpReplace,
    exp.JSONExtract,
    exp.JSONExtractScalar,
    exp.JSONBExtract,
    exp.JSONBExtractScalar,
    exp.ParseJSON,
    # dates and times
    exp.Extract,
    exp.Date,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.DatetimeTrunc,
    exp.DateAdd,
    exp.DateSub,
    exp.DateDiff,
    exp.DatetimeAdd,
    exp.DatetimeSub,
    exp.DatetimeDiff,
    exp.TimestampAdd,
    exp.TimestampSub,
    exp.TimestampDiff,
    exp.TsOrDsAdd,
    exp.TsOrDsDiff,
    exp.TsOrDsToDate,
    exp.LastDay,
    exp.AddMonths,
    exp.MonthsBetween,
    exp.Year,
    exp.Quarter,
    exp.Month,
    exp.Week,
    exp.WeekOfYear,
    exp.Day,
    exp.DayOfMonth,
    exp.DayOfWeek,
    exp.DayOfWeekIso,
    exp.DayOfYear,
    exp.Hour,
    exp.Minute,
    exp.Second,
    exp.StrToDate,
    exp.StrToTime,
    exp.TimeToStr,
    exp.UnixToTime,
    exp.TimeToUnix,
    exp.ConvertTimezone,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    # casts and conditions
    exp.TryCast,
    exp.Exists,
    # aggregates
    exp.Count,
    exp.CountIf,
    exp.Sum,
    exp.Avg,
    exp.Min,
    exp.Max,
    exp.Median,
    exp.PercentileCont,
    exp.PercentileDisc,
    exp.Stddev,
    exp.StddevPop,
    exp.StddevSamp,
    exp.Variance,
    exp.VariancePop,
    exp.Corr,
    exp.CovarPop,
    exp.CovarSamp,
    exp.AnyValue,
    exp.LogicalAnd,
    exp.LogicalOr,
    exp.GroupConcat,
    exp.ArgMax,
    exp.ArgMin,
    exp.First,
    exp.Last,
    exp.ApproxDistinct,
    # windows
    exp.RowNumber,
    exp.Rank,
    exp.DenseRank,
    exp.PercentRank,
    exp.CumeDist,
    exp.Ntile,
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.NthValue,
)

# Functions sqlglot does not know (so it passes their names through unchanged), that a
# definition may call: common, pure, and present on the engines that have them.
DEFINITION_ANONYMOUS = frozenset(
    {
        "date_part",
        "datepart",
        "dateadd",
        "strftime",
        "strptime",
        "to_date",
        "to_timestamp",
        "make_date",
        "epoch",
        "now",
        "iff",
        "octet_length",
        "regexp_matches",
        "json_extract_string",
        "quantile_cont",
        "quantile_disc",
        "time_bucket",
    }
)

# Node kinds a definition may hold besides its functions; again, the ones that can carry text
# (tables, types, interval units) are checked further.
DEFINITION_NODES: tuple[type[exp.Expr], ...] = (
    *FILTER_NODES,
    exp.Select,
    exp.From,
    exp.Join,
    exp.Where,
    exp.Group,
    exp.Having,
    exp.Qualify,
    exp.Order,
    exp.Ordered,
    exp.Limit,
    exp.Offset,
    exp.Fetch,
    exp.Distinct,
    exp.With,
    exp.CTE,
    exp.Union,
    exp.Intersect,
    exp.Except,
    exp.Subquery,
    exp.Table,
    exp.TableAlias,
    exp.Alias,
    exp.Star,
    exp.Window,
    exp.WindowSpec,
    exp.Filter,
    exp.WithinGroup,
    exp.Bracket,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.IntDiv,
    exp.BitwiseAnd,
    exp.BitwiseOr,
    exp.BitwiseXor,
    exp.BitwiseNot,
    exp.SimilarTo,
    exp.RegexpLike,
    exp.Glob,
    exp.Any,
    exp.All,
    exp.AtTimeZone,
    exp.JSONPath,
    exp.JSONPathKey,
    exp.JSONPathRoot,
    exp.JSONPathSubscript,
    exp.Anonymous,
    *DEFINITION_FUNCTIONS,
)


class Limits:
    """How large and deep untrusted text may be; beyond these a filter is refused."""

    filter_chars = 100_000
    filter_nodes = 20_000
    filter_depth = 32
    definition_chars = 100_000
    definition_depth = 64


LIMITS = Limits()
