"""The command line: exit codes 0/1/2, diagnostics CI can annotate, output that parses back."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer import api
from metrics_layer.cli.main import main
from metrics_layer.spec.schema import load_schema

from .runs import Run

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
GITHUB_ANNOTATION = re.compile(
    r"^::(error|warning) file=([^,]+),line=(\d+),col=(\d+),title=([^,:]+)::(.+)$"
)

BROKEN = {
    "sources.yml": """
    sources:
      - name: users
        table: users
        time: signed_up_at
        entities:
          - {name: user, key: user_id, primary: true}
        dimensions:
          - {name: signed_up_at, type: time}
        measures:
          - {name: signups, agg: count}
    """,
    "metrics.yml": """
    metrics:
      - {name: signups, type: simple, measure: users.signup}
      - {name: rate, type: ratio, numerator: signups, denominator: users.signupz}
    """,
}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def connection(demo_db: Path) -> str:
    return f"duckdb:///{demo_db}"


@pytest.fixture
def broken(write_project: Callable[[dict[str, str]], Path]) -> Path:
    return write_project(BROKEN)


def cell(value: Any) -> str | int | float | None:
    """A result value as JSON holds it, for comparison with parsed output."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (float, decimal.Decimal)):
        return float(value)
    return str(value)


def parsed(text: str, value: Any) -> str | int | float | None:
    """A CSV cell read back with the type of the library's value."""
    if value is None:
        return None if text == "" else text
    if isinstance(value, int):
        return int(text)
    if isinstance(value, (float, decimal.Decimal)):
        return float(text)
    return text


QUERY = [
    "signups",
    "paid_conversion_rate",
    "mrr",
    "--by",
    "metric_time.month",
    "--start",
    "2026-01-01",
    "--end",
    "2026-06-30",
]


@pytest.fixture(scope="session")
def expected(layer: ml.SemanticLayer) -> ml.Result:
    return layer.query(
        ["signups", "paid_conversion_rate", "mrr"],
        by=["metric_time.month"],
        start="2026-01-01",
        end="2026-06-30",
    ).run()


def test_query_csv_matches_the_library(
    cli: Callable[..., Run], connection: str, expected: ml.Result
) -> None:
    run = cli(
        "query",
        *QUERY,
        "--format",
        "csv",
        "--project",
        str(DEFINITIONS),
        "--connection",
        connection,
    )
    assert run.code == 0
    header, *rows = list(csv.reader(io.StringIO(run.out)))
    assert tuple(header) == expected.columns
    assert len(rows) == len(expected.rows) == 6
    for row, want in zip(rows, expected.rows, strict=True):
        assert [parsed(t, v) for t, v in zip(row, want, strict=True)] == [cell(v) for v in want]


def test_query_json_matches_the_library(
    cli: Callable[..., Run], connection: str, expected: ml.Result
) -> None:
    run = cli(
        "query",
        *QUERY,
        "--format",
        "json",
        "--project",
        str(DEFINITIONS),
        "--connection",
        connection,
    )
    assert run.code == 0
    records = json.loads(run.out)
    assert records == [
        {c: cell(v) for c, v in zip(expected.columns, row, strict=True)} for row in expected.rows
    ]


def test_query_table_matches_the_library(
    cli: Callable[..., Run], connection: str, expected: ml.Result
) -> None:
    run = cli("query", *QUERY, "--project", str(DEFINITIONS), "--connection", connection)
    assert run.code == 0
    header, rule, *lines = run.out.rstrip("\n").splitlines()
    assert header.split() == list(expected.columns)
    assert set(rule.replace(" ", "")) == {"-"}
    assert len(lines) == len(expected.rows)
    formats = expected.formats()
    for line, want in zip(lines, expected.rows, strict=True):
        cells = line.split()
        assert cells[0] == want[0].isoformat()
        # signups as an integer, paid_conversion_rate as a percent, mrr in euros.
        assert cells[1] == f"{want[1]:,}" == formats["signups"].render(want[1])
        assert cells[2] == f"{want[2] * 100:.1f}%"
        assert cells[3] == f"€{want[3]:,.2f}"


def test_query_sql_flag_prints_the_sql_to_stderr(cli: Callable[..., Run], connection: str) -> None:
    run = cli(
        "query",
        "signups",
        "--sql",
        "--format",
        "csv",
        "--project",
        str(DEFINITIONS),
        "--connection",
        connection,
    )
    assert run.code == 0
    assert "SELECT" in run.err
    assert "SELECT" not in run.out


