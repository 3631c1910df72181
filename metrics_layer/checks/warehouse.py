"""Checking the definitions against a database: every table, column and column type they use.

``warehouse_diagnostics(graph, url)`` (``metrics-layer check --connection URL``) looks at each
source written in the definitions (a derived source of a conversion, retention or churn metric
reads those sources, so it is not looked at itself):

- a ``table:`` source: the table (or view) exists, in its schema when it names one, as the
  graph resolved it (a target's schema, renamed schemas and prefix applied);
- a ``sql:`` source: its query runs, once, with no rows
  (``SELECT * FROM (<sql>) AS s WHERE 1 = 0``, through the statement guard and the engine's
  read-only, time-limited session), and its result's column names stand for the table's;
- every column an entity key, dimension, measure, ``valid_from`` or ``valid_to`` expression
  names exists in that table or result, matched as the engine matches names (below);
- the project's calendar table likewise: its table (or sql), its ``day`` column and each
  period's column, all dates;
- the type of a column a field reads directly (its expression is the bare column) fits how the
  field uses it:

  ================================ ================================== ========================
  field                            fits                               does not fit
  ================================ ================================== ========================
  time dimension, ``valid_from``,  DATE, DATETIME, TIMESTAMP (with or  text (cast it in
  ``valid_to``, calendar columns   without time zone); on SQLite also  ``expr``), numbers,
                                   text (SQLite keeps dates as ISO     booleans, times of
                                   text and has no date type)          day, anything else
  ``sum``, ``avg``, ``median``,    integers, decimals, floats          text, booleans, dates,
  ``percentile`` measure                                              anything else
  ``sum_boolean`` measure,         BOOLEAN, integers (0/1; MariaDB's   text, decimals,
  boolean dimension                BOOLEAN is TINYINT(1))              floats, dates, ...
  any other field                  any type                            (nothing)
  ================================ ================================== ========================

  A type the check does not recognise (a user-defined type, a column SQLite declared without
  one) is not judged; nor are the columns of a ``sql:`` source, whose result has names only.

Names are matched as each engine matches identifiers: DuckDB and SQLite ignore case, quoted or
not; PostgreSQL folds an unquoted name to lower case and matches a quoted one exactly;
MariaDB/MySQL ignore the case of columns, and of tables and schemas only when the server's
``lower_case_table_names`` says so (on Linux by default it does not).

Tables, views and columns come from SQLAlchemy's inspector (``Connection.inspecting``), on a
connection made read-only and time-limited as a query's is; DuckDB's columns come from its
``information_schema.columns`` through the statement guard instead (duckdb_engine's column
reflection does not run under SQLAlchemy 2.1). Nothing is written; the URL's password is in no
message. An unreachable or unusable database is one ``connection`` diagnostic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import CompileError, UnsupportedCompilationError
from sqlglot import exp
from sqlglot.errors import SqlglotError

from metrics_layer.checks.codes import code
from metrics_layer.engine.connection import Connection, Fetched
from metrics_layer.engine.urls import scrub, secrets
from metrics_layer.errors import Diagnostic, UserError
from metrics_layer.graph.model import Place, Source, SourcePlaces
from metrics_layer.safety.statement import verify
from metrics_layer.spec.models import Agg, DimensionType
from metrics_layer.sql.dialects import render

if TYPE_CHECKING:
    import sqlalchemy

    from metrics_layer.graph.graph import Graph

__all__ = ["ALSO_FITS", "FITS", "Kind", "Need", "fits", "kind_of", "warehouse_diagnostics"]


class Kind(Enum):
    """What a column's type is, as far as the definitions care."""

    TIME = "date or timestamp"
    INTEGER = "integer"
    NUMBER = "decimal or float"
    BOOLEAN = "boolean"
    TEXT = "text"
    OTHER = "other"
    UNKNOWN = "not recognised"


class Need(Enum):
    """How a field uses the column it reads directly."""

    TIME = "a DATE or TIMESTAMP column"
    NUMBER = "a numeric column"
    BOOLEAN = "a BOOLEAN or integer (0/1) column"


# The kinds that fit each need; UNKNOWN fits every need (it is not judged).
FITS: dict[Need, frozenset[Kind]] = {
    Need.TIME: frozenset({Kind.TIME}),
    Need.NUMBER: frozenset({Kind.INTEGER, Kind.NUMBER}),
    Need.BOOLEAN: frozenset({Kind.BOOLEAN, Kind.INTEGER}),
}
# Engine by engine, kinds that also fit: SQLite keeps dates as ISO-8601 text.
ALSO_FITS: dict[str, dict[Need, frozenset[Kind]]] = {"sqlite": {Need.TIME: frozenset({Kind.TEXT})}}

