"""docs/checks.md is tested: every registered code has a section, every section is a
registered code with its registered level and summary, and every example runs through
``metrics-layer check --format json``: Bad reports the section's code, Good exits 0 without it.

A section of docs/checks.md::

    ## `code-name`

    **error** · the registry's summary

    A paragraph.

    Bad:

    ```yaml
    # file: metrics.yml            (a file of the project folder)
    # base file: metrics.yml       (a file of the git revision checked against: --base HEAD)
    ```

    ```sql
    -- duckdb                      (run on a fresh DuckDB file: --connection duckdb:///...)
    ```

    ```text
    # connection: sqlite:///{folder}/none.db   (--connection as written; {folder} is the
    ```                                          example's temporary folder)

    Good:
    ...

A file's block is written as it is shown (a YAML file keeps its ``# file:`` line, a comment;
any other file loses it). With ``# base file:`` blocks the project folder becomes a git
repository whose one commit holds them; the working tree is then exactly the ``# file:``
blocks.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from metrics_layer.checks.codes import CODES
from metrics_layer.cli.main import _parser, main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "docs" / "checks.md"]
HEADING = re.compile(r"^## `([a-z0-9-]+)`\s*$")
LEVEL_LINE = re.compile(r"^\*\*(error|warning|note)\*\* · (.+)$")
FENCE = re.compile(r"^```(\w*)\s*$")
FILE = re.compile(r"^# (base )?file: (\S.*?)\s*$")
YAML_SUFFIXES = (".yml", ".yaml")


@dataclass
class Example:
    files: dict[str, str] = field(default_factory=dict)
    base: dict[str, str] = field(default_factory=dict)
    sql: list[str] = field(default_factory=list)
    connection: str | None = None


@dataclass
class Section:
    code: str
    page: str
    line: int
    level: str = ""
    summary: str = ""
    bad: Example = field(default_factory=Example)
    good: Example = field(default_factory=Example)


def parse(page: Path) -> list[Section]:
    """The sections of ``page``: each ``## `code``` heading up to the next ``## `` heading."""
    lines = page.read_text(encoding="utf-8").splitlines()
    sections: list[Section] = []
    current: Section | None = None
    example: Example | None = None
    index = 0
    while index < len(lines):
        text = lines[index]
        heading = HEADING.match(text)
        if heading:
            current = Section(heading.group(1), page.name, index + 1)
            sections.append(current)
            example = None
        elif text.startswith("## "):
            current = example = None
        elif current is not None:
            level = LEVEL_LINE.match(text)
            if level and not current.level:
                current.level, current.summary = level.group(1), level.group(2).strip()
            elif text.strip() in ("Bad:", "Good:"):
                example = current.bad if text.strip() == "Bad:" else current.good
        fence = FENCE.match(text)
        if fence:
            end = index + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            block = lines[index + 1 : end]
            if current is not None and example is not None:
                add_block(example, fence.group(1), block, f"{page.name}:{index + 2}")
            index = end
        index += 1
    return sections


def add_block(example: Example, language: str, block: list[str], where: str) -> None:
    first = block[0] if block else ""
    if language == "sql":
        assert first.strip() == "-- duckdb", f"{where}: a sql block starts with '-- duckdb'"
        example.sql.append("\n".join(block[1:]))
        return
    if first.startswith("# connection: "):
        example.connection = first.removeprefix("# connection: ").strip()
        return
    header = FILE.match(first)
    if language in ("yaml", "yml") or header:
        assert header, f"{where}: a file's block starts with '# file: <path>'"
        name = header.group(2)
        assert not Path(name).is_absolute(), where
        assert ".." not in Path(name).parts, where
        kept = block if name.endswith(YAML_SUFFIXES) else block[1:]
        (example.base if header.group(1) else example.files)[name] = "\n".join(kept) + "\n"
    # any other block (output shown as text, say) is illustration, not a file


SECTIONS = [section for page in PAGES if page.exists() for section in parse(page)]


def check_options() -> set[str]:
    """The option strings ``metrics-layer check`` takes today."""
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {o for a in action.choices["check"]._actions for o in a.option_strings}
    raise AssertionError("metrics-layer has no check command")


def run_example(
    example: Example,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, set[str], str]:
    """Lay out ``example`` in ``folder`` and check it; (exit code, codes reported, output)."""
    options = check_options()
    argv = [".", "--format", "json"]
    if example.base and "--base" not in options:
        pytest.skip("the example needs --base, which metrics-layer check does not take yet")
    if (example.sql or example.connection) and "--connection" not in options:
        pytest.skip("the example needs --connection, which metrics-layer check does not take yet")
    project = folder / "project"
    project.mkdir()
    if example.base:
        git = shutil.which("git")
        assert git is not None, "the --base examples need git"
        write(project, example.base)
        commit(git, project)
        for name in example.base:
            (project / name).unlink()
        argv += ["--base", "HEAD"]
    write(project, example.files)
    if example.sql:
        import duckdb

        database = folder / "warehouse.duckdb"
        connection = duckdb.connect(str(database))
        try:
            for statements in example.sql:
                connection.execute(statements)
        finally:
            connection.close()
        argv += ["--connection", f"duckdb:///{database}"]
    if example.connection:
        argv += ["--connection", example.connection.replace("{folder}", str(folder))]
    monkeypatch.chdir(project)
    code = main(["check", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    document = json.loads(captured.out)
    return code, {d["code"] for d in document["diagnostics"]}, captured.out


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit(git: str, folder: Path) -> None:
    environment = {
        "GIT_AUTHOR_NAME": "docs",
        "GIT_AUTHOR_EMAIL": "docs@example.org",
        "GIT_COMMITTER_NAME": "docs",
        "GIT_COMMITTER_EMAIL": "docs@example.org",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin",
    }
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "base"],
    ):
        subprocess.run(
            [git, *command], cwd=folder, env=environment, check=True, capture_output=True
        )


