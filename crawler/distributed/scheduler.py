"""The worker's scheduler: scrapy-redis's Scheduler on the reliable frontier.

What it adds to scrapy-redis's Scheduler (whose persistence it keeps on: closing a worker never
deletes the queue or the fingerprints, scrapy-redis #45/#107):

- Leases and acknowledgements. A request popped from the frontier is held under its frontier
  id (`meta["sosik_lease"]`). Requests that come back through the scheduler carrying that id
  (Retry-After retries, redirects, the replay rewrite) continue it and stay on this worker.
  The id is finished when Scrapy is done with every request of it: the download, the callback,
  and each item it yielded through the item pipelines (Scrapy keeps a request in its engine's
  in-progress set until all of that is over; a retry parked by RetryAfterMiddleware keeps its
  id open too). A finished id is acknowledged only once the store's durability watermark
  covers every item its requests yielded (`handoff.Durability`: the store numbers the items
  it is handed, and says up to which number they are committed; nothing waits on the
  reactor). Acknowledgements go every `DISTRIBUTED_ACK_INTERVAL`, in one Redis transaction
  with this worker's stats and named failures since the last one; ids that wait longer for
  the store ask it to write now. Leases are renewed every third of
  `DISTRIBUTED_LEASE_SECONDS`. Ids whose items went to the store's spill file (the database
  was down past STORE_RETRY_SECONDS) wait, the store being asked to write the file back; a
  worker stopped before that (SIGTERM) does not acknowledge them: their leases run out and
  another worker does them again.
- Children before acknowledgement. Requests a callback yields go to an outbox, pushed to Redis
  at the end of the reactor turn (dupefilter check and push are one Lua script), and always
  before the request that yielded them is acknowledged.
- Redis outages. While Redis is away the worker finishes what it holds, keeps new requests in
  the outbox and finished ids unacknowledged, and takes no new work; when Redis is back it
  pushes, acknowledges and goes on. What it fetched is in PostgreSQL either way.
- Waking up. An idle Scrapy engine asks its scheduler for work only every 5 s; this scheduler
  looks every `DISTRIBUTED_POLL_INTERVAL` and hands a request to the engine (`engine.crawl`)
  as soon as one is due, and closes the spider as soon as its frontier is exhausted.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.scheduler import Scheduler

from crawler.distributed import codec, handoff
from crawler.distributed.config import Keys, redis_url, setting
from crawler.distributed.dupefilter import RotatingDupeFilter
from crawler.distributed.frontier import META_TOKEN, OWN_META, Frontier, ReliableQueue, site_of
from crawler.distributed.jobs import NOT_SUMMED, JobBoard, frontier_for
from crawler.distributed.redisconn import Guard, RedisDown, client
from crawler.spiders.base import LinkMemory

logger = logging.getLogger(__name__)

JOB_SETTING = "SOSIK_DISTRIBUTED_JOB"
WORKER_SETTING = "SOSIK_WORKER_ID"
ACK_BATCH = 256


def worker_id() -> str:
    """host:pid:random, unique per worker process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:4]}"


@dataclass(slots=True)
class Held:
    """A frontier id this worker holds: its requests in the engine, and those still queued."""

    active: list[Any] = field(default_factory=list)
    waiting: int = 0


class RedisLinks:
    """The list links of one job, shared by its workers (the spider's LinkMemory, in Redis):
    a list spider stops paging at a page that brings no link met before, and in a distributed
    crawl the page before it was read by another worker. One round trip per list page."""

    def __init__(self, guard: Guard, key: str, ttl: int) -> None:
        self.guard = guard
        self.key = key
        self.ttl = ttl
        self.local = LinkMemory()  # while Redis is away: this worker's own memory

    def add_new(self, urls: list[str]) -> list[str]:
        """The links not met before by any worker of the job (one round trip); while Redis is away,
        this worker's own memory decides.
        """
        from crawler.domain.keys import digest64

        if not urls:
            return []
        pipe = self.guard.redis.pipeline(transaction=False)
        for url in urls:
            pipe.sadd(self.key, str(digest64(url)))
        pipe.expire(self.key, self.ttl)
        try:
            added = self.guard.call(pipe.execute)[:-1]
        except RedisDown:
            return self.local.add_new(urls)
        self.local.add_new(urls)
        return [url for url, n in zip(urls, added, strict=True) if n]

    def __len__(self) -> int:
        try:
            return int(self.guard.call(self.guard.redis.scard, self.key))
        except RedisDown:
            return len(self.local)