def test_project_from_the_environment(
    cli: Callable[..., Run], connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_LAYER_PATH", str(DEFINITIONS))
    run = cli("query", "signups", "--format", "json", "--connection", connection)
    assert run.code == 0
    [record] = json.loads(run.out)
    assert set(record) == {"signups"}


def test_compile_bigquery_weeks_start_on_monday(cli: Callable[..., Run]) -> None:
    run = cli(
        "compile",
        "signups",
        "--by",
        "metric_time.week",
        "--dialect",
        "bigquery",
        "--project",
        str(DEFINITIONS),
    )
    assert run.code == 0
    assert "WEEK(MONDAY)" in run.out
    assert run.err == ""


def test_schema_prints_the_committed_schema(cli: Callable[..., Run]) -> None:
    run = cli("schema")
    assert run.code == 0
    assert json.loads(run.out) == load_schema()


def test_list_and_show(cli: Callable[..., Run]) -> None:
    listing = cli("list", "--format", "json", "--project", str(DEFINITIONS))
    assert listing.code == 0
    names = [row["name"] for row in json.loads(listing.out)]
    assert "signups" in names
    assert names == sorted(names)
    shown = cli("show", "signups", "--project", str(DEFINITIONS))
    assert shown.code == 0
    assert shown.out.startswith("signups  (v1, certified, simple)")
    assert "measure:     users.signups" in shown.out


@pytest.mark.parametrize(
    ("metric", "line", "grouped"),
    [
        ("weekly_cohort_retention", "  cohort table: grouped by weekly_cohort_retention.period",
         "weekly_cohort_retention__period"),
        ("user_churn_rate", "  period:      month (against the month before)",
         "metric_time__month"),
        ("activation_rate_7d", "  window:      7 days", "metric_time__month"),
    ],
)  # fmt: skip
def test_show_an_entity_metric(
    cli: Callable[..., Run], metric: str, line: str, grouped: str
) -> None:
    shown = cli("show", metric, "--project", str(DEFINITIONS))
    assert shown.code == 0, shown.err
    assert line in shown.out.splitlines()
    # its SQL, grouped the way the metric is read
    assert f"AS {grouped}" in shown.out


def test_check_clean_project_exits_0(cli: Callable[..., Run]) -> None:
    run = cli("check", str(DEFINITIONS))
    assert run.code == 0
    assert run.err.strip().startswith("ok: ")
    assert "no problems" in run.err


def test_check_broken_project_prints_file_line_and_exits_1(
    cli: Callable[..., Run], broken: Path
) -> None:
    run = cli("check", str(broken))
    assert run.code == 1
    metrics = broken / "metrics.yml"
    lines = run.err.strip().splitlines()
    headlines = [line for line in lines if line.startswith(str(metrics))]
    assert headlines[0].startswith(f"{metrics}:2:")
    assert headlines[0].endswith("source 'users' has no measure 'signup'")
    assert any(line.endswith("hint: Did you mean 'signups'?") for line in lines)
    assert headlines[1].startswith(f"{metrics}:3:")
    assert "has no measure 'signupz'" in headlines[1]
    # the offending line of the file is shown under each finding
    assert "2 |   - {name: signups, type: simple, measure: users.signup}" in lines
    assert lines[-1] == "2 error(s), 0 warning(s), 0 note(s)"
    assert run.out == ""


def test_check_github_format_annotates(cli: Callable[..., Run], broken: Path) -> None:
    run = cli("check", str(broken), "--format", "github")
    assert run.code == 1
    annotations = [GITHUB_ANNOTATION.match(line) for line in run.out.splitlines()]
    assert all(annotations), run.out
    found = [(m.group(1), m.group(2), int(m.group(3))) for m in annotations if m]
    metrics = str(broken / "metrics.yml")
    assert found == [("error", metrics, 2), ("error", metrics, 3)]
    assert annotations[0] is not None
    assert "Did you mean 'signups'?" in annotations[0].group(6)


def test_check_github_format_escapes_multi_line_messages(
    cli: Callable[..., Run], write_project: Callable[[dict[str, str]], Path]
) -> None:
    project = write_project({"a.yml": 'metrics: "a\x00"\n'})
    run = cli("check", str(project), "--format", "github")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines
    assert all(GITHUB_ANNOTATION.match(line) for line in lines), run.out


def test_check_json_format_parses(cli: Callable[..., Run], broken: Path) -> None:
    run = cli("check", str(broken), "--format", "json")
    assert run.code == 1
    document = json.loads(run.out)
    assert document["version"] == 1
    records = document["diagnostics"]
    assert [(r["level"], Path(r["file"]).name, r["line"]) for r in records] == [
        ("error", "metrics.yml", 2),
        ("error", "metrics.yml", 3),
    ]
    assert set(records[0]) == {"level", "message", "file", "line", "column", "code", "hint"}
    assert records[0]["column"] == 44


def test_check_json_lists_warnings_and_exits_0(
    cli: Callable[..., Run], write_project: Callable[[dict[str, str]], Path]
) -> None:
    project = write_project(
        {
            "a.yml": BROKEN["sources.yml"],
            "b.yml": "metrics:\n  - {name: signups, type: simple, measure: users.signups, "
            "version: 3}\n",
        }
    )
    assert api.lock(project).written  # else the other warning is lock-missing
    run = cli("check", str(project), "--format", "json")
    assert run.code == 0
    [record] = json.loads(run.out)["diagnostics"]
    assert record["level"] == "warning"
    assert record["line"] == 2


def test_definition_errors_on_query_commands_print_every_diagnostic(
    cli: Callable[..., Run], broken: Path
) -> None:
    run = cli("query", "signups", "--project", str(broken))
    assert run.code == 1
    assert run.out == ""
    assert [line.split(": error:")[0] for line in run.err.strip().splitlines()] == [
        f"{broken / 'metrics.yml'}:2:44",
        f"{broken / 'metrics.yml'}:3:64",
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["query", "signup"], "error: metrics: unknown metric 'signup'. Did you mean 'signups'?"),
        (
            ["query", "signups", "--where", "1=1; DROP TABLE users"],
            "error: where: a filter must be one boolean expression",
        ),
        (
            ["query", "signups", "--by", "metric_time.fortnight"],
            "error: by: 'metric_time.fortnight': 'fortnight' is not a time grain or date part",
        ),
        (["query", "signups", "--start", "2026-02-30"], "error: start: '2026-02-30' is not a date"),
        (["query", "signups", "--limit", "0"], "error: limit: must be a positive whole number"),
        (["query"], "error: metrics: ask for at least one metric or one dimension"),
        (["compile", "signups", "--dialect", "nosuch"], "unknown SQL dialect 'nosuch'"),
        (["show", "signup"], "error: metric: unknown metric 'signup'. Did you mean 'signups'?"),
        (
            ["query", "signups", "--connection", "duckdb:////nonexistent/folder/x.duckdb"],
            "error: no DuckDB database at '/nonexistent/folder/x.duckdb'",
        ),
    ],
)
def test_user_errors_exit_1_with_one_message_and_no_traceback(
    cli: Callable[..., Run], argv: list[str], expected: str
) -> None:
    run = cli(*argv, "--project", str(DEFINITIONS))
    assert run.code == 1
    assert run.out == ""
    assert expected in run.err
    assert run.err.startswith("error: ")


