"""Every shipped KPI against SQL written by hand, per engine: is the generated SQL as fast as a
careful analyst's, and does it give the same rows?

``python -m benchmarks.kpi_suite`` (``make bench-kpis``). The data and the loaders are those of
``benchmarks/engines_10m.py`` (the demo with ``--rows`` generated events). By default it runs
DuckDB at 10M events and PostgreSQL, SQLite and MariaDB at 1M; ClickHouse (embedded chdb, 1M)
and Spark (a local session, 1M, at least 8 warm runs instead of 5: its per-round ratios
spread widely, and with 3 to 6 each run listed a different set of queries above 1.3x; its run
takes about 10 minutes) run when named, ``--engines
clickhouse,spark`` (``make bench-kpis-more``). ``--rows`` sets one count for all, ``--runs``
one number of warm runs for all. Every KPI of ``definitions/`` is asked in three shapes
(``SHAPES`` in ``benchmarks/hand_sql.py``): by month over 12 whole months, by week over 13
whole weeks with ``user.country = 'DE'`` (a dimension joined from the user entity, which every
source reaches), and by day over one month, always with an explicit ``start`` and ``end``.
``weekly_cohort_retention`` is also grouped by its ``period`` (a cohort table is refused
without it). A shape the library refuses is listed with its message.

Both statements go through the layer's own read-only connection (``Connection.fetch``: the
same driver, session and fetch of every row): the generated one is ``query.statement()``, the
compiled SQL the library runs; the hand-written one is ``benchmarks/hand_sql.py`` checked by
the same statement guard. Per query: one cold run of each, whose rows must be equal (integers
and decimals exactly, floats within a relative 1e-9; dates compared as ISO days, since SQLite
returns text), then warm runs of each, alternating: at least ``--runs`` rounds (default 5,
8 on Spark), and more while the rounds so far took less than ``--budget`` seconds (default 3),
up to ``MOST_ROUNDS``, so that a query of a few milliseconds, whose single runs move by a third
from one to the next, is timed some 40 times and one of a second 5 times. The ratio is that of
the two medians; beside it the middle half (quartiles) of the per-round ratios (each round's
generated time over the hand query's time of the same round) shows how far one run of the
suite can move it. A difference is printed, listed in the report, and makes the run exit with
status 1. On PostgreSQL each generated query and its hand-written one are also run once under
``EXPLAIN (ANALYZE, FORMAT JSON)``: the report gives each one's worst ratio between a plan
node's estimated and actual rows, and for slow queries the node that takes the most time. For
slow queries on DuckDB the report names the operator with the most time (its profiler); on
ClickHouse and Spark, which give no time per plan step here (chdb keeps no query or processor
log), it compares the plan steps of both statements (``EXPLAIN PLAN``; Spark's executed
physical plan).

The report section is written per engine: each engine's subsection names the command, date,
revision and load average of the run that measured it, and a run replaces only the
subsections of the engines it ran (``merge``), so ClickHouse and Spark can be measured apart
from the four default engines without wiping their numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.engines_10m import BENCHES, EXTRA_BENCHES, POSTGRES, build, project
from benchmarks.hand_sql import DIALECTS, HAND_SQL, SHAPES, Shape
from benchmarks.timing import format_ms

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "results-kpis"
ENGINES = ("duckdb", "postgres", "sqlite", "mariadb", "clickhouse", "spark")
DEFAULT_ENGINES = ENGINES[:4]
DEFAULT_ROWS = {"duckdb": 10_000_000}
OTHER_ROWS = 1_000_000
DEFAULT_RUNS = {"spark": 8}
OTHER_RUNS = 5
QUICK_ROWS = 100_000
COHORT_PERIOD = "weekly_cohort_retention.period"
SLOW = 1.3
MOST_ROUNDS = 40


@dataclass(frozen=True)
class Rounds:
    """How many warm rounds (one run of each SQL) a query gets: at least ``least``, more while
    the rounds so far took under ``budget`` seconds, never more than ``most``."""

    least: int = 5
    budget: float = 3.0
    most: int = MOST_ROUNDS

    def more(self, done: int, seconds: float) -> bool:
        return done < self.least or (done < self.most and seconds < self.budget)


@dataclass
class Outcome:
    """One KPI in one shape on one engine."""

    kpi: str
    shape: str
    refused: str | None = None
    rows: int = 0
    generated_ms: list[float] = field(default_factory=list)
    hand_ms: list[float] = field(default_factory=list)
    difference: str | None = None
    timed_out: float | None = None  # the generated query's limit, when it ran out
    sql: tuple[str, str] = field(default=("", ""), repr=False)  # (generated, hand-written)
    estimate: tuple[float, str] | None = None  # worst estimated/actual rows ratio, the node
    hand_estimate: tuple[float, str] | None = None  # the same for the hand-written query
    dominant: str | None = None  # the plan step that takes the most time, or the plans' steps

    @property
    def ratio(self) -> float | None:
        if not self.generated_ms or not self.hand_ms:
            return None
        return statistics.median(self.generated_ms) / statistics.median(self.hand_ms)

    @property
    def spread(self) -> tuple[float, float] | None:
        """The first and third quartiles of the per-round ratios (generated over hand-written
        time of the same round)."""
        if len(self.generated_ms) < 2 or len(self.generated_ms) != len(self.hand_ms):
            return None
        per_round = [g / h for g, h in zip(self.generated_ms, self.hand_ms, strict=True) if h]
        if len(per_round) < 2:
            return None
        first, _, third = statistics.quantiles(per_round, n=4, method="inclusive")
        return first, third


@dataclass
class EngineRun:
    key: str
    name: str
    rows: int
    runs: Rounds = field(default_factory=Rounds)
    load_seconds: float | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    problem: str | None = None
    when: str = ""  # the run's start, UTC
    revision: str = ""  # the git revision at its start
    cpu: str = ""
    load: tuple[float, float] = (0.0, 0.0)  # the 1-minute load average at its start and end


def run_engine(key: str, rows: int, runs: Rounds, kpis: Sequence[str], limit: float) -> EngineRun:
    """Load ``key``'s copy of the data (once), then time every KPI in every shape."""
    import metrics_layer as ml
    from benchmarks.machine import describe

    bench = {**BENCHES, **EXTRA_BENCHES}[key]
    outcome = EngineRun(key, bench.name, rows, runs)
    outcome.when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = dict(describe(ROOT))
    outcome.revision, outcome.cpu = machine.get("git", "?"), machine.get("CPU", "?")
    load_at_start = os.getloadavg()[0]
    started = time.perf_counter()
    _, parquet, _ = build(rows)
    _say(f"{bench.name}, {rows:,} events: loading ...")
    url, target, outcome.load_seconds = bench.load(parquet, rows)
    layer = ml.load(project(), connection=url, target=target, timeout=600)
    try:
        for kpi in kpis:
            for shape in SHAPES:
                result = _measure(layer, kpi, shape, runs, limit)
                outcome.outcomes.append(result)
                _say(_progress(result))
    finally:
        layer.connection.close()
    outcome.seconds = time.perf_counter() - started
    outcome.load = (load_at_start, os.getloadavg()[0])
    if key == "duckdb":
        _duckdb_plans(outcome, url)
    if key == "clickhouse":
        _clickhouse_plans(outcome, url)
    if key == "spark":
        _spark_plans(outcome, target)
    return outcome


