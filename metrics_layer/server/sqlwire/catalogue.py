"""The relational catalogue BI tools read: ``information_schema`` and the ``pg_catalog``
tables psql, SQLAlchemy, Superset and Metabase ask, answered from the caller's visible
metrics and dimensions, never from the warehouse.

Each (served layer, access key) has a small in-memory DuckDB database holding tables shaped
like PostgreSQL's (``pgc.pg_class``, ``pgi.columns``, ...) and macros for the PostgreSQL
functions those queries call (``pg_table_is_visible``, ``format_type``, ...). A tool's query
is parsed by sqlglot, checked (tables of the two catalogue schemas only, functions from an
allow-list), rewritten onto those tables and run there. The DuckDB database is opened with
external access off, so no query can read a file either.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from metrics_layer.api import Query, SemanticLayer
from metrics_layer.planner.query import MetricQuery
from metrics_layer.planner.types import ValueType
from metrics_layer.server.kept import KeptForLayer
from metrics_layer.server.sqlwire.errors import SqlError

__all__ = [
    "Catalogue",
    "CatalogueColumn",
    "Catalogues",
    "catalogue_of",
    "catalogue_query",
    "output_names",
    "reads_catalogue",
    "reads_empty_table",
    "reads_no_rows",
]

DATABASE = "metrics"
SCHEMA = "public"
TABLE = "metrics"
TABLE_OID = 16384
SERVER_VERSION = "15.0 (metrics_layer)"
VERSION_TEXT = f"PostgreSQL {SERVER_VERSION}, the metrics_layer SQL interface"

# PostgreSQL type oids, their names (format_type) and the value type of each.
INT8, FLOAT8, DATE, TIMESTAMP, TEXT, BOOL = 20, 701, 1082, 1114, 25, 16
_TYPES: dict[int, tuple[str, str, int]] = {  # oid: (typname, format_type, typlen)
    16: ("bool", "boolean", 1),
    17: ("bytea", "bytea", -1),
    18: ("char", '"char"', 1),
    19: ("name", "name", 64),
    20: ("int8", "bigint", 8),
    21: ("int2", "smallint", 2),
    23: ("int4", "integer", 4),
    25: ("text", "text", -1),
    26: ("oid", "oid", 4),
    700: ("float4", "real", 4),
    701: ("float8", "double precision", 8),
    1043: ("varchar", "character varying", -1),
    1082: ("date", "date", 4),
    1114: ("timestamp", "timestamp without time zone", 8),
    1184: ("timestamptz", "timestamp with time zone", 8),
    1700: ("numeric", "numeric", -1),
}
_OID_OF = {
    ValueType.DATE: DATE,
    ValueType.TIMESTAMP: TIMESTAMP,
    ValueType.INTEGER: INT8,
    ValueType.FLOAT: FLOAT8,
    ValueType.BOOLEAN: BOOL,
    ValueType.AS_RETURNED: TEXT,
}
_GRAINS = ("week", "month", "quarter", "year")

SETTINGS = {
    "server_version": SERVER_VERSION,
    "server_version_num": "150000",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "DateStyle": "ISO, MDY",
    "TimeZone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "transaction_isolation": "read committed",
    "default_transaction_read_only": "on",
    "transaction_read_only": "on",
    "search_path": '"$user", public',
    "max_identifier_length": "63",
    "IntervalStyle": "postgres",
    "is_superuser": "off",
    "lc_collate": "C.UTF-8",
    "lc_ctype": "C.UTF-8",
    "max_index_keys": "32",
    "extra_float_digits": "1",
}
"""What ``SHOW`` and ``pg_settings`` answer (the startup ParameterStatus are among them)."""

# pg_catalog tables this interface never has rows in: a query reading one that DuckDB cannot
# run (their columns are arrays and node trees) answers no rows.
_EMPTY = {
    "pg_policy",
    "pg_statistic_ext",
    "pg_publication",
    "pg_publication_rel",
    "pg_publication_namespace",
    "pg_trigger",
    "pg_rewrite",
    "pg_event_trigger",
    "pg_extension",
    "pg_foreign_table",
    "pg_partitioned_table",
    "pg_inherits",
    "pg_index",
    "pg_constraint",
    "pg_proc",
    "pg_enum",
    "pg_sequence",
    "pg_attrdef",
    "pg_depend",
    "pg_matviews",
    "pg_views",
    "pg_foreign_server",
    "pg_foreign_data_wrapper",
    "pg_opclass",
    "pg_tablespace",
    "pg_stat_activity",
    "pg_locks",
    "pg_auth_members",
    "pg_shdescription",
    "pg_aggregate",
    "pg_operator",
    "pg_cast",
    "pg_range",
    "pg_stat_user_tables",
}

_TABLES_DDL = """
CREATE SCHEMA public;
CREATE SCHEMA pgc;
CREATE SCHEMA pgi;
CREATE TABLE pgc.pg_namespace (oid BIGINT, nspname VARCHAR, nspowner BIGINT, nspacl VARCHAR);
CREATE TABLE pgc.pg_class (oid BIGINT, relname VARCHAR, relnamespace BIGINT, reltype BIGINT,
  reloftype BIGINT, relowner BIGINT, relam BIGINT, relfilenode BIGINT, reltablespace BIGINT,
  relpages INTEGER, reltuples DOUBLE, relallvisible INTEGER, reltoastrelid BIGINT,
  relhasindex BOOLEAN, relisshared BOOLEAN, relpersistence VARCHAR, relkind VARCHAR,
  relnatts SMALLINT, relchecks SMALLINT, relhasrules BOOLEAN, relhastriggers BOOLEAN,
  relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN,
  relispopulated BOOLEAN, relreplident VARCHAR, relispartition BOOLEAN, relacl VARCHAR,
  reloptions VARCHAR, relpartbound VARCHAR);
