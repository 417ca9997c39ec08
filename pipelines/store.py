"""Store: articles and search hits into PostgreSQL, in batches, off the reactor, losing nothing.

Items are buffered and written by one writer at a time, in batches (STORE_BATCH_SIZE articles,
hits first), at least every STORE_FLUSH_SECONDS and when the spider closes. Each batch runs on
a database thread through the crawl's owner (crawler.extensions.owner): the reactor keeps downloading
and parsing while PostgreSQL works. What the database decides of each item is counted under its
Outcome's stats (`store/inserted`, `store/updated`, `store/unchanged`, `dedupe/dropped_*`,
`store/suspect`, `store/rejected`).

When a write fails:

- an item the database refuses (pipelines.writing) is `store/rejected`, named with its URL and
  the database's message in the run record; the rest of its batch is stored;
- the database unreachable or the session killed: the batch stays in memory and is written
  again through a fresh pooled connection after a backoff (STORE_RETRY_BACKOFF, doubling to
  STORE_RETRY_BACKOFF_MAX) while new items keep arriving. The buffer is bounded by
  STORE_BUFFER_ITEMS and STORE_BUFFER_BYTES: past the bound while the database is down, the
  buffer goes to the spill file (pipelines.spill, fsynced); past STORE_RETRY_SECONDS of outage
  the batch being retried goes there too, and each later batch is tried once and spilled. When
  the database answers again, the run's own spill files are written back. What is still in a
  spill file when the crawl ends is named in the run record as a failure (the run is `errors`),
  and written back by the next crawl on the same database or `sosik db flush-spill`.
- a healthy database slower than the crawl: `process_item` waits for room in the buffer
  (backpressure), which slows the scraper rather than growing memory.

Durability watermark (`StorePipeline.watermark`), for whoever must know that an item is safe
before it lets go of the work that produced it (the distributed scheduler acknowledges a
request only then): every item handed to `process_item` gets the next number (`handed`);
`durable` is the highest number up to which every item is settled: committed to PostgreSQL,
or finally refused (the database or a bug: named in the run record, nothing more will happen
to it). An item in a spill file is not durable: the file is on this host only, and written
back only if the database answers again (then its items are settled). `write_soon()` asks the
writer for a batch now, whatever its size, or with nothing buffered to try writing back its
spill files, without waiting for it.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawler.domain.items import ArticleItem, SearchHit
from crawler.domain.outcomes import Outcome
from crawler.extensions.owner import DatabaseOwner
from pipelines.spill import write_back
from pipelines.writing import Written, is_transient, one_line, write

logger = logging.getLogger(__name__)

SUSPECT_REASON = "much shorter than the stored text: held in article_suspects, not made current"


def item_size(item: ArticleItem | SearchHit) -> int:
    """Rough bytes an item holds in memory (the buffer's byte bound)."""
    if isinstance(item, ArticleItem):
        return 3 * (len(item.body) + len(item.title) + len(item.subtitle or "")) + 1000
    return 3 * (len(item.title) + len(item.snippet or "")) + 500


class Watermark:
    """Items numbered as they are handed to the store, and how far they are all durable."""

    def __init__(self) -> None:
        self.handed = 0  # items handed so far; the last one's number
        self._open: set[int] = set()  # numbers not settled yet
        self._heap: list[int] = []  # the same, as a heap (settled ones removed lazily)

    def take(self) -> int:
        """The next item's number."""
        self.handed += 1
        self._open.add(self.handed)
        heapq.heappush(self._heap, self.handed)
        return self.handed

    def settle(self, numbers: Iterable[int]) -> None:
        """Marks these item numbers as done (committed, or finally refused) so `durable` can move
        past them.
        """
        self._open.difference_update(numbers)

    @property
    def durable(self) -> int:
        """Every item numbered up to this one is settled (committed, or finally refused)."""
        while self._heap and self._heap[0] not in self._open:
            heapq.heappop(self._heap)
        return self._heap[0] - 1 if self._heap else self.handed


class StorePipeline:
    """Writes articles and search hits to PostgreSQL in batches from a bounded buffer; spills to
    disk while the database is down.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.owner = DatabaseOwner.of(crawler)
        self.context = self.owner.context
        s = crawler.settings
        self.batch_size = s.getint("STORE_BATCH_SIZE", 250)
        self.flush_seconds = s.getfloat("STORE_FLUSH_SECONDS", 5.0)
        self.max_items = s.getint("STORE_BUFFER_ITEMS", 2000)
        self.max_bytes = s.getint("STORE_BUFFER_BYTES", 64 * 2**20)
        self.retry_seconds = s.getfloat("STORE_RETRY_SECONDS", 30.0)
        self.backoff = s.getfloat("STORE_RETRY_BACKOFF", 0.5)
        self.backoff_max = s.getfloat("STORE_RETRY_BACKOFF_MAX", 5.0)
        self.articles: deque[ArticleItem] = deque()
        self.hits: deque[SearchHit] = deque()
        self.size = 0
        self.last_flush = time.monotonic()
        self.closing = False
        self.down_since: float | None = None
        self.spilled: dict[Path, list[str]] = {}  # our spill files -> URLs still only there
        self.watermark = Watermark()
        self._numbers: dict[int, int] = {}  # id(item) -> its watermark number, while held here
        self._spilled_numbers: dict[Path, list[int]] = {}  # numbers only in a spill file
        self._soon = False
        self._wake: Deferred[None] | None = None
        self._room: list[Deferred[None]] = []
        self._writer: Deferred[None] | None = None
        self._timer: Any = None

    @classmethod
    def from_crawler(cls, crawler):
        """Reads the STORE_* settings (batch size, flush seconds, buffer bounds, retry times) from
        the crawler.
        """
        return cls(crawler)

    # -- Scrapy's side -------------------------------------------------------------------------
    def open_spider(self, spider=None) -> None:
        """Starts the background writer and the flush timer (ticks at most every second)."""
        from twisted.internet import task

        self._writer = deferred_from_coro(self._write_loop())
        self._timer = task.LoopingCall(self._tick)
        self._timer.start(min(1.0, self.flush_seconds), now=False)

    async def process_item(self, item, spider=None):
        """Buffers an ArticleItem or SearchHit for the writer; waits while the buffer is over its
        bound (spills at once while the database is down).
        """
        if isinstance(item, SearchHit):
            self.hits.append(item)
        elif isinstance(item, ArticleItem):
            self.articles.append(item)
        else:
            return item
        self._numbers[id(item)] = self.watermark.take()
        self.size += item_size(item)
        if self._due():
            self._wakeup()
        while self._over_bound():
            if self.down_since is not None:
                await self._spill(self._take_all())  # the database is down: to disk, now
                break
            await self._wait_for_room()
        return item

    async def close_spider(self, spider=None) -> None:
        """Flushes what is buffered, writes back our spill files if the database is up, and names
        every URL still only on disk as a failure.
        """
        self.closing = True
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._wakeup()
        if self._writer is not None:
            await maybe_deferred_to_future(self._writer)
        if self.spilled and self.down_since is None:
            await self._write_back_own()
        for path, urls in self.spilled.items():
            reason = (
                f"database unavailable: kept in {path}; written back by the next crawl "
                "or `sosik db flush-spill`"
            )
            for url in urls:
                self.context.fail("store", url, reason)
            self.stats.inc_value("store/spilled_pending", len(urls))

    def unsettled_in_memory(self) -> int:
        """Items handed and neither settled nor spilled (in the buffer or being written)."""
        return len(self._numbers)

    def write_soon(self) -> None:
        """Write what the buffer holds now, whatever its size (does not wait for it)."""
        self._soon = True
        if self._due() or self.spilled:
            self._wakeup()

    # -- the writer ------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self._due():
            self._wakeup()

    def _due(self) -> bool:
        pending = bool(self.articles or self.hits)
        return pending and (
            self.closing
            or self._soon
            or len(self.articles) >= self.batch_size
            or len(self.hits) >= 5 * self.batch_size
            or time.monotonic() - self.last_flush >= self.flush_seconds
        )

    def _over_bound(self) -> bool:
        return len(self.articles) + len(self.hits) > self.max_items or self.size > self.max_bytes

    def _given_up(self) -> bool:
        """The database has been down longer than STORE_RETRY_SECONDS."""
        return (
            self.down_since is not None and time.monotonic() - self.down_since >= self.retry_seconds
        )

    def _wakeup(self) -> None:
        if self._wake is not None:
            d, self._wake = self._wake, None
            d.callback(None)

    async def _wait_for_room(self) -> None:
        d: Deferred[None] = Deferred()
        self._room.append(d)
        await maybe_deferred_to_future(d)

    def _release_room(self) -> None:
        if self.down_since is not None or not self._over_bound():
            waiting, self._room = self._room, []
            for d in waiting:
                d.callback(None)

    def _take(self) -> tuple[list[ArticleItem], list[SearchHit]]:
        articles = [
            self.articles.popleft() for _ in range(min(self.batch_size, len(self.articles)))
        ]
        hits = [self.hits.popleft() for _ in range(min(5 * self.batch_size, len(self.hits)))]
        self.size -= sum(item_size(it) for it in (*articles, *hits))
        return articles, hits

    def _take_all(self) -> list[ArticleItem | SearchHit]:
        items: list[ArticleItem | SearchHit] = [*self.hits, *self.articles]
        self.hits.clear()
        self.articles.clear()
        self.size = 0
        return items

    async def _write_loop(self) -> None:
        while True:
            try:
                if not self._due():
                    if self.closing:
                        return
                    if self._soon and self.spilled:
                        # asked for durability with nothing new to write: try the spill
                        self._soon = False
                        await self._write_back_own()
                        continue
                    self._wake = Deferred()
                    await maybe_deferred_to_future(self._wake)
                    continue
                self.last_flush = time.monotonic()
                if self.closing and self._given_up():
                    await self._spill(self._take_all())  # down for long: no batch-by-batch wait
                    continue
                articles, hits = self._take()
                if not (self.articles or self.hits):
                    self._soon = False
                await self._write(articles, hits)
                self._release_room()
                if self.spilled and self.down_since is None and not self.closing:
                    await self._write_back_own()
            except Exception:
                # Never leave the loop: items would wait forever. Whatever failed was counted.
                logger.exception("the store's writer failed; it goes on")

    async def _write(self, articles: list[ArticleItem], hits: list[SearchHit]) -> None:
        """Write one batch; retry while the database is down, then spill it."""
        delay = self.backoff
        while True:
            try:
                written = await self.owner.run(write, articles, hits, self.context.store_options())
            except Exception as exc:
                if not is_transient(exc):
                    # Not the database's refusal (pipelines.writing handles those): a bug.
                    logger.exception("storing a batch failed")
                    for it in (*hits, *articles):
                        self.context.fail("store", it.url, f"store failed: {one_line(exc)}")
                    self.stats.inc_value("store/failed", len(hits) + len(articles))
                    self._settle((*hits, *articles))
                    return
                if self.down_since is None:
                    self.down_since = time.monotonic()
                    logger.error(
                        "database unavailable (%s): %d items kept, retrying",
                        one_line(exc),
                        len(articles) + len(hits) + len(self.articles) + len(self.hits),
                    )
                    self._release_room()  # waiting items now go to disk instead
                self.stats.inc_value("store/write_retries")
                if self._given_up():
                    await self._spill([*hits, *articles])
                    return
                await sleep(delay)
                delay = min(2 * delay, self.backoff_max)
                continue
            if self.down_since is not None:
                down = time.monotonic() - self.down_since
                logger.warning("database back after %.1fs; storing again", down)
                self.stats.inc_value("store/outage_seconds", round(down, 1))
                self.down_since = None
            self._account(written)
            self._settle((*hits, *articles))
            return

    def _settle(self, items: Iterable[ArticleItem | SearchHit]) -> None:
        """These items are committed or finally refused: the watermark may pass them."""
        self.watermark.settle(
            [self._numbers.pop(id(it)) for it in items if id(it) in self._numbers]
        )

    def _account(self, written: Written) -> None:
        if written.hits:
            self.stats.inc_value("store/search_hits", written.hits)
        for item, result in written.articles:
            for key in result.outcome.stats:
                self.stats.inc_value(key)
            if result.outcome == Outcome.SUSPECT:
                self.context.note("suspect", item.url, SUSPECT_REASON)
        for refused in written.refused:
            for key in Outcome.REJECTED.stats:
                self.stats.inc_value(key)
            self.context.fail(
                "store", refused.item.url, f"refused by the database: {refused.reason}"
            )

    # -- the spill file --------------------------------------------------------------------------
    async def _spill(self, items: list[ArticleItem | SearchHit]) -> None:
        if not items:
            return
        spill = await self.owner.run_io(self.context.spill_file)
        await self.owner.run_io(spill.append, items)
        self.spilled.setdefault(spill.path, []).extend(it.url for it in items)
        numbers = [self._numbers.pop(id(it)) for it in items if id(it) in self._numbers]
        self._spilled_numbers.setdefault(spill.path, []).extend(numbers)
        self.stats.inc_value("store/spilled", len(items))
        logger.warning("%d items spilled to %s (database unavailable)", len(items), spill.path)

    async def _write_back_own(self) -> None:
        """Write this run's spill files back once the database answers again."""
        ctx = self.context
        for path in list(self.spilled):
            if ctx.spill is not None and ctx.spill.path == path:
                ctx.spill.close()  # new spills go to a new file
                ctx.spill = None
            try:
                done = await self.owner.run(write_back, path, ctx.store_options(), record_run=False)
            except Exception as exc:
                logger.warning("writing back %s failed: %s", path, one_line(exc))
                return
            if done is None:
                continue  # another process is writing it back
            del self.spilled[path]
            self.watermark.settle(self._spilled_numbers.pop(path, ()))
            for outcome, n in done.outcomes.items():
                for key in Outcome(outcome).stats:
                    self.stats.inc_value(key, n)
            ctx.record.extend(done.record)
            if done.refused:
                self.stats.inc_value("store/rejected", done.refused)
            self.stats.inc_value("store/spill_written_back", done.articles + done.hits)
            logger.warning("wrote back %d spilled items from %s", done.articles + done.hits, path)
