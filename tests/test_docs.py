"""The documentation is tested: every definition field and CLI option is documented, and the
examples on the quick start, CLI and Python pages run.

- every property name of the JSON Schema appears in docs/definitions.md;
- every subcommand and option string of the CLI parser appears in docs/cli.md;
- every ```python block of docs/quickstart.md and docs/python.md runs, in order, in one
  namespace per page (a block containing ``# not run`` is skipped);
- every ``metrics-layer ...`` line of a ```console or ```bash block on the pages in
  ``COMMAND_PAGES`` (quick start, CLI, calendars, queries) exits 0, or with N when the line
  ends with ``# exits N`` (a block containing ``# not run`` is skipped). Console lines start
  with ``$ ``; ``NAME=value`` prefixes set environment variables; a ``> file`` redirection is
  dropped.
- on the pages in ``OUTPUT_PAGES``, the output is compared too: each console command's stdout with
  the lines under it, and each ```python block's printed output with the ```text block that
  follows it;
- on the pages in ``COMMAND_PAGES``, a console command with lines under it must print them (to
  stdout, or to stderr and then stdout), where a line ``... (N more)`` stands for lines left out.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics_layer.cli.main import _parser, main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCHEMA = ROOT / "metrics_layer" / "spec" / "schema.json"
FENCE = re.compile(r"^```(\w*)[ \t]*$")
EXITS = re.compile(r"#\s*exits\s+(\d+)")
SKIP = "# not run"


def blocks(page: str) -> Iterator[tuple[str, int, str]]:
    """(language, line number of the first line, text) of every fenced block in ``page``."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        yield match.group(1), index + 2, "\n".join(lines[index + 1 : end])
        index = end + 1


