"""The output of ``metrics-layer check``: each format says what the diagnostics say, and no
file name or message can break out of it (a second line, a CI command, a terminal escape, a
table cell, a mention)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from metrics_layer.checks.codes import CODES
from metrics_layer.checks.report import (
    failed,
    github_command,
    render_github,
    render_json,
    render_markdown,
    render_sarif,
    render_text,
    source_lines,
)
from metrics_layer.errors import Diagnostic, Level
from metrics_layer.spec.limits import MAX_MESSAGE_CHARS

SCHEMA_FILE = Path(__file__).with_name("sarif-schema-2.1.0.json")

HOSTILE_FILES = [
    "a\nb.yml",
    "::error file=x,line=1::forged.yml",
    "c,d%e:f.yml",
    "r\rs.yml",
    "esc\x1b[31m.yml",
    "%0A%25.yml",
    "ü 名.yml",
]
HOSTILE_MESSAGES = [
    "two\nlines",
    "::error::forged",
    "100% %0A, a:b",
    "red\x1b[31m\x1b[2Jgone",
    "@team look | here `x` <b>bold</b>",
    "m" * 10_000,
]


def hostile() -> list[Diagnostic]:
    found = [
        Diagnostic(Level.ERROR, message, file, 3, 7, "unknown-reference", hint="fix\nit")
        for file, message in zip(HOSTILE_FILES, HOSTILE_MESSAGES, strict=False)
    ]
    found.append(Diagnostic(Level.WARNING, HOSTILE_MESSAGES[-1], HOSTILE_FILES[-1], 1, 1, "limit"))
    return found


# -- text ----------------------------------------------------------------------------------------


def test_text_shows_the_line_with_a_caret_under_the_column(tmp_path: Path) -> None:
    file = tmp_path / "metrics.yml"
    file.write_text(
        "metrics:\n  - name: x\n    type: simple\n    measure: events.foo\n",
        encoding="utf-8",
    )
    d = Diagnostic(
        Level.ERROR,
        "metric 'x' uses unknown measure 'events.foo'",
        str(file),
        4,
        14,
        "unknown-reference",
        "name one of the measures of source 'events'",
    )
    text = render_text([d], metrics=1, read=source_lines())
    assert text.splitlines() == [
        f"{file}:4:14: error[unknown-reference]: metric 'x' uses unknown measure 'events.foo'",
        "  |",
        "4 |     measure: events.foo",
        "  |              ^",
        "  = hint: name one of the measures of source 'events'",
        "",
        "1 error(s), 0 warning(s), 0 note(s)",
    ]


def test_the_caret_stays_under_the_column_past_tabs_and_wide_characters(tmp_path: Path) -> None:
    file = tmp_path / "a.yml"
    # 'x' is the 9th character; before it a tab (shown as \t: two columns), "l: " (three), two
    # wide characters (two columns each) and ", " (two): 11 columns before the caret.
    file.write_text("one\r\n\tl: 指标, x\r\n", encoding="utf-8")
    d = Diagnostic(Level.WARNING, "here", str(file), 2, 9, "similar-names")
    lines = render_text([d], read=source_lines()).splitlines()
    assert lines[2] == "2 | \\tl: 指标, x"
    assert lines[3] == "  | " + " " * 11 + "^"


def test_text_escapes_and_bounds_whatever_it_is_given() -> None:
    diagnostics = hostile()
    text = render_text(diagnostics, read=lambda file, line: "  x: \x1b[2J::error::y")
    lines = text.splitlines()
    assert all(line.isprintable() for line in lines)
    assert not any(line.startswith("::") for line in lines)
    headlines = [line for line in lines if re.search(r": (error|warning)\[", line)]
    assert len(headlines) == len(diagnostics)
    assert headlines[1].startswith("./::error file=x,line=1::forged.yml:3:7: error[")
    assert headlines[0].startswith("a\\nb.yml:3:7: error[unknown-reference]: two\\nlines")
    # the 10,000-character message is cut to MAX_MESSAGE_CHARS (and "...")
    assert max(len(line) for line in headlines) < MAX_MESSAGE_CHARS + 100
    assert lines[-1] == "6 error(s), 1 warning(s), 0 note(s)"


def test_text_without_a_readable_line_shows_the_finding_and_the_hint() -> None:
    d = Diagnostic(Level.ERROR, "cannot read", "gone.yml", 2, 1, "project", "restore it")
    assert render_text([d], read=source_lines()).splitlines()[:2] == [
        "gone.yml:2:1: error[project]: cannot read",
        "  = hint: restore it",
    ]
    d = Diagnostic(Level.ERROR, "no such folder", None, code="project")
    assert render_text([d]).splitlines()[0] == "<definitions>: error[project]: no such folder"


def test_text_of_a_clean_project_is_the_ok_line() -> None:
    assert render_text([], metrics=30) == "ok: 30 metrics, no problems\n"


def test_colour_only_wraps_the_parts_it_paints() -> None:
    d = Diagnostic(Level.ERROR, "m", "a.yml", 1, 1, "schema", "h")
    plain = render_text([d], read=lambda file, line: "x: 1")
    coloured = render_text([d], read=lambda file, line: "x: 1", colour=True)
    assert "\x1b[1;31merror[schema]\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_a_long_line_is_shown_around_the_column() -> None:
    long = "version: " + "9" * 5000 + "x"
    d = Diagnostic(Level.ERROR, "too long", "a.yml", 1, len(long), "limit")
    lines = render_text([d], read=lambda file, line: long).splitlines()
    shown, caret = lines[2], lines[3]
    assert len(shown) < 200
    assert shown.startswith("1 | ...9")
    assert shown[caret.index("^")] == "x"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_the_line_reader_never_opens_a_fifo_and_stays_bounded(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yml"
    os.mkfifo(fifo)
    big = tmp_path / "big.yml"
    big.write_text("a: 1\n" * 100, encoding="utf-8")
    read = source_lines(limit=50)
    assert read(str(fifo), 1) is None  # returns at once: a FIFO is not a regular file
    assert read(str(big), 1) is None  # 500 bytes, over the limit
    small = tmp_path / "small.yml"
    small.write_text("a: 1\nb: 2\n", encoding="utf-8")
    assert [read(str(small), n) for n in (0, 1, 2, 3, 4)] == [None, "a: 1", "b: 2", "", None]


def test_the_line_reader_stays_inside_the_checked_folder(tmp_path: Path) -> None:
    outside = tmp_path / "secret.yml"
    outside.write_text("password: hunter2\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "link.yml").symlink_to(outside)
    (project / "a.yml").write_text("a: 1\n", encoding="utf-8")
    read = source_lines(within=str(project))
    assert read(str(project / "link.yml"), 1) is None
    assert read(str(outside), 1) is None
    assert read(str(project / "a.yml"), 1) == "a: 1"
    # a project given as one file reads that file's folder
    assert source_lines(within=str(project / "a.yml"))(str(project / "a.yml"), 1) == "a: 1"
    # a folder name the system refuses reads nothing, and raises nothing
    assert source_lines(within="x" * 5000)(str(project / "a.yml"), 1) is None
    assert source_lines()("x" * 5000, 1) is None
    # without a folder to stay in (--allow-outside), the link is followed
    assert source_lines()(str(project / "link.yml"), 1) == "password: hunter2"


def test_the_line_reader_stops_at_its_total(tmp_path: Path) -> None:
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text("x: 1\n" * 10, encoding="utf-8")  # 50 bytes each
    read = source_lines(limit=1000, total=60)
    assert read(str(tmp_path / "a.yml"), 2) == "x: 1"
    assert read(str(tmp_path / "b.yml"), 2) is None  # 10 bytes left of 60


# -- json ----------------------------------------------------------------------------------------


def test_json_is_one_versioned_object() -> None:
    diagnostics = [
        Diagnostic(Level.ERROR, "e", "a.yml", 2, 3, "schema", "fix it"),
        Diagnostic(Level.WARNING, "w", None, code="lock-missing"),
        Diagnostic(Level.NOTE, "n", "b.yml", 4, 1, "breaking-change"),
        Diagnostic(Level.NOTE, "n2", "b.yml", 5, 1, "breaking-change"),
    ]
    document = json.loads(render_json(diagnostics, metrics=7))
    assert document["version"] == 1
    assert document["summary"] == {"errors": 1, "warnings": 1, "notes": 2, "metrics": 7}
    assert document["diagnostics"][0] == {
        "code": "schema",
        "level": "error",
        "file": "a.yml",
        "line": 2,
        "column": 3,
        "message": "e",
        "hint": "fix it",
    }
    assert document["diagnostics"][1]["file"] is None
    assert [d["level"] for d in document["diagnostics"]] == ["error", "warning", "note", "note"]


def test_json_gives_back_hostile_names_and_messages_exactly() -> None:
    diagnostics = hostile()
    text = render_json(diagnostics)
    assert "\n" not in text
    assert "\x1b" not in text
    records = json.loads(text)["diagnostics"]
    assert [(r["file"], r["message"], r["hint"]) for r in records] == [
        (d.file, d.message, d.hint) for d in diagnostics
    ]


# -- github --------------------------------------------------------------------------------------


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split one workflow command as the runner does (ActionCommand.cs), unescaping it."""
    assert line.startswith("::")
    end = line.index("::", 2)
    head, message = line[2:end], line[end + 2 :]
    name, _, props = head.partition(" ")
    properties = {}
    for pair in props.split(",") if props else []:
        key, _, value = pair.partition("=")
        for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ",")):
            value = value.replace(escaped, plain)
        properties[key] = value.replace("%25", "%")
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        message = message.replace(escaped, plain)
    return name, properties, message


