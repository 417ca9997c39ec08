"""One politeness budget per site, shared by every worker: N workers never hit a site N times
harder than one.

The budget is GCRA (a token bucket of one token) in Redis, per site (host): the site's next
request may go at its "theoretical arrival time" `tat`; taking a slot moves `tat` on by
1/rate. A request popped from the frontier already holds a slot (the pop reserves it, and only
pops from sites whose slot is at most `DISTRIBUTED_LOOKAHEAD` away, so no download slot waits
long for one site while other sites have work); `BudgetMiddleware` waits until that slot, the
last thing before the download. Requests that did not come from the frontier (robots.txt,
retries, redirects) reserve a slot here. A 429/503 with `Retry-After` holds the site for every
worker: its `tat` moves to now + the wait, so nobody sends to it before then (each worker's
RetryAfterMiddleware still waits before its own retry), and a request whose slot was reserved
before the hold takes a new one after it. robots.txt is obeyed by each worker's
RobotsTxtMiddleware, whose fetches count against the budget too.

While Redis is away the middleware paces each site locally at the same rate, so politeness
never lapses (N workers may then reach N× the rate until Redis is back).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from crawler.distributed import scripts
from crawler.distributed.config import Keys, redis_url, setting
from crawler.distributed.frontier import META_SLOT, site_of
from crawler.distributed.redisconn import Guard, RedisDown, client

logger = logging.getLogger(__name__)
LATE = 0.05  # seconds past its reserved slot a request may still go


class SiteBudget:
    """Slots per site: Redis first, a local pacer of the same rate while Redis is away."""

    def __init__(self, guard: Guard, keys: Keys, default_rate: float, rates: dict[str, float]):
        self.guard = guard
        self.keys = keys
        self.default_rate = default_rate
        self.rates = {k: float(v) for k, v in rates.items()}
        self._reserve = guard.redis.register_script(scripts.RESERVE)
        self._hold = guard.redis.register_script(scripts.HOLD)
        self._local: dict[str, float] = {}  # site -> local monotonic tat (Redis away)

    def rate(self, site: str) -> float:
        """Requests per second allowed to `site`: its own rate, else the default (0: no limit)."""
        return self.rates.get(site, self.default_rate)

    def reserve(self, site: str) -> float:
        """Seconds until this request's slot (0: go now)."""
        try:
            args = [self.keys.site_prefix, self.keys.rates, site, self.default_rate]
            return max(0.0, float(self.guard.call(self._reserve, args=args)))
        except RedisDown:
            return self._reserve_local(site)

    def _reserve_local(self, site: str) -> float:
        rate = self.rate(site)
        if rate <= 0:
            return 0.0
        now = time.monotonic()
        slot = max(self._local.get(site, 0.0), now)
        self._local[site] = slot + 1 / rate
        return slot - now

    @property
    def active(self) -> bool:
        """False when no site has a rate: the budget then never makes a request wait."""
        return self.default_rate > 0 or any(r > 0 for r in self.rates.values())

    def held_for(self, site: str) -> float:
        """Seconds `site` is still held by a Retry-After (any worker's), else 0."""
        try:
            ms = self.guard.call(self.guard.redis.pttl, f"{self.keys.site_prefix}:{site}:hold")
        except RedisDown:
            return max(0.0, self._local.get(site, 0.0) - time.monotonic())
        return max(0, int(ms)) / 1000

    def hold(self, site: str, seconds: float) -> None:
        """Nobody sends to `site` for `seconds` (a Retry-After), every worker included."""
        self._local[site] = max(self._local.get(site, 0.0), time.monotonic() + seconds)
        try:
            self.guard.call(self._hold, args=[self.keys.site_prefix, site, seconds])
        except RedisDown:
            pass

    def publish(self) -> None:
        """Write the rates into Redis, where every worker's pops and reservations read them."""
        mapping = {"*": self.default_rate, **self.rates}
        self.guard.call(self.guard.redis.hset, self.keys.rates, mapping=mapping)


class BudgetMiddleware:
    """Downloader middleware (last before the download): wait for the site's slot."""

    def __init__(self, crawler: Any, budget: SiteBudget, lookahead: float, max_wait: float):
        self.crawler = crawler
        self.budget = budget
        self.lookahead = lookahead
        self.max_wait = max_wait

    @classmethod
    def from_crawler(cls, crawler):
        """Scrapy's factory: the budget from DISTRIBUTED_SITE_RATE(S) on the Redis at REDIS_URL; a
        Retry-After hold is capped at RETRYAFTER_MAX_WAIT seconds.
        """
        s = crawler.settings
        keys = Keys(setting(s, "DISTRIBUTED_KEY_PREFIX"))
        guard = Guard(client(redis_url(s)))
        budget = SiteBudget(
            guard,
            keys,
            setting(s, "DISTRIBUTED_SITE_RATE"),
            setting(s, "DISTRIBUTED_SITE_RATES"),
        )
        return cls(
            crawler,
            budget,
            setting(s, "DISTRIBUTED_LOOKAHEAD"),
            s.getfloat("RETRYAFTER_MAX_WAIT", 300.0),
        )

    async def process_request(self, request, spider=None):
        """Waits for the request's site slot (the one reserved when it left the frontier, or a new
        one when that went by) and again after a Retry-After hold that came meanwhile; then lets it
        through.
        """
        from scrapy.utils.asyncio import sleep

        site = site_of(request)
        slot = request.meta.pop(META_SLOT, None)
        wait = None
        if slot is not None:
            delay, popped = slot
            wait = delay - (time.monotonic() - popped)
            if wait < -LATE:
                # the slot went by while the request waited here (for robots.txt, behind other
                # requests): sent now it would crowd the next slot's request; take a new slot
                self.crawler.stats.inc_value("distributed/budget_slots_missed")
                wait = None
        if wait is None:
            wait = self.budget.reserve(site)
        for _ in range(10):
            if wait > 0:
                self.crawler.stats.inc_value("distributed/budget_waits")
                self.crawler.stats.inc_value("distributed/budget_wait_seconds", wait)
                await sleep(wait)
            if not self.budget.active or self.budget.held_for(site) <= 0:
                break
            # a Retry-After came while this request waited for its slot: a new slot after it
            self.crawler.stats.inc_value("distributed/budget_slots_held")
            wait = self.budget.reserve(site)
        return None

    def process_response(self, request, response, spider=None):
        """A 429/503 with Retry-After holds the site for every worker (at most RETRYAFTER_MAX_WAIT
        seconds); the response passes unchanged.
        """
        if response.status in (429, 503):
            from crawler.middlewares.retry import retry_after_seconds

            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait:
                wait = min(wait, self.max_wait)
                self.budget.hold(site_of(request), wait)
                self.crawler.stats.inc_value("distributed/site_holds")
                logger.info("%s asks to wait %.1fs: held for every worker", site_of(request), wait)
        return response
