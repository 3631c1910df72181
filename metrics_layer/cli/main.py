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
import datetime as dt
import decimal
import io
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from metrics_layer.errors import (
    DefinitionError,
    Diagnostic,
    InternalError,
    Level,
    UserError,
    printable,
)

__all__ = ["EXIT_INTERNAL", "main"]

DEFAULT_PATH = "definitions"
PATH_VARIABLE = "METRICS_LAYER_PATH"
EXIT_INTERNAL = 70  # EX_SOFTWARE in sysexits.h: a bug in the program, not in its input
DEBUG_HELP = "show the traceback of an error (also accepted after the command)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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

    listing = sub.add_parser("list", help="list the metrics")
    with_project(listing)
    listing.add_argument("--format", "-f", choices=["table", "json"], default="table")

    show = sub.add_parser("show", help="show one metric in full")
    show.add_argument("metric")
    with_project(show)

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
    check.add_argument("--format", "-f", choices=["text", "github", "json"], default="text")
    with_outside(check)
    return parser


def _subparser(parent: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """The class of the subcommands' parsers: each also takes ``parent``'s options."""

    class Subparser(argparse.ArgumentParser):
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


def _path(args: argparse.Namespace) -> str:
    return str(args.project or os.environ.get(PATH_VARIABLE) or DEFAULT_PATH)


def _layer(args: argparse.Namespace, connection: str | None = None) -> Any:
    from metrics_layer.api import load

    return load(
        _path(args), connection=connection, allow_outside=args.allow_outside, target=args.target
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
        render(result.columns, result.rows, args.format, result.partial, result.incomplete)
    )
    return 0


def _cmd_compile(args: argparse.Namespace) -> int:
    layer = _layer(args)
    print(_query(args, layer).sql(args.dialect))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    layer = _layer(args)
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
    lines = [
        f"{metric.name}  (v{metric.version}, {metric.status.value}, {metric.kind.value})",
        f"  label:       {metric.label}",
        f"  description: {metric.description or '-'}",
        f"  owner:       {metric.owner or '-'}",
        f"  tags:        {', '.join(metric.tags) or '-'}",
        f"  synonyms:    {', '.join(metric.synonyms) or '-'}",
        f"  defined in:  {layer.graph.places.get(metric.name, ('-',))[0]}",
    ]
    if metric.measure:
        lines.append(f"  measure:     {metric.measure}")
    if metric.inputs:
        lines.append(f"  inputs:      {', '.join(i.name for i in metric.inputs)}")
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
    for version, date, change in metric.changelog:
        lines.append(f"  v{version} {date}: {change}")
    lines.append("")
    lines.append(_example_sql(layer, metric))
    print("\n".join(lines))
    return 0


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
        _path(args), connection=connection, allow_outside=args.allow_outside, target=target
    )
    result = layer.query(
        ["daily_active_users", "signups", "paid_conversion_rate", "mrr"],
        by=["metric_time.month"],
        start="2026-01-01",
    ).run()
    sys.stdout.write(render(result.columns, result.rows, "table"))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from metrics_layer.api import check

    path = args.path or os.environ.get(PATH_VARIABLE) or DEFAULT_PATH
    graph, diagnostics = check(path, allow_outside=args.allow_outside, target=args.target)
    errors = [d for d in diagnostics if d.level is Level.ERROR]
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "level": d.level.value,
                        "message": d.message,
                        "file": d.file,
                        "line": d.line,
                        "column": d.column,
                        "code": d.code,
                    }
                    for d in diagnostics
                ],
                indent=2,
            )
        )
    for d in diagnostics:
        if args.format == "github":
            print(github_command(d))
        elif args.format == "text":
            print(_text_line(d), file=sys.stderr)
    if args.format == "text":
        count = len(graph.metrics) if graph is not None else 0
        summary = (
            f"{len(errors)} error(s), {len(diagnostics) - len(errors)} warning(s)"
            if diagnostics
            else f"ok: {count} metrics, no problems"
        )
        print(summary, file=sys.stderr)
    return 1 if errors else 0


def _text_line(d: Diagnostic) -> str:
    r"""``file:line:col: level: message`` on one line, control characters escaped; a file name
    starting with ``::`` gets ``./`` in front, so the line cannot be read as a CI command.

    >>> _text_line(Diagnostic(Level.ERROR, "bad\nthing", "::error::x.yml", 2, 3))
    './::error::x.yml:2:3: error: bad\\nthing'
    """
    line = printable(str(d))
    return f"./{line}" if line.startswith("::") else line


def github_command(d: Diagnostic) -> str:
    r"""A diagnostic as one GitHub Actions workflow command (an annotation on the diff).

    Escaped as GitHub's own toolkit (``@actions/core``, ``command.ts``) escapes: no file name or
    message can end the line or add a property.

    >>> print(github_command(Diagnostic(Level.ERROR, "50% done\nnext", "a,b:c.yml", 3, 5)))
    ::error file=a%2Cb%3Ac.yml,line=3,col=5::50%25 done%0Anext
    >>> print(github_command(Diagnostic(Level.WARNING, "no file")))
    ::warning::no file
    """
    kind = "error" if d.level is Level.ERROR else "warning"
    properties = ""
    if d.file is not None:
        place = {"file": d.file, "line": str(d.line or 1), "col": str(d.column or 1)}
        properties = " " + ",".join(f"{k}={_escape_property(v)}" for k, v in place.items())
    text = f"{d.message}; {d.hint}" if d.hint else d.message
    return f"::{kind}{properties}::{_escape_data(text)}"


def _escape_data(text: str) -> str:
    """The message of a workflow command: ``%``, CR and LF escaped (``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A property value of a workflow command: also ``:`` and ``,`` (``escapeProperty``)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_HANDLERS = {
    "query": _cmd_query,
    "compile": _cmd_compile,
    "list": _cmd_list,
    "show": _cmd_show,
    "schema": _cmd_schema,
    "demo": _cmd_demo,
    "check": _cmd_check,
}


def render(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str,
    partial: Sequence[bool] = (),
    incomplete: Sequence[bool] = (),
) -> str:
    """Rows as an aligned table, CSV or JSON (an array of objects); in a table the periods of
    rows marked ``partial`` end in ``*``, those marked ``incomplete`` in ``~``."""
    if fmt == "json":
        return (
            json.dumps(
                [dict(zip(columns, row, strict=True)) for row in rows],
                default=_json_value,
                indent=2,
            )
            + "\n"
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue()
    from metrics_layer.engine.result import format_table

    table = format_table(tuple(columns), tuple(tuple(r) for r in rows), partial, incomplete)
    return table + "\n"


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


if __name__ == "__main__":
    sys.exit(main())
