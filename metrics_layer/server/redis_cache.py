"""The result cache in Redis, shared by every worker and host that points at it
(docs/caching.md).

Keys: ``metrics_layer:<namespace>:result:<key>`` holds an encoded result with the TTL it was
stored with; ``metrics_layer:<namespace>:lock:<key>`` is held while one worker computes it.

Concurrent identical keys are computed once across workers: a worker that misses sets the lock
with ``SET NX PX`` and a random token, computes, stores the value, and deletes the lock only if
it still holds that token (a Lua script). While it computes, a thread renews the lock every
third of ``lock_seconds``; if the worker dies, renewal stops and the lock expires within
``lock_seconds``, and one waiter takes it. The others poll for the value (2 ms doubling to
50 ms) for at most ``wait_seconds``, then compute it themselves, uncached. A compute that
raises releases the lock and is not cached; a waiter in another worker then finds no value
and no lock, takes the lock and computes again (errors are not shared through Redis: an
exception cannot be stored and read back safely). Within one process, ``SingleFlight`` lets
one thread per key do all this; its waiters share its value or error.

When Redis cannot be reached (or answers with an error), queries run uncached: the first
failure is logged once, as a warning naming Redis by host, port and database (never its
password), ``status()`` reports it, and Redis is tried again at most every ``retry_seconds``;
when it answers again, that is logged once too.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import redis
from redis.exceptions import RedisError

from metrics_layer.errors import EngineError
from metrics_layer.server.cache import (
    DEFAULT_WAIT_SECONDS,
    CacheStatus,
    SingleFlight,
    check_key,
    check_seconds,
    checked_value,
)

__all__ = ["RedisCache"]

log = logging.getLogger("metrics_layer.server.cache")

# Namespaces are project names and the like; no Redis glob character, so clear() matches
# exactly the namespace's keys.
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_FIRST_POLL = 0.002
_LAST_POLL = 0.05
# What Redis keeps at most per result: a larger one is returned but not stored.
DEFAULT_MAX_VALUE_BYTES = 64 * 2**20

# Delete, or extend, the lock only while it holds this worker's token.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class RedisCache:
    """Encoded results in the Redis at ``url``, under keys of ``namespace`` (one per project:
    letters, digits, ``_``, ``.``, ``-``); see the module docstring for locking and failures.

    Nothing is sent to Redis until the first query, so a Redis that is down does not stop a
    service from starting. A bad URL is an ``EngineError`` naming the forms accepted.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        lock_seconds: float = 10.0,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        retry_seconds: float = 5.0,
        socket_timeout: float = 2.0,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
            raise ValueError(
                f"namespace: expected 1 to 100 letters, digits, '_', '.' or '-', not {namespace!r}"
            )
        self.lock_seconds = _at_least(lock_seconds, "lock_seconds", 0.01)
        self.wait_seconds = check_seconds(wait_seconds, "wait_seconds")
        self.retry_seconds = check_seconds(retry_seconds, "retry_seconds")
        if (
            isinstance(max_value_bytes, bool)
            or not isinstance(max_value_bytes, int)
            or max_value_bytes < 0
        ):
            raise ValueError(
                f"max_value_bytes: expected a whole number of bytes >= 0, not {max_value_bytes!r}"
            )
        self.max_value_bytes = max_value_bytes
        self._client = _client(url, _at_least(socket_timeout, "socket_timeout", 0.001))
        options = self._client.connection_pool.connection_kwargs
        self.where = _where(options, urlsplit(url).scheme)
        password = options.get("password")
        self._secrets = (password,) if isinstance(password, str) and password else ()
        self._prefix = f"metrics_layer:{namespace}:"
        self._release = self._client.register_script(_RELEASE)
        self._extend = self._client.register_script(_EXTEND)
        self._flights = SingleFlight()
        self._state = threading.Lock()
        self._error: str | None = None
        self._retry_at = 0.0

    def get_or_compute(self, key: str, compute: Callable[[], bytes], ttl: float) -> bytes:
        """The value stored for ``key``, or ``compute()``'s, stored for ``ttl`` seconds (0:
        not stored, and not shared with other workers); computed once across workers."""
        check_key(key)
        ttl = check_seconds(ttl, "ttl")
        alone = lambda: checked_value(compute())  # noqa: E731
        if ttl == 0:
            return self._flights.run(key, alone, alone, wait_seconds=self.wait_seconds)
        if self._usable():
            try:
                found = self._client.get(self._prefix + "result:" + key)
            except RedisError as exc:
                self._failed(exc)
            else:
                self._answered()
                if found is not None:
                    return cast(bytes, found)
        return self._flights.run(
            key, lambda: self._shared(key, compute, ttl), alone, wait_seconds=self.wait_seconds
        )

    def clear(self) -> None:
        """Delete every result of this namespace (locks are left to their holders)."""
        try:
            batch: list[Any] = []
            for name in self._client.scan_iter(match=self._prefix + "result:*", count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    self._client.unlink(*batch)
                    batch = []
            if batch:
                self._client.unlink(*batch)
        except RedisError as exc:
            self._failed(exc)
        else:
            self._answered()

    def healthy(self) -> bool:
        """Whether Redis answers a PING now (not tried again before ``retry_seconds`` after
        a failure)."""
        if not self._usable():
            return False
        try:
            self._client.ping()
        except RedisError as exc:
            self._failed(exc)
            return False
        self._answered()
        return True

    def status(self) -> CacheStatus:
        healthy = self.healthy()
        return CacheStatus("redis", healthy, self.where, None if healthy else self._error)

    def _shared(self, key: str, compute: Callable[[], bytes], ttl: float) -> bytes:
        """The value another worker stores while this one waits, or this one's, computed
        holding the lock; uncached when Redis fails or the wait ends."""
        held = self._take(key)
        if isinstance(held, bytes):
            return held
        if held is None:
            return checked_value(compute())
        lock = self._prefix + "lock:" + key
        renewal = _Renewal(lambda: self._renew(lock, held), self.lock_seconds / 3)
        renewal.start()
        try:
            value = checked_value(compute())
        except BaseException:
            renewal.stop()
            self._let_go(lock, held)
            raise
        renewal.stop()
        try:
            if len(value) <= self.max_value_bytes:
                self._client.set(self._prefix + "result:" + key, value, px=_ms(ttl))
            self._release(keys=[lock], args=[held])
        except RedisError as exc:
            self._failed(exc)
        return value

    def _take(self, key: str) -> bytes | str | None:
        """The stored value (bytes), the lock's token once this worker holds it (str), or
        None: Redis failed, or ``wait_seconds`` passed while another worker held the lock."""
        if not self._usable():
            return None
        result, lock = self._prefix + "result:" + key, self._prefix + "lock:" + key
        deadline = time.monotonic() + self.wait_seconds
        delay = _FIRST_POLL
        try:
            while True:
                found = self._client.get(result)
                if found is not None:
                    self._answered()
                    return cast(bytes, found)
                token = secrets.token_hex(16)
                if self._client.set(lock, token, nx=True, px=_ms(self.lock_seconds)):
                    # Stored by a worker that let go between the read and the lock?
                    found = self._client.get(result)
                    if found is not None:
                        self._release(keys=[lock], args=[token])
                        return cast(bytes, found)
                    self._answered()
                    return token
                if time.monotonic() + delay > deadline:
                    log.warning(
                        "result cache: waited %g s for another worker computing a result; "
                        "computing it here, uncached",
                        self.wait_seconds,
                    )
                    return None
                time.sleep(delay)
                delay = min(delay * 2, _LAST_POLL)
        except RedisError as exc:
            self._failed(exc)
            return None

    def _renew(self, lock: str, token: str) -> bool:
        """Extend the lock while it holds ``token``; False when it no longer does."""
        try:
            return bool(self._extend(keys=[lock], args=[token, _ms(self.lock_seconds)]))
        except RedisError as exc:
            self._failed(exc)
            return False

    def _let_go(self, lock: str, token: str) -> None:
        try:
            self._release(keys=[lock], args=[token])
        except RedisError as exc:
            self._failed(exc)

    def _usable(self) -> bool:
        """False while Redis failed less than ``retry_seconds`` ago."""
        if self._error is None:
            return True
        with self._state:
            return self._error is None or time.monotonic() >= self._retry_at

    def _failed(self, exc: RedisError) -> None:
        """Note a failure; the first one since Redis last answered is logged."""
        message = f"{type(exc).__name__}: {exc}"
        for secret in self._secrets:
            message = message.replace(secret, "***")
        with self._state:
            first = self._error is None
            self._error = message
            self._retry_at = time.monotonic() + self.retry_seconds
        if first:
            log.warning(
                "result cache: Redis at %s cannot be used (%s); queries run uncached, and "
                "Redis is tried again every %g s",
                self.where,
                message,
                self.retry_seconds,
            )

    def _answered(self) -> None:
        if self._error is None:
            return
        with self._state:
            was, self._error = self._error, None
        if was is not None:
            log.warning("result cache: Redis at %s answers again; results are cached", self.where)


class _Renewal(threading.Thread):
    """Calls ``renew`` every ``every`` seconds until stopped or ``renew`` returns False."""

    def __init__(self, renew: Callable[[], bool], every: float) -> None:
        super().__init__(name="metrics_layer-cache-lock", daemon=True)
        self._renew = renew
        self._every = every
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self._every):
            if not self._renew():
                return

    def stop(self) -> None:
        self._stop.set()


