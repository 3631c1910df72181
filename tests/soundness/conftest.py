"""Soundness fixtures: tiny hand-made databases with a project loaded on them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import duckdb
import pytest

import metrics_layer as ml

Rows = Sequence[tuple[object, ...]]


@pytest.fixture
def tiny_layer(
    tmp_path: Path, write_project: Callable[[dict[str, str]], Path]
) -> Iterator[Callable[[Mapping[str, tuple[str, Rows]], dict[str, str]], ml.SemanticLayer]]:
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
