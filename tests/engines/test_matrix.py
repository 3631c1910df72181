"""The engine matrix (``matrix.py``): each shipped KPI in each shape equals DuckDB on each engine.

The demo data is loaded into each engine with ``load_demo`` (the code behind ``metrics-layer
demo --connection URL``): PostgreSQL ``timestamptz``, MariaDB ``DATETIME``, SQLite text, money
as ``DECIMAL(10, 2)`` where the engine has it. Equal means the same rows in the same order, as
the same Python types: counts and decimals exactly, floats within 1e-9 relative (a sum of
floats in another order).
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFINITIONS, FULL, ROOT, require_server, require_service

import metrics_layer as ml
from engines.matrix import (
    ENGINES,
    KINDS,
    KPIS,
    SHAPES,
    Engine,
    Shape,
    asked,
    gap,
    runs_on,
    tier,
)
from metrics_layer.demo.load import load_demo

DOCS = ROOT / "docs" / "engines.md"
BY_KEY = {engine.key: engine for engine in ENGINES}


@cache
def _compiled() -> ml.SemanticLayer:
    return ml.load(DEFINITIONS)


@cache
def refusal(kpi: str, shape: Shape) -> str | None:
    """Why the library refuses ``kpi`` in ``shape`` on every engine (a compile-time error)."""
    try:
        _compiled().query([kpi], **shape.query(kpi)).sql()
    except ml.MetricsLayerError as exc:
        return str(exc)
    return None


@cache
def default_tier(engine: Engine) -> frozenset[tuple[str, str]]:
    """The (KPI, shape key) pairs the default suite runs on ``engine`` (``matrix.tier``)."""
    return tier(engine, refusal)


def _cases() -> Iterator[Any]:
    for engine in ENGINES:
        for kpi in KPIS:
            for shape in SHAPES:
                if not runs_on(engine, shape, kpi) or refusal(kpi, shape):
                    continue
                if not FULL and (kpi, shape.key) not in default_tier(engine):
                    continue
                reason = gap(engine.key, kpi, shape.key)
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                yield pytest.param(engine.key, kpi, shape, marks=marks, id=_id(engine, kpi, shape))


def _id(engine: Engine, kpi: str, shape: Shape) -> str:
    return f"{engine.key}-{kpi}-{re.sub(r'[^a-z0-9]+', '_', shape.key)}"


class Layers:
    """The demo layer of each engine, loaded on first use (once per test process)."""

    def __init__(self, folder: Path, request: pytest.FixtureRequest) -> None:
        self.folder = folder
        self.request = request
        self.loaded: dict[str, ml.SemanticLayer] = {"duckdb": ml.load(DEFINITIONS)}
        self.expected: dict[tuple[str, str], list[tuple[Any, ...]]] = {}

    def layer(self, key: str) -> ml.SemanticLayer:
        if key not in self.loaded:
            engine = BY_KEY[key]
            if engine.fixture is not None:
                url, loaded = self.request.getfixturevalue(engine.fixture)
            else:
                url = engine.url(self.folder)
                if engine.server:
                    require_server(engine.name, url)
                try:
                    with (self.folder / f"{key}.lock").open("w") as lock:
                        fcntl.flock(lock, fcntl.LOCK_EX)  # one loader per file at a time
                        loaded = load_demo(url)
                except ml.EngineError as exc:
                    require_service(engine.name, False, str(exc))
                    raise
            self.loaded[key] = ml.load(DEFINITIONS, connection=url, target=loaded.target)
        return self.loaded[key]

    def duckdb(self, kpi: str, shape: Shape) -> list[tuple[Any, ...]]:
        if (kpi, shape.key) not in self.expected:
            rows = self.loaded["duckdb"].query([kpi], **shape.query(kpi)).run().rows
            self.expected[kpi, shape.key] = list(rows)
        return self.expected[kpi, shape.key]

    def close(self) -> None:
        for layer in self.loaded.values():
            layer.connection.close()


@pytest.fixture(scope="session")
def layers(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, request: pytest.FixtureRequest
) -> Iterator[Layers]:
    """The layers; test processes (pytest-xdist workers) share one folder for SQLite's file."""
    base = tmp_path_factory.getbasetemp()
    folder = (base if worker_id == "master" else base.parent) / "matrix"
    folder.mkdir(exist_ok=True)
    made = Layers(folder, request)
    yield made
    made.close()