def test_github_writes_one_command_per_diagnostic_that_reads_back() -> None:
    diagnostics = hostile()
    lines = render_github(diagnostics).split("\n")
    assert lines.pop() == ""
    assert len(lines) == len(diagnostics)
    assert all("\r" not in line and "\x1b" not in line for line in lines)
    commands = [parse_command(line) for line in lines]
    assert [name for name, _, _ in commands] == ["error"] * 6 + ["warning"]
    files = [props["file"] for _, props, _ in commands]
    # CR and LF come back exactly (GitHub's escaping carries them); an escape character is
    # shown as text
    assert files[0] == "a\nb.yml"
    assert files[3] == "r\rs.yml"
    assert files[4] == "esc\\x1b[31m.yml"
    assert files[:4] == HOSTILE_FILES[:4]
    assert [props["title"] for _, props, _ in commands] == ["unknown-reference"] * 6 + ["limit"]
    assert commands[0][2] == "two\nlines; fix\nit"
    assert commands[2][2] == "100% %0A, a:b; fix\nit"
    assert commands[3][2] == "red\\x1b[31m\\x1b[2Jgone; fix\nit"


def test_github_notes_are_notices_and_placeless_findings_have_no_file() -> None:
    assert github_command(Diagnostic(Level.NOTE, "v2", "a.yml", 3, 1, "breaking-change")) == (
        "::notice file=a.yml,line=3,col=1,title=breaking-change::v2"
    )
    assert github_command(Diagnostic(Level.ERROR, "no base", code="base", hint="fetch it")) == (
        "::error title=base::no base; fetch it"
    )
    # a file without a line annotates the file
    assert github_command(Diagnostic(Level.WARNING, "w", "a.yml", code="lock-missing")) == (
        "::warning file=a.yml,title=lock-missing::w"
    )