def property_names(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            found.update(properties)
        for value in node.values():
            found |= property_names(value)
    elif isinstance(node, list):
        for value in node:
            found |= property_names(value)
    return found


def test_every_schema_field_is_documented() -> None:
    page = (DOCS / "definitions.md").read_text(encoding="utf-8")
    names = property_names(json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert len(names) > 30
    missing = sorted(name for name in names if f"`{name}`" not in page)
    assert not missing, f"fields missing from docs/definitions.md: {missing}"


def cli_names() -> list[str]:
    """Every subcommand and every option string of the ``metrics-layer`` parser."""
    parser = _parser()
    found: list[str] = []
    for action in parser._actions:
        found.extend(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(name)
                for sub_action in sub._actions:
                    found.extend(sub_action.option_strings)
    return sorted(set(found))


def test_every_cli_command_and_option_is_documented() -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    names = cli_names()
    assert {"query", "compile", "check", "--connection", "--dialect"} <= set(names)
    missing = [name for name in names if f"`{name}" not in page]
    assert not missing, f"missing from docs/cli.md: {missing}"


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, with the shipped definitions and the demo database."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("METRICS_LAYER_URL", raising=False)
    monkeypatch.delenv("METRICS_LAYER_PATH", raising=False)


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("page", ["quickstart.md", "python.md", "calendars.md"])
def test_python_examples_run(page: str) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs.{page}"}
    ran = 0
    for language, line, text in blocks(page):
        if language != "python" or SKIP in text:
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(text, f"docs/{page}:{line}", "exec"), namespace)
        ran += 1
    assert ran >= 2


def command_blocks(page: str) -> Iterator[tuple[str, int, list[tuple[int, str]]]]:
    """(page, line of the first command, [(line, command), ...]) of every block with
    ``metrics-layer`` commands: a block's commands run in order in one test, since a later
    one may read what an earlier one wrote (``import dbt --out``, then ``check``)."""
    for language, line, text in blocks(page):
        if language not in ("console", "bash") or SKIP in text:
            continue
        commands = []
        for offset, raw in enumerate(text.splitlines()):
            command = raw[2:] if language == "console" and raw.startswith("$ ") else raw
            if language == "console" and not raw.startswith("$ "):
                continue
            if "metrics-layer" in command.split("#")[0]:
                commands.append((line + offset, command))
        if commands:
            yield page, commands[0][0], commands


COMMAND_PAGES = ("quickstart.md", "cli.md", "calendars.md", "queries.md")
COMMAND_BLOCKS = [b for page in COMMAND_PAGES for b in command_blocks(page)]
COMMANDS = [(page, line, command) for page, _, lines in COMMAND_BLOCKS for line, command in lines]
ELIDED = re.compile(r"^\s*\.\.\. \(.*\)$")


def shown_output(page: str, line: int) -> list[str]:
    """The lines under the console command at ``line`` of ``page`` (none for a bash line)."""
    return next((out for at, _, out in console_examples(page) if at == line), [])


def same_lines(printed: list[str], shown: list[str]) -> bool:
    """``printed`` is what ``shown`` shows: equal line by line (trailing spaces aside), where
    a shown line ``... (N more)`` (any text in the brackets) stands for one or more lines.

    >>> same_lines(["a", "b", "c", "d"], ["a", "... (2 more)", "d"]), same_lines(["a"], ["b"])
    (True, False)
    """
    printed = [p.rstrip() for p in printed]
    shown = [s.rstrip() for s in shown]
    if not shown:
        return not printed
    if ELIDED.match(shown[0]):
        rest = shown[1:]
        return any(same_lines(printed[k:], rest) for k in range(1, len(printed) + 1))
    return bool(printed) and printed[0] == shown[0] and same_lines(printed[1:], shown[1:])


def test_commands_are_found() -> None:
    assert len(COMMANDS) >= 15
    assert any(EXITS.search(command) for _, _, command in COMMANDS)
    assert any(len(commands) > 1 for _, _, commands in COMMAND_BLOCKS)


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize(
    ("page", "first", "commands"), COMMAND_BLOCKS, ids=[f"{p}:{n}" for p, n, _ in COMMAND_BLOCKS]
)
def test_commands_run(
    page: str,
    first: int,
    commands: list[tuple[int, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for line, command in commands:
        with monkeypatch.context() as patched:
            expected = EXITS.search(command)
            words = shlex.split(command, comments=True)
            if ">" in words:
                words = words[: words.index(">")]
            while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
                name, _, value = words.pop(0).partition("=")
                patched.setenv(name, value)
            assert words[0] == "metrics-layer", f"{page}:{line}: not a metrics-layer command"
            code = main(words[1:])
            output = capsys.readouterr()
        wanted = int(expected.group(1)) if expected else 0
        assert code == wanted, f"{page}:{line}: {command}\n{output.out}\n{output.err}"
        # The lines shown under it, if any: what it printed to stdout, or to stderr and then
        # stdout (a message before the output, an error), the home folder written as ~.
        shown = shown_output(page, line)
        home = str(Path.home())
        out, err = (text.replace(home, "~").rstrip("\n").splitlines() for text in output)
        assert not shown or same_lines(out, shown) or same_lines(err + out, shown), (
            f"{page}:{line}: {command}\n" + "\n".join(err + out)
        )


def test_security_page_lists_every_allowed_function_and_type() -> None:
    from metrics_layer.safety.allowlist import (
        DEFINITION_ANONYMOUS,
        DEFINITION_FUNCTIONS,
        DEFINITION_TYPES,
        INTERVAL_UNITS,
    )

    text = (DOCS / "security.md").read_text(encoding="utf-8")
    words = set(re.findall(r"[A-Za-z_0-9]+", text))
    for kind in DEFINITION_FUNCTIONS:
        name = kind.sql_names()[0] if kind.sql_names() else kind.__name__
        assert name.upper() in words, name
    for name in DEFINITION_ANONYMOUS:
        assert name in words, name
    for type_ in DEFINITION_TYPES:
        assert type_.value in words, type_.value
    for unit in INTERVAL_UNITS:
        assert unit in words, unit


# Pages whose console examples show the command's output, compared line by line.
OUTPUT_PAGES = ("time.md", "time-dimensions.md", "calendars.md", "product-kpis.md")


def console_examples(page: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line, command, expected output lines) of every ``$ metrics-layer`` line in ``page``."""
    for language, line, text in blocks(page):
        if language != "console" or SKIP in text:
            continue
        command: tuple[int, str] | None = None
        output: list[str] = []
        for offset, raw in enumerate(text.splitlines()):
            if raw.startswith("$ "):
                if command is not None:
                    yield command[0], command[1], output
                command, output = (line + offset, raw[2:]), []
            elif command is not None:
                output.append(raw)
        if command is not None:
            yield command[0], command[1], output


EXAMPLES = [(page, *example) for page in OUTPUT_PAGES for example in console_examples(page)]


def test_output_examples_are_found() -> None:
    assert len(EXAMPLES) >= 3
    assert all(output for _, _, _, output in EXAMPLES)


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize(
    ("page", "line", "command", "output"), EXAMPLES, ids=[f"{p}:{n}" for p, n, _, _ in EXAMPLES]
)
def test_examples_print_what_the_page_shows(
    page: str, line: int, command: str, output: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    words = shlex.split(command, comments=True)
    assert words[0] == "metrics-layer", f"{page}:{line}: not a metrics-layer command"
    assert main(words[1:]) == 0, f"{page}:{line}: {command}"
    printed = capsys.readouterr().out.rstrip("\n").splitlines()
    assert [p.rstrip() for p in printed] == [o.rstrip() for o in output], f"{page}:{line}"


def section(page: str, heading: str | None) -> range:
    """The line numbers of the section of ``page`` under ``heading`` (a ``## `` line), up to
    the next heading of that level; the whole page for None."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    if heading is None:
        return range(1, len(lines) + 1)
    first = lines.index(heading) + 1
    level = heading.split(" ")[0] + " "
    last = next(
        (n for n in range(first + 1, len(lines) + 1) if lines[n - 1].startswith(level)),
        len(lines) + 1,
    )
    return range(first, last)


# Pages (or one section of a page, where other outputs show timings) whose ```python blocks'
# printed output is compared with the ```text block that follows each.
PYTHON_OUTPUTS = [
    ("time-dimensions.md", None),
    ("python.md", "## The catalogue as data"),
    ("python.md", "## Queries"),
    ("python.md", "## Pinned versions"),
    ("notebooks.md", None),
]


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize(("page", "heading"), PYTHON_OUTPUTS)
def test_python_outputs_are_what_the_page_shows(page: str, heading: str | None) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs.{page}"}
    found = list(blocks(page))
    compared_lines = section(page, heading)
    compared = 0
    for index, (language, line, text) in enumerate(found):
        if language != "python" or SKIP in text:
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(text, f"docs/{page}:{line}", "exec"), namespace)
        after = found[index + 1] if index + 1 < len(found) else None
        if after is not None and after[0] == "text" and line in compared_lines:
            assert printed.getvalue().rstrip("\n") == after[2], f"docs/{page}:{line}"
            compared += 1
    assert compared >= 2
