"""A service worker of its own process, for the cross-process cache tests.

``python -m tests.server_cache.worker URL NAMESPACE KEY MODE LOCK_SECONDS``: says it is ready
(``INCR test:<namespace>:ready``), waits for ``test:<namespace>:go``, then asks a ``RedisCache``
for KEY. Its compute counts itself (``INCR test:<namespace>:computes``) and, by MODE:
``count`` sleeps 0.3 s and returns ``value from <pid>``; ``hold`` sets
``test:<namespace>:holding`` and sleeps until the process is killed. The value is printed.
"""

from __future__ import annotations

import os
import sys
import time


def main(url: str, namespace: str, key: str, mode: str, lock_seconds: str) -> None:
    import redis

    from metrics_layer.server.redis_cache import RedisCache

    control = redis.Redis.from_url(url)
    prefix = f"test:{namespace}:"
    cache = RedisCache(url, namespace=namespace, lock_seconds=float(lock_seconds))

    def compute() -> bytes:
        control.incr(prefix + "computes")
        if mode == "hold":
            control.set(prefix + "holding", os.getpid())
            time.sleep(60)
        time.sleep(0.3)
        return f"value from {os.getpid()}".encode()

    control.incr(prefix + "ready")
    deadline = time.monotonic() + 10
    while not control.exists(prefix + "go"):
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.002)
    print(cache.get_or_compute(key, compute, 60).decode())


if __name__ == "__main__":
    main(*sys.argv[1:])