# More columns than any engine allows in one table (PostgreSQL: 1,600; DuckDB has no limit, but
# a table this wide is refused rather than read without end).
_MAX_COLUMNS = 100_000
_NUMERIC_AGGS = frozenset({Agg.SUM, Agg.AVG, Agg.MEDIAN, Agg.PERCENTILE})
_T = exp.DataType.Type
_TIMES_OF_DAY = frozenset({_T.TIME, _T.TIMETZ})


def kind_of(type_text: str, dialect: str) -> Kind:
    """The kind of a column type as the database spells it.

    >>> kind_of("TIMESTAMP WITH TIME ZONE", "postgres"), kind_of("VARCHAR(64)", "mysql")
    (<Kind.TIME: 'date or timestamp'>, <Kind.TEXT: 'text'>)
    >>> kind_of("TINYINT(1)", "mysql"), kind_of("NUMERIC(10, 2)", "postgres")
    (<Kind.INTEGER: 'integer'>, <Kind.NUMBER: 'decimal or float'>)
    >>> kind_of("TIME", "duckdb"), kind_of("my_enum", "postgres")
    (<Kind.OTHER: 'other'>, <Kind.UNKNOWN: 'not recognised'>)
    """
    try:
        built = exp.DataType.build(type_text, dialect=dialect)
    except (SqlglotError, ValueError):
        return Kind.UNKNOWN
    kind = built.this
    if kind in (_T.USERDEFINED, _T.UNKNOWN, _T.NULL):
        return Kind.UNKNOWN
    if kind in exp.DataType.TEMPORAL_TYPES and kind not in _TIMES_OF_DAY:
        return Kind.TIME
    if kind in exp.DataType.INTEGER_TYPES:
        return Kind.INTEGER
    if kind in exp.DataType.NUMERIC_TYPES:
        return Kind.NUMBER
    if kind is _T.BOOLEAN:
        return Kind.BOOLEAN
    if kind in exp.DataType.TEXT_TYPES:
        return Kind.TEXT
    return Kind.OTHER


def fits(kind: Kind, need: Need, dialect: str) -> bool:
    """Whether a column of ``kind`` can serve ``need`` on ``dialect``.

    >>> fits(Kind.TEXT, Need.TIME, "postgres"), fits(Kind.TEXT, Need.TIME, "sqlite")
    (False, True)
    """
    also = ALSO_FITS.get(dialect, {}).get(need, frozenset())
    return kind is Kind.UNKNOWN or kind in FITS[need] or kind in also


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    kind: Kind


@dataclass(frozen=True)
class _Found:
    """What a source reads in the database: its columns, and how to name it in messages."""

    shown: str
    columns: tuple[_Column, ...]


@dataclass(frozen=True)
class _Use:
    """One field's expression over its source's columns."""

    label: str
    expr: exp.Expr
    place: Place
    need: Need | None


@dataclass(frozen=True)
class _Reader:
    """What reads from the database: a source, or the project's calendar table. ``owner``
    names it in messages, ``alias`` is the table alias its expressions' columns carry."""

    owner: str
    alias: str
    relation: exp.Expr
    places: SourcePlaces
    uses: tuple[_Use, ...]
    calendar: bool = False

    @property
    def fix_column(self) -> str:
        """How to name another column, in the fields this reader has."""
        if self.calendar:
            return "Name one of its columns in 'day' or the period's 'column'"
        return (
            "Name one of its columns in the field's expr (a field without expr reads the "
            "column of its own name)"
        )


class _Fold(Enum):
    """How an engine matches a written name with the catalog's."""

    ANY_CASE = "any case"
    LOWER_UNQUOTED = "unquoted folded to lower case, then exact"
    EXACT = "exact"


# (tables and schemas, columns) per engine; MariaDB/MySQL tables per the server's setting.
_FOLDS: dict[str, tuple[_Fold, _Fold]] = {
    "duckdb": (_Fold.ANY_CASE, _Fold.ANY_CASE),
    "sqlite": (_Fold.ANY_CASE, _Fold.ANY_CASE),
    "postgres": (_Fold.LOWER_UNQUOTED, _Fold.LOWER_UNQUOTED),
    "mysql": (_Fold.EXACT, _Fold.ANY_CASE),
}


