"""Loading sets what it reads and builds apart from the garbage collector while the checks run
(``gc.freeze``), and gives it back at the end: nothing stays frozen after a load, and a
process that froze objects itself keeps them frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import metrics_layer as ml

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_nothing_is_left_frozen_after_a_load_or_a_failed_load(tmp_path: Path) -> None:
    enabled = gc.isenabled()
    layer = ml.load(DEFINITIONS)
    assert gc.get_freeze_count() == 0
    assert gc.isenabled() == enabled
    assert "signups" in {m.name for m in layer.metrics}
    (tmp_path / "a.yml").write_text("metrics:\n  - {name: a, type: simple}\n", "utf-8")
    with pytest.raises(ml.DefinitionError):
        ml.load(tmp_path)
    assert gc.get_freeze_count() == 0
    assert gc.isenabled() == enabled


@pytest.mark.usefixtures("unfrozen")
def test_a_freeze_made_before_loading_is_kept() -> None:
    gc.freeze()
    assert gc.get_freeze_count() > 0
    ml.load(DEFINITIONS)
    assert gc.get_freeze_count() > 0  # gc.unfreeze() would have made it 0


@pytest.mark.usefixtures("unfrozen")
def test_a_layer_dropped_after_loading_is_collected() -> None:
    layer = ml.load(DEFINITIONS)
    gc.collect()
    tracked = len(gc.get_objects())
    del layer
    gc.collect()
    # The graph's sqlglot trees are cycles (each node points at its parent): only the
    # collector frees them, and it could not if they had stayed frozen.
    assert len(gc.get_objects()) < tracked - 1000


@pytest.mark.usefixtures("unfrozen")
def test_a_dropped_layer_is_freed_without_the_collector() -> None:
    """No reference cycle holds a layer or its graph, not even garbage of the checks (a
    recursive inner function is a cycle): dropping the layer frees them at once, not at the
    collector's next full pass over every object of the project. The fingerprints the checks
    computed are kept by the graph without a reference back to it. The collector is off
    from the start, so that no collection during the load hides a cycle."""
    import weakref

    enabled = gc.isenabled()
    gc.disable()
    try:
        layer = ml.load(DEFINITIONS)
        assert layer.graph.fingerprints.metric("signups")  # computed, and kept by the graph
        dropped = weakref.ref(layer), weakref.ref(layer.graph)
        del layer
        assert [ref() for ref in dropped] == [None, None]
    finally:
        if enabled:
            gc.enable()