def _client(url: str, timeout: float) -> redis.Redis:
    """A client for ``url`` (bytes in and out, short timeouts); EngineError if it is no
    Redis URL. The message never shows the URL: it may hold a password."""
    if not isinstance(url, str):
        raise EngineError(f"cache URL: expected text, not {type(url).__name__}")
    fix = (
        "write redis://127.0.0.1:6379/0 (rediss:// for TLS, unix:///path/to/redis.sock for a "
        "socket)"
    )
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss") and not re.fullmatch(r"/?\d*", parts.path):
        # redis-py would read a database that is not a number as database 0.
        raise EngineError(f"cache URL: the database after the port must be a number; {fix}")
    try:
        return redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
    except (ValueError, TypeError):
        raise EngineError(f"cache URL: not a Redis URL; {fix}") from None


def _where(options: dict[str, Any], scheme: str) -> str:
    """Where the Redis is, from the client's options: host, port and database, or the socket
    path; no user name or password."""
    database = options.get("db", 0)
    if options.get("path"):
        return f"unix://{options['path']}?db={database}"
    host, port = options.get("host", "localhost"), options.get("port", 6379)
    return f"{scheme}://{host}:{port}/{database}"


def _at_least(value: object, field: str, least: float) -> float:
    seconds = check_seconds(value, field)
    if seconds < least:
        raise ValueError(f"{field}: expected at least {least:g} seconds, not {value!r}")
    return seconds


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
