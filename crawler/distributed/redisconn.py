"""A Redis client that survives Redis going away: fail fast, back off, count the outage.

scrapy-redis lets a connection error escape into Scrapy, which crashes the worker (#108,
#167). Here every call goes through `Guard.call`: a connection error, a timeout or a Redis
still loading its data after a restart raises `RedisDown` at once, and the next calls raise it
without touching the network until the backoff (0.1 s doubling to 5 s) has passed, so the
reactor is never stuck on connects. Callers keep what they could not send (the scheduler keeps
new requests in an outbox and finished ones unacknowledged) and retry later. The first
failure and the recovery are logged once each; `outages` and `outage_seconds` are counted
(stats `distributed/redis_outages`, `distributed/redis_outage_seconds`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

T = TypeVar("T")
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0


class RedisDown(Exception):
    """Redis cannot be reached now; try again later."""


def client(url: str, *, socket_timeout: float = 5.0) -> redis.Redis:
    """A redis-py client that fails fast (one immediate reconnect, then the error)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
        health_check_interval=15,
    )


class Guard:
    """Calls into Redis with outage accounting; `RedisDown` while it is away."""

    def __init__(
        self,
        conn: redis.Redis,
        on_change: Callable[[str, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = conn
        self.on_change = on_change  # ("down", 0) and ("up", seconds down)
        self.clock = clock
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.backoff = BACKOFF_FIRST
        self.outages = 0
        self.outage_seconds = 0.0

    @property
    def down(self) -> bool:
        """True while Redis is away (since the first failed call, until one succeeds)."""
        return self.down_since is not None

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args)`; RedisDown if Redis is (still) unreachable."""
        if self.down_since is not None and self.clock() < self.retry_at:
            raise RedisDown("Redis unavailable (backing off)")
        try:
            result = fn(*args, **kwargs)
        except OUTAGE_ERRORS as e:
            self._failed(e)
            raise RedisDown(str(e) or type(e).__name__) from e
        if self.down_since is not None:
            self._recovered()
        return result

    def _failed(self, error: BaseException) -> None:
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            self.backoff = BACKOFF_FIRST
            logger.warning("Redis unavailable (%s); working on and retrying with backoff", error)
            if self.on_change:
                self.on_change("down", 0.0)
        else:
            self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        self.retry_at = now + self.backoff

    def _recovered(self) -> None:
        assert self.down_since is not None
        seconds = self.clock() - self.down_since
        self.outage_seconds += seconds
        self.down_since = None
        self.backoff = BACKOFF_FIRST
        logger.warning("Redis is back after %.1fs", seconds)
        if self.on_change:
            self.on_change("up", seconds)
