"""One client connection's state and what a statement is answered with: a metrics SELECT
through ``Service.query`` (so the access policy and the result cache apply), a catalogue
query from the caller's catalogue, the session commands BI tools send (SET, SHOW, BEGIN,
COMMIT, ROLLBACK, DISCARD) as harmless no-ops, everything else refused."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import sqlglot
from buenavista.core import BVType, Connection, QueryResult, Session
from sqlglot import exp
from sqlglot.errors import ParseError

from metrics_layer.errors import UserError
from metrics_layer.server.kept import KeptForLayer
from metrics_layer.server.problems import Problem, problem_of
from metrics_layer.server.service import Caller, Service
from metrics_layer.server.sqlwire.catalogue import (
    SETTINGS,
    Catalogue,
    Catalogues,
    catalogue_of,
    catalogue_query,
    output_names,
    reads_catalogue,
    reads_empty_table,
    reads_no_rows,
)
from metrics_layer.server.sqlwire.errors import ALLOWED, SqlError, of_problem
from metrics_layer.server.sqlwire.translate import MetricSelect, is_metrics_table, translate

__all__ = ["MetricsConnection", "MetricsSession", "Rows"]

log = logging.getLogger("metrics_layer.server.sql")

_JSON_TYPES = {
    "date": BVType.DATE,
    "timestamp": BVType.TIMESTAMP,
    "integer": BVType.BIGINT,
    "float": BVType.FLOAT,
    "boolean": BVType.BOOL,
    "decimal": BVType.DECIMAL,
    "string": BVType.TEXT,
}
_NO_OPS = {"DISCARD", "DEALLOCATE", "RESET", "UNLISTEN", "CLOSE", "SAVEPOINT", "RELEASE"}
_WRITES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Copy,
    exp.Grant,
)


class Rows(QueryResult):  # type: ignore[misc]
    """A result: column names and types, rows of Python values, a command tag."""

    def __init__(
        self,
        columns: Sequence[tuple[str, BVType]] = (),
        rows: Sequence[Sequence[Any]] = (),
        tag: str = "",
    ) -> None:
        super().__init__()
        self._columns = list(columns)
        self._rows = rows
        self._tag = tag
        self._left: Iterator[list[Any]] | None = None

    def has_results(self) -> bool:
        return bool(self._columns)

    def column_count(self) -> int:
        return len(self._columns)

    def column(self, index: int) -> tuple[str, BVType]:
        return self._columns[index]

    def rows(self) -> Iterator[list[Any]]:
        """The rows not sent yet: an Execute with a row limit suspends the portal, and the
        next Execute goes on where it stopped."""
        if self._left is None:
            self._left = (list(r) for r in self._rows)
        return self._left

    def status(self) -> str:
        return self._tag


class MetricsConnection(Connection):  # type: ignore[misc]
    """Sessions over one ``Service``; the catalogues of its callers kept here."""

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.catalogues = Catalogues()
        # Metrics queries translated, by their text and bound values: parsing a statement
        # takes most of a cached answer's time, and dashboards send the same ones again.
        self.translated: KeptForLayer[tuple[str, str], MetricSelect | None] = KeptForLayer(1024)

    def new_session(self) -> MetricsSession:
        return MetricsSession(self)

    def parameters(self) -> dict[str, str]:
        shown = ("server_version", "server_encoding", "client_encoding", "DateStyle",
                 "TimeZone", "integer_datetimes", "standard_conforming_strings",
                 "IntervalStyle", "is_superuser", "default_transaction_read_only")  # fmt: skip
        return {k: SETTINGS[k] for k in shown}

    def catalogue(self, caller: Caller) -> Catalogue:
        service = self.service
        layer = service.layer
        return self.catalogues.get(
            layer,
            caller.access.key,
            lambda: catalogue_of(
                layer, service.metrics_json(caller), service.dimensions_json(caller)
            ),
        )


class MetricsSession(Session):  # type: ignore[misc]
    """One connection: who it is (set once the password is checked) and its transaction
    state (BEGIN/COMMIT are accepted; nothing is ever written)."""

    def __init__(self, connection: MetricsConnection) -> None:
        super().__init__()
        self.connection = connection
        self.caller: Caller | None = None
        self.user = ""
        self.in_tx = False
        self.failed = False

    def close(self) -> None:
        self.caller = None

    def in_transaction(self) -> bool:
        return self.in_tx

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult:
        try:
            return self._execute(sql, list(params or []))
        except SqlError:
            self.failed = self.in_tx
            raise
        except Problem as problem:
            self.failed = self.in_tx
            raise of_problem(problem) from None
        except UserError as exc:
            self.failed = self.in_tx
            raise of_problem(problem_of(exc)) from None

    def _execute(self, sql: str, params: list[Any]) -> Rows:
        if self.caller is None:
            raise SqlError("28000", "the connection is not authenticated", fatal=True)
        words = sql.strip().rstrip(";").split()
        first = words[0].upper() if words else ""
        if self.failed and first not in ("ROLLBACK", "COMMIT", "ABORT", "END"):
            raise SqlError(
                "25P02",
                "current transaction is aborted, commands ignored until end of transaction block",
                "Send ROLLBACK",
            )
        catalogue = self.connection.catalogue(self.caller)
        key = (sql, repr(params), self.user)
        kept = catalogue.answer(key)
        if kept is not None:
            return Rows(*kept)
        if first in _NO_OPS:
            return Rows(tag=" ".join(words[:2]).upper() if first == "DISCARD" else first)
        if first == "ROLLBACK" and "TO" in (w.upper() for w in words):
            self.failed = False  # ROLLBACK TO SAVEPOINT: the transaction goes on
            return Rows(tag="ROLLBACK")
        if first == "SHOW":
            return _show(" ".join(words[1:]))
        if first in ("SELECT", "(") and "metrics" in sql.lower():
            layer = self.connection.service.layer
            text = (sql, repr(params))
            asked = self.connection.translated.get(
                layer, text, lambda: self._translated(sql, params)
            )
            if asked is not None:
                return self._metrics(asked)
        statement = _parse(sql)
        if statement is None:
            return Rows(tag="")
        if isinstance(statement, exp.Transaction):
            self.in_tx = True
            return Rows(tag="BEGIN")
        if isinstance(statement, (exp.Commit, exp.Rollback)) or first in ("ABORT", "END"):
            tag = "COMMIT" if isinstance(statement, exp.Commit) and not self.failed else "ROLLBACK"
            self.in_tx = self.failed = False
            return Rows(tag=tag)
        if isinstance(statement, exp.Set):
            return Rows(tag="SET")
        if isinstance(statement, _WRITES):
            raise SqlError(
                "25006",
                f"{statement.key.upper()} is not allowed: the metrics interface is read-only",
                ALLOWED,
            )
        if not isinstance(statement, exp.Query):
            raise SqlError("0A000", f"{first or 'this statement'} is not supported", ALLOWED)
        if params:
            statement = _bind(statement, params)
        tables = list(statement.find_all(exp.Table))
        if any(is_metrics_table(t) for t in tables):
            if not isinstance(statement, exp.Select) or len(tables) != 1:
                raise SqlError(
                    "0A000",
                    "a metrics query reads the table metrics alone: no subquery, join, "
                    "UNION or WITH",
                    ALLOWED,
                )
            return self._metrics(translate(statement, self.connection.service.layer))
        if any(f.name.upper() in ("MEASURE", "AGG") for f in statement.find_all(exp.Anonymous)):
            raise SqlError(
                "42P01", "metrics are read from the table metrics alone (FROM metrics)", ALLOWED
            )
        if not reads_catalogue(statement):
            table = next(t for t in tables if not is_metrics_table(t))
            raise SqlError(
                "42P01",
                f"relation '{table.sql('postgres')}' does not exist: only the table metrics "
                "and the catalogue can be read",
                ALLOWED,
            )
        columns, rows, tag = self._catalogue(statement)
        catalogue.keep(key, (columns, rows, tag))
        return Rows(columns, rows, tag)

    def _translated(self, sql: str, params: list[Any]) -> MetricSelect | None:
        """The metrics query of ``sql``, None when it is another statement (or a SqlError,
        not kept, when it is a metrics query outside the form)."""
        statement = _parse(sql)
        if statement is None or not isinstance(statement, exp.Select):
            return None
        bound = _bind(statement, params) if params else statement
        tables = list(bound.find_all(exp.Table))
        if not isinstance(bound, exp.Select) or len(tables) != 1:
            return None
        if not is_metrics_table(tables[0]):
            return None
        return translate(bound, self.connection.service.layer)

    def _metrics(self, asked: MetricSelect) -> Rows:
        assert self.caller is not None
        service = self.connection.service
        answer = service.query(self.caller, asked.request)
        body = json.loads(answer.content)
        index = {c["name"]: i for i, c in enumerate(body["columns"])}
        kinds = [c["type"] for c in body["columns"]]
        positions = [index[c.name] for c in asked.columns]
        columns = [(c.column, _JSON_TYPES.get(kinds[p], BVType.TEXT))
                   for c, p in zip(asked.columns, positions, strict=True)]  # fmt: skip
        rows = [[_value(row[p], kinds[p]) for p in positions] for row in body["rows"]]
        log.info(
            "sql query by %s: %d rows, cache %s, %.1f ms",
            self.caller.principal.subject,
            len(rows),
            answer.cache,
            answer.elapsed_ms,
        )
        return Rows(columns, rows, f"SELECT {len(rows)}")

    def _catalogue(
        self, statement: exp.Expr
    ) -> tuple[list[tuple[str, BVType]], list[list[Any]], str]:
        assert self.caller is not None
        if reads_no_rows(statement):
            return [(n, BVType.TEXT) for n in output_names(statement)], [], "SELECT 0"
        catalogue = self.connection.catalogue(self.caller)
        try:
            rewritten = catalogue_query(statement, self.user)
        except SqlError as exc:
            # A function outside the allow-list over a table this catalogue has no rows in
            # (constraints, indexes): the answer is no rows, without running anything.
            if exc.code == "42883" and reads_empty_table(statement):
                return [(n, BVType.TEXT) for n in output_names(statement)], [], "SELECT 0"
            raise
        limits = self.connection.service.config.limits
        names, types, rows = catalogue.run(
            rewritten, timeout=limits.timeout, max_rows=limits.max_rows
        )
        columns = [(n, _duck_type(t)) for n, t in zip(names, types or ["VARCHAR"] * len(names),
                                                       strict=True)]  # fmt: skip
        for row in rows:
            for i, (_, kind) in enumerate(columns):
                if kind is BVType.TEXT and row[i] is not None and not isinstance(row[i], str):
                    row[i] = _text(row[i])
        return columns, rows, f"SELECT {len(rows)}"


def _parse(sql: str) -> exp.Expr | None:
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        raise SqlError("42601", f"syntax error{where}", ALLOWED) from None
    if len(statements) > 1:
        raise SqlError("0A000", "one statement at a time: send each statement on its own", ALLOWED)
    if not statements:
        return None
    if isinstance(statements[0], exp.Command):
        word = statements[0].name.upper()
        raise SqlError(
            "25006" if word in ("COPY", "VACUUM", "CALL", "DO") else "0A000",
            f"{word} is not supported",
            ALLOWED,
        )
    return statements[0]


def _bind(statement: exp.Expr, params: list[Any]) -> exp.Expr:
    """``$n`` placeholders replaced by the bound values, as literals of the tree (never text
    pasted into SQL)."""

    def value(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Parameter):
            text = node.name
            if not text.isdigit() or not 1 <= int(text) <= len(params):
                raise SqlError("08P01", f"no value is bound for ${text}")
            bound = params[int(text) - 1]
            if bound is None:
                return exp.Null()
            if isinstance(bound, bool):
                return exp.Boolean(this=bound)
            if isinstance(bound, (int, float)):
                return exp.Literal.number(bound)
            return exp.Literal.string(str(bound))
        return node

    return statement.transform(value, copy=True)


def _show(name: str) -> Rows:
    key = name.strip().strip('"').lower()
    if key == "transaction isolation level":
        key = "transaction_isolation"
    if key == "all":
        return Rows(
            [("name", BVType.TEXT), ("setting", BVType.TEXT), ("description", BVType.TEXT)],
            [[k, v, ""] for k, v in SETTINGS.items()],
            f"SHOW {len(SETTINGS)}",
        )
    for setting, value in SETTINGS.items():
        if setting.lower() == key:
            return Rows([(setting, BVType.TEXT)], [[value]], "SHOW")
    raise SqlError(
        "42704",
        f'unrecognized configuration parameter "{name[:60]}"',
        "SHOW knows: " + ", ".join(SETTINGS),
    )


def _duck_type(name: str) -> BVType:
    upper = name.upper()
    if upper in ("BIGINT", "HUGEINT", "UBIGINT"):
        return BVType.BIGINT
    if upper in ("INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return BVType.INTEGER
    if upper in ("DOUBLE", "FLOAT", "REAL"):
        return BVType.FLOAT
    if upper.startswith("DECIMAL"):
        return BVType.DECIMAL
    if upper == "BOOLEAN":
        return BVType.BOOL
    if upper == "DATE":
        return BVType.DATE
    if upper.startswith("TIMESTAMP"):
        return BVType.TIMESTAMP
    return BVType.TEXT


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "{" + ",".join("NULL" if v is None else str(v) for v in value) + "}"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _value(value: Any, kind: str) -> Any:
    """A JSON result value as the Python value its column type is written from."""
    if value is None:
        return None
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "timestamp":
        return dt.datetime.fromisoformat(value)
    if kind == "decimal":
        return decimal.Decimal(value)
    return value
