"""A hostile definitions repository cannot hang the checker, exhaust its memory or make it read
files outside the project: every attempt ends in one exact diagnostic, on every face
(``read_project``, ``ml.check``, ``ml.load``, ``metrics-layer check``), never an exception."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from projects import USERS_SOURCE

import metrics_layer as ml
from metrics_layer import api
from metrics_layer.cli.main import main
from metrics_layer.errors import Diagnostic
from metrics_layer.spec import limits
from metrics_layer.spec.limits import quote
from metrics_layer.spec.project import read_project


def said(diagnostic: Diagnostic) -> str:
    """A diagnostic's message and hint, as its one-line form joins them."""
    return f"{diagnostic.message}; {diagnostic.hint}" if diagnostic.hint else diagnostic.message


METRIC = "metrics:\n  - {name: signups, type: simple, measure: users.signups}\n"
GOOD = USERS_SOURCE + METRIC
OUTSIDE_FIX = (
    "definitions are read only from inside the project folder: move the files into it, or let "
    "the caller allow reading outside (allow_outside=True, or --allow-outside on the command line)"
)
needs_posix = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and links are POSIX")


@dataclass(frozen=True)
class Place:
    """Where a diagnostic points, and the exact message."""

    file: Path | str
    line: int | None
    column: int | None
    message: str


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty project folder, with a sibling folder ``outside`` holding valid definitions."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def assert_refused(location: Path, *expected: Place, allow_outside: bool = False) -> None:
    """Every face reports exactly ``expected`` (in order), and nothing raises or hangs."""
    started = time.perf_counter()
    found = read_project(location, allow_outside=allow_outside).diagnostics
    assert [Place(Path(d.file or ""), d.line, d.column, said(d)) for d in found] == [
        Place(Path(p.file), p.line, p.column, p.message) for p in expected
    ]
    _, diagnostics = ml.check(location, allow_outside=allow_outside)
    assert diagnostics == found
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(location, allow_outside=allow_outside)
    assert list(caught.value.diagnostics) == found
    assert time.perf_counter() - started < 60  # a hang detector, not a performance test


def cli_check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["check", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def alias_bomb(levels: int = 9) -> str:
    text = "a: &a [" + ", ".join(["lol"] * 9) + "]\n"
    for level in range(1, levels):
        name = chr(ord("a") + level)
        previous = chr(ord("a") + level - 1)
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
    return text


# --- memory and time ---------------------------------------------------------------------------


def test_alias_bomb_is_refused_fast(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"bomb.yml": alias_bomb()})
    assert_refused(
        repo,
        Place(
            repo / "bomb.yml",
            6,
            4,
            f"this file holds more than {limits.MAX_NODES} YAML nodes (values, lists and "
            "mappings, counting each use of an alias '*name' in full); write the values out "
            "plainly, split huge lists, or remove aliases",
        ),
    )
    code, err = cli_check(capsys, str(repo))
    assert code == 1
    assert f"{repo / 'bomb.yml'}:6:4: error[limit]: this file holds more than" in err


def test_alias_bombs_in_many_files_stop_at_the_project_total(repo: Path) -> None:
    # Each file expands to about 74,000 nodes: under the per-file limit, but seven of them
    # pass the project-wide total; the files after that one are not read.
    for index in range(16):
        write(repo, {f"f{index:02}.yml": alias_bomb(levels=5)})
    project = read_project(repo)
    limit = [d for d in project.diagnostics if d.code == "limit"]
    assert [(Path(d.file or "").name, d.line, d.column) for d in limit] == [("f06.yml", 5, 4)]
    assert said(limit[0]).startswith(
        f"the project's files hold more than {limits.MAX_TOTAL_NODES} YAML nodes in all"
    )
    assert project.diagnostics[-1] == limit[0]


def test_alias_inside_its_own_anchor_is_refused(repo: Path) -> None:
    write(repo, {"loop.yml": "metrics: &m [*m]\n"})
    assert_refused(
        repo,
        Place(
            repo / "loop.yml",
            1,
            10,
            "an alias refers to the list or mapping that contains it, which would never end; "
            "remove the alias",
        ),
    )


