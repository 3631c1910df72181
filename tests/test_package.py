"""The public package: exported names, lazy imports, read-only execution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import metrics_layer as ml
from metrics_layer.engine.connection import Connection
from metrics_layer.safety.statement import verify


def test_all_is_complete_and_importable() -> None:
    public = {
        name
        for name in dir(ml)
        if not name.startswith("_") and not isinstance(getattr(ml, name), ModuleType)
    }
    assert set(ml.__all__) == public - {"annotations", "TYPE_CHECKING"}
    for name in ml.__all__:
        assert getattr(ml, name) is not None


def test_every_error_is_a_metrics_layer_error() -> None:
    for name in ml.__all__:
        value = getattr(ml, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, ml.MetricsLayerError), name


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'lod'"):
        _ = ml.lod  # type: ignore[attr-defined]


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, metrics_layer; "
        "print(','.join(m for m in ('sqlglot', 'pydantic', 'sqlalchemy', 'duckdb', 'jsonschema', "
        "'yaml', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_only_verified_statements_are_sent(demo_db: Path) -> None:
    connection = Connection(f"duckdb:///{demo_db}")
    for statement in ("CREATE TABLE written (a INTEGER)", "  drop table users", "INSERT INTO x"):
        with pytest.raises(ml.StatementError, match="refused SQL"):
            verify(statement, "duckdb")
        with pytest.raises(ml.InternalError, match="only a Statement"):
            connection.fetch(statement)  # type: ignore[arg-type]
    connection.close()


def test_demo_database_is_opened_read_only(demo_db: Path) -> None:
    connection = Connection(f"duckdb:///{demo_db}")
    with connection.engine.connect() as raw, pytest.raises(Exception, match="read-only"):
        raw.exec_driver_sql("CREATE TABLE written (a INTEGER)")
    fetched = connection.fetch(verify("SELECT COUNT(*) AS n FROM users", "duckdb"))
    assert fetched.columns == ("n",)
    assert fetched.rows[0][0] > 0
    connection.close()


def test_result_carries_sql_versions_and_timing(layer: ml.SemanticLayer) -> None:
    result = layer.query(["arpu"], by=["metric_time.year"]).run()
    assert result.versions == {"arpu": 1, "mrr": 1, "paying_customers": 1}
    assert "subscription_snapshots" in result.sql
    assert result.columns == ("metric_time.year", "arpu")
    assert result.compile_ms > 0
    assert result.execute_ms > 0
    assert [row["metric_time.year"] for row in result.to_dicts()] == ["2025-01-01", "2026-01-01"]
    frame = result.to_pandas()
    assert list(frame.columns) == ["metric_time.year", "arpu"]
    assert "<table>" in result._repr_html_()


def test_compiled_sql_is_cached_per_query_and_dialect(layer: ml.SemanticLayer) -> None:
    first = layer.query(["signups"], by=["user.plan"], start="2026-02-03").sql()
    again = layer.query(["signups"], by=["user.plan"], start="2026-02-03").sql()
    assert again is first
    other = layer.query(["signups"], by=["user.plan"], start="2026-02-03").sql("bigquery")
    assert other != first
    assert layer.query(["signups"], by=["user.plan"], start="2026-02-04").sql() != first


def test_the_cache_forgets_the_least_recently_used() -> None:
    from metrics_layer.planner.query import MetricQuery
    from metrics_layer.sql.cache import ENTRY_OVERHEAD_BYTES, CompiledCache

    def key(name: str) -> tuple[MetricQuery, str, bool]:
        return (MetricQuery.of(name), "duckdb", True)

    sql = "SELECT " + "x" * 1000
    entry = sys.getsizeof(sql) + ENTRY_OVERHEAD_BYTES
    cache = CompiledCache(2 * entry + entry // 2)
    cache.put(key("a"), sql)
    cache.put(key("b"), sql)
    assert cache.get(key("a")) == sql
    cache.put(key("c"), sql)
    assert cache.get(key("b")) is None
    assert (cache.get(key("a")), cache.get(key("c"))) == (sql, sql)
    assert (len(cache), cache.nbytes) == (2, 2 * entry)


def test_the_cache_is_bounded_by_bytes_not_entries() -> None:
    from metrics_layer.planner.query import MetricQuery
    from metrics_layer.sql.cache import ENTRY_OVERHEAD_BYTES, CompiledCache

    where = "user.country = '" + "d" * 100_000 + "'"
    cache = CompiledCache(1_000_000)
    for day in range(1, 29):
        query = MetricQuery.of("signups", where=where, start=f"2026-02-{day:02}")
        cache.put((query, "duckdb", True), "SELECT 1")
        assert cache.nbytes <= cache.max_bytes
    each = sys.getsizeof("SELECT 1") + sys.getsizeof(where) + ENTRY_OVERHEAD_BYTES
    assert len(cache) == 1_000_000 // each == 9


def test_an_entry_larger_than_the_cache_is_not_kept() -> None:
    from metrics_layer.planner.query import MetricQuery
    from metrics_layer.sql.cache import CompiledCache

    cache = CompiledCache(10_000)
    small = (MetricQuery.of("a"), "duckdb", True)
    cache.put(small, "SELECT 1")
    cache.put((MetricQuery.of("b"), "duckdb", True), "x" * 10_000)
    assert (len(cache), cache.get(small)) == (1, "SELECT 1")
    off = CompiledCache(0)
    off.put(small, "SELECT 1")
    assert (len(off), off.get(small)) == (0, None)


@pytest.mark.parametrize("size", [-1, 1.5, True, "1000", None])
def test_the_cache_bound_is_a_number_of_bytes(size: object) -> None:
    from metrics_layer.sql.cache import CompiledCache

    with pytest.raises(ml.QueryError, match="cache_bytes: expected a number of bytes"):
        CompiledCache(size)  # type: ignore[arg-type]


def test_catalogue_reprs(layer: ml.SemanticLayer) -> None:
    metric = layer.metric("mrr")
    assert repr(metric) == "<Metric mrr v1 certified simple: Monthly recurring revenue (MRR)>"
    page = layer._repr_html_()
    assert page.count("<tr>") == 1 + 2 * len(layer.metrics)
    assert "Monthly recurring revenue (MRR)" in page


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "mysql", "redshift"])
def test_one_query_compiles_for_several_dialects(layer: ml.SemanticLayer, dialect: str) -> None:
    asked = {"by": ["metric_time.week", "user.plan"], "where": "user.country = 'FR'"}
    query = layer.query(["daily_active_users", "mrr", "signups"], **asked)  # type: ignore[arg-type]
    layer.compiled.clear()
    first = query.sql()
    second = query.sql(dialect)
    layer.compiled.clear()
    alone = layer.query(["daily_active_users", "mrr", "signups"], **asked).sql(dialect)  # type: ignore[arg-type]
    assert second == alone
    assert first != second
    assert query.plan.columns == query.columns
    assert query.tree.sql("duckdb", pretty=True) == first


def test_the_distribution_name_is_ours_everywhere() -> None:
    """``metrics-layer`` on the package index is another project with the same import name:
    every install hint names this one's distribution, with an extra it has."""
    import re
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "kpi-layer"
    extras = project["optional-dependencies"]
    assert "kpi-layer[test]" in extras["dev"]
    files = [*(root / "metrics_layer").rglob("*.py"), *(root / "docs").glob("*.md")]
    files.append(root / "README.md")
    hints = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "metrics-layer[" not in text, path
        # The index normalises metrics_layer to metrics-layer: the other project.
        assert not re.search(r"pip install ['\"]?metrics[-_]layer\b", text), path
        assert "metrics_layer[" not in text, path
        for extra in re.findall(r"kpi-layer\[([a-z]+)\]", text):
            assert extra in extras, (path, extra)
            hints += 1
    assert hints >= 8


def test_no_class_of_the_package_is_made_from_sqlglot() -> None:
    """sqlglot's compiled build (``sqlglot[c]``, installed by a user or by another tool) refuses
    to make an instance of a class defined outside it: the package extends sqlglot by what a
    node carries (``meta``), never by a class of its own (docs/architecture.md)."""
    import importlib
    import inspect
    import pkgutil

    modules = [
        importlib.import_module(found.name)
        for found in pkgutil.walk_packages(ml.__path__, "metrics_layer.")
        if not found.name.endswith("__main__")
    ]
    assert len(modules) > 100
    made = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and any(base.__module__.split(".")[0] == "sqlglot" for base in value.__mro__)
    ]
    assert made == []
