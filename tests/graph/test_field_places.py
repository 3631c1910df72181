"""``Graph.field_places`` looks places up in the files when asked: it must answer what a table
of every metric field and measure name, made when building, answered (the first definition
of a name that has the field wins; a field the files do not have has no place)."""

from __future__ import annotations

from pathlib import Path

from metrics_layer.graph.build import build_graph
from metrics_layer.graph.graph import PLACED_FIELDS
from metrics_layer.spec.project import ProjectFiles, read_project

ROOT = Path(__file__).resolve().parents[2]

Key = tuple[str | int, ...]


def table(project: ProjectFiles) -> dict[Key, tuple[str, int, int]]:
    """Every place, computed as the build once did."""
    found: dict[Key, tuple[str, int, int]] = {}
    for spot in project.metrics:
        keys: list[tuple[Key, Key]] = [
            (("metric", spot.spec.name, item), (*spot.path, item)) for item in PLACED_FIELDS
        ]
        keys += [
            (("metric", spot.spec.name, "synonyms", i), (*spot.path, "synonyms", i))
            for i in range(len(spot.spec.synonyms))
        ]
        for key, path in keys:
            if path in spot.doc.positions and key not in found:
                found[key] = (spot.doc.file, *spot.doc.positions[path])
    for located in project.sources:
        for i, measure in enumerate(located.spec.measures):
            key = ("measure", f"{located.spec.name}.{measure.name}")
            path = (*located.path, "measures", i, "name")
            if path in located.doc.positions and key not in found:
                found[key] = (located.doc.file, *located.doc.positions[path])
    return found


def asked(project: ProjectFiles) -> set[Key]:
    """Keys with a place, and keys without one: fields not written or not placed, synonyms
    past the last, unknown names, other shapes."""
    keys: set[Key] = {("metric", "nowhere", "label"), ("measure", "x.y"), ("source", "x")}
    for spot in project.metrics:
        name = spot.spec.name
        keys.update(("metric", name, item) for item in (*PLACED_FIELDS, "tags", "type", "name"))
        keys.update(("metric", name, "synonyms", i) for i in range(-1, 4))
        keys.update({("metric", name), ("metric", name, "label", 0)})
    for located in project.sources:
        keys.update(("measure", f"{located.spec.name}.{m.name}") for m in located.spec.measures)
    return keys


def same_answers(folder: Path) -> int:
    project = read_project(folder)
    graph, _ = build_graph(project)
    expected = table(project)
    for key in asked(project):
        assert graph.field_places.get(key) == expected.get(key), key
        assert graph.field_places.get(key, (None, None, None)) == expected.get(
            key, (None, None, None)
        )
    return len(expected)


def test_the_shipped_definitions() -> None:
    assert same_answers(ROOT / "definitions") > 100


def test_a_name_defined_twice_takes_each_field_from_its_first_definition(tmp_path: Path) -> None:
    sources = """\
sources:
  - name: orders
    table: shop.orders
    measures:
      - {name: revenue, agg: sum, expr: amount}
  - name: orders
    table: shop.orders_again
    measures:
      - {name: revenue, agg: sum, expr: amount}
      - {name: refunds, agg: sum, expr: refunded}
"""
    first = """\
metrics:
  - {name: revenue, type: simple, measure: orders.revenue, synonyms: [sales]}
"""
    second = """\
metrics:
  - name: revenue
    type: simple
    measure: orders.revenue
    label: Revenue
    synonyms: [sales, turnover]
    filter: "amount > 0"
"""
    (tmp_path / "sources.yml").write_text(sources, "utf-8")
    (tmp_path / "a.yml").write_text(first, "utf-8")
    (tmp_path / "b.yml").write_text(second, "utf-8")
    assert same_answers(tmp_path) == 7
    graph, _ = build_graph(read_project(tmp_path))
    places = graph.field_places
    a, b = str(tmp_path / "a.yml"), str(tmp_path / "b.yml")
    assert places.get(("metric", "revenue", "measure")) == (a, 2, 44)
    assert places.get(("metric", "revenue", "label")) == (b, 5, 12)  # a.yml has none
    assert places.get(("metric", "revenue", "synonyms", 0)) == (a, 2, 71)
    assert places.get(("metric", "revenue", "synonyms", 1)) == (b, 6, 23)
    assert places.get(("measure", "orders.revenue")) == (str(tmp_path / "sources.yml"), 5, 16)
    assert places.get(("measure", "orders.refunds")) == (str(tmp_path / "sources.yml"), 10, 16)