def test_missing_definitions_folder_exits_1(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("check", str(tmp_path / "missing"))
    assert run.code == 1
    assert f"{tmp_path / 'missing'}: error[project]: no such file or folder" in run.err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["query", "signups", "--limit", "ten"],
        ["query", "signups", "--format", "xml"],
        ["check", "--format", "xml"],
        ["show"],
        ["compile", "signups", "--no-such-flag"],
    ],
)
def test_usage_errors_exit_2(cli: Callable[..., Run], argv: list[str]) -> None:
    run = cli(*argv)
    assert run.code == 2
    assert re.fullmatch(
        r"metrics-layer( \w+)?: error: .+; see 'metrics-layer( \w+)? --help'\n", run.err
    )


def test_help_exits_0(cli: Callable[..., Run]) -> None:
    run = cli("--help")
    assert run.code == 0
    assert "check" in run.out


def test_console_script_check_annotates_and_exits_1(broken: Path) -> None:
    script = Path(sys.executable).with_name("metrics-layer")
    assert script.exists(), "install the package: pip install -e ."
    environment = {k: v for k, v in os.environ.items() if not k.startswith("METRICS_LAYER_")}
    completed = subprocess.run(
        [str(script), "check", str(broken), "--format", "github"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout.startswith(
        f"::error file={broken / 'metrics.yml'},line=2,col=44,title="
    )
    assert "Traceback" not in completed.stderr


def test_the_issue_command_line_with_a_descending_order(
    layer: ml.SemanticLayer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "query", "daily_active_users", "signups", "--by", "metric_time.week", "--by",
        "user.plan", "--where", "user.country = 'DE'", "--start", "2026-01-01", "--end",
        "2026-03-31", "--order", "-daily_active_users", "--limit", "100", "--format", "csv",
    ]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    values = [float(line.split(",")[2] or 0) for line in lines[1:]]
    assert values == sorted(values, reverse=True)
    expected = layer.query(
        ["daily_active_users", "signups"],
        by=["metric_time.week", "user.plan"],
        where="user.country = 'DE'",
        start="2026-01-01",
        end="2026-03-31",
        order=["-daily_active_users"],
        limit=100,
    ).run()
    assert len(lines) - 1 == len(expected.rows)
