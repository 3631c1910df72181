"""The in-process result cache and single-flight: hits, expiry, the byte bound, one compute
for concurrent callers, errors shared and never kept, and bad arguments."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from metrics_layer.server.cache import MemoryCache, SingleFlight, open_cache


class Clock:
    """A timer the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(value: bytes) -> tuple[Callable[[], bytes], list[int]]:
    """A compute returning ``value`` and the list it appends to on each call."""
    calls: list[int] = []

    def compute() -> bytes:
        calls.append(1)
        return value

    return compute, calls


def test_miss_then_hit() -> None:
    cache = MemoryCache(1024)
    compute, calls = counting(b"rows")
    assert cache.get_or_compute("a", compute, 60) == b"rows"
    assert cache.get_or_compute("a", compute, 60) == b"rows"
    assert len(calls) == 1
    other, other_calls = counting(b"other")
    assert cache.get_or_compute("b", other, 60) == b"other"
    assert len(other_calls) == 1


def test_a_value_expires_after_its_ttl_and_a_hit_does_not_extend_it() -> None:
    clock = Clock()
    cache = MemoryCache(1024, timer=clock)
    compute, calls = counting(b"rows")
    cache.get_or_compute("a", compute, 10)
    clock.now += 9.5
    cache.get_or_compute("a", compute, 10)  # a hit, 9.5 s after the compute
    assert len(calls) == 1
    clock.now += 0.6  # 10.1 s after the compute
    cache.get_or_compute("a", compute, 10)
    assert len(calls) == 2


def test_ttl_zero_keeps_nothing() -> None:
    cache = MemoryCache(1024)
    compute, calls = counting(b"rows")
    cache.get_or_compute("a", compute, 0)
    cache.get_or_compute("a", compute, 0)
    assert len(calls) == 2


def test_the_byte_bound_drops_the_least_recently_used() -> None:
    # Each entry costs its bytes plus 200: three of 300 bytes are 1,500 bytes, two fit in 1,200.
    cache = MemoryCache(1200)
    for key in ("a", "b"):
        cache.get_or_compute(key, lambda: b"x" * 300, 60)
    cache.get_or_compute("a", lambda: b"never", 60)  # a is now the most recently used
    cache.get_or_compute("c", lambda: b"x" * 300, 60)  # b goes
    assert cache.get_or_compute("a", lambda: b"recomputed", 60) == b"x" * 300
    assert cache.get_or_compute("b", lambda: b"recomputed", 60) == b"recomputed"
    # Keeping b's 10 bytes (210) drops c, now the least recently used: a 500 + b 210.
    assert "2 results, 710 of 1,200 bytes" in cache.status().where


def test_a_value_larger_than_the_cache_is_returned_not_kept() -> None:
    cache = MemoryCache(1000)
    compute, calls = counting(b"x" * 1000)
    assert cache.get_or_compute("a", compute, 60) == b"x" * 1000
    cache.get_or_compute("a", compute, 60)
    assert len(calls) == 2


def test_concurrent_identical_keys_compute_once() -> None:
    cache = MemoryCache(1024)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> bytes:
        calls.append(1)
        started.set()
        release.wait(5)
        return b"rows"

    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("a", slow, 60)))
        for _ in range(8)
    ]
    threads[0].start()
    assert started.wait(5)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.05)  # the others are waiting on the first one's flight
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == [b"rows"] * 8
    assert len(calls) == 1


def test_an_error_reaches_every_waiter_and_is_not_kept() -> None:
    cache = MemoryCache(1024)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def failing() -> bytes:
        calls.append(1)
        started.set()
        release.wait(5)
        raise RuntimeError("the database timed out")

    errors: list[BaseException] = []

    def ask() -> None:
        try:
            cache.get_or_compute("a", failing, 60)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    threads[0].start()
    assert started.wait(5)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(5)
    assert [str(e) for e in errors] == ["the database timed out"] * 4
    assert len(calls) == 1
    compute, again = counting(b"rows")
    assert cache.get_or_compute("a", compute, 60) == b"rows"  # the error was not kept
    assert len(again) == 1


def test_a_waiter_computes_alone_after_its_wait() -> None:
    flights = SingleFlight()
    started, release = threading.Event(), threading.Event()

    def slow() -> bytes:
        started.set()
        release.wait(5)
        return b"lead"

    leader = threading.Thread(target=lambda: flights.run("a", slow, slow, wait_seconds=5))
    leader.start()
    assert started.wait(5)
    began = time.monotonic()
    value = flights.run("a", slow, lambda: b"alone", wait_seconds=0.1)
    assert value == b"alone"
    assert 0.1 <= time.monotonic() - began < 2
    release.set()
    leader.join(5)
    assert len(flights) == 0


def test_a_compute_raising_timeout_error_is_not_taken_for_the_wait() -> None:
    flights = SingleFlight()
    started, release = threading.Event(), threading.Event()

    def timing_out() -> bytes:
        started.set()
        release.wait(5)
        raise TimeoutError("the query ran longer than 1 s")

    def lead() -> None:
        with pytest.raises(TimeoutError):
            flights.run("a", timing_out, timing_out, wait_seconds=5)

    leader = threading.Thread(target=lead)
    leader.start()
    assert started.wait(5)
    threading.Timer(0.05, release.set).start()
    with pytest.raises(TimeoutError, match="longer than 1 s"):
        flights.run("a", timing_out, lambda: b"alone", wait_seconds=5)
    leader.join(5)


def test_open_cache_without_a_url_is_in_process() -> None:
    for url in (None, ""):
        cache = open_cache(url, namespace="p", max_bytes=10)
        assert isinstance(cache, MemoryCache)
        assert cache.max_bytes == 10
        assert cache.healthy()
        assert cache.status().backend == "memory"


def test_clear_forgets_every_result() -> None:
    cache = MemoryCache(1024)
    cache.get_or_compute("a", lambda: b"old", 60)
    cache.clear()
    assert cache.get_or_compute("a", lambda: b"new", 60) == b"new"


@pytest.mark.parametrize(
    ("key", "ttl", "message"),
    [
        ("", 1, "key: expected text of 1 to 1024"),
        ("k" * 1025, 1, "key: expected text"),
        (b"k", 1, "not bytes of length -"),
        (None, 1, "key: expected text"),
        ("k", -1, "ttl: expected a finite number"),
        ("k", float("inf"), "ttl: expected a finite number"),
        ("k", float("nan"), "ttl: expected a finite number"),
        ("k", True, "ttl: expected a finite number"),
        ("k", "60", "ttl: expected a finite number"),
    ],
)
def test_bad_keys_and_ttls_are_refused(key: object, ttl: object, message: str) -> None:
    cache = MemoryCache(1024)
    with pytest.raises(ValueError, match=message):
        cache.get_or_compute(key, lambda: b"x", ttl)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["text", bytearray(b"x"), memoryview(b"x"), None, 5])
def test_a_compute_must_return_bytes(value: object) -> None:
    cache = MemoryCache(1024)
    with pytest.raises(TypeError, match=f"compute returned {type(value).__name__}, not bytes"):
        cache.get_or_compute("a", lambda: value, 60)  # type: ignore[arg-type, return-value]
    assert cache.get_or_compute("a", lambda: b"ok", 60) == b"ok"


@pytest.mark.parametrize("max_bytes", [-1, 1.5, True, "10", None])
def test_a_bad_bound_is_refused(max_bytes: object) -> None:
    with pytest.raises(ValueError, match="max_bytes: expected a whole number"):
        MemoryCache(max_bytes)  # type: ignore[arg-type]