def same(a: Any, b: Any) -> bool:
    """Equal values of the same Python type (floats within 1e-9 relative)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return bool(a == b)


@pytest.mark.parametrize(("engine", "kpi", "shape"), list(_cases()))
def test_kpi_equals_duckdb(layers: Layers, engine: str, kpi: str, shape: Shape) -> None:
    expected = layers.duckdb(kpi, shape)
    got = list(layers.layer(engine).query([kpi], **shape.query(kpi)).run().rows)
    assert expected, f"{kpi} in shape {shape.key!r} has no rows on the demo data"
    assert len(got) == len(expected), (len(got), len(expected))
    for want, have in zip(expected, got, strict=True):
        assert all(same(x, y) for x, y in zip(want, have, strict=True)), (want, have)


REFUSED = [
    pytest.param(kpi, shape, id=f"{kpi}-{re.sub(r'[^a-z0-9]+', '_', shape.key)}")
    for kpi in KPIS
    for shape in SHAPES
    if asked(kpi, shape) and refusal(kpi, shape)
]


@pytest.mark.parametrize(("kpi", "shape"), REFUSED)
def test_refused_shapes_are_refused_for_every_engine(kpi: str, shape: Shape) -> None:
    """A shape the library refuses for a KPI is refused in each engine's dialect alike."""
    for dialect in ("duckdb", "postgres", "mysql", "sqlite", "clickhouse"):
        with pytest.raises(ml.QueryError) as caught:
            _compiled().query([kpi], **shape.query(kpi)).sql(dialect)
        assert str(caught.value) == refusal(kpi, shape)


START, END = "<!-- matrix:start -->", "<!-- matrix:end -->"


def support_table() -> str:
    """The docs' support table, written from the matrix definition."""
    engines = list(ENGINES)
    head = "| KPI | " + " | ".join(engine.name for engine in engines) + " |"
    lines = [head, "|---|" + "---|" * len(engines)]
    footnotes: dict[str, int] = {}
    for kpi in KPIS:
        cells = []
        for engine in engines:
            shapes = [s for s in SHAPES if runs_on(engine, s, kpi) and not refusal(kpi, s)]
            gaps = {g for s in shapes if (g := gap(engine.key, kpi, s.key))}
            equal = sum(1 for s in shapes if not gap(engine.key, kpi, s.key))
            default = sum(1 for s in shapes if (kpi, s.key) in default_tier(engine))
            marks = "".join(f" [{footnotes.setdefault(g, len(footnotes) + 1)}]" for g in gaps)
            cells.append(f"{equal}/{len(shapes)} ({default}){marks}")
        lines.append(f"| `{kpi}` | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Each cell: shapes in which the KPI equals DuckDB / shapes run by `make matrix` "
        "(in parentheses: those of the default suite, `pytest`). Shapes: "
        + "; ".join(f"{shape.key}" for shape in SHAPES)
        + "."
    )
    subsets = [engine for engine in engines if engine.shapes is not None]
    for engine in subsets:
        lines.append("")
        lines.append(
            f"{engine.name} runs a subset: {', '.join(engine.shapes or ())} ({engine.notes})."
        )
    lines.append("")
    lines.append(
        "The default suite (`pytest`, `make test`) runs a tier of the matrix; `make matrix` and "
        "`make nightly` run all of it (`ML_TESTS=full`). On each engine the tier asks every KPI "
        "in its all-KPI shapes, and in each other shape a few of the KPIs of "
        + ", ".join(f"`{kpi}`" for kpi in KINDS)
        + " (one of each kind: count, per-day rollup, snapshot, sum, period over period, ratio, "
        "a measure's own time, rolling, cumulative) and one conversion, retention or churn KPI, "
        "those that have met the fewest shapes first (`tier` in tests/engines/matrix.py):"
    )
    lines.append("")
    for engine in engines:
        full = sum(
            1 for kpi in KPIS for s in SHAPES if runs_on(engine, s, kpi) and not refusal(kpi, s)
        )
        lines.append(
            f"- {engine.name}: every KPI in {', '.join(engine.tier_every_kpi)}; "
            f"{engine.tier_per_shape} of those kinds in each other shape; "
            f"{len(default_tier(engine))} of {full} cases."
        )
    refused = sorted(
        {
            (kpi, shape.key)
            for kpi in KPIS
            for shape in SHAPES
            if asked(kpi, shape) and refusal(kpi, shape)
        }
    )
    if refused:
        lines.append("")
        lines.append("Refused for every engine alike (the library's own rule, at compile time):")
        lines.append("")
        for kpi, key in refused:
            shape = next(s for s in SHAPES if s.key == key)
            lines.append(f"- `{kpi}`, {key}: {refusal(kpi, shape)}")
    if footnotes:
        lines.append("")
        for reason, number in footnotes.items():
            lines.append(f"[{number}] strict xfail: {reason}")
    return "\n".join(lines)


def test_support_table_in_the_docs_is_current(update_golden: bool) -> None:
    text = DOCS.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    current = f"{before}{START}\n{support_table()}\n{END}{after}"
    if update_golden:
        DOCS.write_text(current, encoding="utf-8")
        return
    assert text == current, (
        "docs/engines.md's support table is out of date: run "
        "pytest tests/engines/test_matrix.py --update-golden"
    )
