"""`metrics-layer check --base REF`: the definitions compared with those of a git revision.

Each test makes a git repository, commits a small project with its lock, changes it as a pull
request would, and runs the command line with ``--format json``; the expected diagnostics
(code, file, line) are written by hand from the files in test_lockfile.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from metrics_layer import api
from metrics_layer.checks.changes import Against, Entry, Snapshot, compare
from metrics_layer.cli.main import main

from .test_lockfile import BUMP, METRICS, SOURCES

# The project sits in folders with spaces in their names, below the repository's root.
FOLDER = "sub dir/my defs"
OLD_FILTER = "    filter: \"channel <> 'api'\"\n    version: 1\n" + (
    "    changelog: [{version: 1, date: 2026-01-05, change: First definition.}]\n"
)


def git(repo: Path, *args: str) -> str:
    environment = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=environment, check=True
    )
    return done.stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose one commit holds the project and its lock."""
    root = tmp_path / "repo"
    folder = root / FOLDER
    folder.mkdir(parents=True)
    git(root, "init", "-q")
    (folder / "metrics_layer.yml").write_text("project:\n  name: shop\n")
    (folder / "sources.yml").write_text(SOURCES)
    (folder / "metrics.yml").write_text(METRICS)
    assert api.lock(folder).written
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def edit(repo: Path, old: str, new: str) -> None:
    file = repo / FOLDER / "metrics.yml"
    text = file.read_text()
    assert text.count(old) == 1, old
    file.write_text(text.replace(old, new))


