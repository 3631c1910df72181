"""The compiled-SQL cache: SQL text by (query, dialect, pretty), bounded in bytes, thread-safe.

A loaded graph never changes, so an entry can never be stale. The run path also remembers that
the statement guard has passed an entry, so a repeated query is neither compiled nor parsed back
again.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from metrics_layer.errors import QueryError

if TYPE_CHECKING:
    from metrics_layer.planner.query import MetricQuery
    from metrics_layer.safety.statement import Statement

__all__ = ["COMPILED_CACHE_BYTES", "ENTRY_OVERHEAD_BYTES", "CacheKey", "CompiledCache"]

COMPILED_CACHE_BYTES = 32 * 1024 * 1024
# Bytes counted per cache entry besides its SQL and ``where`` text: the key tuple, the query
# object with its other names, and the cache's own bookkeeping (roughly; small either way).
ENTRY_OVERHEAD_BYTES = 1024
CacheKey: TypeAlias = tuple["MetricQuery", str, bool]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    nbytes: int
    statement: Statement | None = None


def _entry_size(entry: _Compiled) -> int:
    return entry.nbytes


class CompiledCache:
    """Compiled SQL by (query, dialect, pretty), least recently used out first, bounded in bytes.

    An entry counts the bytes of its SQL text, of its query's ``where`` text and row policy
    text, plus ENTRY_OVERHEAD_BYTES; an entry larger than the whole bound is not kept. Safe to
    share between threads.

    >>> from metrics_layer.planner.query import MetricQuery
    >>> cache = CompiledCache(4096)
    >>> key = (MetricQuery.of("signups"), "duckdb", True)
    >>> cache.put(key, "SELECT 1")
    >>> cache.get(key), len(cache), cache.nbytes <= cache.max_bytes
    ('SELECT 1', 1, True)
    >>> cache.put(key, "x" * 5000)
    >>> cache.get(key)
    'SELECT 1'
    """

    def __init__(self, max_bytes: int) -> None:
        from cachetools import LRUCache

        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise QueryError(
                f"expected a number of bytes (0 or more), not {max_bytes!r}", field="cache_bytes"
            )
        self.max_bytes = max_bytes
        self._entries: LRUCache[CacheKey, _Compiled] = LRUCache(
            maxsize=max(max_bytes, 1), getsizeof=_entry_size
        )
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> str | None:
        """The SQL compiled for ``key``, if cached."""
        with self._lock:
            found = self._entries.get(key)
        return None if found is None else found.sql

    def put(self, key: CacheKey, sql: str) -> None:
        """Keep ``sql`` for ``key`` (unless it alone is larger than the bound)."""
        self._keep(key, sql, None)

    def statement(self, key: CacheKey) -> Statement | None:
        """The guard's ``Statement`` for ``key``, if the run path has verified its SQL."""
        with self._lock:
            found = self._entries.get(key)
        return None if found is None else found.statement

    def put_statement(self, key: CacheKey, statement: Statement) -> None:
        """Keep ``statement`` (its SQL is the entry's SQL) as verified for ``key``."""
        self._keep(key, statement.sql, statement)

    def _keep(self, key: CacheKey, sql: str, statement: Statement | None) -> None:
        where, policy = key[0].where, key[0].policy
        nbytes = sys.getsizeof(sql) + ENTRY_OVERHEAD_BYTES
        if where is not None:
            nbytes += sys.getsizeof(where)
        if policy is not None:
            nbytes += sys.getsizeof(policy.text)
        if nbytes > self.max_bytes:
            return
        with self._lock:
            self._entries[key] = _Compiled(sql, nbytes, statement)

    @property
    def nbytes(self) -> int:
        """The bytes the entries count for now; never more than ``max_bytes``."""
        with self._lock:
            return int(self._entries.currsize)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
