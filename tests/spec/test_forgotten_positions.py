"""A file of metrics is read without recording the positions of its nodes and reads its text
again when one is asked for (``read_yaml`` without ``keep_positions``: as if
``YamlDocument.forget_positions`` were called at once), and ``Graph.places``
looks a metric's place up when asked: every answer must be the one the kept positions gave.

Compared over the shipped definitions, every project of the checks corpus, a generated
project of 120 metrics (``benchmarks/generate_project.py``) and a project whose problems are
found after reading (so that positions are asked for again): the
positions of every file, the place of every metric name and kept version, and the
diagnostics of ``ml.check`` (file, line, column, code, message, hint) and of ``ml.load``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.errors import Diagnostic
from metrics_layer.graph.build import build_graph
from metrics_layer.spec.project import ProjectFiles, read_project
from metrics_layer.spec.yaml_source import YamlDocument, read_yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "checks" / "corpus"

# Problems found after reading, in a file of metrics: two metrics computing the same, a
# deprecated metric replaced by a deprecated one, a filter naming nothing (and a ratio built
# on that metric), a kept version; and a file with an unknown field.
SOURCES = """\
sources:
  - name: orders
    table: shop.orders
    time: ordered_at
    dimensions:
      - {name: ordered_at, type: time}
      - {name: country}
    measures:
      - {name: revenue, agg: sum, expr: amount}
      - {name: orders, agg: count}
"""
METRICS = """\
metrics:
  - name: revenue
    type: simple
    measure: orders.revenue
    version: 2
    changelog:
      - {version: 2, date: 2026-01-01, change: Net of refunds.}
    versions:
      - {version: 1, type: simple, measure: orders.revenue, filter: "country = 'DE'"}
  - {name: revenues, type: simple, measure: orders.revenue, label: Revenue}
  - name: old_orders
    type: simple
    measure: orders.orders
    status: deprecated
    replaced_by: older_orders
    sunset: 2030-01-01
  - name: older_orders
    type: simple
    measure: orders.orders
    status: deprecated
    replaced_by: old_orders
    sunset: 2030-01-01
  - {name: german, type: simple, measure: orders.orders, filter: "nowhere = 'DE'"}
  - {name: share, type: ratio, numerator: revenue, denominator: german}
"""
UNKNOWN_FIELD = """\
metrics:
  - {name: plain, type: simple, measure: orders.orders, colour: blue}
"""


@pytest.fixture
def late_problems(tmp_path: Path) -> Path:
    (tmp_path / "late" / "sources.yml").parent.mkdir()
    (tmp_path / "late" / "sources.yml").write_text(SOURCES, "utf-8")
    (tmp_path / "late" / "metrics.yml").write_text(METRICS, "utf-8")
    (tmp_path / "late" / "unknown.yml").write_text(UNKNOWN_FIELD, "utf-8")
    from benchmarks.generate_project import generate_project

    generate_project(tmp_path / "generated", metrics=120)
    return tmp_path / "late"


def projects(late: Path) -> list[Path]:
    cases = sorted(p / "project" for p in CORPUS.iterdir() if (p / "project").is_dir())
    return [ROOT / "definitions", *cases, late.parent / "generated", late]


def docs(project: ProjectFiles) -> list[YamlDocument]:
    found = {id(s.doc): s.doc for s in [*project.sources, *project.metrics]}
    return list(found.values())


def name_places(project: ProjectFiles) -> dict[str, tuple[str, int | None, int | None]]:
    """Every metric's place, computed as the build once did, from kept positions."""
    places: dict[str, tuple[str, int | None, int | None]] = {}
    for spot in project.metrics:
        kept = read_yaml(spot.doc.text, spot.doc.file)
        line, col = kept.position((*spot.path, "name")) or (None, None)
        places.setdefault(spot.spec.name, (spot.doc.file, line, col))
        for index, version in enumerate(spot.spec.versions):
            line, col = kept.position((*spot.path, "versions", index)) or (None, None)
            places.setdefault(f"{spot.spec.name}@{version.version}", (spot.doc.file, line, col))
    return places


def test_files_of_metrics_forget_their_positions_and_find_the_same(late_problems: Path) -> None:
    forgotten = 0
    for folder in projects(late_problems):
        project = read_project(folder)
        for doc in docs(project):
            forgotten += doc.tables is None
            kept = read_yaml(doc.text, doc.file)
            assert kept.tables is not None  # a document read keeps its positions
            assert doc.positions == kept.positions, doc.file
            assert doc.key_positions == kept.key_positions, doc.file
    assert forgotten > 10


def test_metric_places_are_the_ones_the_kept_positions_give(late_problems: Path) -> None:
    for folder in projects(late_problems):
        project = read_project(folder)
        graph, _ = build_graph(project)
        expected = name_places(project)
        for name in [*expected, "nowhere", "revenue@7"]:
            assert graph.places.get(name) == expected.get(name), (folder, name)
            assert graph.places.get(name, ("x", 0, 0)) == expected.get(name, ("x", 0, 0))
    graph, _ = build_graph(read_project(late_problems))
    metrics = str(late_problems / "metrics.yml")
    assert graph.places.get("revenue") == (metrics, 2, 11)
    assert graph.places.get("revenue@1") == (metrics, 9, 9)