def check(
    repo: Path, capsys: pytest.CaptureFixture[str], ref: str = "HEAD"
) -> tuple[int, list[dict[str, object]]]:
    code = main(["check", str(repo / FOLDER), f"--base={ref}", "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)["diagnostics"]


def places(found: list[dict[str, object]]) -> list[tuple[object, str, object]]:
    """(code, file relative to the project folder, line), the governance checks of one
    definition left out (they have their own tests)."""
    return [
        (d["code"], os.path.relpath(str(d["file"]), "."), d["line"])
        for d in found
        if d["code"] != "check"
    ]


def at(repo: Path, name: str) -> str:
    return os.path.relpath(repo / FOLDER / name, ".")


def test_unchanged_is_clean(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(repo, capsys) == (0, [])


def test_a_silent_change_says_what_changed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "channel <> 'api'", "channel NOT IN ('api', 'test')")
    code, found = check(repo, capsys)
    assert code == 1
    # once, from the base (the lock's finding about the same metric is the same problem)
    assert places(found) == [("silent-change", at(repo, "metrics.yml"), 2)]
    assert found[0]["column"] == 11
    assert found[0]["message"] == (
        "metric 'revenue' no longer computes what it computed as version 1 at --base HEAD "
        "(filter changed); its version was not bumped"
    )


def test_a_measure_change_names_the_source_table(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = repo / FOLDER / "sources.yml"
    sources.write_text(SOURCES.replace("shop.orders", "shop.orders_v2"))
    code, found = check(repo, capsys)
    assert code == 1
    assert places(found) == [
        ("silent-change", at(repo, "metrics.yml"), 2),
        ("silent-change", at(repo, "metrics.yml"), 12),
    ]
    assert "(source table/SQL of measure orders.revenue changed)" in str(found[0]["message"])


def test_a_proper_bump_is_a_note_for_reviewers(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, OLD_FILTER, BUMP)
    assert api.lock(repo / FOLDER).written
    code, found = check(repo, capsys)
    assert code == 0
    assert places(found) == [("breaking-change", at(repo, "metrics.yml"), 2)]
    assert found[0]["level"] == "note"
    assert found[0]["message"] == (
        "metric 'revenue': meaning changed (filter changed), version 1 → 2"
    )


def test_a_bump_without_changelog_and_lock(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, OLD_FILTER, BUMP.split("    changelog")[0])
    code, found = check(repo, capsys)
    assert code == 1
    assert places(found) == [
        ("changelog", at(repo, "metrics.yml"), 2),
        ("breaking-change", at(repo, "metrics.yml"), 2),
        ("lock-outdated", at(repo, "metrics.yml"), 2),
    ]


def test_type_changed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(
        repo,
        "    type: simple\n    measure: orders.revenue\n" + OLD_FILTER,
        "    type: rolling\n    measure: orders.revenue\n    window: 7 days\n" + BUMP,
    )
    assert api.lock(repo / FOLDER).written
    code, found = check(repo, capsys)
    assert code == 0
    assert places(found) == [("breaking-change", at(repo, "metrics.yml"), 2)]
    assert found[0]["message"] == (
        "metric 'revenue': type changed: simple → rolling, version 1 → 2"
    )


def test_a_type_change_without_bump_is_silent(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        repo,
        "    type: simple\n    measure: orders.revenue\n",
        "    type: rolling\n    measure: orders.revenue\n    window: 7 days\n",
    )
    code, found = check(repo, capsys)
    assert code == 1
    assert places(found) == [("silent-change", at(repo, "metrics.yml"), 2)]
    assert "(type changed: simple → rolling)" in str(found[0]["message"])


def test_renaming_a_certified_metric_removes_the_old_name(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, "  - name: order_count\n", "  - name: orders_placed\n")
    code, found = check(repo, capsys)
    assert code == 1
    assert places(found) == [
        ("breaking-change", at(repo, "metrics.yml"), 12),
        # the old name's place in the base revision's file
        ("removed-without-deprecation", at(repo, "metrics.yml"), 12),
        ("lock-outdated", at(repo, "metrics.yml"), 12),
    ]
    assert found[0]["message"] == (
        "metric 'orders_placed': renamed from 'order_count' (same fingerprint)"
    )
    assert "(renamed to 'orders_placed')" in str(found[1]["message"])


def test_renaming_a_deprecated_metric_is_a_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        repo,
        "    status: certified\n    type: simple\n    measure: orders.orders\n",
        "    status: deprecated\n    replaced_by: revenue\n    sunset: 2099-12-31\n"
        "    type: simple\n    measure: orders.orders\n",
    )
    assert api.lock(repo / FOLDER).written
    git(repo, "commit", "-q", "-a", "-m", "deprecate order_count")
    edit(repo, "  - name: order_count\n", "  - name: orders_placed\n")
    assert api.lock(repo / FOLDER).written
    code, found = check(repo, capsys)
    assert code == 0
    assert places(found) == [("breaking-change", at(repo, "metrics.yml"), 12)]


def test_removing_a_deprecated_metric_is_a_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        repo,
        "    status: certified\n    type: simple\n    measure: orders.orders\n",
        "    status: deprecated\n    replaced_by: revenue\n    sunset: 2099-12-31\n"
        "    type: simple\n    measure: orders.orders\n",
    )
    assert api.lock(repo / FOLDER).written
    git(repo, "commit", "-q", "-a", "-m", "deprecate order_count")
    (repo / FOLDER / "metrics.yml").write_text(METRICS.split("  - name: order_count")[0])
    assert api.lock(repo / FOLDER).written
    code, found = check(repo, capsys)
    assert (code, places(found)) == (0, [("breaking-change", at(repo, "metrics.yml"), 12)])
    assert found[0]["message"] == "deprecated metric 'order_count' (version 1) was removed"


def test_removing_a_certified_metric(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / FOLDER / "metrics.yml").write_text(METRICS.split("  - name: order_count")[0])
    code, found = check(repo, capsys)
    assert code == 1
    assert places(found) == [("removed-without-deprecation", at(repo, "metrics.yml"), 12)]


def test_a_base_that_does_not_load_is_compared_as_far_as_it_built(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the base gets a broken metric (committed), the working tree fixes it
    broken = METRICS + "  - name: broken\n    type: simple\n    measure: orders.nothing\n"
    (repo / FOLDER / "metrics.yml").write_text(broken)
    git(repo, "commit", "-q", "-a", "-m", "broken")
    (repo / FOLDER / "metrics.yml").write_text(METRICS)
    code, found = check(repo, capsys)
    assert code == 0
    assert places(found) == [("base", os.path.relpath(repo / FOLDER, "."), None)]
    assert found[0]["level"] == "note"
    assert "1 error(s) of their own" in str(found[0]["message"])


def test_an_unknown_ref_is_a_base_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, found = check(repo, capsys, "no-such-branch")
    assert code == 1
    assert places(found) == [("base", os.path.relpath(repo / FOLDER, "."), None)]
    assert "no branch, tag or commit has that name" in str(found[0]["message"])


def test_not_a_git_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "sources.yml").write_text(SOURCES)
    (folder / "metrics.yml").write_text(METRICS)
    assert api.lock(folder).written
    code = main(["check", str(folder), "--base", "HEAD", "--format", "json"])
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    assert code == 1
    assert [d["code"] for d in found] == ["base"]
    assert "is not in a git repository" in found[0]["message"]


def test_a_shallow_clone_without_the_ref(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, "channel <> 'api'", "channel <> 'web'")
    git(repo, "commit", "-q", "-a", "-m", "second")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    code = main(["check", str(clone / FOLDER), "--base", "HEAD~1", "--format", "json"])
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    assert code == 1
    base = [d for d in found if d["code"] == "base"]
    assert len(base) == 1
    assert "this clone is shallow" in base[0]["message"]


@pytest.mark.parametrize("template", ["--output={out}", "HEAD; rm -rf {victim}", "HEAD\n--all"])
def test_hostile_refs_are_refused_without_side_effects(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    out = tmp_path / "out"
    ref = template.format(out=out, victim=victim)
    code, found = check(repo, capsys, ref)
    assert code == 1
    assert [d["code"] for d in found] == ["base"]
    assert victim.is_dir()
    assert not out.exists()
    assert git(repo, "status", "--porcelain") == ""


def test_kept_versions_must_not_drift() -> None:
    """A kept earlier version (``name@N`` in the graph) compared with the lock's ``previous``."""
    lock = Snapshot(
        {"wau": Entry(2, "b" * 16, "certified", previous={1: "a" * 16})}, "in metrics.lock"
    )
    same = Snapshot(
        {"wau": Entry(2, "b" * 16, "certified", previous={1: "a" * 16}, changelog=frozenset({2}))},
        "the definitions",
    )
    drifted = Snapshot(
        {"wau": Entry(2, "b" * 16, "certified", previous={1: "c" * 16}, place=("m.yml", 4, 11))},
        "the definitions",
    )
    assert compare(lock, same, Against.LOCK) == []
    found = [f.diagnostic for f in compare(lock, drifted, Against.LOCK)]
    assert [(d.code, d.file, d.line) for d in found] == [("version-drift", "m.yml", 4)]
    assert found[0].message == (
        "kept version 'wau@1' no longer computes what version 1 computed in metrics.lock"
    )


def test_the_project_file_as_the_path(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "channel <> 'api'", "channel NOT IN ('api', 'test')")
    path = repo / FOLDER / "metrics_layer.yml"
    code = main(["check", str(path), "--base", "HEAD", "--format", "json"])
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    assert code == 1
    assert places(found) == [("silent-change", at(repo, "metrics.yml"), 2)]


def test_one_definitions_file_as_the_path(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solo = repo / "solo"
    solo.mkdir()
    (solo / "all.yml").write_text(SOURCES + METRICS)  # SOURCES is 10 lines
    assert api.lock(solo / "all.yml").written
    assert (solo / "metrics.lock").is_file()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "solo")
    text = (solo / "all.yml").read_text()
    (solo / "all.yml").write_text(text.replace("channel <> 'api'", "channel <> 'web'"))
    code = main(["check", str(solo / "all.yml"), "--base", "HEAD", "--format", "json"])
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    assert code == 1
    assert [(d["code"], Path(d["file"]).name, d["line"]) for d in found] == [
        ("silent-change", "all.yml", 12)
    ]
    assert "(filter changed)" in found[0]["message"]
