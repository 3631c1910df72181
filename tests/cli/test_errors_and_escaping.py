"""The command line never shows a traceback unless asked (``--debug``), always exits with a
documented code, and escapes what it embeds in each output format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import metrics_layer as ml
from metrics_layer import api
from metrics_layer.checks.report import github_command
from metrics_layer.cli import main as cli_module
from metrics_layer.cli.main import EXIT_INTERNAL, main
from metrics_layer.errors import Diagnostic, Level, printable

from .runs import Run

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
SCRIPT = Path(sys.executable).with_name("metrics-layer")
INTERNAL = re.compile(
    r"^internal error: (.+)\. Please report it; --debug shows the traceback$", re.DOTALL
)
HUGE = "x" * 1_000_000


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def invoke(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return invoke


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("METRICS_LAYER_")}


# -- --debug, exit codes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "query", "signup", "--project", str(DEFINITIONS)],
        ["query", "signup", "--project", str(DEFINITIONS), "--debug"],
        ["query", "--debug", "signup", "--project", str(DEFINITIONS)],
    ],
)
def test_debug_before_or_after_the_command_shows_the_traceback(
    run: Callable[..., Run], argv: list[str]
) -> None:
    result = run(*argv)
    assert result.code == 1
    assert result.err.startswith("Traceback (most recent call last):")
    assert "metrics_layer.errors.QueryError: metrics: unknown metric 'signup'" in result.err
    assert result.err.splitlines()[-1].startswith("error: metrics: unknown metric 'signup'.")


def test_without_debug_a_user_error_is_one_line(run: Callable[..., Run]) -> None:
    result = run("query", "signup", "--project", str(DEFINITIONS))
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: metrics: unknown metric 'signup'. Did you mean")


def failing_handler(exc: BaseException) -> Callable[[object], int]:
    def handler(args: object) -> int:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "shown"),
    [
        (ValueError("boom"), "ValueError: boom"),
        (KeyError("k"), "KeyError: 'k'"),
        (ml.InternalError("a planner bug"), "a planner bug"),
        (RuntimeError("two\nlines \x1b[31m"), "RuntimeError: two\\nlines \\x1b[31m"),
        (TypeError("y" * 5000), "TypeError: " + "y" * 486 + "..."),
    ],
)
def test_an_unexpected_exception_is_one_internal_error_line(
    run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, exc: Exception, shown: str
) -> None:
    monkeypatch.setitem(cli_module._HANDLERS, "list", failing_handler(exc))
    result = run("list")
    assert result.code == EXIT_INTERNAL == 70
    assert result.err.count("\n") == 1
    match = INTERNAL.match(result.err.rstrip("\n"))
    assert match, result.err
    assert match.group(1) == shown
    assert "Traceback" not in result.err
    debugged = run("list", "--debug")
    assert debugged.code == EXIT_INTERNAL
    assert debugged.err.startswith("Traceback (most recent call last):")
    assert INTERNAL.match(debugged.err.rstrip("\n").splitlines()[-1])


def test_interrupt_exits_130(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli_module._HANDLERS, "list", failing_handler(KeyboardInterrupt()))
    result = run("list")
    assert (result.code, result.err) == (130, "")


def test_broken_pipe_in_process_exits_0(
    run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli_module._HANDLERS, "list", failing_handler(BrokenPipeError()))
    result = run("list")
    assert (result.code, result.err) == (0, "")


@pytest.mark.parametrize("argv", [["schema"], ["list", "--project", str(DEFINITIONS)]])
def test_a_reader_that_goes_away_is_not_an_error(argv: list[str]) -> None:
    """``metrics-layer list | head -0``: the pipe is closed before anything is written."""
    process = subprocess.Popen(
        [str(SCRIPT), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert err == ""


def test_an_output_encoding_that_cannot_write_a_label_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "sources:\n  - {name: s, table: t, measures: [{name: n, agg: count}]}\n"
        "metrics:\n  - {name: m, type: simple, measure: s.n, label: 'Umsatz (€)'}\n",
        encoding="utf-8",
    )
    completed = subprocess.run(
        [str(SCRIPT), "list", "--project", str(tmp_path)],
        capture_output=True,
        env={**environment(), "PYTHONIOENCODING": "ascii"},
        timeout=60,
        check=False,
    )
    err = completed.stderr.decode()
    assert completed.returncode == 1
    assert err == (
        "error: the output encoding (ascii) cannot write '\\u20ac'; set PYTHONIOENCODING=utf-8 "
        "or use a UTF-8 locale\n"
    )


# -- hostile command lines --------------------------------------------------------------------

SPOOF = "s\u0456gnups"  # a Cyrillic i
# "\udcff": an argument that was not valid UTF-8 (Python keeps the byte as a lone surrogate).
HOSTILE = ["", " ", "\x00", "\x1b[2J", "sign\u200bups", SPOOF, HUGE, "a;b", "'", '"', "-", "\udcff"]
KNOWN: dict[tuple[str, str], str] = {}


def short(argv: list[str]) -> str:
    return " ".join(repr(a if len(a) < 20 else a[:17] + "...") for a in argv)


def case(*argv: str) -> object:
    reason = KNOWN.get((argv[-2], argv[-1]))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(list(argv), id=short(list(argv)), marks=marks)


HOSTILE_ARGV = [
    *[case("query", value) for value in HOSTILE],
    *[
        case("query", "signups", option, value)
        for option in ("--by", "--where", "--start", "--end", "--order", "--connection")
        for value in HOSTILE
        if value.strip()
    ],
    *[case("compile", "signups", "--dialect", value) for value in HOSTILE if value.strip()],
    *[case("show", value) for value in HOSTILE],
    *[case("query", "signups", "--limit", value) for value in ("-5", "0", "99999999999")],
    *[case("query", "signups", "--start", value) for value in ("2026-02-30", "9999-99-99")],
    *[case("list", "--project", value) for value in ("\x00", HUGE, "/dev/null")],
    *[case("check", value) for value in ("\x00", HUGE, "/dev/null")],
    *[case("demo", "--project", value) for value in ("\x00", HUGE, "/dev/null")],
]


@pytest.mark.parametrize("argv", HOSTILE_ARGV)
def test_hostile_arguments_end_in_one_error_line(
    run: Callable[..., Run], argv: list[str], connection: str, demo_db: Path
) -> None:
    extra = ["--project", str(DEFINITIONS)] if argv[0] in ("query", "compile", "show") else []
    if argv[0] == "query" and "--connection" not in argv:
        extra += ["--connection", connection]
    result = run(*argv, *extra)
    assert "Traceback" not in result.err
    assert not result.err.startswith("internal error"), result.err[:300]
    if result.code == 2:
        assert result.err.startswith("metrics-layer")
        assert result.err.count("\n") == 1
        assert result.err[:-1].isprintable()
        assert len(result.err) < 1200
        return
    assert result.code in (0, 1)
    if result.code == 1:
        lines = result.err.splitlines()
        assert lines, "an error says something"
        assert all(line.isprintable() for line in lines)
        assert len(result.err) < 5000


@pytest.fixture(scope="session")
def connection(demo_db: Path) -> str:
    return f"duckdb:///{demo_db}"


def test_a_deeply_nested_filter_is_a_filter_error(run: Callable[..., Run]) -> None:
    where = "(" * 3000 + "user.country = 'DE'" + ")" * 3000
    result = run("compile", "signups", "--where", where, "--project", str(DEFINITIONS))
    assert result.code == 1
    assert result.err.startswith("error: where: ")


def test_a_name_that_would_start_a_ci_command_stays_inside_the_error_line(
    run: Callable[..., Run],
) -> None:
    result = run("compile", "signups", "--dialect", "x\n::error::forged", "-p", str(DEFINITIONS))
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "'x\\n::error::forged'" in result.err


# -- check: text, github and json ---------------------------------------------------------------

NASTY_FILES = [
    "a\nb",
    "::error file=x,line=1::forged",
    "c,d%e:f",
    "ü名",
    "r\rs",
    "%0A%25",
]
NASTY_LABEL = "Bad\n::error file=evil.yml,line=1::forged, 100% %0A"


@pytest.fixture(params=["errors", "warnings"])
def nasty(request: pytest.FixtureRequest, write_project: Callable[[dict[str, str]], Path]) -> Path:
    """A project whose file names and messages hold newlines, ``::``, commas, ``%`` and
    unicode. With errors: each file names an unknown measure. With warnings (whole-project
    checks run only without errors): each file's metric lacks a changelog entry, and two
    metrics share a label holding all of them."""
    source = "sources:\n  - {name: s, table: t, measures: [{name: n, agg: count}]}\n"
    measure = "nope.x" if request.param == "errors" else "s.n"
    metric = "{{name: m{}, type: simple, measure: " + measure + ", version: 3}}"
    files = {
        f"{name}.yml": f"metrics:\n  - {metric.format(i)}\n" for i, name in enumerate(NASTY_FILES)
    }
    label = json.dumps(NASTY_LABEL)
    files["labels.yml"] = (
        f"{source}metrics:\n  - {{name: l1, type: simple, measure: s.n, label: {label}}}\n"
        f"  - {{name: l2, type: simple, measure: s.n, label: {label}}}\n"
    )
    return write_project(files)


def unescape_data(text: str) -> str:
    """As the GitHub Actions runner reads a command's message (ActionCommand.cs)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    """As the runner reads a property value: also ``%3A`` and ``%2C``."""
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split one workflow command line as the runner does: ``::name props::message``."""
    assert line.startswith("::")
    end = line.index("::", 2)
    head, message = line[2:end], line[end + 2 :]
    name, _, props = head.partition(" ")
    properties = {}
    for pair in props.split(",") if props else []:
        key, _, value = pair.partition("=")
        properties[key] = unescape_property(value)
    return name, properties, unescape_data(message)


def test_check_github_has_one_command_line_per_diagnostic(
    run: Callable[..., Run], nasty: Path
) -> None:
    api.lock(nasty)  # every finding then points into a file (not at a missing metrics.lock)
    _, diagnostics = ml.check(nasty)
    assert {Path(d.file).name for d in diagnostics if d.file} >= {f"{n}.yml" for n in NASTY_FILES}
    errors = any(d.level is Level.ERROR for d in diagnostics)
    # Messages are one line: the library escapes what it quotes from the files.
    label = NASTY_LABEL.replace("\n", "\\n")
    assert errors or any(label in d.message for d in diagnostics)
    result = run("check", str(nasty), "--format", "github")
    assert result.code == (1 if errors else 0)
    lines = result.out.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == len(diagnostics)
    assert all("\r" not in line for line in lines)
    commands = [parse_command(line) for line in lines]
    assert [name for name, _, _ in commands] == [d.level.value for d in diagnostics]
    assert [props["file"] for _, props, _ in commands] == [d.file for d in diagnostics]
    assert [props["line"] for _, props, _ in commands] == [str(d.line) for d in diagnostics]
    assert set(commands[0][1]) == {"file", "line", "col", "title"}
    assert [props["title"] for _, props, _ in commands] == [d.code for d in diagnostics]
    assert [message for _, _, message in commands] == [
        f"{d.message}; {d.hint}" if d.hint else d.message for d in diagnostics
    ]


def test_check_text_has_one_headline_per_diagnostic(run: Callable[..., Run], nasty: Path) -> None:
    _, diagnostics = ml.check(nasty)
    result = run("check", str(nasty))
    lines = result.err.splitlines()
    headlines = [line for line in lines if re.search(r": (error|warning|note)\[", line)]
    assert len(headlines) == len(diagnostics)
    assert not any(line.startswith("::") for line in lines)
    assert all(line.isprintable() for line in lines)
    assert any(line.startswith(f"{nasty}/a\\nb.yml:2:") for line in headlines)


def test_check_text_keeps_a_relative_name_from_starting_a_command(
    run: Callable[..., Run], nasty: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(nasty)
    result = run("check", ".")
    forged = [line for line in result.err.splitlines() if "forged.yml:2:" in line]
    assert forged == [line for line in forged if line.startswith("./::error file=x,line=1::")]
    assert forged


def test_check_json_gives_back_names_and_messages_exactly(
    run: Callable[..., Run], nasty: Path
) -> None:
    _, diagnostics = ml.check(nasty)
    result = run("check", str(nasty), "--format", "json")
    records = json.loads(result.out)["diagnostics"]
    assert [(r["file"], r["message"]) for r in records] == [
        (d.file, d.message) for d in diagnostics
    ]


TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(list("\r\n%:,=")), max_size=40)


@given(
    file=st.none() | TEXT,
    message=TEXT,
    line=st.none() | st.integers(1, 10**6),
    level=st.sampled_from(Level),
)
def test_github_command_round_trips_through_the_runner(
    file: str | None, message: str, line: int | None, level: Level
) -> None:
    command = github_command(Diagnostic(level, message, file, line, None, code="schema"))
    assert command.isprintable()
    name, properties, read = parse_command(command)
    assert name == {"error": "error", "warning": "warning", "note": "notice"}[level.value]
    # CR and LF come back exactly; any other control character is shown as its escape
    assert read == "".join(c if c in "\r\n" else printable(c) for c in message)
    shown = None if file is None else "".join(c if c in "\r\n" else printable(c) for c in file)
    if shown is None:
        assert properties == {"title": "schema"}
    elif line is None:
        assert properties == {"file": shown, "title": "schema"}
    else:
        assert properties == {"file": shown, "line": str(line), "col": "1", "title": "schema"}
