"""One loaded SemanticLayer per (engine, project), created on first use and kept for the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import require_server

import metrics_layer as ml

from .engines import Engine
from .fixture import Project, definitions, project_file

Layers = Callable[[Engine, Project], ml.SemanticLayer]


@pytest.fixture(scope="session")
def layers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layers]:
    """``layers(engine, project)``: the fixture project loaded on ``engine``, once."""
    loaded: dict[tuple[str, Project], ml.SemanticLayer] = {}
    urls: dict[str, str] = {}

    def get(engine: Engine, project: Project) -> ml.SemanticLayer:
        found = loaded.get((engine.name, project))
        if found is not None:
            return found
        if engine.name not in urls:
            url = engine.empty(tmp_path_factory.mktemp(f"differential_{engine.name}"))
            if engine.server is not None:
                require_server(engine.server, url)
            urls[engine.name] = url
        folder = tmp_path_factory.mktemp(f"{engine.name}_{project.id}")
        (folder / "defs").mkdir()
        (folder / "metrics_layer.yml").write_text(project_file(project), encoding="utf-8")
        (folder / "defs" / "fixture.yml").write_text(
            definitions(aware=engine.aware), encoding="utf-8"
        )
        layer = loaded[(engine.name, project)] = ml.load(folder, connection=urls[engine.name])
        return layer

    yield get
    for layer in loaded.values():
        layer.connection.close()
