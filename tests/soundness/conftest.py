"""Soundness fixtures: tiny hand-made databases with a project loaded on them.

``literal_layer`` loads definitions whose sources are literal rows (tests/soundness/literal.py)
on any engine; ``tiny_layer`` writes real tables into a DuckDB file.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import duckdb
import pytest

import metrics_layer as ml
from soundness.literal import LiteralLayer, Rows, TinyLayer, engine_url


@pytest.fixture
def literal_layer(tmp_path: Path) -> Iterator[LiteralLayer]:
    """``literal_layer(definitions, engine, **project settings)``: a project of ``definitions``
    (YAML of sources and metrics) on an empty database of ``engine``; each call writes its own
    project folder, and every layer is closed after the test."""
    layers: list[ml.SemanticLayer] = []
    folders = itertools.count()

    def load(definitions: str, engine: str, **settings: str) -> ml.SemanticLayer:
        settings = {"name": "soundness", "paths": "[defs]", **settings}
        folder = tmp_path / f"project_{next(folders)}"
        (folder / "defs").mkdir(parents=True)
        lines = "".join(f"  {key}: {value}\n" for key, value in settings.items())
        (folder / "metrics_layer.yml").write_text(f"project:\n{lines}", encoding="utf-8")
        text = textwrap.dedent(definitions).lstrip("\n")
        (folder / "defs" / "definitions.yml").write_text(text, encoding="utf-8")
        layer = ml.load(folder, connection=engine_url(engine, tmp_path))
        layers.append(layer)
        return layer

    yield load
    for layer in layers:
        layer.connection.close()


@pytest.fixture
def tiny_layer(
    tmp_path: Path, write_project: Callable[[dict[str, str]], Path]
) -> Iterator[TinyLayer]:
    """Build a DuckDB file from ``{table: (column definitions, rows)}`` and load a project of
    ``{file: YAML}`` on it."""
    layers: list[ml.SemanticLayer] = []

    def build(tables: Mapping[str, tuple[str, Rows]], files: dict[str, str]) -> ml.SemanticLayer:
        database = tmp_path / "tiny.duckdb"
        with duckdb.connect(str(database)) as connection:
            for name, (columns, rows) in tables.items():
                connection.execute(f"CREATE TABLE {name} ({columns})")
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    connection.executemany(f"INSERT INTO {name} VALUES ({marks})", list(rows))
        layer = ml.load(write_project(files), connection=f"duckdb:///{database}")
        layers.append(layer)
        return layer

    yield build
    for layer in layers:
        layer.connection.close()
