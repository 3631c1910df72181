"""Loading the demo data into another engine, to try the shipped definitions there.

The only code in metrics_layer that writes to a database. It runs only when asked
(``metrics-layer demo --connection URL`` or ``load_demo(url)``), on its own write connection
(never the read-only ``Connection``), and writes only its own tables in its own place:

============ ====================================== ==============================================
engine       where                                  target in definitions/metrics_layer.yml
============ ====================================== ==============================================
PostgreSQL   schema ``metrics_layer_demo``          ``demo_postgres`` (schema)
MariaDB      tables ``mldemo_*`` in the URL's       ``demo_mariadb`` (table prefix): a schema is a
/ MySQL      database                               database there, which a user may not create
SQLite       the URL's file                         none
Spark        folder ``metrics_layer_demo.db`` in    ``demo_spark`` (schema): parquet files, see
             the URL's warehouse                    ``demo/warehouse.py``
DuckDB       the URL's file                         none
ClickHouse   database ``metrics_layer_demo`` in the  ``demo_clickhouse`` (schema)
(chdb)       URL's directory (created if missing)
============ ====================================== ==============================================

A marker table records the data version and the layout version (the tables' shape and their
indexes): loading again finds both and does nothing, so several processes (or test workers) may
ask at once; a marker from an older layout makes the loader write the tables again. Every table
gets an index on its key (``KEYS`` in ``demo/data.py``): the others on ``user_id`` (unique in
``users``), as a warehouse table joined on that key would have (without one MariaDB joins by
nested loops, 5-7 s a query instead of 0.2 s), ``retail_calendar`` a unique one on ``day``; on
ClickHouse the ``MergeTree`` tables are sorted by the key instead.
Types: PostgreSQL timestamps are ``timestamptz`` (time-zone-aware, stored as UTC); ClickHouse
``DateTime64(6, 'UTC')`` (time-zone-aware) and ``Date32``; MariaDB ``DATETIME``; money is
``DECIMAL(10, 2)`` everywhere but SQLite (``REAL``: SQLite has no decimal type). DDL is built as
sqlglot trees, inserts by SQLAlchemy Core (which writes each driver's placeholders), or on
ClickHouse as CSV streamed to chdb.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from metrics_layer.demo.data import DATA_VERSION, KEYS, SCHEMA, generate
from metrics_layer.demo.model import Table
from metrics_layer.errors import EngineError

__all__ = ["DEMO_PREFIX", "DEMO_SCHEMA", "Loaded", "demo_tables", "load_demo"]

DEMO_SCHEMA = "metrics_layer_demo"
DEMO_PREFIX = "mldemo_"
_MARKER = "demo_version"
_BATCH = 20_000
# The shape of what the loader writes; raise it when tables, types or indexes change.
_LAYOUT = 4


@dataclass(frozen=True)
class Loaded:
    """Where the demo tables are, and the target that reads them (None: tables as named)."""

    place: str
    target: str | None
    rows: int
    created: bool


@dataclass(frozen=True)
class _Place:
    dialect: str
    schema: str | None
    prefix: str
    target: str | None
    types: dict[str, str]

    def table(self, name: str) -> exp.Table:
        return exp.Table(
            this=exp.to_identifier(self.prefix + name),
            db=exp.to_identifier(self.schema) if self.schema else None,
        )

    def where(self) -> str:
        if self.schema:
            return f"schema {self.schema}"
        return f"tables {self.prefix}*" if self.prefix else "the database file"


_PLACES = {
    "postgres": _Place("postgres", DEMO_SCHEMA, "", "demo_postgres", {"TIMESTAMP": "TIMESTAMPTZ"}),
    "mysql": _Place("mysql", None, DEMO_PREFIX, "demo_mariadb", {"VARCHAR": "VARCHAR(64)"}),
    "sqlite": _Place(
        "sqlite", None, "", None, {"TIMESTAMP": "TEXT", "DATE": "TEXT", "DECIMAL(10,2)": "REAL"}
    ),
}


def demo_tables(dialect: str, schema: str) -> dict[str, tuple[exp.Create, exp.Create]]:
    """Table name: (CREATE TABLE, CREATE INDEX) of each demo table as the loader writes them
    for ``dialect`` (a key of the module's table), in ``schema``: for a copy made another way,
    such as the benchmarks' bulk load.
    """
    place = dataclasses.replace(_PLACES[dialect], schema=schema, prefix="")
    tables = [Table(name, columns, []) for name, columns in SCHEMA.items()]
    return {table.name: (_create(table, place), _index(table, place)) for table in tables}


def load_demo(url: str, *, replace: bool = False) -> Loaded:
    """Write the demo tables to the database at ``url`` (see the module's table for where).

    Does nothing when the same data version is there already, unless ``replace``; never
    touches any other table.
    """
    from metrics_layer.engine.urls import dialect_of, parse

    dialect = dialect_of(url)
    if dialect == "duckdb":
        return _duckdb(url, replace=replace)
    if dialect == "clickhouse":
        from metrics_layer.demo.clickhouse import load_clickhouse

        return load_clickhouse(url, replace=replace)
    if dialect == "spark":
        return _spark(url, replace=replace)
    place = _PLACES.get(dialect)
    if place is None:
        raise EngineError(
            "the demo loads into DuckDB, SQLite, PostgreSQL, MariaDB/MySQL, ClickHouse (chdb) "
            f"and Spark, not {dialect}"
        )
    import sqlalchemy

    engine = sqlalchemy.create_engine(parse(url))
    try:
        with engine.begin() as connection:
            _lock(connection, dialect)
            if not replace and _version(connection, place) == (DATA_VERSION, _LAYOUT):
                return Loaded(place.where(), place.target, 0, created=False)
            rows = _write(connection, place)
        return Loaded(place.where(), place.target, rows, created=True)
    except sqlalchemy.exc.DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise EngineError(
            f"cannot load the demo into {place.where()}: {detail}. The user needs the right to "
            "create tables there"
        ) from exc
    finally:
        engine.dispose()


def _duckdb(url: str, *, replace: bool) -> Loaded:
    from pathlib import Path

    from metrics_layer.demo.store import create_demo, ensure_demo
    from metrics_layer.engine.urls import parse

    database = parse(url).database
    if not database or database == ":memory:":
        raise EngineError("give the demo a DuckDB file: duckdb:///path/to/demo.duckdb")
    path = Path(database)
    created = replace or not path.exists()
    if replace:
        create_demo(path, overwrite=True)
    else:
        ensure_demo(path)
    return Loaded(str(path), None, 0, created)


def _spark(url: str, *, replace: bool) -> Loaded:
    from metrics_layer.demo.warehouse import SPARK_TARGET, load_warehouse
    from metrics_layer.engine.adapters.spark import parse_url

    warehouse = parse_url(url).warehouse
    if warehouse is None:
        raise EngineError("give the demo a warehouse: spark://local?warehouse=/absolute/path")
    where, rows, created = load_warehouse(warehouse, DEMO_SCHEMA, replace=replace)
    return Loaded(where, SPARK_TARGET, rows, created)


def _lock(connection: Any, dialect: str) -> None:
    """One loader at a time per database (released at the end of the transaction or session)."""
    if dialect == "postgres":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(734011)")
    elif dialect == "mysql":
        connection.exec_driver_sql("SELECT GET_LOCK('metrics_layer_demo', 120)")


def _version(connection: Any, place: _Place) -> tuple[int, int] | None:
    """(data version, layout) in the marker table; None when there is no current marker."""
    import sqlalchemy

    name = place.prefix + _MARKER
    inspector = sqlalchemy.inspect(connection)
    if not inspector.has_table(name, schema=place.schema):
        return None
    columns = {column["name"] for column in inspector.get_columns(name, schema=place.schema)}
    if columns != {"version", "layout"}:
        return None
    marker = sqlalchemy.table(
        name, sqlalchemy.column("version"), sqlalchemy.column("layout"), schema=place.schema
    )
    found = connection.execute(sqlalchemy.select(marker.c.version, marker.c.layout)).first()
    return None if found is None else (int(found[0]), int(found[1]))


def _write(connection: Any, place: _Place) -> int:
    data = generate()
    if place.schema:
        schema = exp.Create(
            kind="SCHEMA", this=exp.Table(db=exp.to_identifier(place.schema)), exists=True
        )
        connection.exec_driver_sql(schema.sql(place.dialect))
    total = 0
    for table in [*data.values(), _marker_table()]:
        target = place.table(table.name)
        connection.exec_driver_sql(
            exp.Drop(kind="TABLE", tables=[target], exists=True).sql(place.dialect)
        )
        connection.exec_driver_sql(_create(table, place).sql(place.dialect))
        rows = [(DATA_VERSION, _LAYOUT)] if table.name == _MARKER else table.rows
        insert = _insert(table, place)
        names = table.column_names
        for batch in _batches(rows):
            connection.execute(
                insert, [dict(zip(names, _row(r, place), strict=True)) for r in batch]
            )
        if table.name in KEYS:
            connection.exec_driver_sql(_index(table, place).sql(place.dialect))
        total += len(rows) if table.name != _MARKER else 0
    return total


def _marker_table() -> Table:
    from metrics_layer.demo.model import Column

    return Table(
        _MARKER,
        (Column("version", "INTEGER", nullable=False), Column("layout", "INTEGER", nullable=False)),
        [],
    )


def _index(table: Table, place: _Place) -> exp.Create:
    """CREATE [UNIQUE] INDEX <prefix><table>_<key> ON <table> (<key>), the key from ``KEYS``.

    >>> _index(Table("retail_calendar", (), []), _PLACES["mysql"]).sql("mysql")
    'CREATE UNIQUE INDEX mldemo_retail_calendar_day ON mldemo_retail_calendar(day)'
    """
    key = KEYS[table.name]
    return exp.Create(
        kind="INDEX",
        unique=key.unique,
        this=exp.Index(
            this=exp.to_identifier(f"{place.prefix}{table.name}_{key.column}"),
            table=place.table(table.name),
            params=exp.IndexParameters(columns=[exp.column(key.column)]),
        ),
    )


def _create(table: Table, place: _Place) -> exp.Create:
    columns = [
        exp.ColumnDef(
            this=exp.to_identifier(column.name),
            kind=exp.DataType.build(
                place.types.get(column.sql_type.replace(" ", ""), column.sql_type),
                dialect=place.dialect,
            ),
            constraints=[]
            if column.nullable
            else [exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())],
        )
        for column in table.columns
    ]
    return exp.Create(
        kind="TABLE", this=exp.Schema(this=place.table(table.name), expressions=columns)
    )


def _insert(table: Table, place: _Place) -> Any:
    """An INSERT of one row's named values; SQLAlchemy writes each driver's placeholders."""
    import sqlalchemy

    target = sqlalchemy.table(
        place.prefix + table.name,
        *(sqlalchemy.column(name) for name in table.column_names),
        schema=place.schema,
    )
    return sqlalchemy.insert(target)


def _row(row: Sequence[Any], place: _Place) -> tuple[Any, ...]:
    if place.dialect != "sqlite":
        return tuple(row)
    return tuple(_sqlite_value(value) for value in row)


def _sqlite_value(value: Any) -> Any:
    import decimal

    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _batches(rows: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]