def _measure(layer: Any, kpi: str, shape: Shape, runs: Rounds, limit: float) -> Outcome:
    """Time one KPI in one shape. A generated query that runs out of ``limit`` seconds on its
    cold run is reported as such and not repeated (nor explained)."""
    from metrics_layer.errors import UserError
    from metrics_layer.safety.statement import verify

    result = Outcome(kpi, shape.key)
    by = [f"metric_time.{shape.grain}"]
    if kpi == "weekly_cohort_retention":
        by.append(COHORT_PERIOD)
    try:
        query = layer.query([kpi], by=by, where=shape.where, start=shape.start, end=shape.end)
        generated = query.statement()
    except UserError as exc:
        result.refused = " ".join(str(exc).split())
        return result
    dialect = layer.connection.dialect
    hand = verify(HAND_SQL[kpi](shape, DIALECTS[dialect]), dialect)
    fetch = layer.connection.fetch
    try:
        theirs = fetch(hand, timeout=600, max_rows=1_000_000)
    except UserError as exc:
        result.difference = "the hand-written query failed: " + " ".join(str(exc).split())[:300]
        _say(f"!!! {kpi}, {shape.key}: {result.difference}")
        return result
    try:
        ours = fetch(generated, timeout=limit, max_rows=1_000_000)
    except UserError as exc:
        if "timeout" in str(exc).lower() or "cancel" in str(exc).lower():
            result.timed_out = limit
            result.hand_ms.append(theirs.elapsed_ms)
            _say(f"!!! {kpi}, {shape.key}: the generated query ran out of {limit:.0f} s")
            return result
        result.difference = "failed: " + " ".join(str(exc).split())[:300]
        _say(f"!!! {kpi}, {shape.key}: {result.difference}")
        return result
    result.rows = len(ours.rows)
    result.sql = (generated.sql, hand.sql)
    result.difference = difference(ours.rows, theirs.rows)
    if result.difference:
        _say(f"!!! {kpi}, {shape.key}: generated and hand-written rows differ: {result.difference}")
    started = time.perf_counter()
    while runs.more(len(result.hand_ms), time.perf_counter() - started):
        result.generated_ms.append(fetch(generated, timeout=limit, max_rows=1_000_000).elapsed_ms)
        result.hand_ms.append(fetch(hand, timeout=600, max_rows=1_000_000).elapsed_ms)
    if dialect == "postgres":
        result.estimate, result.dominant = _postgres_plan(generated.sql, limit)
        result.hand_estimate, _ = _postgres_plan(hand.sql, 600)
    return result