def _match(name: exp.Identifier, names: Sequence[str], fold: _Fold) -> str | None:
    """The catalog's spelling of ``name``, or None when the engine would not find it.

    >>> _match(exp.to_identifier("UserId"), ["userid"], _Fold.LOWER_UNQUOTED)
    'userid'
    >>> _match(exp.to_identifier("UserId", quoted=True), ["userid"], _Fold.LOWER_UNQUOTED)
    >>> _match(exp.to_identifier("userid", quoted=True), ["UserId"], _Fold.ANY_CASE)
    'UserId'
    """
    text = name.name
    if fold is _Fold.LOWER_UNQUOTED and not name.quoted:
        text = text.lower()
    if text in names:
        return text
    if fold is _Fold.ANY_CASE:
        lowered = text.lower()
        return next((n for n in names if n.lower() == lowered), None)
    return None


def _suggestion(name: str, names: Sequence[str]) -> str:
    """ "did you mean 'x'? " for the closest of ``names`` (one differing only in case first),
    or "".

    >>> _suggestion("evnets", ["events", "users"])
    "did you mean 'events'? "
    """
    same = [n for n in names if n.lower() == name.lower()]
    if same:
        return (
            f"did you mean '{same[0]}'? This database matches the case of that name: write it "
            "as the database spells it (on PostgreSQL quoted, unless it is all lower case). "
        )
    close = get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def warehouse_diagnostics(graph: Graph, url: str) -> list[Diagnostic]:
    """Every finding about the tables, columns and types ``graph``'s sources read on the
    database at ``url``; nothing is written, and an unusable database is one ``connection``
    diagnostic."""
    found: list[Diagnostic] = []
    connection: Connection | None = None
    try:
        connection = Connection(url, timeout=graph.settings.timeout)
        with connection.inspecting() as inspector:
            catalog = _Catalog(inspector, connection)
            for reader in _readers(graph):
                found.extend(_check_reader(reader, catalog))
    except UserError as exc:  # EngineError mostly; its text has the password scrubbed already
        found.append(
            Diagnostic(
                code("connection").level,
                f"cannot check the tables: {scrub(str(exc), secrets(url))}",
                code="connection",
                hint="or leave out --connection to check the definitions alone",
            )
        )
    finally:
        if connection is not None:
            connection.close()
    return found


class _Catalog:
    """The database's schemas, tables and columns, each read once."""

    def __init__(self, inspector: sqlalchemy.Inspector, connection: Connection) -> None:
        self.inspector = inspector
        self.connection = connection
        self.dialect = connection.dialect
        tables, columns = _FOLDS.get(self.dialect, (_Fold.EXACT, _Fold.EXACT))
        # SQLAlchemy's MySQL dialect reads lower_case_table_names when it connects: 1 or 2
        # means table and schema names are matched in any case.
        casing: object = getattr(inspector.dialect, "_casing", None)
        if self.dialect == "mysql" and casing in (1, 2):
            tables = _Fold.ANY_CASE
        self.table_fold, self.column_fold = tables, columns
        self._tables: dict[str | None, list[str]] = {}
        self._schemas: list[str] | None = None

    def schemas(self) -> list[str]:
        if self._schemas is None:
            names = self.inspector.get_schema_names()
            # DuckDB names each schema with its database: wh.main, system.main.
            self._schemas = (
                [n.rsplit(".", 1)[-1] for n in names] if self.dialect == "duckdb" else names
            )
        return self._schemas

    def tables(self, schema: str | None) -> list[str]:
        if schema not in self._tables:
            inspector = self.inspector
            names = [*inspector.get_table_names(schema), *inspector.get_view_names(schema)]
            if self.dialect == "postgres":
                names.extend(inspector.get_materialized_view_names(schema))
            self._tables[schema] = names
        return self._tables[schema]

    def columns(self, table: str, schema: str | None) -> tuple[_Column, ...]:
        if self.dialect == "duckdb":
            return self._duckdb_columns(table, schema)
        out = []
        for column in self.inspector.get_columns(table, schema):
            text = _type_text(column["type"], self.inspector.dialect)
            kind = Kind.UNKNOWN if text is None else kind_of(text, self.dialect)
            out.append(_Column(column["name"], text or "?", kind))
        return tuple(out)

    def _duckdb_columns(self, table: str, schema: str | None) -> tuple[_Column, ...]:
        condition = exp.and_(
            exp.column("table_schema").eq(exp.Literal.string(schema or "main")),
            exp.column("table_name").eq(exp.Literal.string(table)),
        )
        tree = (
            exp.select("column_name", "data_type")
            .from_(exp.to_table("information_schema.columns"))
            .where(condition)
            .order_by("ordinal_position")
        )
        rows = self.run(tree, max_rows=_MAX_COLUMNS).rows
        return tuple(_Column(str(n), str(t), kind_of(str(t), "duckdb")) for n, t in rows)

    def run(self, tree: exp.Query, max_rows: int = 1) -> Fetched:
        """``tree`` through the statement guard and the read-only session."""
        statement = verify(render(tree, self.dialect, pretty=False), self.dialect)
        return self.connection.fetch(statement, max_rows=max_rows)

    def result_columns(self, query: exp.Expr) -> tuple[_Column, ...]:
        """The columns of ``query``'s result, by running it with no rows."""
        probe = (
            exp.select(exp.Star())
            .from_(
                exp.Subquery(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier("s")))
            )
            .where(exp.EQ(this=exp.Literal.number(1), expression=exp.Literal.number(0)))
        )
        return tuple(_Column(name, "?", Kind.UNKNOWN) for name in self.run(probe).columns)