CREATE TABLE pgc.pg_attribute (attrelid BIGINT, attname VARCHAR, atttypid BIGINT,
  attlen SMALLINT, attnum SMALLINT, attndims INTEGER, atttypmod INTEGER, attnotnull BOOLEAN,
  atthasdef BOOLEAN, atthasmissing BOOLEAN, attidentity VARCHAR, attgenerated VARCHAR,
  attisdropped BOOLEAN, attislocal BOOLEAN, attinhcount INTEGER, attcollation BIGINT,
  attstattarget INTEGER, attacl VARCHAR, attoptions VARCHAR);
CREATE TABLE pgc.pg_type (oid BIGINT, typname VARCHAR, typnamespace BIGINT, typowner BIGINT,
  typlen SMALLINT, typbyval BOOLEAN, typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN,
  typisdefined BOOLEAN, typdelim VARCHAR, typrelid BIGINT, typelem BIGINT, typarray BIGINT,
  typinput VARCHAR, typoutput VARCHAR, typbasetype BIGINT, typtypmod INTEGER, typndims INTEGER,
  typnotnull BOOLEAN, typcollation BIGINT, typdefault VARCHAR, typacl VARCHAR);
CREATE TABLE pgc.pg_database (oid BIGINT, datname VARCHAR, datdba BIGINT, encoding INTEGER,
  datlocprovider VARCHAR, datistemplate BOOLEAN, datallowconn BOOLEAN, datconnlimit INTEGER,
  datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, datacl VARCHAR,
  dattablespace BIGINT);
CREATE TABLE pgc.pg_settings (name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR,
  short_desc VARCHAR, context VARCHAR, vartype VARCHAR, source VARCHAR);
CREATE TABLE pgc.pg_roles (oid BIGINT, rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN,
  rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolcanlogin BOOLEAN);
CREATE TABLE pgc.pg_user (usesysid BIGINT, usename VARCHAR, usesuper BOOLEAN,
  usecreatedb BOOLEAN);
CREATE TABLE pgc.pg_am (oid BIGINT, amname VARCHAR, amtype VARCHAR);
CREATE TABLE pgc.pg_description (objoid BIGINT, classoid BIGINT, objsubid INTEGER,
  description VARCHAR);
CREATE TABLE pgc.pg_collation (oid BIGINT, collname VARCHAR, collnamespace BIGINT);
CREATE TABLE pgc.pg_attrdef (oid BIGINT, adrelid BIGINT, adnum SMALLINT, adbin VARCHAR);
CREATE TABLE pgc.pg_sequence (seqrelid BIGINT, seqstart BIGINT, seqincrement BIGINT,
  seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, seqcycle BOOLEAN);
CREATE TABLE pgc.pg_index (indexrelid BIGINT, indrelid BIGINT, indnatts SMALLINT,
  indisunique BOOLEAN, indisprimary BOOLEAN, indkey VARCHAR);