def shown(found: list[Diagnostic]) -> list[tuple[object, ...]]:
    return [(d.file, d.line, d.column, d.level, d.code, d.message, d.hint) for d in found]


def answers(folders: list[Path]) -> list[tuple[object, ...]]:
    """What ``ml.check`` reports and what ``ml.load`` raises, for each folder."""
    found: list[tuple[object, ...]] = []
    for folder in folders:
        try:
            ml.load(folder)
            raised = ""
        except ml.DefinitionError as exc:
            raised = str(exc)
        found.append((shown(ml.check(folder)[1]), raised))
    return found


def test_diagnostics_are_the_ones_kept_positions_give(
    late_problems: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = projects(late_problems)
    forgetting = answers(folders)

    def keeping_positions(text: str, file: str, **options: Any) -> YamlDocument:
        return read_yaml(text, file, **{**options, "keep_positions": True})

    monkeypatch.setattr("metrics_layer.spec.project.read_yaml", keeping_positions)
    keeping = answers(folders)
    assert forgetting == keeping
    assert sum(len(diagnostics) for diagnostics, _ in keeping) > 30
    late = {(d[4], d[1], d[2]) for d in keeping[-1][0]}
    wanted = {
        ("equivalent-metrics", 10, 12),
        ("deprecation", 15, 18),
        ("not-computable", 23, 66),
        ("schema", 2, 57),
    }
    assert wanted <= late, late


def test_loading_the_shipped_definitions_reads_no_file_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a diagnostic, no position is asked of a file that forgot them: a file with
    sources or project settings keeps them (the graph reads where each source's fields and
    the calendar's columns are)."""
    read_again: list[str] = []
    reading = read_yaml

    def counted(text: str, file: str, **options: Any) -> YamlDocument:
        if not options:  # what YamlDocument reads again has no project budget
            read_again.append(file)
        return reading(text, file, **options)

    monkeypatch.setattr("metrics_layer.spec.yaml_source.read_yaml", counted)
    ml.load(ROOT / "definitions")
    assert read_again == []
    forgot = read_project(ROOT / "definitions").metrics[0].doc
    forgot.forget_positions()
    assert forgot.positions
    assert read_again == [forgot.file]


# Files of metrics with each problem the reading itself finds: read without recording
# positions, each is read again keeping them at its first problem.
WALK_PROBLEMS = [
    "metrics:\n  - name: a\n    name: b\n",
    "metrics:\n  - name: a\n    <<: {label: x}\n",
    "metrics:\n  - name: !custom a\n",
    "metrics:\n  - !!set {a: null}\n",
    "metrics:\n  - name: a\n    ? [x]\n    : 1\n",
    "metrics:\n  - name: a\n    null: 1\n",
    f"metrics:\n  - name: {'x' * 70_000}\n",
    f"metrics:\n  - {'k' * 70_000}: 1\n",
    f"metrics:\n  - version: {'9' * 5_000}\n",
    "metrics: &a\n  - *a\n",
    "metrics:\n  - name: a\n  - " + "[" * 80 + "]" * 80 + "\n",
    "metrics:\n" + "  - {a: [b, c]}\n" * 40_000,
]


@pytest.mark.parametrize("text", WALK_PROBLEMS, ids=lambda text: text[:40])
def test_a_reading_without_positions_reports_what_a_reading_with_them_does(text: str) -> None:
    unrecorded = read_yaml(text, "m.yml", keep_positions=False)
    recorded = read_yaml(text, "m.yml")
    assert recorded.diagnostics, "each text has a problem"
    assert unrecorded.tables is not None, "read again, keeping its positions"
    assert unrecorded.diagnostics == recorded.diagnostics
    assert (unrecorded.data, unrecorded.nodes) == (recorded.data, recorded.nodes)
    assert unrecorded.positions == recorded.positions
    assert unrecorded.key_positions == recorded.key_positions


def test_every_file_reads_the_same_with_or_without_recording_positions(
    late_problems: Path,
) -> None:
    files = [f for folder in projects(late_problems) for f in sorted(folder.rglob("*.y*ml"))]
    assert len(files) > 50
    unrecorded_files = 0
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        unrecorded = read_yaml(text, str(file), keep_positions=False)
        recorded = read_yaml(text, str(file))
        unrecorded_files += unrecorded.tables is None
        assert unrecorded.diagnostics == recorded.diagnostics, file
        assert (unrecorded.data, unrecorded.nodes) == (recorded.data, recorded.nodes), file
        assert unrecorded.positions == recorded.positions, file
        assert unrecorded.key_positions == recorded.key_positions, file
    assert unrecorded_files > 10