def _type_text(type_: Any, dialect: Any) -> str | None:
    """A reflected SQLAlchemy type as the database spells it; None when it has no name."""
    try:
        return str(type_.compile(dialect=dialect))
    except (CompileError, UnsupportedCompilationError, NotImplementedError):
        return None


def _readers(graph: Graph) -> Iterator[_Reader]:
    """Every source written in the files (derived sources read those), then the calendar."""
    for name, source in graph.sources.items():
        places = graph.source_places.get(name)
        if places is not None:
            uses = tuple(_uses(source, places))
            yield _Reader(f"source '{name}'", name, source.relation, places, uses)
    calendar, places = graph.calendar, graph.calendar_places
    if calendar is not None and places is not None:
        uses = (
            _Use(
                f"day column '{calendar.day}'",
                exp.column(calendar.day, "calendar"),
                places.of("day"),
                Need.TIME,
            ),
            *(
                _Use(
                    f"period '{period.name}'",
                    exp.column(period.column, "calendar"),
                    places.of("periods", period.name),
                    Need.TIME,
                )
                for period in calendar.periods.values()
            ),
        )
        yield _Reader("the calendar", "calendar", calendar.relation, places, uses, calendar=True)


def _check_reader(reader: _Reader, catalog: _Catalog) -> list[Diagnostic]:
    relation = reader.relation
    if isinstance(relation, exp.Table):
        found = _table(reader, relation, catalog)
    else:
        found = _query(reader, relation, catalog)
    if isinstance(found, Diagnostic):
        return [found]
    problems: list[Diagnostic] = []
    for use in reader.uses:
        problems.extend(_check_use(reader, use, found, catalog))
    return problems


def _table(reader: _Reader, table: exp.Table, catalog: _Catalog) -> _Found | Diagnostic:
    db, database = table.args.get("db"), table.args.get("catalog")
    bare = exp.table_(table.this, db, database)
    shown = bare.sql()
    if database is not None:
        # A table in another database (catalog.schema.table): asked of the engine itself.
        try:
            columns = catalog.result_columns(exp.select(exp.Star()).from_(bare))
        except UserError as exc:
            return _missing_table(reader, shown, f": {exc}", "")
        return _Found(f"table {shown}", columns)
    schema = None
    if isinstance(db, exp.Identifier):
        schemas = catalog.schemas()
        schema = _match(db, schemas, catalog.table_fold)
        if schema is None:
            return _missing_table(
                reader,
                shown,
                f", but schema '{db.name}' does not exist in the database",
                _suggestion(db.name, schemas),
            )
    if schema is None and catalog.dialect == "duckdb":
        # duckdb_engine lists the tables of every schema when none is named; an unqualified
        # name means the default schema's.
        schema = "main"
    names = catalog.tables(schema)
    real = _match(table.this, names, catalog.table_fold)
    if real is None:
        return _missing_table(
            reader,
            shown,
            ", which does not exist in the database",
            _suggestion(table.name, names),
        )
    return _Found(f"table {shown}", catalog.columns(real, schema))


def _missing_table(reader: _Reader, shown: str, why: str, suggestion: str) -> Diagnostic:
    file, line, column = reader.places.relation
    return Diagnostic(
        code("missing-table").level,
        f"{reader.owner} reads table {shown}{why}",
        file,
        line,
        column,
        "missing-table",
        hint=f"{suggestion}Fix 'table' (or the target's schema or prefix), or create the table",
    )


