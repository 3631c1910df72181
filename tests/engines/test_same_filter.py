"""Filters mean the same on every engine: case-sensitive strings, ROUND half away from zero.

Rows and their byte order are in conftest.py and test_filter_samples.py. MariaDB's default
collation ignores case and trailing spaces, and SQLite's LIKE ignores case: each of these
counts differed there before the dialect rules and the SQLite session set-up.
"""

from __future__ import annotations

import pytest

import metrics_layer as ml
from metrics_layer.errors import UnsupportedError

from .conftest import Count

CASE_SENSITIVE = [
    ("user.country = 'de'", 1),  # row 2 only
    ("user.country <> 'de'", 4),  # 'DE', 'FR', 'Fr', 'DE '
    ("user.country = 'DE '", 1),  # row 6 only: the trailing space counts
    ("user.country IN ('de', 'fr')", 1),  # 'de'; there is no 'fr'
    ("user.country NOT IN ('de', 'fr')", 4),
    ("user.country < 'a'", 4),  # upper case sorts before lower: 'DE', 'DE ', 'FR', 'Fr'
    ("user.country BETWEEN 'a' AND 'z'", 1),  # 'de'
    ("user.country LIKE 'd%'", 1),  # 'de'
    ("user.country LIKE 'F_'", 2),  # 'FR', 'Fr'
    ("user.country LIKE 'fr'", 0),
    ("user.country ILIKE 'fr'", 2),  # 'FR', 'Fr'
    ("NULLIF(user.country, 'fr') IS NULL", 1),  # only the NULL row: 'FR' and 'Fr' are not 'fr'
    ("CASE user.country WHEN 'de' THEN 1 ELSE 0 END = 1", 1),  # row 2
    ("(user.country, user.plan) IN (('de', 'free'), ('fr', 'pro'))", 1),  # row 2
    ("STARTS_WITH(user.country, 'd')", 1),  # 'de'
    ("user.amount = '2.5'", 1),  # a number compared with a string literal stays a number
    ("metric_time >= '2026-02-15'", 3),  # and a date stays a date: rows 1, 2, 4
]


@pytest.mark.parametrize(("where", "expected"), CASE_SENSITIVE)
def test_string_comparisons_are_case_sensitive(where: str, expected: int, count: Count) -> None:
    assert count(where) == expected


def test_a_metric_filter_is_case_sensitive(count: Count) -> None:
    # german_signups filters country = 'de': row 2 only
    assert count(metric="german_signups") == 1


# amounts and scores: 2.5, -2.5, 1.5, 0.5, -0.5, 3.5. Half away from zero: 3, -3, 2, 1, -1, 4
# (half to even would give 2, -2, 2, 0, -0, 4).
ROUNDED = [
    ("ROUND({x}) = 3", 1),  # 2.5
    ("ROUND({x}) = -3", 1),  # -2.5
    ("ROUND({x}) = 2", 1),  # 1.5 (half to even: 1.5 and 2.5)
    ("ROUND({x}) = -2", 0),  # (half to even: -2.5)
    ("ROUND({x}) = 1", 1),  # 0.5
    ("ROUND({x}) = -1", 1),  # -0.5
    ("ROUND({x}) = 0", 0),  # (half to even: 0.5 and -0.5)
    ("ROUND({x}) = 4", 1),  # 3.5
    ("ROUND({x}, 0) = 3", 1),  # 2.5, with the number of decimals given
    ("ROUND({x} / 10, 1) = 0.3", 1),  # 0.25 -> 0.3; 0.35 -> 0.4 (not the DOUBLE 0.34999...)
    ("ROUND({x} / 10, 1) = 0.4", 1),  # 0.35
    ("ROUND({x} / 10, 1) = -0.3", 1),  # -0.25
]


@pytest.mark.parametrize("column", ["user.amount", "user.score"], ids=["decimal", "double"])
@pytest.mark.parametrize(("template", "expected"), ROUNDED)
def test_round_is_half_away_from_zero(
    column: str, template: str, expected: int, count: Count
) -> None:
    assert count(template.format(x=column)) == expected


def test_sqlite_refuses_interval_arithmetic_naming_the_fix(
    engine_layer: tuple[str, ml.SemanticLayer],
) -> None:
    _, layer = engine_layer
    query = layer.query(["signups"], where="metric_time + INTERVAL '30' DAY >= '2026-03-01'")
    with pytest.raises(UnsupportedError) as caught:
        query.sql("sqlite")
    message = str(caught.value)
    assert message.startswith("sqlite cannot compute interval arithmetic")
    assert "metric_time >= '2026-01-30'" in message


def test_mariadb_compares_only_lettered_literals_as_binary(
    engine_layer: tuple[str, ml.SemanticLayer],
) -> None:
    _, layer = engine_layer
    where = "user.country = 'de' AND user.amount = '2.5' AND user.country LIKE 'D%'"
    sql = layer.query(["signups"], where=where).sql("mysql")
    assert "users.country = CAST('de' AS BINARY)" in sql
    assert "users.country LIKE CAST('D%' AS BINARY)" in sql
    assert "users.amount = '2.5'" in sql