@pytest.mark.parametrize("depth", [limits.MAX_DEPTH + 1, 999])
def test_deep_nesting_is_refused_without_recursion_error(repo: Path, depth: int) -> None:
    text = "".join(" " * level + "a:\n" for level in range(depth)) + " " * depth + "1\n"
    write(repo, {"deep.yml": text})
    line = limits.MAX_DEPTH + 1
    message = (
        f"lists and mappings nest more than {limits.MAX_DEPTH} levels deep here; "
        "definitions need about 6: flatten them"
    )
    assert_refused(repo, Place(repo / "deep.yml", line, line, message))


@pytest.mark.parametrize(
    ("depth", "column", "message"),
    [
        (
            100,
            limits.MAX_DEPTH + 4,
            f"lists and mappings nest more than {limits.MAX_DEPTH} levels deep here; "
            "definitions need about 6: flatten them",
        ),
        # libyaml stops at 1,000 levels itself, before any node is built
        (100_000, 1003, "invalid YAML: exceeded maximum nesting depth; flatten it"),
    ],
)
def test_deep_flow_nesting_is_refused(repo: Path, depth: int, column: int, message: str) -> None:
    write(repo, {"deep.yml": "a: " + "[" * depth + "]" * depth + "\n"})
    assert_refused(repo, Place(repo / "deep.yml", 1, column, message))


def test_oversized_file_is_refused_before_parsing(repo: Path) -> None:
    write(repo, {"a.yml": GOOD, "big.yml": "# " + "x" * limits.MAX_FILE_BYTES + "\n"})
    assert_refused(
        repo,
        Place(
            repo / "big.yml",
            None,
            None,
            "the file is larger than 1 MiB; split it into several files",
        ),
    )


def test_project_total_size_is_bounded(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("metrics_layer.spec.project.MAX_TOTAL_BYTES", 2 * len(GOOD) + 10)
    comment = "#" * (len(GOOD) - 1) + "\n"
    write(repo, {"a.yml": GOOD, "b.yml": comment, "c.yml": comment})
    [diagnostic] = read_project(repo).diagnostics
    assert diagnostic.file == str(repo / "c.yml")
    assert said(diagnostic) == (
        f"the project's files hold more than {2 * len(GOOD) + 10} bytes in all; this file and "
        "the ones after it were not read; name fewer folders in project.paths, or split the project"
    )


def test_too_many_files_are_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("metrics_layer.spec.files.MAX_FILES", 3)
    write(repo, {f"m{index}.yml": "metrics: []\n" for index in range(5)})
    [diagnostic] = read_project(repo).diagnostics
    assert diagnostic.file == str(repo)
    assert said(diagnostic) == (
        "the project has more than 3 definitions files; none were read; "
        "merge small files, or name fewer folders in project.paths"
    )
    assert read_project(repo).files == []


def test_long_value_is_refused_and_not_echoed(repo: Path) -> None:
    value = "x" * (limits.MAX_SCALAR_CHARS + 1)
    write(repo, {"a.yml": f"sources:\n  - name: users\n    description: {value}\n"})
    assert_refused(
        repo,
        Place(
            repo / "a.yml",
            3,
            18,
            f"this value is {len(value)} characters long, more than the "
            f"{limits.MAX_SCALAR_CHARS} allowed; shorten it",
        ),
    )


def test_huge_integer_is_a_diagnostic(repo: Path) -> None:
    write(repo, {"a.yml": "metrics:\n  - {name: a, type: simple, version: " + "9" * 5000 + "}\n"})
    assert_refused(
        repo,
        Place(repo / "a.yml", 2, 38, f"the number {quote('9' * 5000)} is too long; shorten it"),
    )


def test_values_quoted_in_diagnostics_are_cut_and_escaped(repo: Path) -> None:
    hostile = "\x1b[2J::error::" + "x" * 5000
    write(repo, {"a.yml": f'sources: "{hostile.replace(chr(27), chr(92) + "e")}"\n'})
    [diagnostic] = read_project(repo).diagnostics
    assert said(diagnostic) == f"sources must be a list, not {quote(hostile)}; write a list"
    assert "\x1b" not in said(diagnostic)
    assert len(said(diagnostic)) < 150


# --- files that are not files ------------------------------------------------------------------


@needs_posix
def test_fifo_does_not_hang(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"a.yml": GOOD})
    os.mkfifo(repo / "pipe.yml")
    message = (
        "not a regular file (a named pipe (FIFO)); definitions must be plain files: remove it, "
        "or rename it so that it does not end in .yml or .yaml"
    )
    assert_refused(repo, Place(repo / "pipe.yml", None, None, message))
    problem, hint = message.split("; ", 1)
    assert cli_check(capsys, str(repo)) == (
        1,
        f"{repo / 'pipe.yml'}: error[project]: {problem}\n  = hint: {hint}\n\n"
        "1 error(s), 0 warning(s), 0 note(s)\n",
    )


