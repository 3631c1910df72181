"""Targets: the same definitions against another environment's tables, on real engines."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import MARIADB_URL, POSTGRES_URL, require_server
from projects import WriteProject

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.errors import Diagnostic


def said(diagnostic: Diagnostic) -> str:
    """A diagnostic's message and hint, as its one-line form joins them."""
    return f"{diagnostic.message}; {diagnostic.hint}" if diagnostic.hint else diagnostic.message


PROJECT = """
project:
  name: shop
  targets:
    dev: {schema: dev}
    staging: {schemas: {main: staging}}
    shared: {table_prefix: ml_}
sources:
  - name: orders
    table: orders
    entities: [{name: order, key: order_id, primary: true}]
    dimensions: [{name: country}]
    measures: [{name: orders, agg: count}]
  - name: big_orders
    sql: |
      WITH big AS (SELECT * FROM main.orders WHERE amount >= 10)
      SELECT big.* FROM big
    entities: [{name: big_order, key: order_id, primary: true}]
    measures: [{name: big_orders, agg: count}]
metrics:
  - {name: orders, type: simple, measure: orders.orders}
  - {name: big_orders, type: simple, measure: big_orders.big_orders}
"""


@pytest.fixture
def shop(write_project: WriteProject, tmp_path: Path) -> tuple[Path, str]:
    """The project, and a DuckDB file with the same table under four names: main.orders
    (3 rows), dev.orders (2), staging.orders (1) and main.ml_orders (4)."""
    project = write_project({"metrics_layer.yml": PROJECT})
    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA dev")
        con.execute("CREATE SCHEMA staging")
        for table, amounts in {
            "main.orders": [5, 10, 20],
            "dev.orders": [10, 1],
            "staging.orders": [30],
            "main.ml_orders": [1, 2, 3, 40],
        }.items():
            con.execute(f"CREATE TABLE {table} (order_id INT, country TEXT, amount INT)")
            for i, amount in enumerate(amounts):
                con.execute(f"INSERT INTO {table} VALUES ({i}, 'DE', {amount})")
    return project, f"duckdb:///{database}"


@pytest.mark.parametrize(
    ("target", "orders", "big_orders"),
    [
        # main.orders: 3 rows, of which 10 and 20 are >= 10.
        (None, 3, 2),
        # dev.orders for 'orders'; 'main.orders' in the sql names a schema, which dev keeps.
        ("dev", 2, 2),
        # staging renames the main schema: staging.orders (30) for both.
        ("staging", 3, 1),
        # shared prefixes every table: main.ml_orders, 4 rows, one of them >= 10.
        ("shared", 4, 1),
    ],
)
def test_each_target_reads_its_own_tables(
    shop: tuple[Path, str], target: str | None, orders: int, big_orders: int
) -> None:
    project, url = shop
    layer = ml.load(project, connection=url, target=target)
    assert layer.query(["orders", "big_orders"]).run().rows == ((orders, big_orders),)


def test_the_renamed_tables_show_in_the_sql(shop: tuple[Path, str]) -> None:
    project, _ = shop
    sql = ml.load(project, target="shared").query(["orders", "big_orders"]).sql()
    assert "FROM ml_orders AS orders" in sql
    assert "FROM main.ml_orders" in sql
    assert "FROM big" in sql  # the query's own CTE keeps its name


def test_the_environment_variable_and_the_project_default_choose_a_target(
    shop: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, url = shop
    monkeypatch.setenv("METRICS_LAYER_TARGET", "dev")
    assert ml.load(project, connection=url).query("orders").run().rows == ((2,),)
    assert ml.load(project, connection=url, target="shared").query("orders").run().rows == ((4,),)
    monkeypatch.delenv("METRICS_LAYER_TARGET")
    text = (
        (project / "metrics_layer.yml")
        .read_text()
        .replace("name: shop", "name: shop\n  target: staging")
    )
    (project / "metrics_layer.yml").write_text(text)
    assert ml.load(project, connection=url).query("orders").run().rows == ((3,),)
    assert ml.load(project, connection=url).query("big_orders").run().rows == ((1,),)


def test_an_unknown_target_lists_the_known_ones(shop: tuple[Path, str]) -> None:
    project, _ = shop
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(project, target="stagin")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.file == str(project / "metrics_layer.yml")
    assert said(diagnostic) == (
        "unknown target 'stagin'. Did you mean 'staging'? The project's targets: dev, shared, "
        "staging; declare it under project.targets, or choose another with target=, --target "
        "or METRICS_LAYER_TARGET"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("schema", "'x; DROP TABLE t'"), ("table_prefix", "'a.b'"), ("schemas", "{main: '/etc'}")],
)
def test_a_target_cannot_turn_a_table_name_into_sql(
    write_project: WriteProject, field: str, value: str
) -> None:
    text = PROJECT.replace("dev: {schema: dev}", f"dev: {{{field}: {value}}}")
    _, diagnostics = ml.check(write_project({"metrics_layer.yml": text}))
    [error] = [d for d in diagnostics if d.level is ml.Level.ERROR]
    assert (error.line, error.code) == (4, "schema")
    assert said(error).startswith("project, target 'dev': ")
    assert " is not a valid name; use letters, digits, '_', '$' and '-'" in said(error)
    assert "use letters, digits, '_', '$' and '-'" in said(error)


def test_cli_target(shop: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    project, url = shop
    code = main(["query", "orders", "-p", str(project), "-c", url, "--target", "dev", "-f", "csv"])
    assert (code, capsys.readouterr().out) == (0, "orders\n2\n")
    assert main(["check", str(project), "--target", "nope"]) == 1
    assert "unknown target 'nope'" in capsys.readouterr().err


SYSTEM_PROJECT = """
project:
  name: system
  targets:
    catalog: {schema: information_schema}
sources:
  - name: schemata
    table: schemata
    entities: [{name: schema_row, key: schema_name, primary: true}]
    dimensions: [{name: schema_name}]
    measures: [{name: schemas, agg: count}]
metrics:
  - {name: schemas, type: simple, measure: schemata.schemas}
"""


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("PostgreSQL", POSTGRES_URL),
        ("MariaDB", MARIADB_URL),
    ],
)
def test_a_target_schema_on_a_server(write_project: WriteProject, name: str, url: str) -> None:
    """Both servers have the standard information_schema.schemata: read through a target
    schema, it holds exactly one row named information_schema."""
    require_server(name, url)
    layer = ml.load(
        write_project({"metrics_layer.yml": SYSTEM_PROJECT}), connection=url, target="catalog"
    )
    query = layer.query(["schemas"], where="schema_row.schema_name = 'information_schema'")
    assert "information_schema.schemata" in query.sql().lower()
    assert query.run().rows == ((1,),)
