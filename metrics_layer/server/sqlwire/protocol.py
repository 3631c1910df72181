"""The PostgreSQL wire protocol, from buenavista's handler with what the metrics interface
needs changed: cleartext password login against the service's access file, full
ErrorResponses (severity, SQLSTATE, message, hint), the startup ParameterStatus messages,
text-typed Bind parameters, and an extended-protocol error that discards messages until Sync
so the connection stays usable."""

from __future__ import annotations

import datetime as dt
import io
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

from buenavista.core import BVType
from buenavista.postgres import (
    NULL_BYTE,
    BuenaVistaHandler,
    BuenaVistaServer,
    BVBuffer,
    BVContext,
    ClientCommand,
    ServerResponse,
    TransactionStatus,
)

from metrics_layer.server.problems import Problem
from metrics_layer.server.sqlwire.errors import SqlError
from metrics_layer.server.sqlwire.session import MetricsConnection, MetricsSession

__all__ = ["MetricsHandler", "MetricsServer"]

log = logging.getLogger("metrics_layer.server.sql")

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608
# The longest startup packet read (PostgreSQL's own limit).
STARTUP_BYTES = 10_000
CLEARTEXT_PASSWORD = 3
_BINARY = {20: "!q", 21: "!h", 23: "!i", 700: "!f", 701: "!d"}
_EPOCH_DAY = dt.date(2000, 1, 1).toordinal()
_EPOCH = dt.datetime(2000, 1, 1)


def _text_timestamp(value: dt.datetime) -> bytes:
    return value.isoformat(sep=" ").encode()


def _binary_timestamp(value: dt.datetime) -> bytes:
    delta = value.replace(tzinfo=None) - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return struct.pack("!q", micros)


def _text_float(value: float) -> bytes:
    if value != value:
        return b"NaN"
    if value in (float("inf"), float("-inf")):
        return b"Infinity" if value > 0 else b"-Infinity"
    return repr(float(value)).encode()


# How each column type is written: text (format 0) and, where PostgreSQL has one that this
# server writes, binary (format 1). Booleans are 't'/'f' as PostgreSQL writes them (libpq
# clients read 'true' as false); integers are signed.
TEXT_WRITERS: dict[BVType, Callable[[Any], bytes]] = {
    BVType.BIGINT: lambda v: str(int(v)).encode(),
    BVType.INTEGER: lambda v: str(int(v)).encode(),
    BVType.FLOAT: _text_float,
    BVType.BOOL: lambda v: b"t" if v else b"f",
    BVType.DATE: lambda v: v.isoformat().encode(),
    BVType.TIMESTAMP: _text_timestamp,
    BVType.DECIMAL: lambda v: str(v).encode(),
    BVType.TEXT: lambda v: str(v).encode(),
}
BINARY_WRITERS: dict[BVType, Callable[[Any], bytes]] = {
    BVType.BIGINT: lambda v: struct.pack("!q", int(v)),
    BVType.INTEGER: lambda v: struct.pack("!i", int(v)),
    BVType.FLOAT: lambda v: struct.pack("!d", float(v)),
    BVType.BOOL: lambda v: b"\x01" if v else b"\x00",
    BVType.DATE: lambda v: struct.pack("!i", v.toordinal() - _EPOCH_DAY),
    BVType.TIMESTAMP: _binary_timestamp,
    BVType.TEXT: lambda v: str(v).encode(),
}


class MetricsContext(BVContext):  # type: ignore[misc]
    """A connection's statements and portals; a statement is described by running it with
    NULL for each parameter, and result columns are binary only where a binary writer
    exists."""

    session: MetricsSession

    def transaction_status(self) -> bytes:
        if not self.session.in_tx:
            return bytes(TransactionStatus.IDLE)
        if self.session.failed:
            return bytes(TransactionStatus.IN_FAILED_TRANSACTION)
        return bytes(TransactionStatus.IN_TRANSACTION)

    def execute_sql(self, sql: str, params: Any = None, result_fmt: Any = None) -> Any:
        result = self.session.execute_sql(sql, params)
        if result.has_results():
            count = result.column_count()
            wanted = list(result_fmt or [])
            if len(wanted) == 1:
                wanted = wanted * count
            formats = []
            for i in range(count):
                kind = result.column(i)[1]
                binary = i < len(wanted) and wanted[i] == 1 and kind in BINARY_WRITERS
                formats.append(1 if binary else 0)
            result.result_format = formats
        return result

    def describe_statement(self, name: str) -> Any:
        sql, oids = self.stmts[name]
        return self.execute_sql(sql, [None] * len(oids))


