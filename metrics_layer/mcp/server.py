"""The MCP server: the project's metrics as tools an AI assistant can call (docs/mcp.md).

Each tool is a thin call of ``Tools`` (tools.py) over one ``Service``, the same the HTTP
service runs: the same definitions, access policies, row filters and result cache, so a KPI
is one number whoever asks. No tool takes SQL or a table name; ``where`` is the library's
filter over declared dimension names, checked before any SQL is built.

Who is asking: over HTTP, each request's own ``X-API-Key`` or ``Authorization: Bearer``
header; over stdio, which has no headers, the credentials the server was started with (the
``METRICS_LAYER_API_KEY`` or ``METRICS_LAYER_TOKEN`` environment variable, read by the CLI).

Every refusal is a tool result with ``isError`` and the Problem's message (and, for a metric
name the caller does not see, the candidates it may mean), never a traceback.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, ValidationError

from metrics_layer.errors import UserError, did_you_mean
from metrics_layer.mcp.models import (
    CompiledSql,
    DimensionListing,
    MetricDescription,
    MetricListing,
    QueryResult,
    SearchResult,
)
from metrics_layer.mcp.tools import DEFAULT_ROW_CAP, QueryArgs, Tools, UnknownMetric
from metrics_layer.server.problems import Problem, problem_of
from metrics_layer.server.service import Caller, Service

__all__ = ["INSTRUCTIONS", "create_server"]

log = logging.getLogger("metrics_layer.mcp")

INSTRUCTIONS = """\
These tools answer questions about the company's KPIs from their reviewed definitions. Use \
them instead of writing SQL against tables: the numbers are the same ones dashboards show, \
under the caller's access policy.

1. Find the metric: search_metrics("active users") or list_metrics(). A word people use \
(dau, actives, mrr) is usually a synonym of a metric; call the metric by its name.
2. Check what it means and how it can be grouped: describe_metric(name). Mention a warning \
(draft or deprecated) in your answer.
3. Compute it: query_metrics(metrics=[name], by=["metric_time.month"], start="2026-01-01"). \
Group by time as metric_time.<grain> (day, week, month, quarter, year) and by the names \
list_dimensions() or describe_metric() give; filter with where, a SQL boolean over those names \
("user.country = 'DE'").

