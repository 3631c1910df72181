"""A PostgreSQL-protocol SQL interface to the service (docs/sql-interface.md): BI tools,
psql and notebooks ask for metrics in SQL, answered with the definitions, access policies
and result cache of the HTTP service. Needs the ``sql`` extra (buenavista)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from metrics_layer.server.service import Service

__all__ = ["SqlServer", "serve_sql"]


@dataclass
class SqlServer:
    """A running SQL interface: where it listens, and ``stop()``."""

    host: str
    port: int
    _server: object
    _thread: threading.Thread

    def stop(self) -> None:
        """Stops accepting connections and closes the socket (open connections end with
        their clients)."""
        server = self._server
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
        self._thread.join(timeout=5)


def serve_sql(service: Service, host: str = "127.0.0.1", port: int = 15432) -> SqlServer:
    """Starts the SQL interface on ``host:port`` (port 0: a free port) in a daemon thread,
    sharing ``service``; returns at once."""
    from metrics_layer.server.sqlwire.protocol import MetricsServer
    from metrics_layer.server.sqlwire.session import MetricsConnection

    server = MetricsServer((host, port), MetricsConnection(service))
    bound_host, bound_port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, name="metrics-layer-sql", daemon=True)
    thread.start()
    return SqlServer(str(bound_host), int(bound_port), server, thread)