# -- sarif ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$id"].endswith("/sarif-schema-2.1.0.json")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    # The official schema's "region" lists an "anyOf" among its properties, which its
    # metaschema refuses (check_schema); validating documents against it works as intended.
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate(validator: jsonschema.protocols.Validator, log: object) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_the_vendored_schema_refuses_what_is_not_sarif(
    sarif_validator: jsonschema.protocols.Validator,
) -> None:
    assert not sarif_validator.is_valid({"version": "2.1.0"})  # no runs
    assert not sarif_validator.is_valid(
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    )  # a result needs a message
    assert not sarif_validator.is_valid(
        {
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {"driver": {"name": "x"}},
                    "results": [{"message": {"text": "m"}, "level": "fatal"}],
                }
            ],
        }
    )


def test_sarif_is_valid_and_places_each_result(
    sarif_validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    diagnostics = [
        Diagnostic(Level.ERROR, "e", str(tmp_path / "defs" / "a b.yml"), 2, 3, "schema", "fix"),
        Diagnostic(Level.WARNING, "w", "defs/c.yml", code="lock-missing"),
        Diagnostic(Level.NOTE, "n", "defs/d.yml", 9, None, "breaking-change"),
        Diagnostic(Level.ERROR, "no base", code="base"),
        Diagnostic(Level.ERROR, "old code", "/elsewhere/x.yml", 1, 1, "not-a-registered-code"),
    ]
    text = render_sarif(diagnostics, version="9.8.7", root="defs", cwd=str(tmp_path))
    log = json.loads(text)
    validate(sarif_validator, log)
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("metrics-layer", "9.8.7")
    rules = driver["rules"]
    assert [r["id"] for r in rules[: len(CODES)]] == list(CODES)
    schema_rule = rules[list(CODES).index("schema")]
    assert schema_rule["shortDescription"]["text"] == CODES["schema"].summary
    assert schema_rule["defaultConfiguration"] == {"level": "error"}
    assert rules[list(CODES).index("breaking-change")]["defaultConfiguration"]["level"] == "note"
    assert rules[-1]["id"] == "not-a-registered-code"
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note", "error", "error"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert results[0]["message"]["text"] == "e; fix"
    places = [r["locations"][0]["physicalLocation"] for r in results]
    assert places[0] == {
        "artifactLocation": {"uri": "defs/a%20b.yml"},
        "region": {"startLine": 2, "startColumn": 3},
    }
    assert places[1] == {"artifactLocation": {"uri": "defs/c.yml"}}
    assert places[2]["region"] == {"startLine": 9, "startColumn": 1}
    assert places[3] == {"artifactLocation": {"uri": "defs"}}  # at the checked folder
    assert places[4]["artifactLocation"]["uri"] == "file:///elsewhere/x.yml"


def test_sarif_helps_with_the_docs_section(sarif_validator: jsonschema.protocols.Validator) -> None:
    log = json.loads(render_sarif([], version="1", docs_url="https://example.org/docs/"))
    validate(sarif_validator, log)
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["helpUri"] == "https://example.org/docs/checks.md#project"
    assert rule["help"]["text"] == "See docs/checks.md#project in the metrics_layer documentation."
    assert log["runs"][0]["results"] == []


def test_sarif_of_hostile_diagnostics_is_valid_and_reads_back(
    sarif_validator: jsonschema.protocols.Validator,
) -> None:
    diagnostics = hostile()
    log = json.loads(render_sarif(diagnostics, version="1", cwd="/repo"))
    validate(sarif_validator, log)
    results = log["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert all(re.fullmatch(r"[A-Za-z0-9/._~%-]+", uri) for uri in uris), uris
    assert [unquote(uri) for uri in uris] == [d.file for d in diagnostics]
    texts = [r["message"]["text"] for r in results]
    assert all(text.isprintable() for text in texts)
    assert texts[0] == "two\\nlines; fix\\nit"


# -- markdown ------------------------------------------------------------------------------------


def test_markdown_lists_breaking_changes_first_then_problems() -> None:
    diagnostics = [
        Diagnostic(Level.ERROR, "bad", "defs/a.yml", 4, 2, "schema", "fix it"),
        Diagnostic(
            Level.NOTE,
            "metric 'active_users' changed from version 1 to version 2: passive events no "
            "longer count",
            "defs/m.yml",
            7,
            5,
            "breaking-change",
        ),
        Diagnostic(Level.WARNING, "w", "defs/b.yml", 1, 1, "similar-names"),
    ]
    link: Callable[[str, int | None], str | None] = lambda file, line: f"https://x/{file}#L{line}"  # noqa: E731
    text = render_markdown(diagnostics, metrics=12, link=link)
    assert text.splitlines() == [
        "### metrics-layer check",
        "",
        "**1 error**, **1 warning**, **1 note** in 12 metric(s).",
        "",
        "#### Breaking changes (1)",
        "",
        "| metric | change | version |",
        "|---|---|---|",
        "| `active_users` | `changed from version 1 to version 2: passive events no longer count` "
        "| 1 → 2 |",
        "",
        "#### Errors and warnings (2)",
        "",
        "- **error** `schema` [`defs/a.yml:4:2`](https://x/defs/a.yml#L4): `bad; fix it`",
        "- **warning** `similar-names` [`defs/b.yml:1:1`](https://x/defs/b.yml#L1): `w`",
    ]


def test_markdown_of_a_clean_project_says_so() -> None:
    assert "No problems: 5 metric(s) checked." in render_markdown([], metrics=5)


def test_markdown_keeps_hostile_text_inside_code_spans() -> None:
    diagnostics = hostile()
    text = render_markdown(diagnostics)
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == len(diagnostics)  # every finding on one line of its own
    assert "\x1b" not in text
    assert "`@team look \\| here `x` <b>bold</b>; fix\\nit`" not in text
    # a message with backticks is fenced by a longer run of them, so it cannot close the span
    assert "`` @team look \\| here `x` <b>bold</b>; fix\\nit ``" in text
    assert len(text) < 65_536


def test_markdown_stays_under_the_comment_limit() -> None:
    many = [Diagnostic(Level.ERROR, "m" * 900, f"f{i}.yml", 1, 1, "schema") for i in range(200)]
    text = render_markdown(many)
    assert len(text) < 65_536
    shown = sum(1 for line in text.splitlines() if line.startswith("- "))
    assert 0 < shown < 200
    assert f"... and {200 - shown} more;" in text


# -- failing -------------------------------------------------------------------------------------


def test_errors_fail_warnings_fail_only_when_strict_notes_never() -> None:
    error = Diagnostic(Level.ERROR, "e")
    warning = Diagnostic(Level.WARNING, "w")
    note = Diagnostic(Level.NOTE, "n")
    assert [failed(ds) for ds in ([], [note], [warning], [error])] == [False, False, False, True]
    assert [failed(ds, strict=True) for ds in ([note], [warning], [error])] == [False, True, True]