def _rows(layer: ml.SemanticLayer, metrics: list[str], by: list[str]) -> set[tuple[object, ...]]:
    return set(layer.query(metrics, by=by).run().rows)


def test_groups_keep_case_and_trailing_spaces_apart(
    engine_layer: tuple[str, ml.SemanticLayer],
) -> None:
    _, layer = engine_layer
    # one signup per country value; 'DE', 'de' and 'DE ' are three groups, as are 'FR' and 'Fr'
    assert _rows(layer, ["signups"], ["user.country"]) == {
        ("DE", 1),
        ("DE ", 1),
        ("de", 1),
        ("FR", 1),
        ("Fr", 1),
        (None, 1),
    }


def test_distinct_counts_keep_case_and_trailing_spaces_apart(
    engine_layer: tuple[str, ml.SemanticLayer],
) -> None:
    _, layer = engine_layer
    # 'DE', 'de', 'DE ', 'FR', 'Fr' are five countries (NULL is not counted); MariaDB's
    # COUNT(DISTINCT country) counted 2 under its case- and space-insensitive collation.
    assert _rows(layer, ["countries"], []) == {(5,)}
    # pro: 'DE', 'Fr', NULL -> 2; free: 'de', 'FR', 'DE ' -> 3
    assert _rows(layer, ["countries"], ["user.plan"]) == {("pro", 2), ("free", 3)}


def test_metrics_of_two_sources_join_on_exact_group_values(
    engine_layer: tuple[str, ml.SemanticLayer],
) -> None:
    _, layer = engine_layer
    # events: user 1 ('DE') once, user 2 ('de') twice, user 6 ('DE ') once; the grain keys of
    # both sources are united and joined without merging 'de' into 'DE'
    assert _rows(layer, ["signups", "events"], ["user.country"]) == {
        ("DE", 1, 1),
        ("DE ", 1, 1),
        ("de", 1, 2),
        ("FR", 1, 0),
        ("Fr", 1, 0),
        (None, 1, 0),
    }


# Days of the rows: 2026-02-15, 02-20, 01-15, 03-01, 01-31 (23:30), 2025-12-01.
INTERVALS = [
    # + 30 days >= 03-01 means day >= 01-30: 02-15, 02-20, 03-01, 01-31
    ("metric_time + INTERVAL '30' DAY >= CAST('2026-03-01' AS DATE)", 4),
    # 03-31 - 1 month is 02-28 (the month's last day, not 03-03): 03-01 only
    ("metric_time >= CAST('2026-03-31' AS DATE) - INTERVAL '1' MONTH", 1),
    # + 1 month >= 03-01: 03-15, 03-20, 04-01 (01-31 + 1 month is 02-28)
    ("metric_time + INTERVAL '1' MONTH >= CAST('2026-03-01' AS DATE)", 3),
    # - 1 week < 01-01: 2025-11-24 only
    ("metric_time - INTERVAL '1' WEEK < CAST('2026-01-01' AS DATE)", 1),
]


@pytest.mark.parametrize(("where", "expected"), INTERVALS)
def test_interval_arithmetic_is_the_same_or_refused(
    where: str, expected: int, engine_layer: tuple[str, ml.SemanticLayer], count: Count
) -> None:
    engine, _ = engine_layer
    if engine == "sqlite":
        with pytest.raises(UnsupportedError, match="sqlite cannot compute interval arithmetic"):
            count(where)
        return
    assert count(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # 2.5 + 0.29 is 2.79 for user 1 only; ClickHouse read 0.29 as the double below it and
        # cut it to 0.28
        ("user.amount + CAST(0.29 AS DECIMAL(10, 2)) = 2.79", 1),
        # the DOUBLE 2.5 and 3.5 round half away from zero to 3 and 4 (ClickHouse cut them)
        ("CAST(user.score AS DECIMAL(10, 0)) IN (3, 4)", 2),
        # the DECIMAL -2.5 and -0.5 round to -3 and -1; 1.5 and 0.5 to 2 and 1
        ("CAST(user.amount AS DECIMAL(10, 0)) IN (-3, -1, 1, 2)", 4),
        # a cast inside a cast rounds twice, as written: 2.49, 1.49, 0.49 and 3.49 to 2.5, 1.5,
        # 0.5 and 3.5, then to 3, 2, 1 and 4 (rounded once, 2, 1, 0 and 3: SQLite's and
        # ClickHouse's rules once rewrote only the outer cast)
        ("CAST(CAST(user.amount - 0.01 AS DECIMAL(10, 1)) AS DECIMAL(10, 0)) IN (1, 2, 3, 4)", 4),
    ],
)
def test_casts_to_decimal_round_half_away_from_zero(
    where: str, expected: int, count: Count
) -> None:
    assert count(where) == expected