# -- comparing rows -------------------------------------------------------------------------


def difference(generated: Sequence[Sequence[Any]], hand: Sequence[Sequence[Any]]) -> str | None:
    """What differs between two results (rows matched by their leading key columns), or None."""
    ours = _keyed(generated)
    theirs = _keyed(hand)
    if len(ours) != len(generated) or len(theirs) != len(hand):
        return "a result repeats a group"
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    if missing or extra:
        return (
            f"{len(generated)} rows against {len(hand)}: missing {missing[:3]}, extra {extra[:3]}"
        )
    for key in sorted(theirs):
        if not same(ours[key], theirs[key]):
            return f"at {key}: generated {ours[key]!r}, hand-written {theirs[key]!r}"
    return None


def _keyed(rows: Sequence[Sequence[Any]]) -> dict[tuple[Any, ...], Any]:
    return {tuple(_day(value) for value in row[:-1]): row[-1] for row in rows}


def _day(value: Any) -> Any:
    """A period as an ISO day: engines return dates, timestamps at midnight or text."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value[:10]
    return value


def same(a: Any, b: Any) -> bool:
    """Equal numbers: floats within a relative 1e-9, integers and decimals exactly.

    >>> same(1, Decimal("1.00")), same(0.1 + 0.2, 0.3), same(Decimal("1.01"), Decimal("1"))
    (True, True, False)
    """
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        return bool(a == b)
    return bool(a == b)


# -- plans ----------------------------------------------------------------------------------


def _postgres_plan(sql: str, limit: float) -> tuple[tuple[float, str], str]:
    """The worst estimated/actual row ratio of the plan's nodes (with the node), and the node
    with the most time of its own, from one EXPLAIN (ANALYZE, FORMAT JSON) in a read-only,
    UTC transaction like the layer's."""
    import psycopg

    with psycopg.connect(POSTGRES.replace("+psycopg", "", 1)) as connection:
        connection.execute("SET TRANSACTION READ ONLY")
        connection.execute("SET LOCAL TimeZone = 'UTC'")
        connection.execute(f"SET LOCAL statement_timeout = {int(limit * 1000)}")
        found = connection.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}").fetchone()
        connection.rollback()
    assert found is not None
    plan = found[0][0]["Plan"]
    nodes = list(_nodes(plan))
    worst = max(nodes, key=lambda node: _misestimate(node))
    own = max(nodes, key=_own_ms)
    total = plan.get("Actual Total Time", 0.0) or 1.0
    dominant = (
        f"{_label(own)}: {_own_ms(own):.0f} ms of its own, summed over loops and parallel "
        f"workers (whole query {total:.0f} ms)"
    )
    return (_misestimate(worst), _label(worst)), dominant