class FrontierScheduler(Scheduler):
    """scrapy-redis's Scheduler with leases, acknowledgements and outage handling."""

    def __init__(
        self,
        crawler: Any,
        guard: Guard,
        keys: Keys,
        frontier: Frontier,
        dupefilter: RotatingDupeFilter,
        job: str,
    ) -> None:
        super().__init__(
            server=guard.redis,
            persist=True,
            queue_key=frontier.base,
            queue_cls="crawler.distributed.frontier.ReliableQueue",
            dupefilter=dupefilter,
            dupefilter_key=f"{frontier.base}:fp",
            serializer=codec,
        )
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.guard = guard
        self.keys = keys
        self.frontier = frontier
        self.board = JobBoard(guard, keys)
        self.job = job
        self.poll_interval = setting(s, "DISTRIBUTED_POLL_INTERVAL")
        self.ack_interval = setting(s, "DISTRIBUTED_ACK_INTERVAL")
        self.renew_interval = frontier.lease / 3
        self.held: dict[str, Held] = {}
        self.ready: deque[Any] = deque()  # continuations (and prefetched requests) for the engine
        self.outbox: list[Any] = []  # new requests not yet in Redis
        # finished ids not yet acknowledged, with the store's item count when they finished
        self.completed: list[tuple[str, int]] = []
        self.durability = handoff.Durability(crawler)
        self.errors = handoff.ErrorFeed(crawler)
        self.draining = False
        self._flush_call: Any = None
        self._loop: Any = None
        self._last_ack = self._last_renew = self._last_look = time.monotonic()
        self._next_poll = 0.0
        self._sent_stats: dict[str, float] = {}
        self._waiting_since: float | None = None  # finished ids waiting for the store

    @classmethod
    def from_crawler(cls, crawler):
        """Scrapy's factory: the frontier and dupefilter of this worker's job (ValueError without
        SOSIK_DISTRIBUTED_JOB, which `sosik worker` sets), Redis outages counted in the stats.
        """
        s = crawler.settings
        job = s.get(JOB_SETTING)
        if not job:
            raise ValueError(f"{cls.__name__} needs the {JOB_SETTING} setting (sosik worker)")
        keys = Keys(setting(s, "DISTRIBUTED_KEY_PREFIX"))
        stats = crawler.stats

        def on_change(what: str, seconds: float) -> None:
            if what == "down":
                stats.inc_value("distributed/redis_outages")
            else:
                stats.inc_value("distributed/redis_outage_seconds", round(seconds, 3))

        guard = Guard(client(redis_url(s)), on_change=on_change)
        worker = s.get(WORKER_SETTING) or worker_id()
        frontier = frontier_for(guard, keys, job, crawler.spidercls.name, worker, s)
        dupefilter = RotatingDupeFilter(
            frontier, crawler.request_fingerprinter, s.getbool("DUPEFILTER_DEBUG")
        )
        return cls(crawler, guard, keys, frontier, dupefilter, job)

    # -- Scrapy's scheduler interface ----------------------------------------------------------
    def open(self, spider: Any) -> None:
        """Opens the frontier queue, shares the list links through Redis, and starts the loop that
        polls, acknowledges and renews leases.
        """
        from twisted.internet import task

        self.spider = spider
        self.queue = ReliableQueue(self.server, spider, self.frontier.base, self.frontier)
        if isinstance(getattr(spider, "links_seen", None), LinkMemory):
            ttl = int(setting(self.crawler.settings, "DISTRIBUTED_FINGERPRINT_TTL")) * 2
            spider.links_seen = RedisLinks(self.guard, self.keys.links(self.job, spider.name), ttl)
        self.crawler.signals.connect(self._spider_idle, signal=signals.spider_idle)
        self.durability.open()
        handoff.at_close(self.crawler, self._finish)
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(self.poll_interval, now=False)
        logger.info(
            "worker %s on job %s, frontier %s", self.frontier.worker, self.job, self.frontier.base
        )

    def close(self, reason: str) -> None:
        """The engine is done (the store has written what it could): acknowledge what is
        durable, give back what this worker holds but never finished."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._reap()
        self._ack_cycle()
        leftover = list(self.held)
        if leftover:
            try:
                n = self.frontier.release(leftover)
                self.stats.inc_value("distributed/released", n)
            except RedisDown:
                logger.warning("%d requests left to lease expiry (Redis away)", len(leftover))

    async def _finish(self) -> None:
        """At spider_closed, once every component has named what it lost (the owner's
        closers): the last stats and failures into the job, the ids whose items never became
        durable left to lease expiry, and the job's run record closed if this was the end."""
        self._ack_cycle()
        if self.completed:
            # its items are in a spill file at best: done again by whoever can store them,
            # once the lease runs out (a delivery: a request that never gets stored ends
            # in the failed list after DISTRIBUTED_MAX_DELIVERIES, named with its URL)
            logger.warning(
                "%d finished requests whose items are not durable are left to lease expiry",
                len(self.completed),
            )
            self.stats.inc_value("distributed/undurable", len(self.completed))
            self._ack_cycle()  # that count too
        try:
            job = self.board.get(self.job)
            if job is not None and job.state == "active":
                database_url = self.crawler.settings.get("STORE_DATABASE_URL") or None
                self.board.try_finish(job, self.crawler.settings, database_url)
        except RedisDown:
            logger.warning("job %s: cannot check whether it is finished (Redis away)", self.job)
        except Exception:
            logger.exception("job %s: finishing its run record failed; another worker retries")

    def enqueue_request(self, request: Any) -> bool:
        """A continuation of a request this worker holds (retry, redirect) stays here under its
        lease; a new one is pushed to the frontier (batched), for any worker. False for a filtered
        redirect.
        """
        token = request.meta.get(META_TOKEN)
        if token is not None and token in self.held:
            # a request continuing one this worker holds (a retry, a redirect, the replay
            # rewrite, or one taken from the frontier by _tick): it stays here, under its lease
            if (
                request.meta.get("redirect_urls")
                and not request.dont_filter
                and self.df.request_seen(request)
            ):
                self.df.log(request, self.spider)
                return False
            self.held[token].waiting += 1
            self.ready.append(request)
            return True
        for k in OWN_META:  # a new request that copied a lease from its parent's meta
            request.meta.pop(k, None)
        self.outbox.append(request)
        if self._flush_call is None:
            from twisted.internet import reactor

            # a callback's requests arrive over a few turns of the loop: push them together
            self._flush_call = reactor.callLater(0.02, self._flush_soon)
        return True

    def next_request(self) -> Any:
        """The next held request for the engine, taking more from the frontier when none is ready;
        None when there is none.
        """
        self._reap()
        if not self.ready and not self.draining:
            self._fill()
            if not self.ready and self.outbox and self._flush_outbox():
                self._fill()  # this worker's newest requests may be the only ones there are
        if not self.ready:
            return None
        request = self.ready.popleft()
        held = self.held[request.meta[META_TOKEN]]
        held.waiting -= 1
        held.active.append(request)
        return request

    def has_pending_requests(self) -> bool:
        """True while requests are ready for the engine or waiting to be pushed; the frontier's are
        not counted (the spider_idle handler keeps the spider open for those).
        """
        return bool(self.ready or self.outbox)

    def __len__(self) -> int:
        return len(self.ready) + len(self.outbox)

    # -- the frontier ----------------------------------------------------------------------------
    def _room(self) -> int:
        """How many requests to take at once: the downloader's free places (1 to 16)."""
        engine = self.crawler.engine
        active = len(engine.downloader.active) if engine is not None else 0
        free = self.crawler.settings.getint("CONCURRENT_REQUESTS", 16) - active
        return max(1, min(16, free))

    def _fill(self) -> int:
        """Take requests from the frontier into `ready` (one round trip); how many."""
        try:
            requests = self.queue.pop_many(self._room())
        except RedisDown:
            return 0
        if self.queue.unreadable:
            self.stats.inc_value("distributed/unreadable", self.queue.unreadable)
            self.queue.unreadable = 0
        if not requests:
            # nothing due: look again after the poll interval, or when the next site's slot
            # comes (at most 0.5 s: another worker may push work for a free site meanwhile)
            hint = self.queue.wait_hint
            wait = self.poll_interval if hint is None else min(max(self.poll_interval, hint), 0.5)
            self._next_poll = time.monotonic() + wait
            return 0
        for request in requests:
            self.held[request.meta[META_TOKEN]] = Held(waiting=1)
            self.ready.append(request)
            if request.meta.get("sosik_redelivered"):
                self.stats.inc_value("distributed/redelivered")
        self.stats.inc_value("scheduler/dequeued/redis", len(requests))
        return len(requests)

    def _flush_soon(self) -> None:
        self._flush_call = None
        if self._flush_outbox():
            self._prefetch()  # an idle engine learns of the new work now, not at its next poll

    def _flush_outbox(self) -> bool:
        """Push the outbox; False while Redis is away (kept for the next try)."""
        if not self.outbox:
            return True
        batch, entries = list(self.outbox), []
        for request in batch:
            try:
                payload = self.queue.encode(request)
            except (TypeError, ValueError) as e:
                self.stats.inc_value("distributed/unstorable")
                record = getattr(self.spider, "record_error", None)
                if record is not None:
                    record("queue", request.url, str(e))
                else:
                    logger.error("cannot queue %s: %s", request.url, e)
                continue
            fp = None if request.dont_filter else self.df.request_fingerprint(request)
            entries.append(
                self.frontier.push_args(
                    payload, request.url, site_of(request), request.priority, fp
                )
            )
        try:
            ids = self.frontier.push_many(entries)
        except RedisDown:
            return False
        del self.outbox[: len(batch)]
        pushed = sum(1 for i in ids if i)
        self.stats.inc_value("scheduler/enqueued/redis", pushed)
        if len(ids) - pushed:
            self.stats.inc_value("dupefilter/filtered", len(ids) - pushed)
        return True

    # -- finishing requests ----------------------------------------------------------------------
    def _in_progress(self) -> Any:
        """The requests Scrapy's engine is still working on (downloading, in a callback, or
        with items in the pipelines): ExecutionEngine keeps them in its slot until the whole
        of that is over."""
        slot = getattr(self.crawler.engine, "_slot", None)
        return slot.inprogress if slot is not None else ()

    def _parked_tokens(self) -> set[str]:
        """Ids with a retry parked by RetryAfterMiddleware (waiting for its Retry-After outside
        the scheduler): not finished while it waits."""
        from crawler.middlewares.retry import RetryAfterMiddleware

        mw = self.crawler.get_downloader_middleware(RetryAfterMiddleware)
        if mw is None:
            return set()
        return {r.meta[META_TOKEN] for r in mw.parked_requests() if META_TOKEN in r.meta}

    def _awaiting_store(self) -> bool:
        """Finished ids whose items the store still holds in memory (they will be durable).
        Those in a spill file keep the frontier busy all the same (their leases are held)."""
        return bool(self.completed) and self.durability.settling()

    def _reap(self) -> None:
        """Move ids whose every request Scrapy has finished to `completed`."""
        if not self.held:
            return
        busy = self._in_progress()
        parked = self._parked_tokens()
        for token, held in list(self.held.items()):
            if held.waiting:
                continue
            held.active = [r for r in held.active if r in busy]
            if not held.active and token not in parked:
                del self.held[token]
                self.completed.append((token, self.durability.handed()))

    def _ack_cycle(self) -> bool:
        """Acknowledge the finished ids whose items are durable, with the stats and named
        failures since the last cycle, in one transaction. False when it must be tried again."""
        if not self._flush_outbox():
            return False
        durable = self.durability.durable()
        n = 0
        while n < min(len(self.completed), ACK_BATCH * 8) and self.completed[n][1] <= durable:
            n += 1
        tokens = [token for token, _ in self.completed[:n]]
        self._nudge_store(n)
        r = self.guard.redis
        pipe = r.pipeline(transaction=True)
        stats_now = self._stats_into(pipe)
        errors_now = self.errors.into(pipe, self.keys.job_errors(self.job))
        if tokens:
            self.frontier.ack(tokens, client=pipe)
        try:
            result = self.guard.call(pipe.execute)
        except RedisDown:
            return False
        self._sent_stats = stats_now
        self.errors.sent(errors_now)
        self._last_ack = time.monotonic()
        if tokens:
            del self.completed[:n]
            acked, late = (int(x) for x in result[-1])
            self.stats.inc_value("distributed/acked", acked)
            if late:
                self.stats.inc_value("distributed/late_acks", late)
        return True

    def _nudge_store(self, acked: int) -> None:
        """Finished ids waiting on the store longer than an acknowledgement interval: ask it to
        write now rather than at its batch size or flush interval."""
        if acked == len(self.completed):
            self._waiting_since = None
            return
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        if now - self._waiting_since >= self.ack_interval:
            self.stats.inc_value("distributed/ack_deferred")
            self.durability.write_soon()
            self._waiting_since = now

    def _stats_into(self, pipe: Any) -> dict[str, float]:
        """Queue this worker's stat increments since the last cycle into `pipe`; what was
        sent."""
        current: dict[str, float] = {}
        for k, v in self.crawler.stats.get_stats().items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if k.startswith(NOT_SUMMED):
                continue
            current[k] = v
        key = self.keys.job_stats(self.job)
        for k, v in current.items():
            delta = v - self._sent_stats.get(k, 0)
            if delta:
                pipe.hincrbyfloat(key, k, delta)
        return current

    # -- the loop --------------------------------------------------------------------------------
    def _tick(self) -> None:
        try:
            self._tick_once()
        except Exception:
            logger.exception("distributed scheduler tick failed")

    def _tick_once(self) -> None:
        now = time.monotonic()
        self._reap()
        if self.outbox:
            self._flush_outbox()
        if self.completed and (
            now - self._last_ack >= self.ack_interval or len(self.completed) >= ACK_BATCH
        ):
            self._ack_cycle()
        elif now - self._last_ack >= 5.0:
            self._ack_cycle()  # stats only
        if now - self._last_renew >= self.renew_interval:
            self._renew()
        engine = self.crawler.engine
        if engine is None or self.draining:
            return
        if now >= self._next_poll and self._prefetch():
            return
        if (
            not self.held
            and not self.ready
            and not self.outbox
            and not self._awaiting_store()
            and now - self._last_look >= 0.5
            and engine.spider_is_idle()
        ):
            self._last_look = now
            if self._frontier_exhausted():
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(engine.close_spider_async(reason="finished"))

    def _prefetch(self) -> bool:
        """Wake an idle engine if there is work: on its own it asks its scheduler again only
        every 5 s; `engine.crawl` of a request taken from the frontier wakes it at once."""
        engine = self.crawler.engine
        if engine is None or self.draining or engine.needs_backout():
            return False
        if not self.ready and not self._fill():
            return False
        request = self.ready.popleft()
        self.held[request.meta[META_TOKEN]].waiting -= 1
        engine.crawl(request)  # back into `ready` through enqueue_request, and the engine runs
        return True

    def _renew(self) -> None:
        ids = [*self.held, *(token for token, _ in self.completed)]
        try:
            lost = self.frontier.renew(ids)
        except RedisDown:
            return
        self._last_renew = time.monotonic()
        if lost:
            self.stats.inc_value("distributed/leases_lost", len(lost))
            logger.warning("%d leases expired before renewal (redone elsewhere)", len(lost))

    def _frontier_exhausted(self) -> bool:
        """Nothing pending or in flight anywhere (or the job is gone)."""
        try:
            job = self.board.get(self.job)
            if job is None:
                logger.error("job %s is gone from Redis (its frontier was lost): closing", self.job)
                return True
            if job.state not in ("active", "finishing"):
                logger.info("job %s is %s: closing", self.job, job.state)
                return True
            return not self.frontier.busy()
        except RedisDown:
            return False

    def _spider_idle(self, spider: Any = None) -> None:
        if self.draining:
            return
        self._reap()
        if self.held or self.ready or self.outbox or self._awaiting_store():
            raise DontCloseSpider
        if not self._frontier_exhausted():
            raise DontCloseSpider
