"""The result cache: encoded query results kept for a while, computed once when asked for at
the same moment (docs/caching.md).

``open_cache(url, namespace=...)`` gives a ``RedisCache`` (``redis_cache.py``) shared by every
worker and host pointing at one Redis, or, without a URL, a ``MemoryCache`` held by this process.
Both implement ``contracts.ResultCache``: ``get_or_compute(key, compute, ttl) -> bytes`` and
``clear()``, plus ``status()`` for the readiness check. Keys come from ``keys.result_key``.

Concurrent identical keys are computed once in a process by ``SingleFlight``: the first caller
computes, the others wait for its value, or its error, which every waiter then raises (they
asked the same question at the same moment; running a failing or timing-out query again for
each of them would only multiply the load that may have caused the failure). A failed compute
is never cached: the next request computes again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cachetools import TLRUCache

    from metrics_layer.server.redis_cache import RedisCache

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "DEFAULT_WAIT_SECONDS",
    "CacheStatus",
    "MemoryCache",
    "SingleFlight",
    "open_cache",
]

# What an in-process cache keeps at most, in bytes of encoded results.
DEFAULT_MEMORY_BYTES = 64 * 2**20
# How long a request waits for another one computing the same key before computing it itself
# (uncached): longer than the default query timeout (120 s), so that a waiter outlasts any
# query still allowed to run.
DEFAULT_WAIT_SECONDS = 150.0
# The longest key accepted; keys.result_key makes 67 characters.
MAX_KEY_LENGTH = 1024
# What an entry costs besides its bytes (the key, the entry, the LRU links), for the bound.
_ENTRY_OVERHEAD = 200


@dataclass(frozen=True)
class CacheStatus:
    """What a readiness check reports about the cache: ``backend`` ("memory" or "redis"),
    whether it works, ``where`` it is (a Redis URL without its password), and ``error``: the
    last error while it does not work (queries then run uncached)."""

    backend: str
    healthy: bool
    where: str
    error: str | None = None


def open_cache(
    url: str | None,
    *,
    namespace: str,
    max_bytes: int = DEFAULT_MEMORY_BYTES,
) -> MemoryCache | RedisCache:
    """The result cache of one project: in Redis at ``url`` (``redis://``, ``rediss://`` or
    ``unix://``) under keys starting ``metrics_layer:<namespace>:``, or, when ``url`` is None
    or empty, in this process, keeping at most ``max_bytes`` bytes of results."""
    if url is None or url == "":
        return MemoryCache(max_bytes)
    from metrics_layer.server.redis_cache import RedisCache

    return RedisCache(url, namespace=namespace)


class SingleFlight:
    """Runs one computation per key at a time in this process; callers asking for a key being
    computed wait for that computation's value, or raise its error.

    >>> flights = SingleFlight()
    >>> flights.run("k", lambda: b"v", lambda: b"alone", wait_seconds=1.0)
    b'v'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[bytes]] = {}

    def run(
        self,
        key: str,
        lead: Callable[[], bytes],
        alone: Callable[[], bytes],
        *,
        wait_seconds: float,
    ) -> bytes:
        """``lead()``, unless another thread is running it for ``key``: then that thread's
        value (or error). A caller that has waited ``wait_seconds`` returns ``alone()``."""
        with self._lock:
            flight = self._flights.get(key)
            leading = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not leading:
            # Not ``flight.result(timeout)``: a compute may raise TimeoutError itself.
            wait([flight], timeout=wait_seconds)
            return flight.result(timeout=0) if flight.done() else alone()
        try:
            value = lead()
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(value)
            return value
        finally:
            with self._lock:
                del self._flights[key]

    def __len__(self) -> int:
        """How many keys are being computed now."""
        with self._lock:
            return len(self._flights)


class MemoryCache:
    """Results kept in this process, least recently used first out beyond ``max_bytes``
    (0: nothing is kept, computations are still shared by concurrent callers); each for the
    ``ttl`` it was stored with, counted from when it was computed (a hit does not extend it).
    A result larger than ``max_bytes`` is returned but not kept.

    >>> cache = MemoryCache(1024)
    >>> cache.get_or_compute("k", lambda: b"rows", ttl=60)
    b'rows'
    >>> cache.get_or_compute("k", lambda: b"other rows", ttl=60)
    b'rows'
    """

    def __init__(
        self,
        max_bytes: int = DEFAULT_MEMORY_BYTES,
        *,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        from cachetools import TLRUCache

        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes: expected a whole number of bytes >= 0, not {max_bytes!r}")
        self.max_bytes = max_bytes
        self.wait_seconds = check_seconds(wait_seconds, "wait_seconds")
        self._lock = threading.Lock()
        self._entries: TLRUCache[str, tuple[bytes, float]] = TLRUCache(
            maxsize=max(max_bytes, 1), ttu=_expires, timer=timer, getsizeof=_size
        )
        self._flights = SingleFlight()

    def get_or_compute(self, key: str, compute: Callable[[], bytes], ttl: float) -> bytes:
        """The value kept for ``key``, or ``compute()``'s, kept for ``ttl`` seconds (0: not
        kept); a compute that raises is not kept and its error reaches every waiter."""
        check_key(key)
        ttl = check_seconds(ttl, "ttl")
        found = self._get(key)
        if found is not None:
            return found

        def lead() -> bytes:
            again = self._get(key)  # kept by a computation that ended since
            if again is not None:
                return again
            value = checked_value(compute())
            if ttl > 0:
                self._put(key, value, ttl)
            return value

        return self._flights.run(
            key, lead, lambda: checked_value(compute()), wait_seconds=self.wait_seconds
        )

    def clear(self) -> None:
        """Forget every kept result (computations running now still keep theirs)."""
        with self._lock:
            self._entries.clear()

    def healthy(self) -> bool:
        """Always: memory cannot be unreachable."""
        return True

    def status(self) -> CacheStatus:
        with self._lock:
            self._entries.expire()
            entries, used = len(self._entries), int(self._entries.currsize)
        where = f"in process: {entries} results, {used:,} of {self.max_bytes:,} bytes"
        return CacheStatus("memory", True, where)

    def _get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def _put(self, key: str, value: bytes, ttl: float) -> None:
        if _size((value, ttl)) > self.max_bytes:
            return  # larger than the whole cache: cachetools would refuse it
        with self._lock:
            self._entries[key] = (value, ttl)


def _expires(_key: str, entry: tuple[bytes, float], now: float) -> float:
    return now + entry[1]


def _size(entry: tuple[bytes, float]) -> int:
    return len(entry[0]) + _ENTRY_OVERHEAD


def check_key(key: object) -> str:
    """A cache key: non-empty text of at most MAX_KEY_LENGTH characters."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"key: expected text of 1 to {MAX_KEY_LENGTH} characters (keys.result_key makes "
            f"one), not {type(key).__name__} of length {len(key) if isinstance(key, str) else '-'}"
        )
    return key


def check_seconds(value: object, field: str) -> float:
    """A duration in seconds: a finite number >= 0 (not a boolean)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{field}: expected a finite number of seconds >= 0, not {value!r}")
    return float(value)


def checked_value(value: object) -> bytes:
    """What a compute returned, if it is bytes (an encoded result)."""
    if not isinstance(value, bytes):
        raise TypeError(
            f"a result cache keeps encoded results: compute returned {type(value).__name__}, "
            "not bytes"
        )
    return value
