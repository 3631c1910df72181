"""The HTTP requests and responses, as pydantic models (what /openapi.json documents).

Requests refuse unknown fields (``extra="forbid"``) and values of the wrong JSON type (no
``"1"`` for 1, no ``1`` for true); names and texts are bounded so that a huge string is refused
before any work. What the library checks itself (names, dates, filters) is left to it, so the
error names the fix in the project's terms.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

__all__ = [
    "BrokenMetric",
    "CatalogueDimension",
    "CatalogueMetric",
    "CompileRequest",
    "CompileResponse",
    "DiagnosticBody",
    "DimensionList",
    "ErrorBody",
    "ErrorDetail",
    "Health",
    "MetricList",
    "QueryRequest",
    "QueryResponse",
    "Readiness",
    "ReloadResponse",
]

Name = Annotated[StrictStr, Field(min_length=1, max_length=300)]
Date = Annotated[StrictStr, Field(max_length=40, json_schema_extra={"format": "date"})]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryRequest(_Request):
    """The fields of ``SemanticLayer.query``, plus what to return and the request's limits."""

    metrics: Annotated[list[Name], Field(min_length=1, max_length=200)] = Field(
        description="metric names; a kept version as name@N"
    )
    by: Annotated[list[Name], Field(max_length=50)] = Field(
        default_factory=list, description="dotted names to group by, e.g. metric_time.month"
    )
    where: Annotated[StrictStr, Field(max_length=10_000)] | None = Field(
        default=None, description="SQL boolean over dotted names"
    )
    start: Date | None = Field(default=None, description="first day, YYYY-MM-DD (inclusive)")
    end: Date | None = Field(default=None, description="last day, YYYY-MM-DD (inclusive)")
    order: Annotated[list[Name], Field(max_length=50)] = Field(
        default_factory=list, description="metric or 'by' names; prefix '-' for descending"
    )
    limit: StrictInt | None = Field(default=None, description="maximum number of rows")
    fill_periods: StrictBool = False
    whole_periods: StrictBool = False
    include_sql: StrictBool = Field(default=False, description="return the SQL that ran")
    timeout: StrictFloat | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="seconds; lowered to the server's limit",
    )
    max_rows: StrictInt | None = Field(
        default=None, ge=1, description="row cap; lowered to the server's limit"
    )


class CompileRequest(_Request):
    """A query's fields and the dialect to write its SQL in."""

    metrics: Annotated[list[Name], Field(min_length=1, max_length=200)]
    by: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    where: Annotated[StrictStr, Field(max_length=10_000)] | None = None
    start: Date | None = None
    end: Date | None = None
    order: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    limit: StrictInt | None = None
    fill_periods: StrictBool = False
    whole_periods: StrictBool = False
    dialect: Annotated[StrictStr, Field(max_length=40)] | None = Field(
        default=None, description="a sqlglot dialect (default: the server's database)"
    )


class DiagnosticBody(BaseModel):
    level: str
    code: str
    message: str
    file: str | None
    line: int | None
    column: int | None
    hint: str | None


class ErrorDetail(BaseModel):
    type: str = Field(description="request, query, filter, unsupported, not_found, ...")
    field: str | None = Field(description="the request field at fault, when one is")
    message: str
    diagnostics: list[DiagnosticBody] | None = None


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"type", "field", "message"}}``."""

    error: ErrorDetail


class Column(BaseModel):
    name: str
    type: str = Field(description="date, timestamp, integer, float, boolean, decimal or string")


class MetricVersionBody(BaseModel):
    metric: str
    version: int
    fingerprint: str


class Timings(BaseModel):
    compile_ms: float
    execute_ms: float


class QueryResponse(BaseModel):
    """A result in JSON (CSV and Arrow carry the same rows)."""

    columns: list[Column]
    rows: list[list[Any]]
    partial: list[bool] = Field(description="per row: its period is cut by the date range")
    incomplete: list[bool] = Field(description="per row: a conversion window is still open")
    row_count: int
    metrics: dict[str, MetricVersionBody]
    versions: dict[str, int]
    dialect: str
    sql: str | None
    timings: Timings


class CompileResponse(BaseModel):
    sql: str
    dialect: str
    columns: list[str]
    versions: dict[str, int]


class CatalogueDimension(BaseModel):
    name: str
    type: str
    label: str | None
    description: str | None
    source: str | None
    grains: list[str] | None = None
    parts: list[str] | None = None
    metrics: list[str] | None = None


class CatalogueMetric(BaseModel):
    name: str
    label: str | None
    description: str | None
    format: dict[str, Any] | None = Field(
        description="how values are shown: {type, decimals, currency?} (docs/definitions.md: "
        "value formats); null when the metric has none"
    )
    owner: str | None
    status: str
    replaced_by: str | None
    sunset: str | None
    type: str
    version: int
    versions: list[int]
    fingerprint: str
    tags: list[str]
    synonyms: list[str]
    changelog: list[dict[str, Any]]
    defined_in: str | None
    definition: dict[str, Any]
    inputs: list[str] = Field(description="the metrics and measures it reads")
    dimensions: list[CatalogueDimension]
    required_dimensions: list[str]


class MetricList(BaseModel):
    project: str
    metrics: list[CatalogueMetric]


class DimensionList(BaseModel):
    project: str
    dimensions: list[CatalogueDimension]


class Health(BaseModel):
    status: str


class BrokenMetric(BaseModel):
    metric: str
    diagnostics: list[DiagnosticBody]


class LoadAttempt(BaseModel):
    at: str
    ok: bool
    message: str | None
    errors: list[DiagnosticBody]


class Readiness(BaseModel):
    status: str = Field(description="ready, degraded (some metrics broken) or unavailable")
    metrics: int = Field(description="metrics served")
    broken_count: int = Field(description="metrics the definitions have broken")
    broken: list[BrokenMetric] = Field(
        description="each broken metric with its diagnostics (for an admin only)"
    )
    loaded_at: str | None
    last_reload: LoadAttempt | None
    database: dict[str, Any]
    cache: dict[str, Any] | None = Field(
        default=None, description="the result cache: backend, healthy, where, error"
    )


class ReloadResponse(BaseModel):
    ok: bool
    message: str | None
    errors: list[DiagnosticBody]
    metrics: int
    broken: list[str]