CREATE TABLE pgc.pg_constraint (oid BIGINT, conname VARCHAR, connamespace BIGINT,
  contype VARCHAR, conrelid BIGINT, confrelid BIGINT, conkey VARCHAR, confkey VARCHAR);
CREATE TABLE pgc.pg_proc (oid BIGINT, proname VARCHAR, pronamespace BIGINT);
CREATE TABLE pgc.pg_enum (oid BIGINT, enumtypid BIGINT, enumsortorder DOUBLE,
  enumlabel VARCHAR);
CREATE TABLE pgc.pg_inherits (inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER);
CREATE TABLE pgc.pg_tables (schemaname VARCHAR, tablename VARCHAR, tableowner VARCHAR,
  tablespace VARCHAR, hasindexes BOOLEAN, hasrules BOOLEAN, hastriggers BOOLEAN,
  rowsecurity BOOLEAN);
CREATE TABLE pgc.pg_views (schemaname VARCHAR, viewname VARCHAR, viewowner VARCHAR,
  definition VARCHAR);
CREATE TABLE pgc.pg_matviews (schemaname VARCHAR, matviewname VARCHAR,
  matviewowner VARCHAR, definition VARCHAR);
CREATE TABLE pgi.schemata (catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR,
  default_character_set_catalog VARCHAR, default_character_set_schema VARCHAR,
  default_character_set_name VARCHAR, sql_path VARCHAR);
CREATE TABLE pgi.tables (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  table_type VARCHAR, self_referencing_column_name VARCHAR, reference_generation VARCHAR,
  user_defined_type_catalog VARCHAR, user_defined_type_schema VARCHAR,
  user_defined_type_name VARCHAR, is_insertable_into VARCHAR, is_typed VARCHAR,
  commit_action VARCHAR);
CREATE TABLE pgi.columns (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  column_name VARCHAR, ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR,
  data_type VARCHAR, character_maximum_length INTEGER, character_octet_length INTEGER,
  numeric_precision INTEGER, numeric_precision_radix INTEGER, numeric_scale INTEGER,
  datetime_precision INTEGER, interval_type VARCHAR, collation_name VARCHAR,
  domain_name VARCHAR, udt_catalog VARCHAR, udt_schema VARCHAR, udt_name VARCHAR,
  is_identity VARCHAR, is_generated VARCHAR, generation_expression VARCHAR,
  is_updatable VARCHAR);
CREATE TABLE pgi.views (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  view_definition VARCHAR);
CREATE TABLE pgi.table_constraints (constraint_catalog VARCHAR, constraint_schema VARCHAR,
  constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  constraint_type VARCHAR);
CREATE TABLE pgi.key_column_usage (constraint_catalog VARCHAR, constraint_schema VARCHAR,
  constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  column_name VARCHAR, ordinal_position INTEGER);
CREATE TABLE pgi.referential_constraints (constraint_catalog VARCHAR,
  constraint_schema VARCHAR, constraint_name VARCHAR, unique_constraint_name VARCHAR);
CREATE TABLE pgi.routines (routine_catalog VARCHAR, routine_schema VARCHAR,
  routine_name VARCHAR, routine_type VARCHAR);