An error names the field at fault and what to use instead; a name that is not found comes \
with candidates: pick one, do not guess.
"""

Name = Annotated[StrictStr, Field(min_length=1, max_length=300)]
Day = Annotated[
    StrictStr,
    Field(max_length=40, description="a day, YYYY-MM-DD (inclusive)", examples=["2026-01-01"]),
]

_READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def create_server(
    service: Service,
    *,
    credentials: Mapping[str, str] | None = None,
    row_cap: int = DEFAULT_ROW_CAP,
) -> MCPServer:
    """The MCP server of a started service. ``credentials`` (header name to value) stand for
    a caller when a request carries no headers (stdio, or in-process); over HTTP each request
    is authenticated by its own headers."""
    tools = Tools(service, row_cap=row_cap)
    fallback = dict(credentials or {})
    server = _MetricsServer(
        "metrics-layer",
        title="metrics_layer",
        description="The company's KPIs, defined once: catalogue, queries and SQL",
        instructions=INSTRUCTIONS,
        version=_version(),
    )

    def tool(fn: Callable[..., CallToolResult]) -> None:
        """Register ``fn`` as a read-only tool named after it."""
        names = inspect.signature(fn).parameters
        server.accepted[fn.__name__] = frozenset(n for n in names if n != "ctx")
        server.tool(annotations=_READ_ONLY)(fn)

    def caller_of(ctx: Context) -> Caller:
        headers = ctx.headers
        return service.caller(fallback if headers is None else dict(headers))

    def answer(
        ctx: Context, work: Callable[[Caller], BaseModel | dict[str, Any]]
    ) -> CallToolResult:
        try:
            return _success(work(caller_of(ctx)))
        except Problem as exc:
            return _failure(exc)
        except UserError as exc:
            return _failure(problem_of(exc))
        except Exception:  # a bug: said without detail, the log has the traceback
            log.exception("internal error in a tool call")
            return _failure(Problem(500, "internal", "an internal error; the server's log has it"))

    @tool
    def list_metrics(
        ctx: Context,
        tag: Annotated[
            StrictStr | None, Field(max_length=100, description="only metrics with this tag")
        ] = None,
        status: Annotated[
            Literal["certified", "draft", "deprecated"] | None,
            Field(description="only metrics with this status"),
        ] = None,
    ) -> Annotated[CallToolResult, MetricListing]:
        """List the metrics you may query: name, label, description, owner, status (with a
        warning for draft and deprecated metrics), synonyms, tags and the dimensions each can
        be grouped by."""
        return answer(ctx, lambda who: tools.list_metrics(who, tag=tag, status=status))

    @tool
    def search_metrics(
        ctx: Context,
        query: Annotated[
            StrictStr,
            Field(
                min_length=1,
                max_length=300,
                description="words as a person would say them: 'active users', 'dau', "
                "'churn'; 'tag:revenue' for a tag",
            ),
        ],
        limit: Annotated[StrictInt, Field(ge=1, le=50, description="most results")] = 10,
    ) -> Annotated[CallToolResult, SearchResult]:
        """Find metrics by a word or phrase: matches names, labels, synonyms (dau, mrr, ...),
        tags, descriptions and owners, best match first. Use this before query_metrics when
        you do not know a metric's exact name."""
        return answer(ctx, lambda who: tools.search_metrics(who, query, limit))

    @tool
    def describe_metric(
        ctx: Context,
        name: Annotated[Name, Field(description="a metric's exact name; name@N for version N")],
    ) -> Annotated[CallToolResult, MetricDescription]:
        """Everything about one metric: what it computes in words, its definition, version,
        fingerprint, owner, status, changelog and the dimensions it can be grouped by. A name
        that is not a metric's exact name is answered with candidates."""
        return answer(ctx, lambda who: tools.describe_metric(who, name))

    @tool
    def list_dimensions(ctx: Context) -> Annotated[CallToolResult, DimensionListing]:
        """List the names you may group by ('by') or filter on ('where'), each with the
        metrics it is valid for; time dimensions list their grains (metric_time.month)."""
        return answer(ctx, lambda who: tools.list_dimensions(who))

    @tool
    def query_metrics(
        ctx: Context,
        metrics: Annotated[
            list[Name],
            Field(min_length=1, max_length=200, description="metric names (name@N: version N)"),
        ],
        by: Annotated[
            list[Name],
            Field(
                max_length=50,
                description="names to group by, e.g. metric_time.month, user.plan",
            ),
        ] = [],  # noqa: B006 - the SDK copies defaults into each call's argument model
        where: Annotated[
            StrictStr | None,
            Field(
                max_length=10_000,
                description="a SQL boolean over dimension names, e.g. user.country = 'DE'",
            ),
        ] = None,
        start: Day | None = None,
        end: Day | None = None,
        order: Annotated[
            list[Name],
            Field(
                max_length=50,
                description="metric or 'by' names to sort by; prefix '-' for descending",
            ),
        ] = [],  # noqa: B006
        limit: Annotated[StrictInt | None, Field(ge=1, description="most rows")] = None,
        fill_periods: Annotated[
            StrictBool, Field(description="also show periods without rows")
        ] = False,
        whole_periods: Annotated[
            StrictBool, Field(description="widen start/end to whole periods")
        ] = False,
        include_sql: Annotated[StrictBool, Field(description="return the SQL that ran")] = False,
    ) -> Annotated[CallToolResult, QueryResult]:
        """Compute metrics, grouped and filtered, from their reviewed definitions: columns,
        rows, each metric's version and fingerprint, and the SQL with include_sql. At most
        1,000 rows (fewer when the server says so); more are cut with a note."""
        args = QueryArgs(metrics, by, where, start, end, order, limit, fill_periods, whole_periods)
        return answer(ctx, lambda who: tools.query_metrics(who, args, include_sql=include_sql))

    @tool
    def compile_sql(
        ctx: Context,
        metrics: Annotated[list[Name], Field(min_length=1, max_length=200)],
        by: Annotated[list[Name], Field(max_length=50)] = [],  # noqa: B006
        where: Annotated[StrictStr | None, Field(max_length=10_000)] = None,
        start: Day | None = None,
        end: Day | None = None,
        order: Annotated[list[Name], Field(max_length=50)] = [],  # noqa: B006
        limit: Annotated[StrictInt | None, Field(ge=1)] = None,
        fill_periods: StrictBool = False,
        whole_periods: StrictBool = False,
        dialect: Annotated[
            StrictStr | None,
            Field(
                max_length=40,
                description="a SQL dialect: duckdb, postgres, snowflake, bigquery, ... "
                "(default: the server's database)",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, CompiledSql]:
        """The SQL a query_metrics call would run, written for a dialect, without running
        it: to show or review the logic. The fields are those of query_metrics."""
        args = QueryArgs(metrics, by, where, start, end, order, limit, fill_periods, whole_periods)
        return answer(ctx, lambda who: tools.compile_sql(who, args, dialect))

    return server


class _MetricsServer(MCPServer):
    """The SDK's server, with two refusals said in the service's error shape: an argument the
    tool does not take (a misnamed one, ``filter`` for ``where``, would otherwise be dropped
    and the number answered without it), and arguments that fail the tool's input schema
    (the first error, naming the argument, as the HTTP service names a body's field)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted: dict[str, frozenset[str]] = {}

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        known = self.accepted.get(name)
        if known is not None:
            unknown = sorted(str(k) for k in arguments if k not in known)
            if unknown:
                return _failure(_unknown_argument(unknown[0][:100], known))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            return _failure(_invalid(cause))


def _unknown_argument(name: str, known: frozenset[str]) -> Problem:
    return Problem(
        400,
        "request",
        f"{name}: this tool takes no such argument.{did_you_mean(name, known)} It takes: "
        f"{', '.join(sorted(known)) or 'none'}",
        field=name,
    )


def _invalid(error: ValidationError) -> Problem:
    """The first error of a tool's arguments, naming the argument (``by[0]``)."""
    errors = error.errors()
    first = errors[0]
    place = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    field = place.lstrip(".") or "arguments"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Problem(400, "request", f"{field}: {first['msg']}{more}", field=field)


def _success(value: BaseModel | dict[str, Any]) -> CallToolResult:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _failure(problem: Problem) -> CallToolResult:
    error: dict[str, Any] = {
        "type": problem.type,
        "field": problem.field,
        "message": problem.message,
    }
    if isinstance(problem, UnknownMetric):
        error["candidates"] = problem.candidates
    if problem.diagnostics is not None:
        error["diagnostics"] = list(problem.diagnostics)
    return CallToolResult(
        content=[TextContent(type="text", text=problem.message)],
        structured_content={"error": error},
        is_error=True,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kpi-layer")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "0"