def _nodes(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _misestimate(node: dict[str, Any]) -> float:
    """max(estimated, actual) / min(estimated, actual) rows per loop, each at least 1."""
    estimated = max(1.0, float(node.get("Plan Rows", 0)))
    actual = max(1.0, float(node.get("Actual Rows", 0)))
    if not node.get("Actual Loops"):
        return 1.0  # never executed
    return max(estimated, actual) / min(estimated, actual)


def _own_ms(node: dict[str, Any]) -> float:
    """The node's time without its children's (loops included)."""
    mine = node.get("Actual Total Time", 0.0) * node.get("Actual Loops", 1)
    children = sum(
        child.get("Actual Total Time", 0.0) * child.get("Actual Loops", 1)
        for child in node.get("Plans", [])
        if child.get("Parent Relationship") != "InitPlan"
    )
    return max(0.0, mine - children)


def _label(node: dict[str, Any]) -> str:
    name = node.get("Node Type", "?")
    on = node.get("Relation Name") or node.get("CTE Name")
    rows = f"est {node.get('Plan Rows', 0):,} / actual {node.get('Actual Rows', 0):,.0f}"
    return f"{name}{' on ' + on if on else ''} ({rows})"


def _duckdb_plans(run: EngineRun, url: str) -> None:
    """For DuckDB's slow queries, the operator with the most time, from DuckDB's profiler
    (a read-only connection of its own, opened after the layer's is closed)."""
    import json

    import duckdb

    import metrics_layer as ml

    slow = [o for o in run.outcomes if o.ratio is not None and o.ratio > SLOW]
    if not slow:
        return
    layer = ml.load(project(), connection="duckdb:///:memory:")
    connection = duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
    try:
        connection.execute("SET enable_progress_bar = false")
        connection.execute("PRAGMA enable_profiling = 'json'")
        connection.execute("PRAGMA profiling_output = ''")
        for outcome in slow:
            shape = next(s for s in SHAPES if s.key == outcome.shape)
            by = [f"metric_time.{shape.grain}"]
            if outcome.kpi == "weekly_cohort_retention":
                by.append(COHORT_PERIOD)
            sql = (
                layer.query(
                    [outcome.kpi], by=by, where=shape.where, start=shape.start, end=shape.end
                )
                .statement("duckdb")
                .sql
            )
            profile = connection.execute(f"EXPLAIN ANALYZE {sql}").fetchall()[0][1]
            outcome.dominant = _duckdb_dominant(json.loads(profile))
    finally:
        connection.close()
        layer.connection.close()


def _duckdb_dominant(profile: dict[str, Any]) -> str:
    """The operator with the most time of its own in DuckDB's JSON profile (either layout:
    ``operator_*`` keys before DuckDB 1.1, plain ``timing``/``name`` after)."""
    operators = [node for root in profile.get("operator", [profile]) for node in _operators(root)]
    total = sum(_timing(node) for node in operators) or 1.0
    top = max(operators, key=_timing)
    name = str(top.get("name") or top.get("operator_name") or "?").strip()
    rows = top.get("intermediate_rows", top.get("operator_cardinality", "?"))
    estimated = (top.get("extra_info") or {}).get("Estimated Cardinality")
    guess = f", est {estimated}" if estimated else ""
    return f"{name} ({rows:,} rows out{guess}): {_timing(top) / total:.0%} of operator time"


def _timing(node: dict[str, Any]) -> float:
    return float(node.get("timing", node.get("operator_timing", 0.0)) or 0.0)


def _operators(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("children", []):
        yield from _operators(child)


def _clickhouse_plans(run: EngineRun, url: str) -> None:
    """For ClickHouse's slow queries, the steps of ``EXPLAIN PLAN`` whose counts differ between
    the generated and the hand-written statement (chdb keeps no query or processor log, so no
    time per step), on a connection of its own with the layer's session settings."""
    from metrics_layer.engine.adapters.clickhouse import ENGINE, SETTINGS, engine_path

    settings = "&".join(f"{name}={value}" for name, value in SETTINGS)

    def steps(sql: str) -> Counter[str]:
        with ENGINE.connection(engine_path(url), settings) as connection:
            plan = str(connection.query(f"EXPLAIN PLAN description = 0 {sql}", "TSV"))
        return Counter(filter(None, map(_clickhouse_step, plan.splitlines())))

    try:
        _compare_plans(run, steps)
    finally:
        ENGINE.close_unused()


def _spark_plans(run: EngineRun, target: str | None) -> None:
    """For Spark's slow queries, the operators of the executed physical plan (its final
    adaptive plan, after one more run of each) whose counts differ between the generated and
    the hand-written statement, in the layer's Spark session (whose catalog has the tables)."""
    from metrics_layer.engine.adapters.spark import session

    spark = session()

    def steps(sql: str) -> Counter[str]:
        frame = spark.sql(sql)
        frame.collect()
        plan = str(frame._jdf.queryExecution().executedPlan().toString())
        final = plan.split("== Initial Plan ==")[0]
        return Counter(filter(None, map(_spark_step, final.splitlines())))

    _compare_plans(run, steps)


# Plan steps that do no work of their own: projections, adapters and plan headers.
_NO_WORK = frozenset(
    {
        "Expression", "Project", "AdaptiveSparkPlan", "ColumnarToRow", "InputAdapter",
        "WholeStageCodegen", "AQEShuffleRead", "ShuffleQueryStage", "BroadcastQueryStage",
        "TableCacheQueryStage", "ResultQueryStage", "Subquery", "SubqueryBroadcast",
    }
)  # fmt: skip
_CLICKHOUSE_STEP = re.compile(r"^(?:[│ ]*[├└]──)?([A-Za-z]\w*)(?: \(|$)")
_SPARK_STEP = re.compile(r"^[ :|+-]*(?:\*\(\d+\) )?([A-Za-z]\w*)(?=[ (\[]|$)")


def _clickhouse_step(line: str) -> str:
    """The step a line of ClickHouse's ``EXPLAIN PLAN`` names, or "" (a detail line).

    >>> _clickhouse_step("   └──IEJoin"), _clickhouse_step("Sorting (for ORDER BY)")
    ('IEJoin', 'Sorting')
    >>> _clickhouse_step("   │  Type: left"), _clickhouse_step("Output: x")
    ('', '')
    """
    found = _CLICKHOUSE_STEP.match(line)
    return found.group(1) if found and found.group(1) not in _NO_WORK else ""


def _spark_step(line: str) -> str:
    """The operator a line of Spark's physical plan names, or "".

    >>> _spark_step("   +- *(4) HashAggregate(keys=[day])"), _spark_step(":  +- Exchange x")
    ('HashAggregate', 'Exchange')
    """
    found = _SPARK_STEP.match(line)
    return found.group(1) if found and found.group(1) not in _NO_WORK else ""


def _compare_plans(run: EngineRun, steps: Callable[[str], Counter[str]]) -> None:
    for outcome in run.outcomes:
        if outcome.ratio is None or outcome.ratio <= SLOW:
            continue
        generated, hand = (steps(sql) for sql in outcome.sql)
        outcome.dominant = _step_counts(generated, hand)


def _step_counts(generated: Counter[str], hand: Counter[str]) -> str:
    """The steps whose counts differ, most steps first, as generated/hand-written.

    >>> _step_counts(Counter(Join=3, Window=1, Sorting=2), Counter(Join=1, Sorting=2))
    'plan steps generated/hand-written: Join 3/1, Window 1/0 (the same: Sorting 2)'
    """
    names = sorted(set(generated) | set(hand), key=lambda n: (-max(generated[n], hand[n]), n))
    differ = [f"{n} {generated[n]}/{hand[n]}" for n in names if generated[n] != hand[n]]
    same_ = [f"{n} {generated[n]}" for n in names if generated[n] == hand[n]]
    kept = f" (the same: {', '.join(same_)})" if same_ else ""
    return f"plan steps generated/hand-written: {', '.join(differ) or 'none differ'}{kept}"


# -- report ---------------------------------------------------------------------------------


def render(runs_: Sequence[EngineRun], command: str) -> str:
    """The section: what is measured, the machine, then one subsection per engine run."""
    from benchmarks.machine import describe

    lines = [
        "## Every KPI against hand-written SQL, per engine",
        "",
        "Written by `python -m benchmarks.kpi_suite` (`make bench-kpis` for DuckDB, "
        "PostgreSQL, SQLite and MariaDB; `make bench-kpis-more` for ClickHouse and Spark), "
        "one subsection per engine, each replaced only by a run of that engine: its first "
        "line gives the command, date, CPU, revision and load average of the run that measured "
        "it. "
        "`benchmarks/kpi_suite.py` says how, `benchmarks/hand_sql.py` holds the hand-written "
        "queries (one text per KPI and shape, with each engine's date functions swapped in). "
        "Shapes: *month*: by month over 12 whole months (2025-07-01 to 2026-06-30); *week, "
        "DE*: by week (Monday) over 13 whole weeks (2026-03-30 to 2026-06-28) with "
        "`where=\"user.country = 'DE'\"`; *day*: by day over June 2026. Both statements run "
        "through the layer's read-only connection and fetch every row; the generated one is "
        "the compiled SQL (`query.statement()`). One cold run of each, whose rows must be "
        "equal, then warm runs of each, alternating (the rounds of each engine in its first "
        "line: at least that many, more while the rounds took under the budget, at most "
        f"{MOST_ROUNDS}): the medians below. Ratio = generated / hand-written (of the medians); "
        "*middle half*: the first and third quartiles of the per-round ratios, how far one run "
        f"of the suite can move the ratio. Targets: median <= 1.1x and worst <= {SLOW}x per "
        "engine.",
        "",
        f"Machine (of the latest run, `{command}`):",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in describe(ROOT)),
    ]
    for run in runs_:
        lines += ["", *_engine_section(run, command)]
    return "\n".join(lines) + "\n"


_HEADING = re.compile(r"^### (.+?), [\d,]+ events$", re.MULTILINE)


def merge(old: str | None, new: str) -> str:
    """``new``'s section with the engine subsections of ``old`` that ``new`` has not measured
    kept as they were, every subsection in the order of ``ENGINES``.

    >>> old = "## KPIs\\nold\\n\\n### DuckDB, 10 events\\n\\nd\\n\\n### SQLite, 1 events\\n\\ns1\\n"
    >>> print(merge(old, "## KPIs\\nnew\\n\\n### SQLite, 2 events\\n\\ns2\\n"))
    ## KPIs
    new
    <BLANKLINE>
    ### DuckDB, 10 events
    <BLANKLINE>
    d
    <BLANKLINE>
    ### SQLite, 2 events
    <BLANKLINE>
    s2
    <BLANKLINE>
    """
    header, blocks = _blocks(new)
    if old is not None:
        blocks = {**_blocks(old)[1], **blocks}
    order = [{**BENCHES, **EXTRA_BENCHES}[key].name for key in ENGINES]
    names = sorted(blocks, key=lambda n: order.index(n) if n in order else len(order))
    return "\n\n".join([header, *(blocks[name] for name in names)]) + "\n"


def _blocks(section: str) -> tuple[str, dict[str, str]]:
    """(the text before the first engine heading, {engine name: its subsection})."""
    found = list(_HEADING.finditer(section))
    if not found:
        return section.rstrip("\n"), {}
    header = section[: found[0].start()].rstrip("\n")
    ends = [match.start() for match in found[1:]] + [len(section)]
    blocks = {
        match.group(1): section[match.start() : end].rstrip("\n")
        for match, end in zip(found, ends, strict=True)
    }
    return header, blocks


def _engine_section(run: EngineRun, command: str) -> list[str]:
    load = "reused" if run.load_seconds is None else f"loaded in {run.load_seconds:.0f} s"
    lines = [
        f"### {run.name}, {run.rows:,} events",
        "",
        f"Run of {run.when} on {run.cpu} at git {run.revision}: `{command}`, at least "
        f"{run.runs.least} warm rounds (more under {run.runs.budget:g} s, at most "
        f"{run.runs.most}); load average (1 min) {run.load[0]:.2f} at the engine's start, "
        f"{run.load[1]:.2f} at its end.",
        "",
    ]
    if run.problem:
        return [*lines, f"Not measured: {run.problem}"]
    measured = [o for o in run.outcomes if o.ratio is not None]
    ratios = sorted(o.ratio for o in measured if o.ratio is not None)
    slow = [o for o in measured if o.ratio is not None and o.ratio > SLOW]
    stopped = [o for o in run.outcomes if o.timed_out is not None]
    differ = [o for o in run.outcomes if o.difference]
    if ratios:
        worst = max(measured, key=lambda o: o.ratio or 0.0)
        lines.append(
            f"**Median ratio {statistics.median(ratios):.2f}x, worst {ratios[-1]:.2f}x "
            f"(`{worst.kpi}`, {worst.shape}), {len(slow)} of {len(ratios)} above {SLOW}x; "
            f"{len(stopped)} generated queries stopped at the time limit (not in the median); "
            f"{len(differ)} with different rows; "
            f"{sum(1 for o in run.outcomes if o.refused)} shapes refused.** "
            f"Data {load}; the engine's run took {run.seconds:.0f} s."
        )
    lines += [
        "",
        "| KPI | shape | rows | generated | hand-written | ratio | middle half | rounds |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for o in run.outcomes:
        if o.refused:
            lines.append(f"| `{o.kpi}` | {o.shape} | refused | | | | | |")
            continue
        if o.timed_out is not None:
            lines.append(
                f"| `{o.kpi}` | {o.shape} | | > {o.timed_out:.0f} s (stopped) "
                f"| {format_ms(o.hand_ms[0])} | > {o.timed_out * 1000 / o.hand_ms[0]:,.0f}x | | |"
            )
            continue
        if o.ratio is None:
            lines.append(f"| `{o.kpi}` | {o.shape} | failed | | | | | |")
            continue
        flag = " (rows differ)" if o.difference else ""
        lines.append(
            f"| `{o.kpi}` | {o.shape} | {o.rows} | {format_ms(statistics.median(o.generated_ms))} "
            f"| {format_ms(statistics.median(o.hand_ms))} | {o.ratio:.2f}x{flag} "
            f"| {_middle(o)} | {len(o.hand_ms)} |"
        )
    refused = [o for o in run.outcomes if o.refused]
    if refused:
        lines += ["", "Refused by the library:", ""]
        lines += [f"- `{o.kpi}`, {o.shape}: {o.refused}" for o in refused]
    if differ:
        lines += ["", "**Rows differ** (generated against hand-written):", ""]
        lines += [f"- `{o.kpi}`, {o.shape}: {o.difference}" for o in differ]
    if stopped:
        lines += ["", "**Stopped at the time limit** (generated query, cold run):", ""]
        lines += [
            f"- `{o.kpi}`, {o.shape}: more than {o.timed_out:.0f} s against "
            f"{format_ms(o.hand_ms[0])} hand-written"
            for o in stopped
            if o.timed_out is not None
        ]
    if slow:
        how = (
            "the plan steps whose counts differ (this engine gives no time per step here)"
            if run.key in ("clickhouse", "spark")
            else "the plan step that takes the most time"
        )
        lines += ["", f"Above {SLOW}x, with {how}:", ""]
        lines += [
            f"- `{o.kpi}`, {o.shape}: {o.ratio:.2f}x (middle half {_middle(o)}); "
            f"{o.dominant or 'no plan read'}"
            for o in sorted(slow, key=lambda o: -(o.ratio or 0.0))
        ]
    estimated = [o for o in run.outcomes if o.estimate is not None]
    if estimated:
        lines += _estimates(estimated)
    return lines


def _middle(o: Outcome) -> str:
    spread = o.spread
    return "" if spread is None else f"{spread[0]:.2f}-{spread[1]:.2f}x"


def _estimates(outcomes: Sequence[Outcome]) -> list[str]:
    worst = sorted(outcomes, key=lambda o: -(o.estimate or (0.0, ""))[0])
    off = [o for o in worst if o.estimate and o.estimate[0] > 10]
    worse = [o for o in off if o.hand_estimate and o.estimate[0] > max(10, o.hand_estimate[0])]
    lines = [
        "",
        "PostgreSQL's row estimates, `EXPLAIN (ANALYZE, FORMAT JSON)` of each generated "
        "query and of the hand-written one: the worst ratio between a plan node's estimated "
        f"and actual rows (per loop, each at least 1). Target: within 10x; {len(off)} of "
        f"{len(outcomes)} generated queries are not, {len(worse)} of them further off than "
        "the hand-written query. The tables have the statistics on time buckets that "
        "`SemanticLayer.statistics` lists (created by the loader, as a database owner would; "
        "docs/queries.md, row estimates on PostgreSQL).",
        "",
        "| KPI | shape | worst estimate ratio | node | hand-written | node |",
        "|---|---|---:|---|---:|---|",
    ]
    for o in worst:
        assert o.estimate is not None
        hand = o.hand_estimate or (0.0, "")
        lines.append(
            f"| `{o.kpi}` | {o.shape} | {o.estimate[0]:,.0f}x | {o.estimate[1]} "
            f"| {hand[0]:,.0f}x | {hand[1]} |"
        )
    return lines


def _progress(o: Outcome) -> str:
    if o.refused:
        return f"  {o.kpi}, {o.shape}: refused ({o.refused[:80]})"
    if o.ratio is None:
        return f"  {o.kpi}, {o.shape}: not timed"
    mark = " DIFFERS" if o.difference else ""
    return (
        f"  {o.kpi}, {o.shape}: {format_ms(statistics.median(o.generated_ms))} against "
        f"{format_ms(statistics.median(o.hand_ms))}, {o.ratio:.2f}x{mark}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kpi_suite", description=__doc__)
    parser.add_argument(
        "--engines",
        default=",".join(DEFAULT_ENGINES),
        help=f"comma-separated, from {', '.join(ENGINES)} (default: {', '.join(DEFAULT_ENGINES)})",
    )
    parser.add_argument(
        "--rows", type=int, help="events on every engine (default: 10M on DuckDB, 1M elsewhere)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        help=f"least warm rounds of each query (default {OTHER_RUNS}, 8 on Spark)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=3.0,
        help=f"seconds of warm rounds after which no more are run (default 3; at most "
        f"{MOST_ROUNDS} rounds)",
    )
    parser.add_argument("--kpis", help="comma-separated KPI names (default: every shipped KPI)")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ROWS:,} events everywhere, 2 warm rounds"
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=60.0,
        help="seconds a generated query may run before it is reported as too slow (default 60)",
    )
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    keys = [key.strip() for key in args.engines.split(",") if key.strip()]
    unknown = [key for key in keys if key not in ENGINES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}; choose from {', '.join(ENGINES)}")
    kpis = _kpis(parser, args.kpis)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.budget < 0:
        parser.error("--budget must be 0 or more seconds")
    measured = []
    for key in keys:
        rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS.get(key, OTHER_ROWS))
        least = args.runs or DEFAULT_RUNS.get(key, OTHER_RUNS)
        runs = Rounds(2, 0.0) if args.quick else Rounds(least, args.budget, max(least, MOST_ROUNDS))
        measured.append(run_engine(key, rows, runs, kpis, args.limit))
    command = "python -m benchmarks.kpi_suite" + (
        " " + " ".join(argv if argv is not None else sys.argv[1:]) if (argv or sys.argv[1:]) else ""
    )
    body = render(measured, command.strip())
    print(body)
    if not args.no_write:
        from benchmarks.report import read_section, write_section

        write_section(REPORT, SECTION, merge(read_section(REPORT, SECTION), body))
    differ = [(r.name, o.kpi, o.shape) for r in measured for o in r.outcomes if o.difference]
    if differ:
        _say(f"!!! {len(differ)} queries gave different rows: {differ}")
        return 1
    return 0


def _kpis(parser: argparse.ArgumentParser, given: str | None) -> list[str]:
    import metrics_layer as ml

    shipped = [metric.name for metric in ml.load(ROOT / "definitions").metrics]
    missing = sorted(set(shipped) - set(HAND_SQL))
    if missing:
        parser.error(f"no hand-written SQL for {', '.join(missing)} (benchmarks/hand_sql.py)")
    if not given:
        return shipped
    chosen = [name.strip() for name in given.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in shipped]
    if unknown:
        parser.error(f"unknown KPI {unknown[0]!r}; choose from {', '.join(shipped)}")
    return chosen


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
