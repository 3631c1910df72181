"""Every construct of the filter allow-list, run as a filter on every engine with real rows.

One sample per node kind (``metrics_layer.safety.samples.FILTER_SAMPLES``); each must count the
same rows on DuckDB, SQLite, PostgreSQL, MariaDB and ClickHouse, and that count is worked out
by hand below from the rows in conftest.py:

    1 'DE'  pro  paid      2026-02-15    4 'Fr'  pro  not paid  2026-03-01
    2 'de'  free not paid  2026-02-20    5 NULL  pro  not paid  2026-01-31 23:30
    3 'FR'  free paid      2026-01-15    6 'DE ' free paid      2025-12-01

Strings compare byte for byte: 'DE' < 'DE ' < 'FR' < 'Fr' < 'de'. LENGTH is 2 for the four
two-letter codes, 3 for 'DE ' and NULL for row 5.
"""

from __future__ import annotations

import pytest
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.errors import UnsupportedError
from metrics_layer.safety.allowlist import FILTER_NODES
from metrics_layer.safety.samples import FILTER_SAMPLES

from .conftest import Count

EXPECTED: dict[type[exp.Expr], int] = {
    exp.Column: 1,  # = 'DE': row 1 only, not 'de' (2) nor 'DE ' (6)
    exp.Identifier: 1,
    exp.Literal: 1,
    exp.Boolean: 3,  # paid: rows 1, 3, 6
    exp.Null: 1,  # row 5
    exp.Paren: 1,
    exp.Tuple: 2,  # ('DE', 'pro') row 1, ('FR', 'free') row 3
    exp.And: 1,  # 'DE' and pro: row 1
    exp.Or: 3,  # 'DE' or pro: rows 1, 4, 5
    exp.Not: 4,  # not 'DE', NULL excluded: rows 2, 3, 4, 6
    exp.EQ: 1,
    exp.NEQ: 4,  # as NOT
    exp.GT: 4,  # > 'DE': 'DE ', 'FR', 'Fr', 'de'
    exp.GTE: 5,  # the same and 'DE'
    exp.LT: 0,  # nothing sorts before 'DE'
    exp.LTE: 1,  # 'DE'
    exp.Is: 5,  # IS NOT NULL: all but row 5
    exp.In: 1,  # IN ('DE'): row 1
    exp.Between: 2,  # 'A'..'E': 'DE', 'DE ' ('FR' > 'E', 'de' > 'E')
    exp.Like: 2,  # 'D%': 'DE', 'DE ' (not 'de')
    exp.ILike: 3,  # 'd%' ignoring case: 'DE', 'de', 'DE '
    exp.Neg: 5,  # -LENGTH < -1 means LENGTH > 1: 2, 2, 2, 2, 3
    exp.Add: 4,  # LENGTH + 1 = 3 means LENGTH = 2: rows 1-4
    exp.Sub: 4,
    exp.Mul: 4,
    exp.Div: 4,  # LENGTH / 2 = 1: 2 / 2 = 1 for rows 1-4; 3 / 2 = 1.5 for row 6
    exp.Mod: 4,  # LENGTH % 2 = 0: rows 1-4
    exp.DPipe: 1,  # 'DE' || 'x' = 'DEx' (row 6 gives 'DE x')
    exp.Cast: 1,
    exp.DataType: 4,  # CAST(LENGTH AS DECIMAL(10, 2)) = 2: rows 1-4
    exp.DataTypeParam: 1,
    exp.Interval: 4,  # day >= 2026-03-01 - 30 days = 2026-01-30: rows 1, 2, 4, 5
    exp.Var: 4,
    exp.Lower: 2,  # 'de': rows 1, 2
    exp.Upper: 2,  # 'DE': rows 1, 2
    exp.Trim: 2,  # 'DE': rows 1, 6
    exp.Length: 4,
    exp.Coalesce: 1,  # COALESCE(country, 'none') = 'DE': row 1
    exp.Abs: 4,
    exp.Round: 4,
    exp.Floor: 4,  # FLOOR(NULL) is NULL for row 5 (not an error on SQLite)
    exp.Ceil: 4,
    exp.Nullif: 1,  # NULLIF(country, 'FR') = 'DE': row 1
    exp.If: 1,
    exp.Case: 1,
    exp.Substring: 2,  # first letter 'D': 'DE', 'DE '
    exp.Concat: 1,  # 'DEx': row 1
    exp.StartsWith: 2,  # 'DE', 'DE ' (not 'de')
}

# What an engine refuses at compile time instead of computing it differently.
REFUSED: dict[tuple[str, type[exp.Expr]], str] = {
    ("sqlite", exp.Interval): "interval arithmetic",
    ("sqlite", exp.Var): "interval arithmetic",
}


def test_every_filter_construct_has_an_expected_count() -> None:
    assert set(EXPECTED) == set(FILTER_NODES) == set(FILTER_SAMPLES)


@pytest.mark.parametrize("kind", list(FILTER_SAMPLES), ids=lambda kind: kind.__name__)
def test_filter_sample_counts_the_same_rows(
    kind: type[exp.Expr], engine_layer: tuple[str, ml.SemanticLayer], count: Count
) -> None:
    engine, _ = engine_layer
    where = FILTER_SAMPLES[kind]
    refused = REFUSED.get((engine, kind))
    if refused is not None:
        with pytest.raises(UnsupportedError, match=f"{engine} cannot compute {refused}"):
            count(where)
        return
    assert count(where) == EXPECTED[kind], where
