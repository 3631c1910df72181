"""The ``metrics-layer`` command.

Exit codes: 0 success; 1 the definitions, query or database failed (the message says where and
what to do); 2 the command line itself is wrong; 70 a bug in metrics_layer (an internal error);
130 interrupted. No traceback is printed unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import csv
import io
import json
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, assert_never

from metrics_layer.errors import (
    DefinitionError,
    Diagnostic,
    InternalError,
    QueryError,
    UserError,
    printable,
)

__all__ = ["EXIT_INTERNAL", "main"]

DEFAULT_PATH = "definitions"
# The name on the package index: "metrics-layer" there is another project with the same import
# name, so this one is published as "kpi-layer" (README: Installing).
DISTRIBUTION = "kpi-layer"
PATH_VARIABLE = "METRICS_LAYER_PATH"
EXIT_INTERNAL = 70  # EX_SOFTWARE in sysexits.h: a bug in the program, not in its input
DEBUG_HELP = "show the traceback of an error (also accepted after the command)"
if TYPE_CHECKING:
    from metrics_layer.formats import ValueFormat

# The values of checks.report.Format, named here so that building the parser imports no more.
CHECK_FORMATS = ("text", "json", "github", "sarif", "markdown")


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line: what is wrong and where to read the usage."""

    def error(self, message: str) -> NoReturn:
        text = printable(message)  # it may quote what was typed: escaped, and cut
        text = text if len(text) <= 1000 else text[:997] + "..."
        self.exit(2, f"{self.prog}: error: {text}; see '{self.prog} --help'\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="metrics-layer",
        description="Define KPIs once; compile them to SQL for any engine; run them anywhere.",
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    # After the command too; SUPPRESS keeps a subcommand from resetting a --debug given before it.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_subparser(debug)
    )

    def with_project(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--project",
            "-p",
            default=None,
            help=f"definitions folder (default: ${PATH_VARIABLE} or ./{DEFAULT_PATH})",
        )
        with_outside(p)

    def with_outside(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--allow-outside",
            action="store_true",
            help="let project.paths and symbolic links read files outside the project folder",
        )
        p.add_argument(
            "--target",
            "-t",
            default=None,
            help="the environment whose tables to read, one of the project's targets "
            "(default: $METRICS_LAYER_TARGET, then the project's target)",
        )

    def with_query(p: argparse.ArgumentParser) -> None:
        p.add_argument("metrics", nargs="*", help="metric names")
        p.add_argument(
            "--by",
            "-b",
            action="append",
            default=[],
            help="group by a dotted name, e.g. metric_time.week or user.plan",
        )
        p.add_argument("--where", "-w", default=None, help="SQL boolean over dotted names")
        p.add_argument("--start", default=None, help="first day, YYYY-MM-DD (inclusive)")
        p.add_argument("--end", default=None, help="last day, YYYY-MM-DD (inclusive)")
        p.add_argument(
            "--order",
            "-o",
            action="append",
            default=[],
            help="order by a metric or 'by' name; prefix '-' for descending",
        )
        p.add_argument("--limit", "-l", type=int, default=None, help="maximum number of rows")
        p.add_argument(
            "--fill-periods",
            action="store_true",
            help="show every period of the range, also those without rows",
        )
        p.add_argument(
            "--whole-periods",
            action="store_true",
            help="widen --start/--end to whole periods of the coarsest metric_time grain "
            "(default: keep them, and mark cut periods with *)",
        )
        with_project(p)

    query = sub.add_parser("query", help="compute metrics and print the result")
    with_query(query)
    query.add_argument("--format", "-f", choices=["table", "csv", "json"], default="table")
    query.add_argument(
        "--connection",
        "-c",
        default=None,
        help="SQLAlchemy URL (default: $METRICS_LAYER_URL, the project's, or demo)",
    )
    query.add_argument("--sql", action="store_true", help="also print the SQL (to stderr)")
    query.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds the query may run (default: the project's timeout, 120)",
    )

    compile_ = sub.add_parser("compile", help="print the SQL for a query")
    with_query(compile_)
    compile_.add_argument(
        "--dialect",
        "-d",
        default=None,
        help="sqlglot dialect, e.g. duckdb, postgres, snowflake, bigquery",
    )

    statistics = sub.add_parser(
        "statistics",
        help="print PostgreSQL CREATE STATISTICS for the time buckets the SQL groups tables by",
    )
    with_project(statistics)
    statistics.add_argument(
        "--dialect", "-d", default=None, help="postgres (default: the project's engine)"
    )

    listing = sub.add_parser("list", help="list the metrics")
    with_project(listing)
    listing.add_argument(
        "--format",
        "-f",
        choices=["table", "csv", "json"],
        default="table",
        help="json: every metric of the catalogue in full",
    )

    show = sub.add_parser("show", help="show one metric in full")
    show.add_argument("metric")
    with_project(show)
    show.add_argument(
        "--format",
        "-f",
        choices=["text", "json"],
        default="text",
        help="json: the metric's catalogue entry",
    )

    sizing = sub.add_parser("size", help="size an A/B test of a metric; print the plan")
    sizing.add_argument("metric")
    sizing.add_argument(
        "--mde",
        required=True,
        help="minimum detectable effect: '5%%' relative to the baseline, or a number in the "
        "metric's units (0.02: two points of a rate); '-5%%' for a fall",
    )
    sizing.add_argument("--alpha", default="0.05", help="significance level, two-sided (0.05)")
    sizing.add_argument("--power", default="0.8", help="power (0.8)")
    sizing.add_argument("--arms", default="2", help="arms, control included (2)")
    sizing.add_argument(
        "--allocation", default=None, help="weights per arm, control first, e.g. 50,25,25"
    )
    sizing.add_argument("--lookback", default="28", help="days of data for the baseline (28)")
    sizing.add_argument("--end", default=None, help="last day of data (default: the latest)")
    sizing.add_argument(
        "--traffic", default="1", help="share of eligible units enrolled, 0 to 1 (1)"
    )
    sizing.add_argument(
        "--unit", default=None, help="the entity to randomise (default: the metric's)"
    )
    sizing.add_argument(
        "--population", default=None, help="a metric whose units above 0 are the eligible units"
    )
    sizing.add_argument("--format", "-f", choices=["markdown", "html"], default="markdown")
    with_project(sizing)

    analysis = sub.add_parser("analyze", help="read a finished A/B test of a metric")
    analysis.add_argument("metric")
    analysis.add_argument(
        "--assignment",
        required=True,
        help="CSV file with a header: unit key, variant (one row per unit); or a dimension "
        "of the project holding each unit's variant (assignments.variant)",
    )
    analysis.add_argument("--start", required=True, help="first day of the test (YYYY-MM-DD)")
    analysis.add_argument("--end", required=True, help="last day of the test (YYYY-MM-DD)")
    analysis.add_argument("--alpha", default="0.05", help="significance level, two-sided (0.05)")
    analysis.add_argument("--control", default=None, help="the control variant's name")
    analysis.add_argument("--format", "-f", choices=["markdown", "html"], default="markdown")
    with_project(analysis)

    digest = sub.add_parser("digest", help="write the weekly KPI digest (docs/digest.md)")
    digest.add_argument(
        "metrics",
        nargs="*",
        help="metric names (default: the project's digest.metrics, else every certified metric)",
    )
    digest.add_argument(
        "--by",
        "-b",
        default=None,
        help="the dimension of the biggest movers, e.g. user.plan (default: the project's "
        "digest.by)",
    )
    digest.add_argument(
        "--today",
        default=None,
        help="the day the digest is written, YYYY-MM-DD: it covers the last complete week "
        "before it (default: today in the project's time zone)",
    )
    digest.add_argument("--movers", default="3", help="movers shown per KPI (3)")
    digest.add_argument("--format", "-f", choices=["md", "html"], default="md")
    digest.add_argument("--out", default=None, metavar="FILE", help="write to FILE, not stdout")
    digest.add_argument(
        "--connection", "-c", default=None, help="SQLAlchemy URL (default: $METRICS_LAYER_URL)"
    )
    with_project(digest)

    sub.add_parser("schema", help="print the JSON Schema of definition files")

    demo = sub.add_parser(
        "demo", help="create the demo database (or load it into another) and show a KPI"
    )
    demo.add_argument("--force", action="store_true", help="recreate the demo data")
    demo.add_argument(
        "--connection",
        "-c",
        default=None,
        help="load the demo into this database instead (PostgreSQL: schema metrics_layer_demo; "
        "MariaDB/MySQL: tables mldemo_*; SQLite or DuckDB: the file)",
    )
    with_project(demo)

    check = sub.add_parser("check", help="validate definitions; exit 1 on errors")
    check.add_argument("path", nargs="?", default=None, help="definitions folder or file")
    check.add_argument(
        "--format",
        "-f",
        choices=CHECK_FORMATS,
        default="text",
        help="text (on stderr), or json, github, sarif or markdown (on stdout)",
    )
    check.add_argument(
        "--strict", action="store_true", help="fail on warnings too (exit 1), not only on errors"
    )
    check.add_argument(
        "--connection",
        "-c",
        default=None,
        help="also check every table, column and column type against this database "
        "(a SQLAlchemy URL; read-only)",
    )
    check.add_argument(
        "--base",
        default=None,
        metavar="REF",
        help="also compare with the definitions at this git revision, e.g. origin/main",
    )
    with_outside(check)

    locking = sub.add_parser(
        "lock", help="write metrics.lock: the version and fingerprint of every metric"
    )
    locking.add_argument("path", nargs="?", default=None, help="definitions folder or file")
    with_outside(locking)

    importing = sub.add_parser(
        "import", help="convert definitions written for another tool; exit 1 if any part is not"
    )
    importing.add_argument("tool", choices=["dbt"], help="the format to read: dbt (MetricFlow)")
    importing.add_argument("path", help="the dbt project folder (or one YAML file)")
    importing.add_argument(
        "--out",
        default="dbt_definitions",
        metavar="DIR",
        help="folder to write the definitions to (default: ./dbt_definitions)",
    )
    importing.add_argument(
        "--force",
        action="store_true",
        help="replace the written files in a folder that is not empty",
    )

    serve = sub.add_parser("serve", help="run the HTTP service (needs the server extra)")
    with_project(serve)
    serve.add_argument(
        "--connection",
        "-c",
        default=None,
        help="SQLAlchemy URL (default: $METRICS_LAYER_URL, the project's, or demo)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--sql-port",
        type=int,
        default=None,
        help="also serve the PostgreSQL-protocol SQL interface on this port (needs the sql "
        "extra; docs/sql-interface.md)",
    )
    serve.add_argument(
        "--sql-host",
        default="127.0.0.1",
        help="address the SQL interface listens on (127.0.0.1; passwords cross it in clear "
        "text, so put a TLS-terminating proxy before any other address)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (1); with more, share results through --cache redis://...",
    )
    serve.add_argument(
        "--access",
        default=None,
        metavar="FILE",
        help="the access file: API keys, JWT and policies (docs/access.md)",
    )
    serve.add_argument(
        "--allow-anonymous",
        action="store_true",
        help="serve every caller everything without authentication (no --access)",
    )
    serve.add_argument(
        "--cache",
        default="memory",
        metavar="URL",
        help="where results are kept: memory (this process, the default), a redis:// URL "
        "(shared by workers), or off",
    )
    serve.add_argument(
        "--watch",
        type=float,
        default=None,
        metavar="SECONDS",
        help="reload the definitions when their files change, looking every SECONDS",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let browser pages from ORIGIN call the service (repeatable; default: none)",
    )
    serve.add_argument(
        "--timeout", type=float, default=30.0, help="longest a query may run, seconds (30)"
    )
    serve.add_argument(
        "--max-rows", type=int, default=100_000, help="most rows a query may return (100000)"
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=1_000_000,
        help="largest request body, bytes (1000000)",
    )
    mcp = sub.add_parser(
        "mcp", help="serve the metrics to AI assistants over MCP (needs the mcp extra)"
    )
    with_project(mcp)
    mcp.add_argument(
        "--connection",
        "-c",
        default=None,
        help="SQLAlchemy URL (default: $METRICS_LAYER_URL, the project's, or demo)",
    )
    mcp.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (the assistant starts this command; the default) or http (streamable "
        "HTTP at http://HOST:PORT/mcp)",
    )
    mcp.add_argument("--host", default="127.0.0.1", help="http: address to listen on (127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8765, help="http: port to listen on (8765)")
    mcp.add_argument(
        "--access",
        default=None,
        metavar="FILE",
        help="the access file: API keys, JWT and policies (docs/access.md); over stdio the "
        "key or token is read from $METRICS_LAYER_API_KEY or $METRICS_LAYER_TOKEN",
    )
    mcp.add_argument(
        "--allow-anonymous",
        action="store_true",
        help="serve every caller everything without authentication (no --access)",
    )
    mcp.add_argument(
        "--cache",
        default="memory",
        metavar="URL",
        help="where results are kept: memory (the default), a redis:// URL (shared with "
        "`serve`), or off",
    )
    mcp.add_argument(
        "--timeout", type=float, default=30.0, help="longest a query may run, seconds (30)"
    )
    mcp.add_argument(
        "--max-rows",
        type=int,
        default=1_000,
        help="most rows a query_metrics call returns; more are cut with a note (1000)",
    )
    return parser


def _subparser(parent: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """The class of the subcommands' parsers: each also takes ``parent``'s options."""

    class Subparser(_Parser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["parents"] = [*kwargs.get("parents", ()), parent]
            super().__init__(*args, **kwargs)

    return Subparser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code. Never lets an exception out (``--debug`` prints the
    traceback of the one that ended the command)."""
    parser = _parser()
    try:
        args = parser.parse_args(_descending_orders(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    debug = bool(getattr(args, "debug", False))
    try:
        code = _HANDLERS[args.command](args)
        sys.stdout.flush()
        return code
    except DefinitionError as exc:
        _show_traceback(debug)
        for diagnostic in exc.diagnostics:
            _say(_text_line(diagnostic))
        return 1
    except UserError as exc:
        _show_traceback(debug)
        _say(f"error: {printable(str(exc))}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep Python from complaining
        # again when it flushes stdout on exit.
        _detach_stdout()
        return 0
    except UnicodeEncodeError as exc:
        _show_traceback(debug)
        if not _is_output_encoding(exc.encoding):
            _say(f"internal error: {_internal(exc)}. Please report it; --debug shows the traceback")
            return EXIT_INTERNAL
        unwritable = exc.object[exc.start : exc.end]
        _say(
            f"error: the output encoding ({exc.encoding}) cannot write {unwritable!a}; "
            "set PYTHONIOENCODING=utf-8 or use a UTF-8 locale"
        )
        return 1
    except Exception as exc:
        _show_traceback(debug)
        _say(f"internal error: {_internal(exc)}. Please report it; --debug shows the traceback")
        return EXIT_INTERNAL


def _is_output_encoding(name: str) -> bool:
    """Whether ``name`` is the encoding of stdout or stderr (an output that cannot show a
    character), rather than one some library chose."""
    try:
        wanted = codecs.lookup(name).name
        streams = (sys.stdout, sys.stderr)
        return any(
            codecs.lookup(getattr(s, "encoding", None) or "").name == wanted for s in streams
        )
    except LookupError:
        return False


def _internal(exc: Exception) -> str:
    """An unexpected exception on one line, cut to a readable length."""
    text = str(exc) if isinstance(exc, InternalError) else f"{type(exc).__name__}: {exc}"
    text = printable(text)
    return text if len(text) <= 500 else text[:497] + "..."


def _show_traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)


def _say(line: str) -> None:
    with contextlib.suppress(BrokenPipeError, UnicodeEncodeError):
        print(line, file=sys.stderr)


def _detach_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _descending_orders(argv: Sequence[str]) -> list[str]:
    """Let ``--order -name`` mean descending, as ``--order=-name`` does (argparse would read
    ``-name`` as an option).

    >>> _descending_orders(["query", "x", "--order", "-x", "-o", "-y"])
    ['query', 'x', '--order=-x', '--order=-y']
    """
    out: list[str] = []
    items = iter(argv)
    for item in items:
        if item in ("--order", "-o"):
            value = next(items, None)
            if value is not None and value.startswith("-") and value != "--":
                out.append(f"--order={value}")
                continue
            out.append(item)
            if value is not None:
                out.append(value)
            continue
        out.append(item)
    return out


def _path(given: str | None) -> str:
    """The project folder: as given (``--project``, or ``PATH`` of check and lock), else
    ``$METRICS_LAYER_PATH``, else ``./definitions``."""
    return str(given or os.environ.get(PATH_VARIABLE) or DEFAULT_PATH)


def _layer(args: argparse.Namespace, connection: str | None = None) -> Any:
    from metrics_layer.api import load

    return load(
        _path(args.project),
        connection=connection,
        allow_outside=args.allow_outside,
        target=args.target,
    )


def _query(args: argparse.Namespace, layer: Any) -> Any:
    return layer.query(
        args.metrics,
        by=args.by,
        where=args.where,
        start=args.start,
        end=args.end,
        order=args.order,
        limit=args.limit,
        fill_periods=args.fill_periods,
        whole_periods=args.whole_periods,
    )


def _cmd_query(args: argparse.Namespace) -> int:
    layer = _layer(args, args.connection)
    result = _query(args, layer).run(timeout=args.timeout)
    if args.sql:
        print(result.sql, file=sys.stderr)
    sys.stdout.write(
        render(
            result.columns,
            result.rows,
            args.format,
            result.partial,
            result.incomplete,
            formats=result.formats(),
        )
    )
    return 0


def _cmd_compile(args: argparse.Namespace) -> int:
    layer = _layer(args)
    print(_query(args, layer).sql(args.dialect))
    return 0


def _cmd_statistics(args: argparse.Namespace) -> int:
    layer = _layer(args)
    found = layer.statistics(args.dialect)
    print(
        "-- Statistics on the time buckets metrics_layer's SQL groups these tables by, for\n"
        "-- PostgreSQL 14 and later; the ANALYZE lines compute them. metrics_layer runs none\n"
        "-- of these: run them as the tables' owner (docs/queries.md, row estimates)."
    )
    print("\n".join(found) if found else "-- (no time bucket is grouped from a table)")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    layer = _layer(args)
    if args.format == "json":
        print(json.dumps(layer.catalogue()["metrics"], indent=2))
        return 0
    rows = tuple(
        (m.name, m.kind.value, m.status.value, m.version, m.owner or "", m.label)
        for m in layer.metrics
    )
    columns = ("name", "type", "status", "version", "owner", "label")
    sys.stdout.write(render(columns, rows, args.format))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    layer = _layer(args)
    metric = layer.metric(args.metric)
    described = layer.describe(metric.name)
    if args.format == "json":
        print(json.dumps(described, indent=2))
        return 0
    lines = [
        f"{metric.name}  (v{metric.version}, {metric.status.value}, {metric.kind.value})",
        f"  label:       {metric.label}",
        f"  description: {metric.description or '-'}",
        f"  owner:       {metric.owner or '-'}",
        f"  tags:        {', '.join(metric.tags) or '-'}",
        f"  synonyms:    {', '.join(metric.synonyms) or '-'}",
        f"  defined in:  {described['defined_in'] or '-'}",
    ]
    if metric.format is not None:
        lines.insert(3, f"  format:      {_format_text(metric.format)}")
    if metric.replaced_by is not None or metric.sunset is not None:
        sunset = metric.sunset.isoformat() if metric.sunset is not None else "-"
        lines.append(f"  replaced by: {metric.replaced_by or '-'} (sunset {sunset})")
    if metric.measure:
        lines.append(f"  measure:     {metric.measure}")
    definition = described["definition"]
    inputs = definition.get("inputs") or [
        definition[side] for side in ("numerator", "denominator") if side in definition
    ]
    if inputs:
        lines.append(f"  inputs:      {', '.join(_input_text(i) for i in inputs)}")
    if "expr" in definition:
        lines.append(f"  expr:        {definition['expr']}")
    if metric.filter is not None:
        lines.append(f"  filter:      {metric.filter.sql()}")
    if metric.per is not None:
        rollup = metric.rollup.value if metric.rollup else "average"
        lines.append(f"  per:         {metric.per.value} (rollup {rollup})")
    if metric.window is not None:
        lines.append(f"  window:      {metric.window.text}")
    if metric.period is not None:
        lines.append(
            f"  period:      {metric.period.value} (against the {metric.period.value} before)"
        )
    if metric.cohort_period:
        lines.append(f"  cohort table: grouped by {metric.cohort_period}")
    versions = layer.graph.versions_of(metric.current_name)
    if len(versions) > 1:
        earlier = ", ".join(f"{metric.current_name}@{v}" for v in versions if v != versions[-1])
        lines.append(f"  versions:    {', '.join(map(str, versions))} (kept: {earlier})")
    for version, date, change in metric.changelog:
        lines.append(f"  v{version} {date}: {change}")
    lines.extend(_dimensions_text(described["dimensions"], layer.graph.period_names))
    lines.append("")
    lines.append(_example_sql(layer, metric))
    print("\n".join(lines))
    return 0


def _format_text(fmt: ValueFormat) -> str:
    """A value format as ``show`` prints it: its type and an example value.

    >>> from metrics_layer.formats import FormatType, ValueFormat
    >>> _format_text(ValueFormat(FormatType.PERCENT))
    'percent, e.g. 12.3%'
    """
    from metrics_layer.formats import FormatType

    sample = 0.1234 if fmt.type is FormatType.PERCENT else 1234.5678
    return f"{fmt.type.value}, e.g. {fmt.render(sample)}"


def _input_text(item: dict[str, Any]) -> str:
    """An input of a ratio or derived metric as ``show`` prints it.

    >>> _input_text({"name": "revenue", "alias": "last_week", "offset": "1 week",
    ...              "offset_to_grain": None})
    'revenue AS last_week (offset 1 week)'
    >>> _input_text({"name": "mau", "alias": None, "offset": None, "offset_to_grain": "month"})
    'mau (at the start of each month)'
    """
    text = str(item["name"])
    if item["alias"]:
        text += f" AS {item['alias']}"
    notes = []
    if item["offset"]:
        notes.append(f"offset {item['offset']}")
    if item["offset_to_grain"]:
        notes.append(f"at the start of each {item['offset_to_grain']}")
    return f"{text} ({', '.join(notes)})" if notes else text


def _dimensions_text(dimensions: Sequence[dict[str, Any]], periods: Sequence[str]) -> list[str]:
    """The names a metric can be grouped by, wrapped; a time dimension with its grains
    (``day+``: a day and every coarser grain and calendar period)."""
    from metrics_layer.graph.calendars import GRAIN_NAMES

    order = [*GRAIN_NAMES, *periods]
    shown = []
    for entry in dimensions:
        grains = entry.get("grains")
        if entry["type"] != "time" or grains is None:
            shown.append(entry["name"])
        elif grains and grains == order[order.index(grains[0]) :]:
            shown.append(f"{entry['name']}\xa0({grains[0]}+)")
        else:
            shown.append(f"{entry['name']}\xa0({', '.join(grains) or 'date parts only'})")
    # A no-break space keeps a name on one line with its grains (textwrap breaks ASCII spaces).
    text = textwrap.fill(
        ", ".join(shown),
        width=100,
        initial_indent="  dimensions:  ",
        subsequent_indent=" " * 15,
        break_on_hyphens=False,
        break_long_words=False,
    )
    return text.replace("\xa0", " ").splitlines()


def _example_sql(layer: Any, metric: Any) -> str:
    """The metric's SQL by month (a cohort table also by its period), or without a time
    grouping when its sources have no time."""
    periods = [metric.cohort_period] if metric.cohort_period else []
    try:
        return str(layer.query([metric.name], by=["metric_time.month", *periods]).sql())
    except UserError:
        return str(layer.query([metric.name], by=periods).sql())


def _cmd_schema(args: argparse.Namespace) -> int:
    from metrics_layer.spec.schema import load_schema

    print(json.dumps(load_schema(), indent=2, sort_keys=True))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from metrics_layer.api import load
    from metrics_layer.demo import create_demo, demo_path, ensure_demo

    connection, target = args.connection, args.target
    if connection is None:
        path = create_demo(demo_path(), overwrite=True) if args.force else ensure_demo()
        print(f"demo database: {path}", file=sys.stderr)
        connection = f"duckdb:///{path}"
    else:
        from metrics_layer.demo.load import load_demo
        from metrics_layer.engine.urls import redact

        loaded = load_demo(connection, replace=args.force)
        state = f"loaded {loaded.rows:,} rows" if loaded.created else "already loaded"
        how = f"; query it with --target {loaded.target}" if loaded.target else ""
        print(f"demo data in {redact(connection)}, {loaded.place}: {state}{how}", file=sys.stderr)
        target = target or loaded.target
    layer = load(
        _path(args.project), connection=connection, allow_outside=args.allow_outside, target=target
    )
    result = layer.query(
        ["daily_active_users", "signups", "paid_conversion_rate", "mrr"],
        by=["metric_time.month"],
        start="2026-01-01",
    ).run()
    sys.stdout.write(render(result.columns, result.rows, "table", formats=result.formats()))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from metrics_layer import __version__
    from metrics_layer.api import check
    from metrics_layer.checks import report
    from metrics_layer.checks.report import Format

    path = _path(args.path)
    graph, diagnostics = check(
        path,
        allow_outside=args.allow_outside,
        target=args.target,
        connection=args.connection,
        base=args.base,
    )
    metrics = len(graph.current) if graph is not None else 0
    fmt = Format(args.format)
    if fmt is Format.TEXT:
        read = report.source_lines(within=None if args.allow_outside else path)
        sys.stderr.write(
            report.render_text(diagnostics, metrics=metrics, read=read, colour=_colour(sys.stderr))
        )
    elif fmt is Format.JSON:
        sys.stdout.write(report.render_json(diagnostics, metrics=metrics) + "\n")
    elif fmt is Format.GITHUB:
        sys.stdout.write(report.render_github(diagnostics))
    elif fmt is Format.SARIF:
        sys.stdout.write(
            report.render_sarif(diagnostics, version=__version__, root=path, docs_url=_docs_url())
        )
    elif fmt is Format.MARKDOWN:
        sys.stdout.write(report.render_markdown(diagnostics, metrics=metrics, link=_github_link()))
    else:
        assert_never(fmt)
    return 1 if report.failed(diagnostics, strict=args.strict) else 0


def _colour(stream: Any) -> bool:
    """Whether to colour ``stream``: a terminal, and neither ``NO_COLOR`` set nor ``TERM=dumb``
    (https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def _docs_url() -> str | None:
    """The address of the documentation, from the package's ``Documentation`` project URL."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata(DISTRIBUTION).get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in urls:
        name, _, url = str(entry).partition(",")
        if name.strip().lower() == "documentation" and url.strip():
            return url.strip()
    return None


def _github_link() -> Callable[[str, int | None], str | None] | None:
    """Links to the lines of the repository a GitHub Actions workflow runs on, from its
    ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY`` and ``GITHUB_SHA``; None elsewhere."""
    from metrics_layer.checks.report import github_link

    names = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA")
    server, repository, revision = (os.environ.get(name, "") for name in names)
    if not (server.startswith("https://") and repository and revision):
        return None
    return github_link(server, repository, revision)


def _cmd_lock(args: argparse.Namespace) -> int:
    from metrics_layer.api import lock
    from metrics_layer.checks import report

    path = _path(args.path)
    done = lock(path, allow_outside=args.allow_outside, target=args.target)
    if not done.written:
        read = report.source_lines(within=None if args.allow_outside else path)
        sys.stderr.write(
            report.render_text(done.diagnostics, read=read, colour=_colour(sys.stderr))
        )
        _say("metrics.lock was not written; fix the errors above first")
        return 1
    for line in done.changes:
        print(printable(line))
    what = f"{len(done.changes)} change(s)" if done.changes else "no changes"
    print(f"wrote {printable(str(done.file))}: {what}")
    return 0


def _text_line(d: Diagnostic) -> str:
    r"""``file:line:col: level: message`` on one line, control characters escaped; a file name
    starting with ``::`` gets ``./`` in front, so the line cannot be read as a CI command.

    >>> from metrics_layer.errors import Level
    >>> _text_line(Diagnostic(Level.ERROR, "bad\nthing", "::error::x.yml", 2, 3))
    './::error::x.yml:2:3: error: bad\\nthing'
    """
    from metrics_layer.checks.report import not_a_command

    return not_a_command(printable(str(d)))


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from metrics_layer.server.app import create_app
        from metrics_layer.server.config import Limits, ServerConfig
    except ImportError as exc:
        raise UserError(
            f"serve needs the server extra ({exc.name} is missing): pip install 'kpi-layer[server]'"
        ) from exc
    config = ServerConfig(
        project=_path(args.project),
        connection=args.connection,
        target=args.target,
        allow_outside=args.allow_outside,
        limits=Limits(
            timeout=args.timeout, max_rows=args.max_rows, max_body_bytes=args.max_body_bytes
        ),
        cors_origins=tuple(args.cors_origin),
        access_file=args.access,
        cache_url=None if args.cache == "off" else args.cache,
        allow_anonymous=args.allow_anonymous,
        watch=args.watch,
    )
    if args.workers < 1:
        raise UserError(f"--workers: expected a positive number, not {args.workers}")
    if not 0 < args.port < 65536:
        raise UserError(f"--port: expected a port from 1 to 65535, not {args.port}")
    if args.sql_port is not None:
        return _serve_with_sql(args, config)
    app = create_app(config)  # also in one process: its errors end the command here
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
        return 0
    from metrics_layer.server.config import CONFIG_VARIABLE, to_text

    del app
    os.environ[CONFIG_VARIABLE] = to_text(config)
    uvicorn.run(
        "metrics_layer.server.app:from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


def _cmd_mcp(args: argparse.Namespace) -> int:
    try:
        from metrics_layer.mcp.run import run
    except ImportError as exc:
        raise UserError(
            f"mcp needs the mcp extra ({exc.name} is missing): pip install 'kpi-layer[mcp]'"
        ) from exc
    return run(args)


def _serve_with_sql(args: argparse.Namespace, config: Any) -> int:
    """The HTTP service and the SQL interface in one process, sharing one Service (its
    catalogue, plans and result cache)."""
    import uvicorn

    if not 0 < args.sql_port < 65536:
        raise UserError(f"--sql-port: expected a port from 1 to 65535, not {args.sql_port}")
    if args.sql_port == args.port and args.sql_host == args.host:
        raise UserError("--sql-port: give another port than --port")
    if args.workers != 1:
        raise UserError(
            "--sql-port runs the SQL interface in the service's one process: leave out "
            "--workers, or run `metrics-layer serve --workers N` and a second "
            "`metrics-layer serve --sql-port PORT --port OTHER` on the same --cache redis://..."
        )
    try:
        from metrics_layer.server.sqlwire import serve_sql
    except ImportError as exc:  # pragma: no cover - the sql extra installs it
        raise UserError(
            f"--sql-port needs the sql extra ({exc.name} is missing): pip install 'kpi-layer[sql]'"
        ) from exc
    from metrics_layer.server.app import app_of
    from metrics_layer.server.service import Service

    service = Service(config)
    app = app_of(service)
    try:
        sql = serve_sql(service, args.sql_host, args.sql_port)
    except OSError as exc:
        raise UserError(
            f"--sql-port: cannot listen on {args.sql_host}:{args.sql_port} ({exc.strerror})"
        ) from exc
    print(f"SQL interface on {sql.host}:{sql.port} (PostgreSQL protocol)", file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    finally:
        sql.stop()
    return 0


def _number(value: str, flag: str, kind: type[int] | type[float] = float) -> Any:
    """A flag's number, or a QueryError naming the flag."""
    try:
        return kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise QueryError(f"expected {what}, not {value!r:.60}", field=flag) from None


def _cmd_size(args: argparse.Namespace) -> int:
    from metrics_layer.experiments.sizing import check_inputs, size

    allocation = None
    if args.allocation is not None:
        allocation = [_number(w, "--allocation") for w in args.allocation.split(",")]
    options = {
        "alpha": _number(args.alpha, "--alpha"),
        "power": _number(args.power, "--power"),
        "arms": _number(args.arms, "--arms", int),
        "lookback": _number(args.lookback, "--lookback", int),
        "traffic": _number(args.traffic, "--traffic"),
    }
    try:
        check_inputs(mde=args.mde, allocation=allocation, end=args.end, **options)
        plan = size(
            _layer(args),
            args.metric,
            mde=args.mde,
            allocation=allocation,
            end=args.end,
            unit=args.unit,
            population=args.population,
            **options,
        )
    except QueryError as exc:
        raise _flagged(exc) from exc
    print(plan.to_html() if args.format == "html" else plan.to_markdown())
    return 0


def _flagged(exc: QueryError) -> QueryError:
    """The error with its field written as the command's flag (``--mde``)."""
    if exc.field is None or exc.field == "metric":
        return exc
    flag = "--" + exc.field.split(" ")[0].replace("_", "-")
    return QueryError(str(exc).removeprefix(f"{exc.field}: "), field=flag)


def _cmd_analyze(args: argparse.Namespace) -> int:
    import csv

    from metrics_layer.experiments.analysis import analyze

    assignment: object = args.assignment
    if os.path.exists(args.assignment) or args.assignment.lower().endswith(".csv"):
        try:
            with open(args.assignment, newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise QueryError(
                f"cannot read {args.assignment!r:.200}: {exc}", field="--assignment"
            ) from exc
        if len(rows) < 2 or any(len(row) != 2 for row in rows):
            raise QueryError(
                "expected a header line and rows of two columns: unit key, variant",
                field="--assignment",
            )
        assignment = [tuple(row) for row in rows[1:]]
    try:
        result = analyze(
            _layer(args),
            args.metric,
            assignment,
            start=args.start,
            end=args.end,
            alpha=_number(args.alpha, "--alpha"),
            control=args.control,
        )
    except QueryError as exc:
        raise _flagged(exc) from exc
    print(result.to_html() if args.format == "html" else result.to_markdown())
    return 0


def _cmd_digest(args: argparse.Namespace) -> int:
    from metrics_layer.digest import build

    try:
        digest = build(
            _layer(args, args.connection),
            args.metrics,
            by=args.by,
            today=args.today,
            movers=_number(args.movers, "--movers", int),
        )
    except QueryError as exc:
        raise _flagged(exc) from exc
    text = digest.to_html() if args.format == "html" else digest.to_markdown()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.out, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise QueryError(f"cannot write {args.out!r:.200}: {exc.strerror}", field="--out") from exc
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from metrics_layer.importers.dbt import import_dbt

    imported = import_dbt(args.path, args.out, force=args.force)
    for note in imported.notes:
        _say(f"{printable(note.place)}: note: {printable(note.what)}: {printable(note.reason)}")
    for skipped in imported.skipped:
        _say(printable(str(skipped)))
    _say(
        f"wrote {imported.sources} sources and {imported.metrics} metrics to "
        f"{printable(str(args.out))}; {len(imported.skipped)} parts not converted"
    )
    return 1 if imported.skipped else 0


_HANDLERS = {
    "size": _cmd_size,
    "digest": _cmd_digest,
    "analyze": _cmd_analyze,
    "import": _cmd_import,
    "serve": _cmd_serve,
    "mcp": _cmd_mcp,
    "query": _cmd_query,
    "compile": _cmd_compile,
    "list": _cmd_list,
    "show": _cmd_show,
    "schema": _cmd_schema,
    "demo": _cmd_demo,
    "check": _cmd_check,
    "lock": _cmd_lock,
    "statistics": _cmd_statistics,
}


def render(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str,
    partial: Sequence[bool] = (),
    incomplete: Sequence[bool] = (),
    *,
    formats: Mapping[str, ValueFormat] | None = None,
) -> str:
    """Rows as an aligned table, CSV or JSON (an array of objects, values as the service
    writes them); in a table the metrics are shown in their value formats, and the periods of
    rows marked ``partial`` end in ``*``, those marked ``incomplete`` in ``~``. CSV and JSON
    keep the values unformatted, for programs to read."""
    from metrics_layer.engine.result import format_table, json_value

    if fmt == "json":
        shown = [{c: json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        return json.dumps(shown, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue()
    table = format_table(
        tuple(columns), tuple(tuple(r) for r in rows), partial, incomplete, formats=formats
    )
    return table + "\n"


if __name__ == "__main__":
    sys.exit(main())
