"""``metrics-layer check``: exit 0 when clean, 1 on errors (on warnings too with ``--strict``),
2 on a usage error; text on stderr, the machine formats on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from metrics_layer import api
from metrics_layer.cli.main import main

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
SCHEMA_FILE = Path(__file__).with_name("sarif-schema-2.1.0.json")

SOURCE = "sources:\n  - {name: s, table: t, measures: [{name: n, agg: count}]}\n"
# version 3 without a changelog entry for it: a warning, and the only finding
WARNING_ONLY = {
    "a.yml": SOURCE + "metrics:\n  - {name: m, type: simple, measure: s.n, version: 3}\n"
}
# an unknown measure at line 4, column 38
BROKEN = {"a.yml": SOURCE + "metrics:\n  - {name: m, type: simple, measure: s.nope}\n"}


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Run]:
    for name in ("METRICS_LAYER_PATH", "NO_COLOR", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> Run:
        code = main(["check", *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)

    return run


def test_a_clean_project_exits_0(check: Callable[..., Run]) -> None:
    run = check(str(DEFINITIONS))
    assert run.code == 0
    assert run.out == ""
    assert run.err.startswith("ok: ")
    assert run.err.endswith(" metrics, no problems\n")
    strict = check(str(DEFINITIONS), "--strict", "--format", "json")
    assert strict.code == 0
    assert json.loads(strict.out)["diagnostics"] == []


def test_errors_exit_1_and_text_shows_the_line(
    check: Callable[..., Run], write_project: Callable[[dict[str, str]], Path]
) -> None:
    project = write_project(BROKEN)
    run = check(str(project))
    assert run.code == 1
    assert run.out == ""
    lines = run.err.splitlines()
    assert lines[0].startswith(f"{project / 'a.yml'}:4:38: error[")
    assert "has no measure 'nope'" in lines[0]
    assert lines[1:4] == [
        "  |",
        "4 |   - {name: m, type: simple, measure: s.nope}",
        "  | " + " " * 37 + "^",
    ]
    assert lines[-1] == "1 error(s), 0 warning(s), 0 note(s)"


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif", "markdown"])
def test_warnings_fail_only_with_strict(
    check: Callable[..., Run], write_project: Callable[[dict[str, str]], Path], fmt: str
) -> None:
    project = str(write_project(WARNING_ONLY))
    assert check(project, "--format", fmt).code == 0
    assert check(project, "--format", fmt, "--strict").code == 1


@pytest.mark.parametrize("fmt", ["json", "github", "sarif", "markdown"])
def test_machine_formats_go_to_stdout(
    check: Callable[..., Run], write_project: Callable[[dict[str, str]], Path], fmt: str
) -> None:
    run = check(str(write_project(BROKEN)), "--format", fmt)
    assert run.code == 1
    assert run.err == ""
    assert "nope" in run.out


def test_json_through_the_command(
    check: Callable[..., Run], write_project: Callable[[dict[str, str]], Path]
) -> None:
    project = write_project(WARNING_ONLY)
    assert api.lock(project).written  # else the project's one other warning is lock-missing
    document = json.loads(check(str(project), "--format", "json").out)
    assert document["version"] == 1
    assert document["summary"] == {"errors": 0, "warnings": 1, "notes": 0, "metrics": 1}
    [record] = document["diagnostics"]
    assert (record["level"], record["file"], record["line"]) == (
        "warning",
        str(project / "a.yml"),
        4,
    )


def test_sarif_through_the_command_is_valid(
    check: Callable[..., Run],
    write_project: Callable[[dict[str, str]], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    # not jsonschema.validate: it checks the schema first, and the official one has a flaw
    # its metaschema refuses (see test_report.py)
    validator = jsonschema.validators.validator_for(schema)(schema)
    project = write_project(BROKEN)
    monkeypatch.chdir(project)
    log = json.loads(check(".", "--format", "sarif").out)
    assert validator.is_valid(log)
    [result] = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "a.yml"},
        "region": {"startLine": 4, "startColumn": 38},
    }
    missing = json.loads(check("no-such-folder", "--format", "sarif").out)
    assert validator.is_valid(missing)
    [result] = missing["runs"][0]["results"]
    assert result["ruleId"] == "project"
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "no-such-folder"


def test_markdown_links_lines_in_a_github_workflow(
    check: Callable[..., Run],
    write_project: Callable[[dict[str, str]], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = write_project(BROKEN)
    monkeypatch.chdir(project)
    plain = check(".", "--format", "markdown").out
    assert "- **error** " in plain
    assert "](" not in plain
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/kpis")
    monkeypatch.setenv("GITHUB_SHA", "0123abc")
    linked = check(".", "--format", "markdown").out
    assert "[`a.yml:4:38`](https://github.com/acme/kpis/blob/0123abc/a.yml#L4)" in linked


def test_colour_needs_a_terminal_and_no_no_color(
    check: Callable[..., Run],
    write_project: Callable[[dict[str, str]], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from metrics_layer.cli.main import _colour

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("TERM", raising=False)
    assert _colour(Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _colour(Terminal())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not _colour(Terminal())
    # captured stderr is no terminal: no escape codes
    assert "\x1b" not in check(str(write_project(BROKEN))).err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--format", "xml"], "metrics-layer check: error: argument --format/-f: invalid choice"),
        (["--no-such-flag"], "metrics-layer: error: unrecognized arguments: --no-such-flag"),
        (["--format"], "metrics-layer check: error: argument --format/-f: expected one argument"),
        (["a", "b"], "metrics-layer: error: unrecognized arguments: b"),
        (["--format", "x\n::error::forged"], "invalid choice: 'x\\n::error::forged'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    check: Callable[..., Run], argv: list[str], said: str
) -> None:
    run = check(*argv)
    assert run.code == 2
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert said in run.err
    assert run.err.rstrip("\n").endswith("--help'")


def test_the_parser_offers_every_format_of_the_report() -> None:
    from metrics_layer.checks.report import Format
    from metrics_layer.cli.main import CHECK_FORMATS

    assert tuple(f.value for f in Format) == CHECK_FORMATS


def test_the_console_script_exits_2_on_a_usage_error() -> None:
    script = Path(sys.executable).with_name("metrics-layer")
    completed = subprocess.run(
        [str(script), "check", "--format", "yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert "Traceback" not in completed.stderr