CREATE TABLE pgi._format (oid BIGINT, name VARCHAR);
CREATE MACRO pgf_pg_get_userbyid(o) AS 'metrics_layer';
CREATE MACRO pgf_pg_table_is_visible(o) AS true;
CREATE MACRO pgf_pg_type_is_visible(o) AS true;
CREATE MACRO pgf_pg_collation_is_visible(o) AS true;
CREATE MACRO pgf_pg_function_is_visible(o) AS true;
CREATE MACRO pgf_pg_relation_is_publishable(o) AS false;
CREATE MACRO pgf_pg_get_expr(e, r, p := NULL) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgf_pg_get_serial_sequence(t, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgf_pg_get_indexdef(i, c := NULL, p := NULL) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgf_pg_get_constraintdef(c, p := NULL) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgf_pg_get_viewdef(v, p := NULL) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgf_pg_encoding_to_char(e) AS 'UTF8';
CREATE MACRO pgf_to_regtype(n) AS (SELECT t.oid FROM pgc.pg_type t WHERE t.typname = n);
CREATE MACRO pgf_to_regclass(n) AS (SELECT c.oid FROM pgc.pg_class c WHERE c.relname = n);
CREATE MACRO pgf_pg_is_in_recovery() AS false;
CREATE MACRO pgf_has_table_privilege(a, b := NULL, c := NULL) AS true;
CREATE MACRO pgf_has_schema_privilege(a, b := NULL, c := NULL) AS true;
CREATE MACRO pgf_has_database_privilege(a, b := NULL, c := NULL) AS true;
CREATE MACRO pgf_format_type(t, m) AS (SELECT f.name FROM pgi._format f WHERE f.oid = t);
CREATE MACRO pgf_regtype(t) AS (SELECT f.name FROM pgi._format f WHERE f.oid = t);
CREATE MACRO pgf_regclass(o) AS coalesce(
  (SELECT c.relname FROM pgc.pg_class c WHERE CAST(c.oid AS VARCHAR) = CAST(o AS VARCHAR)),
  CAST(o AS VARCHAR));
CREATE MACRO pgf_regnamespace(o) AS (SELECT n.nspname FROM pgc.pg_namespace n WHERE n.oid = o);
CREATE MACRO pgf_obj_description(o, c := NULL) AS (SELECT d.description FROM pgc.pg_description d
  WHERE d.objoid = o AND d.objsubid = 0);
CREATE MACRO pgf_col_description(o, n) AS (SELECT d.description FROM pgc.pg_description d
  WHERE d.objoid = o AND d.objsubid = n);
CREATE MACRO pgf_shobj_description(o, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO pgf_current_setting(n, m := NULL) AS (SELECT s.setting FROM pgc.pg_settings s
  WHERE lower(s.name) = lower(n));
"""

_MACROS = {
    "pg_get_userbyid",
    "pg_table_is_visible",
    "pg_type_is_visible",
    "pg_collation_is_visible",
    "pg_function_is_visible",
    "pg_relation_is_publishable",
    "pg_get_expr",
    "pg_get_serial_sequence",
    "pg_get_indexdef",
    "pg_get_constraintdef",
    "pg_get_viewdef",
    "pg_encoding_to_char",
    "to_regtype",
    "to_regclass",
    "pg_is_in_recovery",
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "format_type",
    "obj_description",
    "col_description",
    "shobj_description",
    "current_setting",
}
# Functions a catalogue query may call besides the macros: pure functions of their
# arguments, none of which reads a file, a setting or another database.
_FUNCTIONS: tuple[type[exp.Expr], ...] = (
    exp.Case,
    exp.If,
    exp.Coalesce,
    exp.Count,
    exp.Max,
    exp.Min,
    exp.Sum,
    exp.Avg,
    exp.Lower,
    exp.Upper,
    exp.Concat,
    exp.ConcatWs,
    exp.Substring,
    exp.Length,
    exp.Trim,
    exp.Nullif,
    exp.Cast,
    exp.TryCast,
    exp.Any,
    exp.All,
    exp.Array,
    exp.ArrayAgg,
    exp.GroupConcat,
    exp.RegexpLike,
    exp.StrPosition,
    exp.Greatest,
    exp.Least,
    exp.Abs,
    exp.Round,
    exp.JSONObject,
    exp.ArrayContains,
    exp.ArraySize,
    exp.Left,
    exp.Right,
    exp.RowNumber,
    exp.Exists,
)
_NATIVE = {
    "json_object",
    "array_to_string",
    "array_upper",
    "array_length",
    "quote_ident",
    "string_agg",
}


@dataclass(frozen=True)
class CatalogueColumn:
    """A column of the metrics table: its SQL name, the library's name, type oid, comment."""

    column: str
    name: str
    oid: int
    comment: str | None
    metric: bool


class Catalogue:
    """One caller's catalogue as a DuckDB database."""

    def __init__(self, columns: Sequence[CatalogueColumn]) -> None:
        import duckdb
        from cachetools import LRUCache

        self.columns = tuple(columns)
        # Answers by (query text, bound parameters, user): the catalogue never changes, so a
        # tool's repeated browse query is answered without parsing or running it again.
        self._answers: LRUCache[tuple[str, str, str], Any] = LRUCache(maxsize=512)
        self._answers_lock = threading.Lock()
        # Nothing outside this database may be read, and a client's query gets one thread
        # and bounded memory (a costly query is stopped by ``run``'s timeout).
        self._db = duckdb.connect(
            config={"enable_external_access": False, "threads": 1, "memory_limit": "256MB"}
        )
        for statement in _TABLES_DDL.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._fill()
        self._db.execute("SET lock_configuration = true")

    def _fill(self) -> None:
        db = self._db
        described = ", ".join(f'"{c.column}" {_duck_type(c.oid)}' for c in self.columns)
        db.execute(f"CREATE TABLE public.{TABLE} ({described})")
        rows: dict[str, list[tuple[Any, ...]]] = {
            "pgc.pg_namespace": [
                (11, "pg_catalog", 10, None),
                (2200, SCHEMA, 10, None),
                (13000, "information_schema", 10, None),
            ],
            "pgc.pg_class": [
                (
                    TABLE_OID,
                    TABLE,
                    2200,
                    TABLE_OID + 1,
                    0,
                    10,
                    2,
                    TABLE_OID,
                    0,
                    0,
                    -1.0,
                    0,
                    0,
                    False,
                    False,
                    "p",
                    "r",
                    len(self.columns),
                    0,
                    False,
                    False,
                    False,
                    False,
                    False,
                    True,
                    "d",
                    False,
                    None,
                    None,
                    None,
                ),
            ],
            "pgc.pg_attribute": [
                (
                    TABLE_OID,
                    c.column,
                    c.oid,
                    _TYPES[c.oid][2],
                    i,
                    0,
                    -1,
                    False,
                    False,
                    False,
                    "",
                    "",
                    False,
                    True,
                    0,
                    100 if c.oid == TEXT else 0,
                    -1,
                    None,
                    None,
                )
                for i, c in enumerate(self.columns, start=1)
            ],
            "pgc.pg_type": [
                (
                    oid,
                    name,
                    11,
                    10,
                    length,
                    length > 0,
                    "b",
                    "U",
                    False,
                    True,
                    ",",
                    0,
                    0,
                    0,
                    f"{name}in",
                    f"{name}out",
                    0,
                    -1,
                    0,
                    False,
                    100 if oid in (TEXT, 1043, 19) else 0,
                    None,
                    None,
                )
                for oid, (name, _, length) in _TYPES.items()
            ],
            "pgc.pg_database": [
                (
                    16385,
                    DATABASE,
                    10,
                    6,
                    "c",
                    False,
                    True,
                    -1,
                    "C.UTF-8",
                    "C.UTF-8",
                    None,
                    None,
                    1663,
                )
            ],
            "pgc.pg_settings": [
                (k, v, None, "metrics_layer", k, "user", "string", "default")
                for k, v in SETTINGS.items()
            ],
            "pgc.pg_roles": [(10, "metrics_layer", False, True, False, False, True)],
            "pgc.pg_user": [(10, "metrics_layer", False, False)],
            "pgc.pg_am": [(2, "heap", "t")],
            "pgc.pg_collation": [(100, "default", 11)],
            "pgc.pg_description": [
                (TABLE_OID, 1259, 0, "Metrics and dimensions of the metrics layer"),
                *[
                    (TABLE_OID, 1259, i, c.comment)
                    for i, c in enumerate(self.columns, start=1)
                    if c.comment
                ],
            ],
            "pgc.pg_tables": [(SCHEMA, TABLE, "metrics_layer", None, False, False, False, False)],
            "pgi.schemata": [
                (DATABASE, s, "metrics_layer", None, None, None, None)
                for s in ("information_schema", "pg_catalog", SCHEMA)
            ],
            "pgi.tables": [
                (
                    DATABASE,
                    SCHEMA,
                    TABLE,
                    "BASE TABLE",
                    None,
                    None,
                    None,
                    None,
                    None,
                    "NO",
                    "NO",
                    None,
                )
            ],
            "pgi.columns": [
                (
                    DATABASE,
                    SCHEMA,
                    TABLE,
                    c.column,
                    i,
                    None,
                    "YES",
                    _TYPES[c.oid][1],
                    None,
                    None,
                    53 if c.oid == FLOAT8 else 64 if c.oid == INT8 else None,
                    2 if c.oid in (FLOAT8, INT8) else None,
                    0 if c.oid == INT8 else None,
                    0 if c.oid in (DATE, TIMESTAMP) else None,
                    None,
                    None,
                    None,
                    DATABASE,
                    "pg_catalog",
                    _TYPES[c.oid][0],
                    "NO",
                    "NEVER",
                    None,
                    "NO",
                )
                for i, c in enumerate(self.columns, start=1)
            ],
            "pgi._format": [(oid, pretty) for oid, (_, pretty, _) in _TYPES.items()],
        }
        for table, values in rows.items():
            if values:
                marks = ", ".join("?" * len(values[0]))
                db.executemany(f"INSERT INTO {table} VALUES ({marks})", values)

    def answer(self, key: tuple[str, str, str]) -> Any:
        """The answer kept for a query (None when none is)."""
        with self._answers_lock:
            return self._answers.get(key)

    def keep(self, key: tuple[str, str, str], answer: Any) -> None:
        """Keeps a catalogue query's answer."""
        with self._answers_lock:
            self._answers[key] = answer

    def run(
        self, statement: exp.Expr, *, timeout: float = 5.0, max_rows: int = 100_000
    ) -> tuple[list[str], list[str], list[list[Any]]]:
        """Column names, DuckDB type names and rows of a catalogue query (already checked and
        rewritten by ``catalogue_query``). A client's query may still be costly (a recursive
        CTE, a cross join of catalogue tables): it is interrupted after ``timeout`` seconds
        (57014) and refused beyond ``max_rows`` rows (54000), like a metrics query."""
        cursor = self._db.cursor()
        timer = threading.Timer(timeout, cursor.interrupt)
        timer.daemon = True
        timer.start()
        try:
            found = cursor.execute(statement.sql("duckdb"))
            described = found.description or []
            fetched = found.fetchmany(max_rows + 1)
        except Exception as exc:  # a DuckDB error: the query reads what this catalogue lacks
            if not timer.is_alive():
                raise SqlError(
                    "57014",
                    f"the catalogue query ran longer than {timeout:g} seconds and was stopped",
                    "Catalogue queries read a few small tables; ask for what a tool browses",
                ) from None
            if _reads_empty(statement):
                return [_output_name(e) for e in _projections(statement)], [], []
            raise SqlError(
                "0A000",
                f"this catalogue query is not supported: {str(exc).splitlines()[0][:300]}",
                "The catalogue answers information_schema (schemata, tables, columns) and "
                "the pg_catalog tables psql and SQLAlchemy read",
            ) from None
        finally:
            timer.cancel()
            cursor.close()
        if len(fetched) > max_rows:
            raise SqlError(
                "54000",
                f"the catalogue query returns more than {max_rows} rows",
                "Filter the catalogue query or add a LIMIT",
            )
        rows = [list(r) for r in fetched]
        names = [d[0] for d in described]
        types = [str(d[1]) for d in described]
        return names, types, rows


def _duck_type(oid: int) -> str:
    return {
        INT8: "BIGINT",
        FLOAT8: "DOUBLE",
        DATE: "DATE",
        TIMESTAMP: "TIMESTAMP",
        BOOL: "BOOLEAN",
    }.get(oid, "VARCHAR")


def _projections(statement: exp.Expr) -> list[exp.Expr]:
    while isinstance(statement, exp.SetOperation):
        statement = statement.this
    return list(statement.expressions) if isinstance(statement, exp.Select) else []


def _output_name(node: exp.Expr) -> str:
    return node.alias_or_name or "?column?"


_RELATIONS = {
    "pg_class": 1259,
    "pg_catalog.pg_class": 1259,
    "pg_constraint": 2606,
    "pg_catalog.pg_constraint": 2606,
    "pg_namespace": 2615,
    "pg_catalog.pg_namespace": 2615,
    TABLE: TABLE_OID,
    f"{SCHEMA}.{TABLE}": TABLE_OID,
}
"""The oids ``'name'::regclass`` gives (PostgreSQL's for the catalogue tables)."""


def reads_empty_table(statement: exp.Expr) -> bool:
    """Whether ``statement`` reads a pg_catalog table that has no rows here (constraints,
    indexes, policies, ...)."""
    return _reads_empty(statement)


def _reads_empty(statement: exp.Expr) -> bool:
    return any(t.name in _EMPTY for t in statement.find_all(exp.Table))


def reads_catalogue(statement: exp.Expr) -> bool:
    """Whether every table ``statement`` reads is of ``pg_catalog`` or
    ``information_schema`` (a SELECT without tables, such as ``SELECT version()``, too)."""
    return all(_catalogue_table(table) for table in statement.find_all(exp.Table))


def _catalogue_table(table: exp.Table) -> bool:
    schema = table.db.lower()
    if table.catalog and table.catalog.lower() != DATABASE:
        return False
    if schema == "information_schema":
        return True
    return schema == "pg_catalog" or (schema == "" and table.name.lower().startswith("pg_"))


def reads_no_rows(statement: exp.Expr) -> bool:
    """Whether ``statement`` reads a pg_catalog table this interface has no rows and no
    table for (policies, publications, triggers, statistics, ...): it answers no rows."""
    return any(
        t.name.lower() in _EMPTY and t.name.lower() not in _PGC
        for t in statement.find_all(exp.Table)
    )


def output_names(statement: exp.Expr) -> list[str]:
    """The output column names of a SELECT (or of a UNION's first SELECT)."""
    return [_output_name(e) for e in _projections(statement)]


def catalogue_query(statement: exp.Expr, user: str) -> exp.Expr:
    """``statement`` rewritten onto the catalogue's tables and macros, after checking that it
    reads only catalogue tables and calls only allowed functions."""
    ctes = {c.alias_or_name for c in statement.find_all(exp.CTE)}

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table):
            if node.name in ctes and not node.db:
                return node
            if not _catalogue_table(node):
                raise SqlError("42P01", f"relation '{node.sql('postgres')}' is not available")
            schema = "pgi" if node.db.lower() == "information_schema" else "pgc"
            name = node.name.lower()
            if schema == "pgc" and name not in _PGC and name not in _EMPTY:
                raise SqlError(
                    "42P01",
                    f"relation 'pg_catalog.{name}' is not available here",
                    "The catalogue answers information_schema (schemata, tables, columns) and "
                    "the pg_catalog tables psql and SQLAlchemy read",
                )
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
            return exp.Table(
                this=exp.to_identifier(name), db=exp.to_identifier(schema), alias=alias
            )
        if (
            isinstance(node, exp.Dot)
            and not isinstance(node.expression, exp.Identifier)
            and node.this.name.lower() in ("pg_catalog", "information_schema")
        ):
            inner: exp.Expr = node.expression
            return inner
        if isinstance(node, exp.Column) and node.text("db").lower() in (
            "pg_catalog",
            "information_schema",
        ):
            node.set("db", None)
            return node
        if isinstance(node, exp.Operator):
            op = node.text("operator").replace("pg_catalog.", "")
            if op == "~":
                return exp.RegexpLike(this=node.this, expression=node.expression)
            raise SqlError("0A000", f"operator {op} is not supported in catalogue queries")
        if isinstance(node, exp.CurrentVersion):
            return exp.Literal.string(VERSION_TEXT)
        if isinstance(node, exp.CurrentSchema):
            return exp.Literal.string(SCHEMA)
        if isinstance(node, exp.CurrentDatabase):
            return exp.Literal.string(DATABASE)
        if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
            return exp.Literal.string(user)
        if isinstance(node, exp.Cast):
            kind = node.to.sql("postgres").lower().replace("pg_catalog.", "")
            if kind == "regclass" and isinstance(node.this, exp.Literal) and node.this.is_string:
                oid = _RELATIONS.get(node.this.this.lower().replace('"', ""))
                return exp.Literal.number(oid) if oid is not None else exp.Null()
            if kind in ("regclass", "regtype", "regnamespace"):
                return exp.Anonymous(this=f"pgf_{kind}", expressions=[node.this])
            if kind in ("regproc", "name", "text", "char", '"char"'):
                return exp.cast(node.this, "VARCHAR")
            if kind == "oid":
                return exp.cast(node.this, "BIGINT")
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name.startswith("pgf_"):
                return node
            if name == "version":
                return exp.Literal.string(VERSION_TEXT)
            if name in ("json_build_object", "jsonb_build_object"):
                return exp.Anonymous(this="json_object", expressions=node.expressions)
            if name in ("pg_backend_pid", "txid_current"):
                return exp.Literal.number(0)
            if name in _MACROS:
                return exp.Anonymous(this=f"pgf_{name}", expressions=node.expressions)
            if name not in _NATIVE:
                raise SqlError(
                    "42883",
                    f"function {name}() is not available",
                    "Catalogue queries may call the pg_catalog functions psql and SQLAlchemy "
                    "use (format_type, pg_table_is_visible, pg_get_userbyid, ...)",
                )
            return node
        return node

    named = statement.copy()
    if isinstance(named, exp.Select):
        for i, item in enumerate(named.expressions):
            if not isinstance(item, exp.Alias) and not isinstance(item, exp.Column):
                named.expressions[i] = exp.alias_(item, _pg_name(item), quoted=True)
    bare = named.transform(lambda n: n.this if isinstance(n, exp.Collate) else n)
    rewritten = _bottom_up(bare, rewrite)
    for node in rewritten.find_all(exp.Func):
        if isinstance(node, (exp.Connector, exp.Binary, exp.Not, exp.Paren)):
            continue
        if isinstance(node, exp.Anonymous):
            if node.name.lower().startswith("pgf_") or node.name.lower() in _NATIVE:
                continue
        elif isinstance(node, _FUNCTIONS):
            continue
        raise SqlError(
            "42883",
            f"function {node.sql_name().lower()}() is not available in catalogue queries",
            "Catalogue queries may call the pg_catalog functions psql and SQLAlchemy use",
        )
    return rewritten


def _bottom_up(node: exp.Expr, fn: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """``node`` with ``fn`` applied to every node, children first (so a rewritten node's
    parts are already rewritten)."""
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expr):
            node.set(key, _bottom_up(value, fn))
        elif isinstance(value, list):
            node.set(key, [_bottom_up(v, fn) if isinstance(v, exp.Expr) else v for v in value])
    return fn(node)


def _pg_name(node: exp.Expr) -> str:
    """The name PostgreSQL gives an unnamed output column: a function's name, else
    ``?column?``."""
    while isinstance(node, exp.Dot):
        node = node.expression
    if isinstance(node, exp.Cast):
        return _pg_name(node.this)
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.CurrentVersion):
        return "version"
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Connector, exp.Binary)):
        return node.sql_name().lower()
    return "?column?"