class MetricsHandler(BuenaVistaHandler):  # type: ignore[misc]
    """One client connection."""

    server: MetricsServer

    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.r = BVBuffer(self.rfile)
        ctx: MetricsContext | None = None
        try:
            ctx = self.handle_startup(self.server.conn)
            if ctx is not None:
                self.server.ctxts[ctx.process_id] = ctx
            while ctx is not None:
                if not self._message(ctx):
                    break
        except (ConnectionError, struct.error, EOFError):
            pass  # the client went away
        except _Fatal:
            pass
        except Exception:
            log.exception("SQL interface: connection ended by an internal error")
            self._error(SqlError("XX000", "an internal error; the server's log has the details"))
        if ctx is not None:
            self.server.conn.close_session(ctx.session)
            self.server.ctxts.pop(ctx.process_id, None)

    def _message(self, ctx: MetricsContext) -> bool:
        """Reads and answers one message; False when the client ends the connection."""
        code = self.r.read_byte()
        if not code or code == ClientCommand.TERMINATE:
            return False
        length = self.r.read_uint32()
        most = self.server.conn.service.config.limits.max_body_bytes
        if length - 4 > most:
            # Read no further: the length alone would have the server hold that many bytes.
            self._error(
                SqlError(
                    "54000",
                    f"a protocol message of {length - 4} bytes is larger than the server's "
                    f"limit of {most} bytes",
                    "Send a shorter statement (the service's --max-body-bytes sets the limit)",
                    fatal=True,
                )
            )
            raise _Fatal
        payload = self.r.read_bytes(length - 4) if length > 4 else b""
        if not ctx.authenticated:
            if code != ClientCommand.PASSWORD_MESSAGE:
                self._error(SqlError("28000", "expected a password message", fatal=True))
                raise _Fatal
            self._password(ctx, payload)
            return True
        if code == ClientCommand.SYNC:
            ctx.sync()
            self.send_ready_for_query(ctx)
            return True
        if code == ClientCommand.FLUSH:
            self.wfile.flush()
            return True
        if code == ClientCommand.QUERY:
            ctx.has_error = False
            self.handle_query(ctx, payload)
            return True
        if ctx.has_error:  # after an error, everything up to Sync is discarded
            return True
        handlers = {
            ClientCommand.PARSE: self.handle_parse,
            ClientCommand.BIND: self.handle_bind,
            ClientCommand.DESCRIBE: self.handle_describe,
            ClientCommand.EXECUTE: self.handle_execute,
            ClientCommand.CLOSE: self.handle_close,
        }
        handler = handlers.get(code)
        if handler is None:
            self._error(SqlError("08P01", f"unsupported protocol message {code!r}"), ctx)
            return True
        try:
            handler(ctx, payload)
        except SqlError as exc:
            self._error(exc, ctx)
        except Exception:
            log.exception("SQL interface: internal error")
            self._error(
                SqlError("XX000", "an internal error; the server's log has the details"), ctx
            )
        return True

    # -- startup and login -------------------------------------------------------------------

    def handle_startup(self, conn: MetricsConnection) -> MetricsContext | None:
        length = self.r.read_uint32() - 4
        code = self.r.read_uint32()
        refused = 0
        while code in (SSL_REQUEST, GSS_REQUEST) and refused < 2:
            self.wfile.write(b"N")  # no encryption here: a TLS-terminating proxy gives it
            refused += 1
            length = self.r.read_uint32() - 4
            code = self.r.read_uint32()
        if not 4 <= length <= STARTUP_BYTES:
            self._error(SqlError("08P01", "invalid startup packet length", fatal=True))
            return None
        if code == CANCEL_REQUEST:
            self.r.read_uint32(), self.r.read_uint32()
            return None
        if code != PROTOCOL_3:
            self._error(SqlError("08P01", "unsupported protocol version; use protocol 3.0"))
            return None
        fields = [
            x.decode("utf-8", "replace") for x in self.r.read_bytes(length - 4).split(NULL_BYTE)
        ]
        params = dict(zip(fields[::2], fields[1::2], strict=False))
        session = conn.create_session()
        session.user = params.get("user", "")[:63]
        ctx = MetricsContext(session, None, params)
        if conn.service.authenticator is None:
            self._login(ctx, {})
        else:
            self.wfile.write(struct.pack("!cii", ServerResponse.AUTHENTICATION_REQUEST, 8,
                                         CLEARTEXT_PASSWORD))  # fmt: skip
        return ctx

    def _password(self, ctx: MetricsContext, payload: bytes) -> None:
        """Logs in with the password as a bearer token when it has a token's shape (two
        dots), else, or when the token does not authenticate, as an API key."""
        password = payload.rstrip(b"\x00").decode("utf-8", "replace")
        tries = [{"x-api-key": password}]
        if password.count(".") == 2:
            tries.insert(0, {"authorization": f"Bearer {password}"})
        service = ctx.session.connection.service
        for headers in tries[:-1]:
            try:
                service.caller(headers)
            except Problem:
                continue
            self._login(ctx, headers)
            return
        self._login(ctx, tries[-1])

    def _login(self, ctx: MetricsContext, headers: dict[str, str]) -> None:
        service = ctx.session.connection.service
        try:
            caller = service.caller(headers)
        except Problem:
            log.info("SQL interface: login refused for user %r", ctx.session.user)
            self._error(
                SqlError(
                    "28P01",
                    f'password authentication failed for user "{ctx.session.user}"',
                    "Give an API key or a bearer token of the service's access file as "
                    "the password",
                    fatal=True,
                )
            )
            raise _Fatal from None
        ctx.session.caller = caller
        log.info(
            "SQL interface: %s connected (user %r, application %r)",
            caller.principal.subject,
            ctx.session.user,
            ctx.params.get("application_name", ""),
        )
        self.send_authentication_ok()
        parameters = dict(self.server.conn.parameters())
        parameters["application_name"] = ctx.params.get("application_name", "")[:63]
        parameters["session_authorization"] = ctx.session.user
        self.send_parameter_status(parameters)
        self.send_backend_key_data(ctx)
        ctx.authenticated = True
        self.send_ready_for_query(ctx)

    # -- queries -----------------------------------------------------------------------------

    def handle_query(self, ctx: MetricsContext, payload: bytes) -> None:
        sql = payload.decode("utf-8", "replace").rstrip("\x00")
        try:
            result = ctx.execute_sql(sql)
        except SqlError as exc:
            self._error(exc)
            if exc.fatal:
                raise _Fatal from None
            self.send_ready_for_query(ctx)
            return
        except Exception:
            log.exception("SQL interface: internal error")
            self._error(SqlError("XX000", "an internal error; the server's log has the details"))
            self.send_ready_for_query(ctx)
            return
        if result.has_results():
            self.send_row_description(result)
            count = self.send_data_rows(result)
            self.send_command_complete(f"SELECT {count}\x00")
        elif result.status():
            self.send_command_complete(f"{result.status()}\x00")
        else:
            self.wfile.write(struct.pack("!ci", ServerResponse.EMPTY_QUERY_RESPONSE, 4))
        self.send_ready_for_query(ctx)

    def handle_bind(self, ctx: MetricsContext, payload: bytes) -> None:
        data = bytearray(payload)
        end = data.index(NULL_BYTE)
        portal = data[:end].decode("utf-8")
        stmt_end = data.index(NULL_BYTE, end + 1)
        stmt = data[end + 1 : stmt_end].decode("utf-8")
        if stmt not in ctx.stmts:
            raise SqlError("26000", f'prepared statement "{stmt}" does not exist')
        buf = BVBuffer(io.BytesIO(data[stmt_end + 1 :]))
        formats = [buf.read_int16() for _ in range(buf.read_int16())]
        count = buf.read_int16()
        if len(formats) < count:
            formats = [formats[0] if formats else 0] * count
        oids = ctx.stmts[stmt][1]
        params: list[Any] = []
        for i in range(count):
            size = buf.read_int32()
            if size < 0:
                params.append(None)
                continue
            raw = buf.read_bytes(size)
            if formats[i] == 0:
                params.append(raw.decode("utf-8"))
                continue
            oid = oids[i] if i < len(oids) else 0
            if oid in _BINARY:
                params.append(struct.unpack(_BINARY[oid], raw)[0])
            elif oid == 16:
                params.append(raw != b"\x00")
            else:
                params.append(raw.decode("utf-8"))
        results = [buf.read_int16() for _ in range(buf.read_int16())]
        ctx.add_portal(portal, stmt, params, results)
        self.send_bind_complete()

    def handle_describe(self, ctx: MetricsContext, payload: bytes) -> None:
        kind, name = payload[:1], payload[1:-1].decode("utf-8")
        if kind == b"S":
            if name not in ctx.stmts:
                raise SqlError("26000", f'prepared statement "{name}" does not exist')
            result = ctx.describe_statement(name)
            self.send_paramter_description(ctx.stmts[name][1])
        else:
            if name not in ctx.portals:
                raise SqlError("34000", f'portal "{name}" does not exist')
            result = ctx.describe_portal(name)
        if result.has_results():
            self.send_row_description(result)
        else:
            self.wfile.write(struct.pack("!ci", ServerResponse.NO_DATA, 4))

    def handle_execute(self, ctx: MetricsContext, payload: bytes) -> None:
        data = bytearray(payload)
        end = data.index(NULL_BYTE)
        portal = data[:end].decode("utf-8")
        limit = struct.unpack("!i", data[end + 1 : end + 5])[0]
        if portal not in ctx.portals and portal not in ctx.result_cache:
            raise SqlError("34000", f'portal "{portal}" does not exist')
        result = ctx.execute_portal(portal)
        if not result.has_results():
            if result.status():
                self.send_command_complete(f"{result.status()}\x00")
            else:
                self.wfile.write(struct.pack("!ci", ServerResponse.EMPTY_QUERY_RESPONSE, 4))
            return
        count = self.send_data_rows(result, limit)
        if limit == 0 or count < limit:
            self.send_command_complete(f"SELECT {count}\x00")
        else:
            ctx.result_cache[portal] = result
            self.send_portal_suspend()

    def send_data_rows(self, query_result: Any, limit: int = 0) -> int:
        """DataRow messages of a result's rows (at most ``limit``, 0: all), each value in its
        column's format; returns how many were sent."""
        count = query_result.column_count()
        formats = query_result.result_format or [0] * count
        writers = [
            (BINARY_WRITERS if formats[i] == 1 else TEXT_WRITERS).get(
                query_result.column(i)[1], TEXT_WRITERS[BVType.TEXT]
            )
            for i in range(count)
        ]
        sent = 0
        out = io.BytesIO()
        for row in query_result.rows():
            body = bytearray(struct.pack("!h", count))
            for value, write in zip(row, writers, strict=True):
                if value is None:
                    body += struct.pack("!i", -1)
                else:
                    data = write(value)
                    body += struct.pack("!i", len(data)) + data
            out.write(ServerResponse.DATA_ROW + struct.pack("!i", len(body) + 4) + body)
            sent += 1
            if limit > 0 and sent >= limit:
                break
        self.wfile.write(out.getvalue())
        return sent

    def handle_close(self, ctx: MetricsContext, payload: bytes) -> None:
        kind, name = payload[:1], payload[1:-1].decode("utf-8")
        (ctx.stmts if kind == b"S" else ctx.portals).pop(name, None)
        ctx.result_cache.pop(name, None)
        self.send_close_complete()

    # -- errors ------------------------------------------------------------------------------

    def _error(self, error: SqlError, ctx: MetricsContext | None = None) -> None:
        """An ErrorResponse: severity, SQLSTATE, message and hint."""
        severity = "FATAL" if error.fatal else "ERROR"
        buf = BVBuffer()
        fields = [(b"S", severity), (b"V", severity), (b"C", error.code), (b"M", error.message)]
        if error.hint:
            fields.append((b"H", error.hint))
        for tag, text in fields:
            buf.write_byte(tag)
            buf.write_string(text)
        buf.write_byte(NULL_BYTE)
        out = buf.get_value()
        self.wfile.write(struct.pack("!ci", ServerResponse.ERROR_RESPONSE, len(out) + 4) + out)
        if ctx is not None:
            ctx.mark_error()


class _Fatal(Exception):
    """The connection ends after a FATAL error."""


class MetricsServer(BuenaVistaServer):  # type: ignore[misc]
    """A threaded TCP server answering the PostgreSQL protocol from one ``Service``."""

    daemon_threads = True
    conn: MetricsConnection

    def __init__(self, address: tuple[str, int], conn: MetricsConnection) -> None:
        super().__init__(address, conn)
        self.RequestHandlerClass = MetricsHandler

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Every client that reaches the socket may try to log in (the bind address decides
        who can reach it)."""
        return True
