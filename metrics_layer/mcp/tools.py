"""What each MCP tool does, without the protocol: calls of one ``Service`` for one ``Caller``.

The MCP server (server.py) turns a tool call into one of these methods and its result (or its
``Problem``) into a tool result. Every number comes from ``Service.query``, so the access
policy's row filter and the result cache apply exactly as they do over HTTP; every name an
assistant may see comes from the service's catalogue for the caller, so a hidden metric or
dimension is never listed, searched, described or suggested, and asking for one is answered
as asking for a name that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from metrics_layer.errors import UserError, did_you_mean
from metrics_layer.mcp.search import search
from metrics_layer.planner.planner import extent_of
from metrics_layer.server.kept import KeptForLayer
from metrics_layer.server.models import CompileRequest, QueryRequest
from metrics_layer.server.problems import Problem, problem_of
from metrics_layer.server.service import Caller, Service

__all__ = ["DEFAULT_ROW_CAP", "QueryArgs", "Tools", "UnknownMetric", "in_words", "warning_of"]

DEFAULT_ROW_CAP = 1_000
"""Rows a ``query_metrics`` call returns at most: an assistant reads every row it is given,
and a thousand rows already fill much of its context. More are cut, with a note."""

_CANDIDATES = 5
# Parsed catalogues kept, one per access key (a tenant's row filter makes its own key).
_KEPT_CATALOGUES = 256
T = TypeVar("T")


class UnknownMetric(Problem):
    """A metric name the caller does not see, with the visible metrics it may mean."""

    def __init__(self, message: str, field: str, candidates: list[str]) -> None:
        super().__init__(404, "not_found", message, field=field)
        self.candidates = candidates


@dataclass(frozen=True)
class _Parsed:
    """A caller's catalogue: its entries and their names."""

    entries: list[dict[str, Any]]
    names: frozenset[str]


@dataclass(frozen=True)
class QueryArgs:
    """A query's fields as a tool receives them (those of ``SemanticLayer.query``)."""

    metrics: list[str]
    by: list[str]
    where: str | None = None
    start: str | None = None
    end: str | None = None
    order: list[str] | None = None
    limit: int | None = None
    fill_periods: bool = False
    whole_periods: bool = False


