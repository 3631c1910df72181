"""The service load test (``benchmarks/service_load.py``) runs end to end for a few seconds:
it starts the service, loads it, stops it, and reports every kind of request with zero errors
and numbers that can be true; its helpers give hand-computed values."""

from __future__ import annotations

import math

import pytest

from benchmarks.service_load import (
    CACHED,
    Run,
    fresh_query,
    render,
    run_load,
    summary_of,
)


def test_fresh_queries_are_all_different() -> None:
    asked = [fresh_query(n) for n in range(5000)]
    keys = {(q["metrics"][0], q["start"], q["end"]) for q in asked}
    assert len(keys) == 5000
    assert asked[0]["start"] == "2025-01-01"
    assert asked[0]["end"] == "2026-10-31"
    assert asked[601]["start"] == "2025-01-02"
    assert asked[601]["end"] == "2026-10-30"
    assert all(q["start"] <= q["end"] for q in asked)


def test_summary_uses_nearest_rank_percentiles() -> None:
    # 200 samples of 1..200 ms: p50 is the 100th, p95 the 190th, p99 the 198th.
    kind = summary_of([ms / 1000 for ms in range(200, 0, -1)], seconds=4.0)
    assert kind.count == 200
    assert kind.per_second == 50.0
    assert (kind.p50_ms, kind.p95_ms, kind.p99_ms) == pytest.approx((100.0, 190.0, 198.0))
    empty = summary_of([], seconds=1.0)
    assert empty.count == 0
    assert math.isnan(empty.p99_ms)


@pytest.fixture(scope="module")
def short_run() -> Run:
    return run_load(1, clients=4, seconds=3.0, redis_url=None, warm_seconds=1.0)


def test_short_run_has_no_errors_and_sane_numbers(short_run: Run) -> None:
    run = short_run
    assert run.errors == {}
    assert 2.9 <= run.seconds < 10
    for name in ("hit", "miss", "catalogue"):
        kind = run.kinds[name]
        assert kind.count > 0, name
        assert 0 < kind.p50_ms <= kind.p95_ms <= kind.p99_ms < 5000, name
        assert kind.per_second == pytest.approx(kind.count / run.seconds)
    # Each fixed query misses at most once (the warm-up asked most of them already); the
    # fixed set is 80 % of the requests, the uncached queries 10 %.
    assert run.kinds["hit"].count > run.kinds["miss"].count
    assert run.server_cpu_seconds > 0
    assert run.client_cpu_seconds > 0


def test_report_names_targets_and_every_kind(short_run: Run) -> None:
    text = render([short_run], 1, [("cores", "2")])
    assert "| cache hit p99 (mixed) |" in text
    assert "| errors (all runs) | 0 | 0 | **PASS** |" in text
    for name in ("hit", "miss", "catalogue"):
        assert f"| 1 | memory | mixed | 4 | 3 | {name} |" in text
    assert f"{len(CACHED)} fixed queries" in text