@needs_posix
def test_fifo_named_on_the_command_line_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yml")
    completed = subprocess.run(
        [sys.executable, "-m", "metrics_layer.cli.main", "check", str(tmp_path / "pipe.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert "not a regular file (a named pipe (FIFO))" in completed.stderr
    assert "Traceback" not in completed.stderr


@needs_posix
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_link_to_dev_zero_is_not_read(repo: Path) -> None:
    write(repo, {"a.yml": GOOD})
    (repo / "zero.yml").symlink_to("/dev/zero")
    assert_refused(
        repo,
        Place(
            repo / "zero.yml",
            None,
            None,
            "not a regular file (a character device); definitions must be plain files: "
            "remove it, or rename it so that it does not end in .yml or .yaml",
        ),
        allow_outside=True,
    )
    # Without allow_outside, /dev is outside the project, which is said first.
    [diagnostic] = read_project(repo).diagnostics
    assert said(diagnostic).startswith(f"the symbolic link '{repo / 'zero.yml'}' leads to '/dev'")


@needs_posix
def test_dev_zero_named_by_the_caller_is_not_read() -> None:
    assert_refused(
        Path("/dev/zero"),
        Place(
            "/dev/zero",
            None,
            None,
            "not a regular file (a character device); definitions must be plain files: "
            "remove it, or rename it so that it does not end in .yml or .yaml",
        ),
    )


def test_undecodable_file_points_at_the_byte(repo: Path) -> None:
    (repo / "latin1.yml").write_bytes(b"sources:\n  - name: caf\xe9\n")
    assert_refused(
        repo,
        Place(
            repo / "latin1.yml",
            2,
            14,
            "cannot read file: byte 0xe9 is not UTF-8; save the file as UTF-8",
        ),
    )


# --- confinement -------------------------------------------------------------------------------


@needs_posix
def test_link_out_of_the_project_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"a.yml": GOOD})
    (repo / "shared.yml").symlink_to(repo.parent / "outside" / "secret.yml")
    (repo / "shared").symlink_to(repo.parent / "outside")
    outside = repo.parent / "outside"
    assert_refused(
        repo,
        Place(
            repo / "shared",
            None,
            None,
            f"the symbolic link '{repo / 'shared'}' leads to '{outside}', outside the project "
            f"folder '{repo}'; {OUTSIDE_FIX}",
        ),
        Place(
            repo / "shared.yml",
            None,
            None,
            f"the symbolic link '{repo / 'shared.yml'}' leads to '{outside}', outside the project "
            f"folder '{repo}'; {OUTSIDE_FIX}",
        ),
    )
    code, err = cli_check(capsys, str(repo))
    assert code == 1
    assert "secret" not in err.replace("secret.yml", "")


@needs_posix
def test_project_file_linked_from_outside_is_refused(repo: Path) -> None:
    write(repo.parent, {"outside/metrics_layer.yml": "project: {name: p}\n"})
    (repo / "metrics_layer.yml").symlink_to(repo.parent / "outside" / "metrics_layer.yml")
    assert_refused(
        repo,
        Place(
            repo / "metrics_layer.yml",
            None,
            None,
            f"the project file '{repo / 'metrics_layer.yml'}' leads to "
            f"'{repo.parent / 'outside' / 'metrics_layer.yml'}', outside the project folder "
            f"'{repo}'; {OUTSIDE_FIX}",
        ),
    )


@pytest.mark.parametrize(
    ("written", "real"), [("/", "/"), ("..", ".."), ("../outside", "../outside")]
)
def test_paths_outside_the_project_are_refused(
    repo: Path, written: str, real: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, {"metrics_layer.yml": f"project:\n  name: p\n  paths: ['{written}']\n"})
    target = Path(os.path.realpath(repo / real))
    message = (
        f"project.paths names '{written}', which leads to '{target}', outside the project "
        f"folder '{repo}'; definitions are read only from inside the project folder: name a "
        "folder inside it, or let the caller allow reading outside (allow_outside=True, or "
        "--allow-outside on the command line)"
    )
    assert_refused(repo, Place(repo / "metrics_layer.yml", 3, 11, message))
    code, err = cli_check(capsys, str(repo))
    problem, hint = message.split("; ", 1)
    assert code == 1
    assert f"{repo / 'metrics_layer.yml'}:3:11: error[project]: {problem}\n" in err
    assert f"= hint: {hint}\n" in err
    assert err.endswith("1 error(s), 0 warning(s), 0 note(s)\n")


def test_allow_outside_reads_the_outside_folder(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, {"metrics_layer.yml": "project:\n  name: p\n  paths: [., ../outside]\n"})
    layer = ml.load(repo, allow_outside=True)
    assert [m.name for m in layer.metrics] == ["signups"]
    assert api.lock(repo, allow_outside=True).written
    graph, diagnostics = ml.check(repo, allow_outside=True)
    assert graph is not None
    assert diagnostics == []
    assert cli_check(capsys, str(repo), "--allow-outside") == (0, "ok: 1 metrics, no problems\n")
    assert main(["list", "--project", str(repo), "--allow-outside", "--format", "json"]) == 0


def test_project_file_cannot_allow_outside(repo: Path) -> None:
    write(
        repo,
        {
            "metrics_layer.yml": "project:\n  name: p\n  paths: [../outside]\n"
            "  allow_outside: true\n"
        },
    )
    [diagnostic] = read_project(repo).diagnostics
    assert said(diagnostic).startswith("project: unknown field 'allow_outside'; Allowed fields:")


@needs_posix
def test_link_out_of_the_project_is_read_when_allowed(repo: Path) -> None:
    (repo / "shared").symlink_to(repo.parent / "outside")
    assert [m.name for m in ml.load(repo, allow_outside=True).metrics] == ["signups"]


def test_single_file_named_by_the_caller_is_read_wherever_it_is(repo: Path) -> None:
    outside = repo.parent / "outside" / "secret.yml"
    assert [m.name for m in ml.load(outside).metrics] == ["signups"]


@needs_posix
def test_link_inside_the_project_is_followed_once(repo: Path) -> None:
    write(repo, {"defs/a.yml": GOOD})
    (repo / "alias").symlink_to(repo / "defs")
    (repo / "alias.yml").symlink_to(repo / "defs" / "a.yml")
    assert [m.name for m in ml.load(repo).metrics] == ["signups"]


@needs_posix
def test_link_cycles_end(repo: Path) -> None:
    write(repo, {"defs/a.yml": GOOD})
    (repo / "defs" / "loop").symlink_to(repo)
    (repo / "defs" / "self").symlink_to(repo / "defs")
    (repo / "x").symlink_to(repo / "y")
    (repo / "y").symlink_to(repo / "x")
    (repo / "z.yml").symlink_to(repo / "z.yml")
    started = time.perf_counter()
    diagnostics = read_project(repo).diagnostics
    assert time.perf_counter() - started < 60  # a hang detector, not a performance test
    [diagnostic] = diagnostics
    assert diagnostic.file == str(repo / "z.yml")
    assert said(diagnostic).startswith("cannot read file: ")


def test_search_stops_after_the_entry_limit(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("metrics_layer.spec.files.MAX_WALK_ENTRIES", 10)
    write(repo, {f"d{index}/readme.txt": "" for index in range(12)})
    [diagnostic] = read_project(repo).diagnostics
    assert said(diagnostic) == (
        f"more than 10 files and folders were searched below '{repo}'; name the folders that "
        "hold the definitions in project.paths"
    )


def test_benchmark_project_is_well_inside_the_limits(tmp_path: Path) -> None:
    from benchmarks.generate_project import generate_project

    generate_project(tmp_path / "bench")
    project = read_project(tmp_path / "bench")
    assert project.diagnostics == []
    sizes = [Path(f).stat().st_size for f in project.files]
    assert len(sizes) * 100 < limits.MAX_FILES
    assert max(sizes) * 20 < limits.MAX_FILE_BYTES
    assert sum(sizes) * 20 < limits.MAX_TOTAL_BYTES
    nodes = [located.doc.nodes for located in project.metrics]
    assert max(nodes) * 20 < limits.MAX_NODES


@pytest.mark.parametrize(
    ("written", "shown"), [('"a\\0b"', "'a\\x00b'"), ("'" + "a" * 5000 + "'", quote("a" * 5000))]
)
def test_paths_the_system_refuses_are_diagnostics(repo: Path, written: str, shown: str) -> None:
    write(repo, {"metrics_layer.yml": f"project:\n  name: p\n  paths: [{written}]\n"})
    assert_refused(
        repo,
        Place(
            repo / "metrics_layer.yml",
            3,
            11,
            f"project.paths names {shown}, which is not a folder; "
            "fix the path or create the folder",
        ),
    )


@pytest.mark.parametrize("location", ["a\0b", "x" * 5000])
def test_locations_the_system_refuses_are_diagnostics(location: str) -> None:
    [diagnostic] = read_project(location).diagnostics
    assert said(diagnostic).startswith("no such file or folder '")


def test_a_mistake_repeated_through_aliases_is_listed_a_bounded_number_of_times(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repeated = ", ".join(["*x"] * 300)
    write(
        repo,
        {
            "a.yml": "sources:\n  - name: s\n    table: t\n"
            f"    dimensions: [&x {{name: a}}, {repeated}]\n"
        },
    )
    _, diagnostics = ml.check(repo)
    assert len(diagnostics) == limits.MAX_DIAGNOSTICS_PER_FILE + 1
    assert said(diagnostics[0]) == (
        "'a' is declared twice in source 's' (as dimension or entity); rename one"
    )
    last = diagnostics[-1]
    assert (last.file, last.line, last.level) == (str(repo / "a.yml"), None, ml.Level.ERROR)
    assert said(last) == (
        f"{300 - limits.MAX_DIAGNOSTICS_PER_FILE} more problem(s) here are not listed; "
        "fix the ones listed and check again"
    )
    code, err = cli_check(capsys, str(repo))
    assert code == 1
    # One headline per listed problem and one for the count of the rest.
    headlines = [line for line in err.splitlines() if ": error[" in line]
    assert len(headlines) == limits.MAX_DIAGNOSTICS_PER_FILE + 1


def test_deeply_nested_sql_in_a_definition_is_a_diagnostic(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    condition = "(" * 300 + "country = 'x'" + ")" * 300
    write(repo, {"a.yml": USERS_SOURCE + METRIC.replace("}", f', filter: "{condition}"}}')})
    expected = Diagnostic(
        ml.Level.ERROR,
        "metric 'signups': filter: a filter nests deeper than 32 levels or has more than 20,000 "
        "parts",
        str(repo / "a.yml"),
        13,
        67,
        code="expression",
        hint="simplify it",
    )
    assert read_project(repo).diagnostics == []
    _, diagnostics = ml.check(repo)
    assert diagnostics == [expected]
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(repo)
    assert caught.value.diagnostics == (expected,)
    code, err = cli_check(capsys, str(repo))
    assert code == 1
    assert err.startswith(f"{expected.where}: error[expression]: {expected.message}\n")
    assert "= hint: simplify it\n" in err
    assert err.endswith("1 error(s), 0 warning(s), 0 note(s)\n")