class Tools:
    """The tools over ``service``; a ``query_metrics`` result has at most ``row_cap`` rows
    (and fewer when the service's own ``max_rows`` is lower)."""

    def __init__(self, service: Service, *, row_cap: int = DEFAULT_ROW_CAP) -> None:
        if row_cap < 1:
            raise UserError(f"the row cap must be a positive number of rows, not {row_cap}")
        self.service = service
        self.row_cap = row_cap
        self._kept: KeptForLayer[str, _Parsed] = KeptForLayer(_KEPT_CATALOGUES)

    # -- catalogue ---------------------------------------------------------------------------

    def entries(self, caller: Caller) -> list[dict[str, Any]]:
        """Every metric the caller may see, as the HTTP catalogue has it (shared: not to be
        changed)."""
        return self._parsed(caller).entries

    def _parsed(self, caller: Caller) -> _Parsed:
        """The caller's catalogue, parsed once per served definitions and access key: the
        catalogue's JSON takes milliseconds to parse, more than the rest of a cached query."""

        def parse() -> _Parsed:
            entries = json.loads(self.service.metrics_json(caller))["metrics"]
            return _Parsed(entries, frozenset(m["name"] for m in entries))

        return self._kept.get(self.service.layer, caller.access.key, parse)

    def list_metrics(
        self, caller: Caller, tag: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        """The caller's metrics in brief, those with ``tag`` and ``status`` when given."""
        if status is not None and status not in ("draft", "certified", "deprecated"):
            raise Problem(
                400,
                "request",
                f"status: expected draft, certified or deprecated, not {status!r:.60}",
                field="status",
            )
        shown = [
            brief(m)
            for m in self.entries(caller)
            if (status is None or m["status"] == status)
            and (tag is None or tag.lower() in (t.lower() for t in m["tags"]))
        ]
        return {"metrics": shown, "count": len(shown)}

    def search_metrics(self, caller: Caller, query: str, limit: int = 10) -> dict[str, Any]:
        """The caller's metrics matching ``query``, best first (search.py ranks them)."""
        found = search(self.entries(caller), query, limit=max(1, min(limit, 50)))
        return {"query": query, "metrics": [brief(m) for m in found], "count": len(found)}

    def describe_metric(self, caller: Caller, name: str) -> dict[str, Any]:
        """One metric in full, with its definition in words; a name that is not exactly a
        visible metric's is refused with the candidates the caller may mean."""
        visible = [m["name"] for m in self.entries(caller)]
        if name.partition("@")[0] not in visible:
            raise self.unknown_metric(caller, name, "name")
        entry = self.service.metric(caller, name)
        described = {**entry, "warning": warning_of(entry), "in_words": in_words(entry)}
        described["dimensions"] = [d["name"] for d in entry["dimensions"]]
        return described

    def list_dimensions(self, caller: Caller) -> dict[str, Any]:
        """Every name the caller may group or filter by, with the metrics it is valid for."""
        listed = json.loads(self.service.dimensions_json(caller))["dimensions"]
        # The catalogue's dimension list leaves a time dimension's grains and date parts to
        # each metric's entry; an assistant needs them to write metric_time.month.
        times = {
            d["name"]: d
            for m in self.entries(caller)
            for d in m["dimensions"]
            if d.get("grains") is not None
        }
        for entry in listed:
            found = times.get(entry["name"])
            if found is not None:
                entry["grains"], entry["parts"] = found["grains"], found.get("parts")
        return {"dimensions": listed, "count": len(listed)}

    # -- queries -----------------------------------------------------------------------------

    def query_metrics(
        self, caller: Caller, args: QueryArgs, *, include_sql: bool = False
    ) -> dict[str, Any]:
        """The query's result through ``Service.query`` (cache and row filter applied), cut
        to the row cap with a note."""
        self._check_metrics(caller, args.metrics)
        cap = self._cap()
        limit = args.limit
        if limit is not None and limit < 1:
            raise Problem(400, "query", f"limit: expected 1 or more, not {limit}", field="limit")
        probe = cap + 1 if limit is None or limit > cap else limit
        body = _validated(
            QueryRequest,
            {**_fields(args), "limit": probe, "include_sql": include_sql},
        )
        answer = _answered(lambda: self.service.query(caller, body))
        result = json.loads(answer.content)
        rows = result["rows"]
        truncated = len(rows) > cap
        note = None
        if truncated:
            note = (
                f"only the first {cap} rows are shown; ask for a coarser grain, fewer 'by' "
                "names, a shorter date range or a 'where' filter, or give an 'order' and a "
                "'limit' for the top rows"
            )
            for key in ("rows", "partial", "incomplete"):
                result[key] = result[key][:cap]
        statuses = {m["name"]: m for m in self.entries(caller) if m["status"] != "certified"}
        warnings = [
            f"{m['metric']}: {warning}"
            for m in result["metrics"].values()
            if (warning := warning_of(statuses.get(m["metric"], {}))) is not None
        ]
        return {
            "columns": result["columns"],
            "rows": result["rows"],
            "row_count": len(result["rows"]),
            "truncated": truncated,
            "note": note,
            "partial": result["partial"],
            "incomplete": result["incomplete"],
            "metrics": result["metrics"],
            "warnings": warnings,
            "dialect": result["dialect"],
            "sql": result["sql"],
            "cache": answer.cache,
        }

    def compile_sql(self, caller: Caller, args: QueryArgs, dialect: str | None) -> dict[str, Any]:
        """The query's SQL for ``dialect`` (default: the served database's), not run."""
        self._check_metrics(caller, args.metrics)
        body = _validated(CompileRequest, {**_fields(args), "dialect": dialect})
        compiled = _answered(lambda: self.service.compile(caller, body))
        dumped: dict[str, Any] = compiled.model_dump()
        return dumped

    # -- names -------------------------------------------------------------------------------

    def unknown_metric(self, caller: Caller, name: str, field: str) -> UnknownMetric:
        """The refusal of a metric name the caller does not see (hidden or unknown: one
        answer), with the visible metrics it may mean."""
        entries = self.entries(caller)
        candidates = [str(m["name"]) for m in search(entries, name, limit=_CANDIDATES)]
        hint = did_you_mean(name.partition("@")[0], [m["name"] for m in entries])
        if candidates:
            hint += f" Candidates: {', '.join(candidates)}."
        return UnknownMetric(
            f"no metric '{name}' is available to you.{hint} search_metrics finds metrics by "
            "word, list_metrics lists them",
            field,
            candidates,
        )

    def _check_metrics(self, caller: Caller, names: list[str]) -> None:
        visible = self._parsed(caller).names
        for name in names:
            if not isinstance(name, str) or extent_of(name):
                continue  # the library and the access policy check extents and types
            if name.partition("@")[0] not in visible:
                raise self.unknown_metric(caller, name, "metrics")

    def _cap(self) -> int:
        """The rows shown at most: the row cap, one below the service's ``max_rows`` (the row
        after the last one shown tells that there are more)."""
        return max(1, min(self.row_cap, self.service.config.limits.max_rows - 1))


def brief(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A catalogue entry without its definition and changelog: what an assistant needs to
    choose a metric and group it."""
    return {
        "name": entry["name"],
        "label": entry["label"],
        "description": entry["description"],
        "owner": entry["owner"],
        "status": entry["status"],
        "warning": warning_of(entry),
        "type": entry["type"],
        "version": entry["version"],
        "fingerprint": entry["fingerprint"],
        "tags": entry["tags"],
        "synonyms": entry["synonyms"],
        "format": entry["format"],
        "dimensions": [d["name"] for d in entry["dimensions"]],
        "required_dimensions": entry["required_dimensions"],
    }


def warning_of(entry: Mapping[str, Any]) -> str | None:
    """A plain warning for a deprecated or draft metric; None for a certified one.

    >>> warning_of({"status": "deprecated", "replaced_by": "mrr", "sunset": "2027-01-01"})
    'deprecated: use mrr instead; it may be removed from 2027-01-01'
    >>> warning_of({"status": "draft"})
    'draft: not certified yet; its definition and numbers may still change'
    >>> warning_of({"status": "certified"}) is None
    True
    """
    status = entry.get("status")
    if status == "deprecated":
        sunset = entry.get("sunset")
        until = f"; it may be removed from {sunset}" if sunset else ""
        return f"deprecated: use {entry.get('replaced_by') or 'another metric'} instead{until}"
    if status == "draft":
        return "draft: not certified yet; its definition and numbers may still change"
    return None


def in_words(entry: Mapping[str, Any]) -> str:
    """What a catalogue entry computes, in one or two sentences from its definition."""
    definition = entry["definition"]
    kind = entry["type"]
    parts: list[str] = []
    measure = definition.get("measure")
    if kind == "ratio" or "numerator" in definition:
        parts.append(
            f"{_side(definition['numerator'])} divided by {_side(definition['denominator'])}"
            " (each aggregated at the query's grain first; NULL when dividing by zero)"
        )
    elif kind == "derived":
        names = ", ".join(_input(i) for i in definition.get("inputs") or [])
        parts.append(f"the expression {definition['expr']} over {names}")
    elif measure is not None:
        parts.append(_measure(measure))
    if kind == "rolling" and definition.get("window"):
        parts.append(f"over a trailing window of {definition['window']} ending on each day")
    if kind == "cumulative" and definition.get("grain_to_date"):
        parts.append(f"accumulated {definition['grain_to_date']} to date")
    if kind == "conversion" and definition.get("window"):
        parts.append(f"converting within {definition['window']}")
    if definition.get("per"):
        rollup = definition.get("rollup") or "average"
        parts.append(f"per {definition['per']} ({rollup} over longer periods)")
    if definition.get("filter"):
        parts.append(f"counting only rows where {definition['filter']}")
    label = entry.get("label") or entry["name"]
    said = f"{label} ({kind} metric, version {entry['version']}): " + ", ".join(parts) + "."
    if entry.get("description"):
        said += " " + str(entry["description"])
    return said


def _measure(measure: Mapping[str, Any]) -> str:
    expr = measure.get("expr")
    return f"{measure['agg']} of {measure['name']}" + (f" ({expr})" if expr else "")


def _input(item: Mapping[str, Any]) -> str:
    """A derived metric's input: its name, or its alias with what it stands for."""
    said = str(item["name"])
    if item.get("offset"):
        said += f" {item['offset']} earlier"
    if item.get("offset_to_grain"):
        said += f" at the start of its {item['offset_to_grain']}"
    return f"{item['alias']} ({said})" if item.get("alias") else said


def _side(item: Mapping[str, Any]) -> str:
    measure = item.get("measure")
    return _measure(measure) if isinstance(measure, Mapping) else str(item["name"])


def _fields(args: QueryArgs) -> dict[str, Any]:
    return {
        "metrics": args.metrics,
        "by": args.by,
        "where": args.where,
        "start": args.start,
        "end": args.end,
        "order": args.order or [],
        "limit": args.limit,
        "fill_periods": args.fill_periods,
        "whole_periods": args.whole_periods,
    }


def _validated(model: type[QueryRequest] | type[CompileRequest], fields: dict[str, Any]) -> Any:
    """The request model of ``fields``; its first error as a Problem naming the field."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"]) or "arguments"
        raise Problem(400, "request", f"{place}: {first['msg']}", field=place) from None


def _answered(call: Callable[[], T]) -> T:
    """``call()``, a library UserError as its Problem."""
    try:
        return call()
    except UserError as exc:
        raise problem_of(exc) from exc
