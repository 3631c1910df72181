"""PostgreSQL errors of the SQL interface: an SQLSTATE, a message and a hint saying what is
allowed, and the mapping of the service's ``Problem`` statuses to SQLSTATEs."""

from __future__ import annotations

from metrics_layer.server.problems import Problem

__all__ = ["ALLOWED", "SqlError", "of_problem"]

ALLOWED = (
    "Ask for metrics as SELECT <dimensions>, MEASURE(<metric>) FROM metrics [WHERE ...] "
    "[GROUP BY ...] [ORDER BY ...] [LIMIT n] (docs/sql-interface.md); the catalogue is in "
    "information_schema and pg_catalog"
)


class SqlError(Exception):
    """A refusal said as a PostgreSQL ErrorResponse: SQLSTATE ``code``, message, hint;
    ``fatal`` ends the connection (a failed login)."""

    def __init__(self, code: str, message: str, hint: str | None = None, *, fatal: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.fatal = fatal


# The service's Problem statuses and types as SQLSTATEs.
_BY_TYPE = {
    "unauthenticated": "28P01",
    "forbidden": "42501",
    "not_found": "42P01",
    "filter": "42601",
    "query": "42703",
    "unsupported": "0A000",
    "statement": "42601",
    "broken_metric": "XX000",
    "too_many_rows": "54000",
    "timeout": "57014",
    "engine": "58000",
    "request": "22023",
}

_HINTS = {
    "28P01": "Give an API key or a bearer token of the service's access file as the password",
    "42501": "Only the metrics and dimensions of your access policy can be asked for; "
    "information_schema.columns lists them",
    "42703": "information_schema.columns (or \\d metrics in psql) lists the metrics and "
    "dimensions you can ask for",
    "42601": ALLOWED,
    "0A000": ALLOWED,
    "54000": "Ask for fewer rows: group by fewer or coarser dimensions, narrow the range, or "
    "add a LIMIT",
    "57014": "Narrow the query (a shorter range, fewer dimensions) so it ends within the "
    "service's timeout",
}


def of_problem(problem: Problem) -> SqlError:
    """The PostgreSQL error of a service refusal."""
    code = _BY_TYPE.get(problem.type)
    if code is None:
        code = {401: "28P01", 403: "42501", 404: "42P01"}.get(problem.status, "XX000")
    return SqlError(code, problem.message, _HINTS.get(code))