def _query(reader: _Reader, relation: exp.Expr, catalog: _Catalog) -> _Found | Diagnostic:
    query = relation.this if isinstance(relation, exp.Subquery) else relation
    try:
        columns = catalog.result_columns(query)
    except UserError as exc:
        file, line, column = reader.places.relation
        return Diagnostic(
            code("source-query").level,
            f"the sql of {reader.owner} fails on the database: {exc}",
            file,
            line,
            column,
            "source-query",
            hint="fix the source's sql so that it runs on this database "
            "(metrics-layer compile --dialect shows how the project's SQL is written there)",
        )
    return _Found(f"the result of {reader.owner}'s sql", columns)


def _uses(source: Source, places: SourcePlaces) -> Iterator[_Use]:
    """Every field's expression with its place and what its bare column must be."""
    for entity in source.entities.values():
        for index, key in enumerate(entity.keys):
            place = places.of("entities", entity.name, index)
            yield _Use(f"the key of entity '{entity.name}'", key, place, None)
    for dim in source.dimensions.values():
        need = {DimensionType.TIME: Need.TIME, DimensionType.BOOLEAN: Need.BOOLEAN}.get(dim.type)
        kind = "" if dim.type is DimensionType.CATEGORICAL else f"{dim.type.value} "
        place = places.of("dimensions", dim.name)
        yield _Use(f"{kind}dimension '{dim.name}'", dim.expr, place, need)
    for measure in source.measures.values():
        if measure.expr is None:
            continue
        need = (
            Need.NUMBER
            if measure.agg in _NUMERIC_AGGS
            else Need.BOOLEAN
            if measure.agg is Agg.SUM_BOOLEAN
            else None
        )
        label = f"measure '{measure.name}' (agg: {measure.agg.value})"
        yield _Use(label, measure.expr, places.of("measures", measure.name), need)
    for name, expr in (("valid_from", source.valid_from), ("valid_to", source.valid_to)):
        if expr is not None:
            yield _Use(name, expr, places.of(name), Need.TIME)


def _check_use(reader: _Reader, use: _Use, found: _Found, catalog: _Catalog) -> list[Diagnostic]:
    names = [c.name for c in found.columns]
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    file, line, col = use.place
    for column in use.expr.find_all(exp.Column):
        identifier = column.this
        if not isinstance(identifier, exp.Identifier) or column.table not in ("", reader.alias):
            continue
        if identifier.name in seen:
            continue
        seen.add(identifier.name)
        real = _match(identifier, names, catalog.column_fold)
        if real is None:
            problems.append(
                Diagnostic(
                    code("missing-column").level,
                    f"{reader.owner}: {use.label} reads column '{identifier.name}', "
                    f"which {found.shown} does not have",
                    file,
                    line,
                    col,
                    "missing-column",
                    hint=f"{_suggestion(identifier.name, names)}{reader.fix_column}",
                )
            )
            continue
        if use.need is None or use.expr is not column:
            continue
        db_column = found.columns[names.index(real)]
        if not fits(db_column.kind, use.need, catalog.dialect):
            problems.append(_type_problem(reader, use, db_column))
    return problems


def _type_problem(reader: _Reader, use: _Use, column: _Column) -> Diagnostic:
    file, line, col = use.place
    quoted = exp.column(column.name).sql()
    if use.need is Need.TIME and reader.calendar:
        fix = "make it a DATE column, or give the calendar as sql: that casts it"
    elif use.need is Need.TIME:
        fix = (
            f"cast it in the field's expr, e.g. expr: CAST({quoted} AS TIMESTAMP)"
            if column.kind is Kind.TEXT
            else "read a date or timestamp column, or convert this one in the field's expr"
        )
    elif use.need is Need.NUMBER:
        fix = (
            f"cast it in the measure's expr, e.g. expr: CAST({quoted} AS DECIMAL(18, 2))"
            if column.kind is Kind.TEXT
            else "read a numeric column, or use an agg that fits (count, count_distinct, min, max)"
        )
    else:
        fix = f"compare it in the expr, e.g. expr: {quoted} = 'yes'"
    return Diagnostic(
        code("column-type").level,
        f"{reader.owner}: {use.label} reads column '{column.name}' of type "
        f"{column.type}, but needs {use.need.value if use.need else 'another type'}",
        file,
        line,
        col,
        "column-type",
        hint=fix,
    )
