"""Every public input with hostile values: a UserError naming the field, never anything else.

Each case runs on the shipped definitions and the demo DuckDB; a query that is accepted is also
compiled and run, so "accepted" means it answers.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import metrics_layer as ml
from metrics_layer.planner.query import MAX_LIMIT, MAX_NAME_LENGTH

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
HUGE = "x" * 1_000_000


class Opaque:
    """An object with nothing a name, date or number has."""


WRONG_TYPES: list[Any] = [
    0,
    -1,
    10**30,
    1.5,
    float("nan"),
    True,
    b"signups",
    bytearray(b"signups"),
    {"signups": 1},
    {"signups"},
    Opaque(),
    dt.date(2026, 1, 1),
    dt.datetime(2026, 1, 1),
]
BAD_NAMES: list[Any] = [
    "",
    "   ",
    "\t\n",
    HUGE,
    "sign\x00ups",
    "signups\x1b[31m",
    "sign\u200bups",
    "sign\u2028ups",
    "signups\ufeff",
    None,
    ["signups"],
    [["signups"]],
    *WRONG_TYPES,
]
UNKNOWN_NAMES = [
    "s\u0456gnups",  # a Cyrillic i
    "signups;",
    "signups'",
    'signups"',
    "signups; DROP TABLE users",
    "user.plan.x.y",
    "a.b",
    ".",
    "..",
    "-",
    "x" * MAX_NAME_LENGTH,
]


def raises_user_error(call: Any, *, field: str | None = None) -> ml.UserError:
    with pytest.raises(ml.UserError) as caught:
        call()
    error = caught.value
    if field is not None:
        assert isinstance(error, ml.QueryError)
        assert error.field == field, str(error)[:200]
    assert len(str(error)) < 2000, "an error message does not repeat a huge input"
    return error


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 30 else text[:27] + "..."


@pytest.mark.parametrize("value", BAD_NAMES, ids=shown)
@pytest.mark.parametrize("field", ["metrics", "by", "order"])
def test_a_bad_name_in_a_list_is_a_query_error(
    layer: ml.SemanticLayer, field: str, value: Any
) -> None:
    names = {"metrics": ["signups"], "by": ["user.plan"], "order": []}
    names[field] = [*names[field], value]
    raises_user_error(
        lambda: layer.query(names["metrics"], by=names["by"], order=names["order"]).sql(),
        field=field,
    )


@pytest.mark.parametrize(
    "value", [v for v in BAD_NAMES if v is not None and v != ["signups"]], ids=shown
)
@pytest.mark.parametrize("field", ["metrics", "by", "order"])
def test_a_bad_value_for_a_list_is_a_query_error(
    layer: ml.SemanticLayer, field: str, value: Any
) -> None:
    options: dict[str, Any] = {"metrics": ["signups"], "by": ["user.plan"], field: value}
    raises_user_error(lambda: layer.query(**options).sql(), field=field)


@pytest.mark.parametrize("name", UNKNOWN_NAMES, ids=shown)
@pytest.mark.parametrize("field", ["metrics", "by", "order"])
def test_an_unknown_name_is_a_query_error(layer: ml.SemanticLayer, field: str, name: str) -> None:
    options: dict[str, Any] = {"metrics": ["signups"], "by": ["user.plan"]}
    options[field] = [*options[field], name] if field != "order" else [name]
    error = raises_user_error(lambda: layer.query(**options).sql())
    assert isinstance(error, ml.QueryError)
    assert error.field in (field, None)


@pytest.mark.parametrize("field", ["metrics", "by"])
def test_a_hundred_thousand_names_are_refused_at_once(layer: ml.SemanticLayer, field: str) -> None:
    """Repeated names are found in linear time (counting each name in the list took minutes)."""
    names = [f"x{i}" for i in range(100_000)] + ["x1"]
    options: dict[str, Any] = {"metrics": ["signups"], "by": [], field: names}
    started = time.perf_counter()
    error = raises_user_error(lambda: layer.query(**options), field=field)
    assert "'x1' is listed twice" in str(error)
    assert time.perf_counter() - started < 60  # a hang detector, not a performance test


def test_a_look_alike_name_suggests_the_real_one(layer: ml.SemanticLayer) -> None:
    error = raises_user_error(lambda: layer.query("s\u0456gnups"), field="metrics")
    assert "Did you mean 'signups'?" in str(error)


@pytest.mark.parametrize(
    "value",
    [*WRONG_TYPES, ["user.country = 'DE'"], {"user.country": "DE"}],
    ids=shown,
)
def test_a_where_that_is_not_text_is_a_query_error(layer: ml.SemanticLayer, value: Any) -> None:
    raises_user_error(lambda: layer.query("signups", where=value), field="where")


def test_a_where_with_a_lone_surrogate_is_a_query_error(layer: ml.SemanticLayer) -> None:
    error = raises_user_error(
        lambda: layer.query("signups", where="user.country = '\udcff'"), field="where"
    )
    assert "lone surrogate" in str(error)


@pytest.mark.parametrize(
    "where",
    [
        "user.country = 'DE'\x00",
        "user.country = 'DE' \x1b[2J",
        HUGE,
        "user." + HUGE + " = 1",
        "user.country = '" + "d" * 100_000 + "'",
        "\ufeffuser.country = 'DE'",
        "user.country = 'DE'; DROP TABLE users",
        "user.country = 'DE' -- x",
        "1",
        "'x'",
        "user.c\u043euntry = 'DE'",  # a Cyrillic o
        "user.country = 'DE' AND metric_time.month >= 'not a date'",
    ],
    ids=shown,
)
def test_a_hostile_filter_is_refused_or_answers(layer: ml.SemanticLayer, where: str) -> None:
    refused: ml.UserError | None = None
    try:
        layer.query("signups", where=where).run()
    except ml.UserError as error:
        refused = error
    assert len(str(refused)) < 2000


@pytest.mark.parametrize(
    "where",
    ["(" * 3000 + "user.country = 'DE'" + ")" * 3000, "NOT " * 3000 + "user.ever_paid"],
    ids=["parentheses", "not"],
)
def test_a_deeply_nested_filter_is_a_filter_error(layer: ml.SemanticLayer, where: str) -> None:
    raises_user_error(lambda: layer.query("signups", where=where), field="where")


@pytest.mark.parametrize(
    "value",
    [
        *[v for v in WRONG_TYPES if not isinstance(v, dt.date) or isinstance(v, dt.datetime)],
        "2026-02-30",
        "2026-13-01",
        "2026-1-1",
        "26-01-01",
        "2026-01-01\n",
        "\u0662\u0660\u0662\u0666-01-01",  # Arabic-Indic digits
        "\uff12\uff10\uff12\uff16-01-01",  # full-width digits
        " ",
        HUGE,
        "2026-01-01T00:00",
        "0000-01-01",
    ],
    ids=shown,
)
@pytest.mark.parametrize("field", ["start", "end"])
def test_a_bad_date_is_a_query_error(layer: ml.SemanticLayer, field: str, value: Any) -> None:
    raises_user_error(lambda: layer.query("signups", **{field: value}), field=field)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01", None),
        (None, "0001-01-01"),
        ("9999-12-31", None),
        (None, "9999-12-31"),
        ("0001-01-01", "9999-12-31"),
        (dt.date.min, dt.date.max),
    ],
)
@pytest.mark.parametrize("metric", ["signups", "daily_active_users", "mrr", "mrr_growth_rate"])
def test_dates_at_the_ends_of_the_calendar_run(
    layer: ml.SemanticLayer, start: Any, end: Any, metric: str
) -> None:
    result = layer.query(metric, by="metric_time.month", start=start, end=end).run()
    assert result.columns == ("metric_time.month", metric)


@pytest.mark.parametrize(
    "limit", [0, -1, -(10**30), 10**30, MAX_LIMIT + 1, 1.0, 1.5, True, "5", b"5", [5], Opaque()]
)
def test_a_bad_limit_is_a_query_error(layer: ml.SemanticLayer, limit: Any) -> None:
    raises_user_error(lambda: layer.query("signups", limit=limit), field="limit")


@pytest.mark.parametrize("limit", [1, MAX_LIMIT, np.int64(2), np.uint8(3)], ids=repr)
def test_whole_numbers_of_any_integer_type_limit(layer: ml.SemanticLayer, limit: Any) -> None:
    result = layer.query("signups", by="user.plan", limit=limit).run()
    assert len(result) == min(int(limit), 4)


@pytest.mark.parametrize("name", ["signups", "user.plan", "- signups", " -signups "])
def test_order_names_are_stripped(layer: ml.SemanticLayer, name: str) -> None:
    query = layer.query("signups", by="user.plan", order=name)
    assert [o.name for o in query.spec.order] == [name.strip(" -")]


@pytest.mark.parametrize("value", [*BAD_NAMES, *UNKNOWN_NAMES], ids=shown)
def test_a_bad_metric_name_is_a_query_error(layer: ml.SemanticLayer, value: Any) -> None:
    raises_user_error(lambda: layer.metric(value), field="metric")


@pytest.mark.parametrize("value", [v for v in BAD_NAMES if v not in ("", None)], ids=shown)
def test_a_bad_dialect_is_a_user_error(layer: ml.SemanticLayer, value: Any) -> None:
    error = raises_user_error(lambda: layer.query("signups").sql(value))
    assert isinstance(error, ml.QueryError | ml.UnsupportedError)
    error = raises_user_error(lambda: layer.query("signups").statement(value))
    assert isinstance(error, ml.QueryError | ml.UnsupportedError)


@pytest.mark.parametrize("value", ["nosuch", "duckdb;", "DuckDB ", "s\u0456mple"])
def test_an_unknown_dialect_lists_the_known_ones(layer: ml.SemanticLayer, value: str) -> None:
    if value == "DuckDB ":
        assert layer.query("signups").sql(value) == layer.query("signups").sql("duckdb")
        return
    error = raises_user_error(lambda: layer.query("signups").sql(value))
    assert isinstance(error, ml.UnsupportedError)
    assert "Known dialects: " in str(error)


@pytest.mark.parametrize("dialect", [None, ""])
def test_no_dialect_means_the_layers(layer: ml.SemanticLayer, dialect: str | None) -> None:
    assert layer.query("signups").sql(dialect) == layer.query("signups").sql("duckdb")
    assert layer.query("signups").statement(dialect).dialect == "duckdb"


@pytest.mark.parametrize("pretty", [None, 1, "yes", [True]], ids=repr)
def test_pretty_is_true_or_false(layer: ml.SemanticLayer, pretty: Any) -> None:
    raises_user_error(lambda: layer.query("signups").sql(pretty=pretty), field="pretty")


@pytest.mark.parametrize(
    "path", [*[v for v in WRONG_TYPES if v != 0], None, ["definitions"], "", "   "], ids=shown
)
def test_a_path_that_is_not_a_path_is_a_diagnostic(path: Any) -> None:
    graph, diagnostics = ml.check(path)
    assert graph is None
    [diagnostic] = diagnostics
    assert (diagnostic.level, diagnostic.code) == (ml.Level.ERROR, "project")
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(path)
    assert caught.value.diagnostics == (diagnostic,)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("\x00", "no such file or folder"),
        ("definitions\x00", "no such file or folder"),
        (HUGE, "no such file or folder 'xxxx"),
        ("/" + "a/" * 3000, "no such file or folder '/a/a/"),
    ],
    ids=shown,
)
def test_a_path_that_cannot_be_read_is_a_diagnostic(path: str, expected: str) -> None:
    graph, diagnostics = ml.check(path)
    assert graph is None or any(d.level is ml.Level.ERROR for d in diagnostics)
    assert any(expected in str(d) for d in diagnostics), [str(d)[:200] for d in diagnostics]
    assert all(len(str(d)) < 2000 for d in diagnostics)


def test_a_path_like_object_loads() -> None:
    class Location(os.PathLike[str]):
        def __fspath__(self) -> str:
            return str(DEFINITIONS)

    assert len(ml.load(Location()).metrics) == len(ml.load(DEFINITIONS).metrics)


@pytest.mark.parametrize("connection", [*WRONG_TYPES, ["duckdb://"]], ids=shown)
def test_a_connection_that_is_not_a_url_string_is_an_engine_error(connection: Any) -> None:
    with pytest.raises(ml.EngineError, match="connection: expected a SQLAlchemy URL"):
        ml.load(DEFINITIONS, connection=connection)


@pytest.mark.parametrize("cache_bytes", [-1, 1.5, "1", True])
def test_a_cache_bound_that_is_not_a_byte_count_is_a_query_error(cache_bytes: Any) -> None:
    raises_user_error(lambda: ml.load(DEFINITIONS, cache_bytes=cache_bytes), field="cache_bytes")


def test_an_unexpected_exception_becomes_an_internal_error(
    layer: ml.SemanticLayer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics_layer.sql import dialects

    def broken(*args: object, **kwargs: object) -> str:
        raise KeyError("a bug")

    monkeypatch.setattr(dialects, "render", broken)
    layer.compiled.clear()
    with pytest.raises(ml.InternalError, match=r"^KeyError: 'a bug'$") as caught:
        layer.query("signups", by="user.country").sql()
    assert isinstance(caught.value.__cause__, KeyError)
