"""metrics.lock: `metrics-layer lock` writes it, `check` compares the definitions with it.

Each test edits one small project as a user would and names the diagnostics (code, file, line)
it must get, written by hand from the files below."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer import api
from metrics_layer.checks.codes import CODES
from metrics_layer.cli.main import main
from metrics_layer.graph import fingerprint
from metrics_layer.graph.fingerprint import Fingerprints

SOURCES = """\
sources:
  - name: orders
    table: shop.orders
    time: ordered_at
    dimensions:
      - {name: ordered_at, type: time}
      - {name: channel}
    measures:
      - {name: revenue, agg: sum, expr: amount}
      - {name: orders, agg: count}
"""

# `- name: revenue` is on line 2, `- name: order_count` on line 12 (values in column 11).
METRICS = """\
metrics:
  - name: revenue
    label: Revenue
    description: Paid order amounts.
    owner: finance
    status: certified
    type: simple
    measure: orders.revenue
    filter: "channel <> 'api'"
    version: 1
    changelog: [{version: 1, date: 2026-01-05, change: First definition.}]
  - name: order_count
    label: Orders
    description: Orders placed.
    owner: finance
    status: certified
    type: simple
    measure: orders.orders
"""

BUMP = """\
    filter: "channel NOT IN ('api', 'test')"
    version: 2
    changelog:
      - {version: 1, date: 2026-01-05, change: First definition.}
      - {version: 2, date: 2026-02-01, change: Test orders no longer count.}
