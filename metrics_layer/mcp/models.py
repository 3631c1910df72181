"""The tools' results, as pydantic models: their JSON Schemas are the tools' ``outputSchema``,
which an MCP client shows an assistant and checks each structured result against."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "CompiledSql",
    "DimensionListing",
    "MetricDescription",
    "MetricListing",
    "QueryResult",
    "SearchResult",
]


class MetricBrief(BaseModel):
    name: str = Field(description="the name to pass to query_metrics")
    label: str | None
    description: str | None
    owner: str | None
    status: str = Field(description="certified, draft or deprecated")
    warning: str | None = Field(
        description="for a draft or deprecated metric: why to be careful (null when certified)"
    )
    type: str = Field(description="simple, ratio, derived, rolling, cumulative, conversion, ...")
    version: int
    fingerprint: str = Field(description="hash of the compiled definition")
    tags: list[str]
    synonyms: list[str] = Field(description="other words people use for this metric")
    format: dict[str, Any] | None = Field(description="how values are shown: {type, decimals}")
    dimensions: list[str] = Field(description="the names this metric can be grouped by")
    required_dimensions: list[str]


class MetricListing(BaseModel):
    metrics: list[MetricBrief]
    count: int


class SearchResult(BaseModel):
    query: str
    metrics: list[MetricBrief] = Field(description="best match first")
    count: int


class MetricDescription(MetricBrief):
    in_words: str = Field(description="what the metric computes, in words")
    replaced_by: str | None
    sunset: str | None
    versions: list[int] = Field(description="versions that can be queried as name@N")
    changelog: list[dict[str, Any]]
    defined_in: str | None
    definition: dict[str, Any] = Field(description="the definition, in the terms of its type")
    inputs: list[str] = Field(description="the metrics and measures it reads")


class DimensionEntry(BaseModel):
    name: str = Field(description="the name to pass in 'by' or use in 'where'")
    type: str
    label: str | None
    description: str | None
    source: str | None
    grains: list[str] | None = Field(
        default=None, description="for a time dimension: group by name.<grain>"
    )
    parts: list[str] | None = None
    metrics: list[str] | None = Field(default=None, description="metrics it is valid for")


class DimensionListing(BaseModel):
    dimensions: list[DimensionEntry]
    count: int


class Column(BaseModel):
    name: str
    type: str = Field(description="date, timestamp, integer, float, boolean, decimal or string")


class MetricVersion(BaseModel):
    metric: str
    version: int
    fingerprint: str


class QueryResult(BaseModel):
    columns: list[Column]
    rows: list[list[Any]] = Field(
        description="one list per row, in the order of 'columns'; dates and timestamps as ISO "
        "8601 text, exact decimals as text"
    )
    row_count: int = Field(description="rows returned here")
    truncated: bool = Field(description="true when more rows existed than are shown")
    note: str | None = Field(description="what to do when the rows were cut")
    partial: list[bool] = Field(description="per row: its period is cut by start/end")
    incomplete: list[bool] = Field(description="per row: a conversion window is still open")
    metrics: dict[str, MetricVersion] = Field(description="per column: metric version")
    warnings: list[str] = Field(description="draft or deprecated metrics in the result")
    dialect: str
    sql: str | None = Field(description="the SQL that ran, with include_sql")
    cache: str = Field(description="hit, miss or none (no cache)")


class CompiledSql(BaseModel):
    sql: str
    dialect: str
    columns: list[str]
    versions: dict[str, int]