_PGC = {
    "pg_namespace", "pg_class", "pg_attribute", "pg_type", "pg_database", "pg_settings",
    "pg_roles", "pg_user", "pg_am", "pg_description", "pg_collation", "pg_attrdef",
    "pg_sequence", "pg_index", "pg_constraint", "pg_proc", "pg_enum", "pg_inherits",
    "pg_tables", "pg_views", "pg_matviews",
}  # fmt: skip


def columns_of(
    layer: SemanticLayer, metrics: list[dict[str, Any]], dimensions: list[dict[str, Any]]
) -> list[CatalogueColumn]:
    """The metrics table's columns: every dimension the caller sees (``metric_time`` also at
    week, month, quarter and year), then every metric, named as the library's SQL names them
    (dots as ``__``)."""
    found: list[CatalogueColumn] = []
    for d in dimensions:
        name, kind = d["name"], d["type"]
        comment = d.get("label") or d.get("description")
        oid = {"time": DATE, "boolean": BOOL}.get(kind, TEXT)
        found.append(CatalogueColumn(name.replace(".", "__"), name, oid, comment, False))
        if name == "metric_time":
            for grain in _GRAINS:
                full = f"{name}.{grain}"
                found.append(
                    CatalogueColumn(
                        full.replace(".", "__"), full, DATE, f"{name} by {grain}", False
                    )
                )
    for m in metrics:
        name = m["name"]
        comment = m.get("label") or m.get("description")
        found.append(CatalogueColumn(name, name, _metric_oid(layer, name), comment, True))
    return found


def _metric_oid(layer: SemanticLayer, name: str) -> int:
    """A metric's column type: bigint for counts, double precision otherwise."""
    try:
        kind = Query(layer, MetricQuery.of([name])).types[-1]
    except Exception:  # a metric that cannot be planned alone is still listed, as a number
        return FLOAT8
    return _OID_OF.get(kind, FLOAT8)


class Catalogues(KeptForLayer[str, "Catalogue"]):
    """Catalogues by access key for the served layer, built once and kept (the most recently
    used 64): equal access keys see equal names."""

    def __init__(self, size: int = 64) -> None:
        super().__init__(size)


def catalogue_of(layer: SemanticLayer, metrics_json: bytes, dimensions_json: bytes) -> Catalogue:
    """A caller's catalogue from the service's catalogue responses."""
    metrics = json.loads(metrics_json)["metrics"]
    dimensions = json.loads(dimensions_json)["dimensions"]
    return Catalogue(columns_of(layer, metrics, dimensions))