"""


def project(tmp_path: Path, metrics: str = METRICS) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir(exist_ok=True)
    (folder / "metrics_layer.yml").write_text("project:\n  name: shop\n")
    (folder / "sources.yml").write_text(SOURCES)
    (folder / "metrics.yml").write_text(metrics)
    return folder


def found(folder: Path) -> list[tuple[str, str, int | None]]:
    """(code, file name, line) of every diagnostic of ``check`` about versions and changes (the
    governance checks of one definition have their own tests)."""
    _, diagnostics = ml.check(folder)
    return [
        (d.code, Path(d.file or "").name, d.line)
        for d in diagnostics
        if d.code == "changelog" or (d.code in CODES and CODES[d.code].group == "changes")
    ]


def locked(tmp_path: Path, metrics: str = METRICS) -> Path:
    folder = project(tmp_path, metrics)
    done = api.lock(folder)
    assert done.written, done.diagnostics
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    file = folder / "metrics.yml"
    text = file.read_text()
    assert text.count(old) == 1, old
    file.write_text(text.replace(old, new))


def test_no_lock_is_a_warning(tmp_path: Path) -> None:
    folder = project(tmp_path)
    graph, diagnostics = ml.check(folder)
    assert graph is not None
    assert [(d.code, d.level, d.file) for d in diagnostics] == [
        ("lock-missing", ml.Level.WARNING, str(folder / "metrics.lock"))
    ]
    assert diagnostics[0].hint is not None
    assert "metrics-layer lock" in diagnostics[0].hint


def test_lock_writes_one_line_per_metric_sorted_and_check_is_clean(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    prints = Fingerprints(ml.load(folder).graph)
    text = (folder / "metrics.lock").read_text()
    lines = text.splitlines()
    assert lines[0].startswith("# metrics.lock: the version and fingerprint of every metric")
    assert lines[3:] == [
        f"format: {fingerprint.FORMAT}",
        "metrics:",
        f"  order_count: {{version: 1, fingerprint: {prints.metric('order_count')}, "
        "status: certified}",
        f"  revenue: {{version: 1, fingerprint: {prints.metric('revenue')}, status: certified}}",
    ]
    assert found(folder) == []


def test_filter_changed_without_bump_is_a_silent_change_at_the_metric(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    edit(folder, "channel <> 'api'", "channel NOT IN ('api', 'test')")
    assert found(folder) == [("silent-change", "metrics.yml", 2)]
    _, diagnostics = ml.check(folder)
    assert diagnostics[0].column == 11
    assert diagnostics[0].message == (
        "metric 'revenue' no longer computes what it computed as version 1 in metrics.lock; "
        "its version was not bumped"
    )
    assert diagnostics[0].hint is not None
    assert "version: 2" in diagnostics[0].hint


def test_lock_refuses_to_hide_a_silent_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = locked(tmp_path)
    before = (folder / "metrics.lock").read_text()
    edit(folder, "channel <> 'api'", "channel NOT IN ('api', 'test')")
    assert main(["lock", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"{folder / 'metrics.yml'}:2:11: error[silent-change]: metric 'revenue'" in err
    assert "metrics.lock was not written" in err
    assert (folder / "metrics.lock").read_text() == before


def test_bump_without_changelog_entry(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    edit(
        folder, "    filter: \"channel <> 'api'\"\n    version: 1\n", BUMP.split("    changelog")[0]
    )
    # the lock comparison also says the lock is behind; the changelog is the error to fix first
    assert found(folder) == [
        ("changelog", "metrics.yml", 2),
        ("lock-outdated", "metrics.yml", 2),
    ]


def test_bump_with_changelog_needs_a_new_lock_then_is_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = locked(tmp_path)
    old_print = Fingerprints(ml.load(folder).graph).metric("revenue")
    edit(
        folder,
        "    filter: \"channel <> 'api'\"\n    version: 1\n"
        "    changelog: [{version: 1, date: 2026-01-05, change: First definition.}]\n",
        BUMP,
    )
    assert found(folder) == [("lock-outdated", "metrics.yml", 2)]
    assert main(["lock", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "bumped revenue: version 1 -> 2"
    new_print = Fingerprints(ml.load(folder).graph).metric("revenue")
    assert (
        f"revenue: {{version: 2, fingerprint: {new_print}, status: certified, previous: "
        f"{{1: {old_print}}}}}" in (folder / "metrics.lock").read_text()
    )
    assert found(folder) == []


def test_a_new_metric_needs_a_new_lock(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    edit(
        folder,
        "  - name: order_count\n",
        "  - name: api_orders\n    type: simple\n    measure: orders.orders\n"
        "    filter: \"channel = 'api'\"\n  - name: order_count\n",
    )
    assert found(folder) == [("lock-outdated", "metrics.yml", 12)]


def test_removing_a_certified_metric_is_an_error_at_its_lock_line(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    (folder / "metrics.yml").write_text(METRICS.split("  - name: order_count")[0])
    # the lock's lines: 3 comment lines, format, metrics:, order_count on line 6
    assert found(folder) == [("removed-without-deprecation", "metrics.lock", 6)]
    assert api.lock(folder).written is False


def test_deprecate_then_remove_is_clean_after_lock(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    edit(
        folder,
        "    description: Orders placed.\n    owner: finance\n    status: certified\n",
        "    description: Orders placed.\n    owner: finance\n    status: deprecated\n"
        "    replaced_by: revenue\n    sunset: 2099-12-31\n",
    )
    assert ("lock-outdated", "metrics.yml", 12) in found(folder)
    assert api.lock(folder).written
    assert "order_count: {version: 1" in (folder / "metrics.lock").read_text()
    assert "status: deprecated" in (folder / "metrics.lock").read_text()
    (folder / "metrics.yml").write_text(METRICS.split("  - name: order_count")[0])
    assert found(folder) == [("lock-outdated", "metrics.lock", 6)]
    done = api.lock(folder)
    assert done.changes == ("removed order_count",)
    assert found(folder) == []


def test_version_decreased(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    lock = folder / "metrics.lock"
    lock.write_text(lock.read_text().replace("revenue: {version: 1", "revenue: {version: 3"))
    assert found(folder) == [("version-decreased", "metrics.yml", 2)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # at the '{' left open, not where the file ends
        ("format: 1\nmetrics:\n  revenue: {version: 1\n", 3, "this '{' is not closed"),
        (
            "format: 1\nmetrics:\n  revenue: {version: one, fingerprint: 0123456789abcdef}\n",
            3,
            "version must be a whole number",
        ),
        (
            "format: 1\nmetrics:\n  revenue: {version: 1, fingerprint: 12ab, status: draft}\n",
            3,
            "16 hexadecimal digits",
        ),
        ("format: 1\nmetrics:\n  revenue: [1, 2]\n", 3, "must be a mapping"),
        ("format: 9\nmetrics: {}\n", 1, "format 9 is newer"),
        ("format: one\nmetrics: {}\n", 1, "format must be a whole number"),
        ("fromat: 1\nmetrics: {}\n", 1, "unknown key 'fromat'"),
        (
            "format: 1\nmetrics:\n  revenue: {version: 1, fingerprint: 0123456789abcdef, "
            "status: gold}\n",
            3,
            "status must be one of",
        ),
    ],
)
def test_malformed_lock_is_lock_invalid_with_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    folder = project(tmp_path)
    (folder / "metrics.lock").write_text(text)
    _, diagnostics = ml.check(folder)
    invalid = [d for d in diagnostics if d.code == "lock-invalid"]
    assert invalid, diagnostics
    # (diagnostics come in file order: the one saying this may follow another on its line)
    [said] = [d for d in invalid if words in d.message]
    assert (said.file, said.line) == (str(folder / "metrics.lock"), line)
    assert [d.code for d in diagnostics if d.code != "lock-invalid"] == []
    assert api.lock(folder).written is False


def test_a_lock_of_another_fingerprint_format_asks_for_a_new_lock_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = locked(tmp_path)
    newer = fingerprint.FORMAT + 1
    monkeypatch.setattr(fingerprint, "FORMAT", newer)
    assert found(folder) == [("lock-outdated", "metrics.lock", None)]
    done = api.lock(folder)
    assert done.written
    assert done.changes == (
        "fingerprint of order_count recomputed (version 1)",
        "fingerprint of revenue recomputed (version 1)",
    )
    assert f"format: {newer}" in (folder / "metrics.lock").read_text()
    assert found(folder) == []


def test_a_lock_of_format_1_asks_for_one_new_lock(tmp_path: Path) -> None:
    """A lock written by a release that hashed conversion, retention and churn metrics through
    their generated rows (format 1): every fingerprint in it differs, and one error says so."""
    folder = locked(tmp_path)
    lock = folder / "metrics.lock"
    text = lock.read_text().replace(f"format: {fingerprint.FORMAT}", "format: 1")
    lock.write_text(re.sub("fingerprint: [0-9a-f]{16}", "fingerprint: 0123456789abcdef", text))
    _, diagnostics = ml.check(folder)
    [outdated] = [d for d in diagnostics if d.code != "lock-missing"]
    assert (outdated.code, outdated.message) == (
        "lock-outdated",
        "metrics.lock was written with fingerprint format 1; this release of metrics_layer "
        f"computes format {fingerprint.FORMAT}",
    )
    assert api.lock(folder).written
    assert found(folder) == []
    assert f"format: {fingerprint.FORMAT}\n" in lock.read_text()


def test_fingerprints_do_not_depend_on_the_target(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    (folder / "metrics_layer.yml").write_text(
        "project:\n  name: shop\n  targets:\n    dev: {schema: dev, table_prefix: x_}\n"
    )
    dev = ml.load(folder, target="dev").graph
    assert "x_orders" in dev.sources["orders"].relation.sql()
    assert Fingerprints(dev).metric("revenue") != Fingerprints(ml.load(folder).graph).metric(
        "revenue"
    )
    # check with the target: compared with the lock written without it, nothing changed
    _, diagnostics = ml.check(folder, target="dev")
    assert diagnostics == []


def test_a_lock_that_is_a_symbolic_link_is_not_followed(tmp_path: Path) -> None:
    folder = project(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("format: 1\nmetrics:\n  root-password-is-hunter2: {version: 1}\n")
    (folder / "metrics.lock").symlink_to(secret)
    _, diagnostics = ml.check(folder)
    assert [(d.code, d.file) for d in diagnostics] == [
        ("lock-invalid", str(folder / "metrics.lock"))
    ]
    assert "symbolic link" in diagnostics[0].message
    assert "hunter2" not in diagnostics[0].message
    # lock refuses too, and never writes through the link
    assert api.lock(folder).written is False
    assert "hunter2" in secret.read_text()


def test_lock_of_an_unchanged_project_changes_nothing(tmp_path: Path) -> None:
    folder = locked(tmp_path)
    before = (folder / "metrics.lock").read_text()
    done = api.lock(folder)
    assert (done.written, done.changes) == (True, ())
    assert (folder / "metrics.lock").read_text() == before
    assert sorted(p.name for p in folder.iterdir()) == [
        "metrics.lock",
        "metrics.yml",
        "metrics_layer.yml",
        "sources.yml",
    ]
