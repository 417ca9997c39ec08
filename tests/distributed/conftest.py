"""Fixtures of the distributed tests: a fresh database per test (the e2e one), a Redis URL
with a key prefix of the test's own, or a Redis server the test owns (for restarts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.redisfix import (
    RedisServer,
    drop_prefix,
    new_prefix,
    own_redis,
    shared_or_own_redis,
)
from tests.e2e.conftest import fresh_db  # noqa: F401 - a fixture, re-exported


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(url, key prefix): REDIS_URL's server or our own; only the prefix's keys are touched."""
    with shared_or_own_redis(tmp_path / "redis") as url:
        prefix = new_prefix()
        yield url, prefix
        drop_prefix(url, prefix)


@pytest.fixture
def owned_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may stop and restart."""
    with own_redis(tmp_path / "redis-own") as server:
        yield server