# -- the catalogue -------------------------------------------------------------------------------


def test_the_pages_hold_sections() -> None:
    assert {"project", "limit", "schema"} <= {s.code for s in SECTIONS}


def test_every_section_is_a_registered_code_documented_once() -> None:
    seen: dict[str, str] = {}
    for section in SECTIONS:
        where = f"{section.page}:{section.line}"
        assert section.code in CODES, f"{where}: '{section.code}' is not a registered code"
        assert section.code not in seen, (
            f"{where}: '{section.code}' is also at {seen[section.code]}"
        )
        seen[section.code] = where


def test_every_registered_code_has_a_section() -> None:
    missing = sorted(set(CODES) - {s.code for s in SECTIONS})
    assert not missing, f"codes without a section in docs/checks.md: {missing}"


@pytest.mark.parametrize("section", SECTIONS, ids=[s.code for s in SECTIONS])
def test_a_section_states_the_registered_level_and_summary(section: Section) -> None:
    code = CODES.get(section.code)
    if code is None:
        pytest.fail(f"'{section.code}' is not a registered code")
    assert (section.level, section.summary) == (code.level.value, code.summary)
    assert section.bad.files or section.bad.base, "a section has a Bad example"
    assert section.good.files or section.good.base, "a section has a Good example"


# -- the examples --------------------------------------------------------------------------------


@pytest.mark.parametrize("section", SECTIONS, ids=[s.code for s in SECTIONS])
def test_the_bad_example_reports_the_code(
    section: Section,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, reported, output = run_example(section.bad, tmp_path, monkeypatch, capsys)
    assert section.code in reported, f"{section.page}:{section.line}: {output}"
    if CODES[section.code].level.value == "error":
        assert code == 1


@pytest.mark.parametrize("section", SECTIONS, ids=[s.code for s in SECTIONS])
def test_the_good_example_passes(
    section: Section,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, reported, output = run_example(section.good, tmp_path, monkeypatch, capsys)
    assert code == 0, f"{section.page}:{section.line}: {output}"
    assert section.code not in reported, f"{section.page}:{section.line}: {output}"


# -- the harness itself --------------------------------------------------------------------------


def test_the_parser_reads_files_base_files_and_sql(tmp_path: Path) -> None:
    page = tmp_path / "checks.md"
    page.write_text(
        "## `silent-change`\n\n**error** · summary\n\nText.\n\nBad:\n\n"
        "```yaml\n# base file: metrics.yml\nmetrics: []\n```\n\n"
        "```yaml\n# file: metrics.yml\nmetrics: [1]\n```\n\n"
        "```yaml\n# file: metrics.lock\nlock: 1\n```\n\n"
        "```text\n$ output shown\n```\n\n"
        "Good:\n\n```sql\n-- duckdb\ncreate table t (x int);\n```\n\n"
        "## Not a code\n\n```yaml\n# file: ignored.yml\n```\n",
        encoding="utf-8",
    )
    [section] = parse(page)
    assert (section.code, section.level, section.summary) == ("silent-change", "error", "summary")
    assert section.bad.base == {"metrics.yml": "# base file: metrics.yml\nmetrics: []\n"}
    assert section.bad.files == {
        "metrics.yml": "# file: metrics.yml\nmetrics: [1]\n",
        "metrics.lock": "lock: 1\n",
    }
    assert section.good.sql == ["create table t (x int);"]
    assert section.good.files == {}


def test_base_files_are_committed_and_replaced_by_the_working_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    example = Example(files={"b.yml": "b: 2\n"}, base={"a.yml": "a: 1\n", "b.yml": "b: 1\n"})
    project = tmp_path / "project"
    project.mkdir()
    write(project, example.base)
    commit(git, project)
    for name in example.base:
        (project / name).unlink()
    write(project, example.files)
    shown = subprocess.run(
        [git, "show", "HEAD:a.yml"], cwd=project, capture_output=True, text=True, check=True
    )
    assert shown.stdout == "a: 1\n"
    status = subprocess.run(
        [git, "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert sorted(status.stdout.splitlines()) == [" D a.yml", " M b.yml"]


def test_reading_a_diagnostic_shows_what_check_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's first example is the text output of ``check .`` on the Bad example of
    ``schema``."""
    text = PAGES[0].read_text(encoding="utf-8")
    shown = text.split("## Reading a diagnostic", 1)[1].split("```text\n", 1)[1].split("```")[0]
    command, *lines = shown.rstrip("\n").splitlines()
    assert command == "$ metrics-layer check ."
    (schema,) = [s for s in SECTIONS if s.code == "schema"]
    write(tmp_path, schema.bad.files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["check", "."]) == 1
    assert capsys.readouterr().err.rstrip("\n").splitlines() == lines
