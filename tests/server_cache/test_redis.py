"""The Redis result cache against the real Redis: hits, expiry, one compute per key across
threads and processes, a holder that dies, errors, a Redis that is down, and namespaces."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from metrics_layer.errors import EngineError
from metrics_layer.server.cache import CacheStatus, open_cache
from metrics_layer.server.redis_cache import RedisCache

ROOT = Path(__file__).resolve().parents[2]


def counting(value: bytes, seconds: float = 0.0) -> tuple[Callable[[], bytes], list[int]]:
    calls: list[int] = []

    def compute() -> bytes:
        calls.append(1)
        time.sleep(seconds)
        return value

    return compute, calls


def test_miss_then_hit_stores_the_bytes_with_the_ttl(
    redis_url: str, namespace: str, client: redis.Redis
) -> None:
    cache = open_cache(redis_url, namespace=namespace)
    assert isinstance(cache, RedisCache)
    compute, calls = counting(b"\x00rows\xff")
    assert cache.get_or_compute("a", compute, 60) == b"\x00rows\xff"
    assert cache.get_or_compute("a", compute, 60) == b"\x00rows\xff"
    assert len(calls) == 1
    stored = f"metrics_layer:{namespace}:result:a"
    assert client.get(stored) == b"\x00rows\xff"
    assert 59_000 < client.pttl(stored) <= 60_000
    assert not client.exists(f"metrics_layer:{namespace}:lock:a")  # let go after storing


def test_a_value_expires_after_its_ttl(redis_url: str, namespace: str) -> None:
    cache = RedisCache(redis_url, namespace=namespace)
    compute, calls = counting(b"rows")
    cache.get_or_compute("a", compute, 0.5)
    cache.get_or_compute("a", compute, 0.5)
    assert len(calls) == 1
    time.sleep(0.6)
    cache.get_or_compute("a", compute, 0.5)
    assert len(calls) == 2


def test_ttl_zero_stores_nothing(redis_url: str, namespace: str, client: redis.Redis) -> None:
    cache = RedisCache(redis_url, namespace=namespace)
    compute, calls = counting(b"rows")
    cache.get_or_compute("a", compute, 0)
    cache.get_or_compute("a", compute, 0)
    assert len(calls) == 2
    assert list(client.scan_iter(match=f"metrics_layer:{namespace}:*")) == []


def test_threads_asking_at_once_compute_once(redis_url: str, namespace: str) -> None:
    cache = RedisCache(redis_url, namespace=namespace)
    compute, calls = counting(b"rows", 0.2)
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("a", compute, 60)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == [b"rows"] * 8
    assert len(calls) == 1


def test_two_workers_of_one_process_share_through_the_lock(redis_url: str, namespace: str) -> None:
    # Two caches do not share a SingleFlight: only the Redis lock keeps the second from
    # computing. The compute lasts 1.2 s, over two lock periods: renewal keeps the lock.
    first = RedisCache(redis_url, namespace=namespace, lock_seconds=0.5)
    second = RedisCache(redis_url, namespace=namespace, lock_seconds=0.5)
    compute, calls = counting(b"first's", 1.2)
    other, other_calls = counting(b"second's")
    holder = threading.Thread(target=lambda: first.get_or_compute("a", compute, 60))
    holder.start()
    time.sleep(0.1)
    assert second.get_or_compute("a", other, 60) == b"first's"
    holder.join(5)
    assert (len(calls), len(other_calls)) == (1, 0)


def start_workers(
    redis_url: str, namespace: str, key: str, mode: str, count: int, lock_seconds: float
) -> list[subprocess.Popen[str]]:
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.server_cache.worker",
                redis_url,
                namespace,
                key,
                mode,
                str(lock_seconds),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    return workers


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_processes_asking_at_once_compute_once(
    redis_url: str, namespace: str, client: redis.Redis
) -> None:
    control = f"test:{namespace}:"
    workers = start_workers(redis_url, namespace, "a", "count", 3, 10.0)
    try:
        wait_for(lambda: int(client.get(control + "ready") or 0) == 3)
        client.set(control + "go", 1)
        outputs = [worker.communicate(timeout=10) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs
    values = {out.strip() for out, _ in outputs}
    assert len(values) == 1
    assert values.pop().startswith("value from ")
    assert int(client.get(control + "computes") or 0) == 1


def test_a_holder_that_dies_lets_one_waiter_compute_after_the_lock_expires(
    redis_url: str, namespace: str, client: redis.Redis
) -> None:
    control = f"test:{namespace}:"
    lock = f"metrics_layer:{namespace}:lock:a"
    (worker,) = start_workers(redis_url, namespace, "a", "hold", 1, 1.0)
    try:
        wait_for(lambda: int(client.get(control + "ready") or 0) == 1)
        client.set(control + "go", 1)
        wait_for(lambda: client.exists(control + "holding") == 1)
        time.sleep(1.2)  # longer than the lock's 1 s: only renewal keeps it
        assert 0 < client.pttl(lock) <= 1000
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(5)
        killed = time.monotonic()
        cache = RedisCache(redis_url, namespace=namespace, lock_seconds=1.0)
        lock_seen: list[int] = []

        def compute() -> bytes:
            lock_seen.append(client.exists(lock))
            return b"computed after the holder died"

        value = cache.get_or_compute("a", compute, 60)
        waited = time.monotonic() - killed
    finally:
        worker.kill()
    assert value == b"computed after the holder died"
    # The lock held this waiter back until it expired, and was then taken by it (exists: 1).
    assert lock_seen == [1]
    assert 0.3 < waited < 2.5  # what was left of the lock when the holder died
    assert int(client.get(control + "computes") or 0) == 1  # the dead holder's


def test_an_error_is_not_stored_and_lets_go_of_the_lock(
    redis_url: str, namespace: str, client: redis.Redis
) -> None:
    cache = RedisCache(redis_url, namespace=namespace, lock_seconds=30)

    def failing() -> bytes:
        raise RuntimeError("the database timed out")

    with pytest.raises(RuntimeError, match="timed out"):
        cache.get_or_compute("a", failing, 60)
    assert list(client.scan_iter(match=f"metrics_layer:{namespace}:*")) == []
    other = RedisCache(redis_url, namespace=namespace, lock_seconds=30)
    began = time.monotonic()
    assert other.get_or_compute("a", lambda: b"rows", 60) == b"rows"
    assert time.monotonic() - began < 1  # no 30 s lock left to wait for


def test_a_waiter_gives_up_after_its_wait_and_computes_uncached(
    redis_url: str, namespace: str, client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    lock = f"metrics_layer:{namespace}:lock:a"
    client.set(lock, "another worker's token", px=5000)
    cache = RedisCache(redis_url, namespace=namespace, wait_seconds=0.2)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="metrics_layer.server.cache"):
        assert cache.get_or_compute("a", lambda: b"alone", 60) == b"alone"
    assert 0.1 < time.monotonic() - began < 1
    assert "waited 0.2 s for another worker" in caplog.text
    assert client.get(lock) == b"another worker's token"  # not taken, not deleted
    assert not client.exists(f"metrics_layer:{namespace}:result:a")


def test_redis_down_runs_uncached_and_says_so_once_without_the_password(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://reader:s3cret-pw@127.0.0.1:{closed_port}/0"
    cache = open_cache(url, namespace="down")
    compute, calls = counting(b"rows")
    with caplog.at_level(logging.INFO, logger="metrics_layer.server.cache"):
        for _ in range(3):
            assert cache.get_or_compute("a", compute, 60) == b"rows"
        cache.clear()
        status = cache.status()
    assert len(calls) == 3
    assert len(caplog.records) == 1
    line = caplog.text
    assert f"Redis at redis://127.0.0.1:{closed_port}/0 cannot be used" in line
    assert "queries run uncached" in line
    assert "s3cret" not in line
    assert "reader" not in line
    assert status == CacheStatus("redis", False, f"redis://127.0.0.1:{closed_port}/0", status.error)
    assert "Connection refused" in str(status.error)
    assert "s3cret" not in repr(status)


def test_redis_that_answers_again_is_used_again(
    redis_url: str, namespace: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisCache(redis_url, namespace=namespace, retry_seconds=0.1)
    # Point the client's pool at the closed port, then back: Redis "restarts".
    pool = cache._client.connection_pool
    port = pool.connection_kwargs["port"]
    with caplog.at_level(logging.INFO, logger="metrics_layer.server.cache"):
        pool.connection_kwargs["port"] = closed_port
        pool.reset()
        assert not cache.healthy()
        pool.connection_kwargs["port"] = port
        pool.reset()
        assert not cache.healthy()  # not tried again before retry_seconds
        time.sleep(0.15)
        assert cache.healthy()
        compute, calls = counting(b"rows")
        cache.get_or_compute("a", compute, 60)
        cache.get_or_compute("a", compute, 60)
    assert len(calls) == 1
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "cannot be used" in messages[0]
    assert "answers again" in messages[1]


def test_clear_deletes_only_its_own_namespace(
    redis_url: str, namespace: str, client: redis.Redis
) -> None:
    mine = RedisCache(redis_url, namespace=namespace)
    neighbour = RedisCache(redis_url, namespace=namespace + "-other")
    try:
        mine.get_or_compute("a", lambda: b"mine", 60)
        neighbour.get_or_compute("a", lambda: b"theirs", 60)
        mine.clear()
        assert mine.get_or_compute("a", lambda: b"recomputed", 60) == b"recomputed"
        assert neighbour.get_or_compute("a", lambda: b"recomputed", 60) == b"theirs"
    finally:
        neighbour.clear()


def test_a_value_over_the_size_limit_is_returned_not_stored(
    redis_url: str, namespace: str, client: redis.Redis
) -> None:
    cache = RedisCache(redis_url, namespace=namespace, max_value_bytes=10)
    compute, calls = counting(b"x" * 11)
    cache.get_or_compute("a", compute, 60)
    cache.get_or_compute("a", compute, 60)
    assert len(calls) == 2
    assert not client.exists(f"metrics_layer:{namespace}:lock:a")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/0",
        "redis://:s3cret@127.0.0.1:notaport/0",
        "redis://:s3cret@127.0.0.1:6379/s3cret",
        "127.0.0.1:6379",
        "",
    ],
)
def test_a_bad_url_is_an_error_that_hides_it(url: str) -> None:
    with pytest.raises(EngineError, match="cache URL") as raised:
        RedisCache(url, namespace="p")
    assert "s3cret" not in str(raised.value)
    assert raised.value.__cause__ is None


@pytest.mark.parametrize("namespace", ["", "a*", "a:b", "a b", "x" * 101, None])
def test_a_bad_namespace_is_refused(namespace: object) -> None:
    with pytest.raises(ValueError, match="namespace: expected"):
        RedisCache("redis://127.0.0.1:6379/0", namespace=namespace)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"lock_seconds": 0}, "lock_seconds: expected at least 0.01 seconds"),
        ({"lock_seconds": float("inf")}, "lock_seconds: expected a finite number"),
        ({"wait_seconds": -1}, "wait_seconds: expected a finite number"),
        ({"retry_seconds": "5"}, "retry_seconds: expected a finite number"),
        ({"socket_timeout": 0}, "socket_timeout: expected at least 0.001 seconds"),
        ({"max_value_bytes": -1}, "max_value_bytes: expected a whole number"),
        ({"max_value_bytes": 1.5}, "max_value_bytes: expected a whole number"),
        ({"max_value_bytes": True}, "max_value_bytes: expected a whole number"),
    ],
)
def test_bad_options_are_refused(option: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisCache("redis://127.0.0.1:6379/0", namespace="p", **option)  # type: ignore[arg-type]
