"""The real Redis at 127.0.0.1:6379 (ML_TEST_REDIS_URL moves it), a namespace of its own for
each test, and its keys deleted afterwards."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import require_service

REDIS_URL = os.environ.get("ML_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis's URL; skipped loudly when it does not answer (a failure under CI=true)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service("Redis", False, str(exc))
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test Redis, to look at what the cache wrote."""
    found = redis.Redis.from_url(redis_url)
    yield found
    found.close()


@pytest.fixture
def namespace(client: redis.Redis) -> Iterator[str]:
    """A namespace no other test (or test process) uses; every key under it goes afterwards."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    keys = list(client.scan_iter(match=f"metrics_layer:{name}:*"))
    keys += list(client.scan_iter(match=f"test:{name}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
