"""The crawl's database owner: one pool, one run row, every database call off the reactor.

`DatabaseOwner` is a Scrapy extension built in `from_crawler`. It reads the database URL once
(STORE_DATABASE_URL, else DATABASE_URL, else the embedded server), holds the crawl's
`psycopg_pool` pool and a small thread pool of its own, and hands the components that need the
database a typed `RunContext` (`DatabaseOwner.of(crawler).context`) instead of attributes
patched onto the crawler. Components call the database through `owner.run(fn, *args)`, which
runs `fn(connection, *args)` on one of the owner's threads with a pooled connection and returns
an awaitable: the reactor thread never waits on PostgreSQL (docs/concurrency.md).

The run row: opened at `spider_opened` (with the process's pid, host and identity, after
writing back any pending spill file of this database and marking `killed` the runs whose
process is gone), kept alive by a heartbeat carrying the stats and errors so far, and closed at
`spider_closed`, always: `ok`, `errors`, `degraded` or `failed` (crawler.runrecord.assess). When the
database is down at that moment, the run's end goes to the spill file with the items the store
could not write, and the next crawl or `sosik db flush-spill` records it.

Resume: a crawl started with the same spider and arguments as a run that was killed (or
failed) continues it. The state is the database itself: the article URLs that run chain stored
are known, the spider walks its list and result pages again and `ResumeFilter` drops the
article requests whose URL is stored already, so the resumed crawl stores exactly the articles
the killed one had not, and none twice. Incremental search crawls page on past "all known"
result pages when the previous run of the same crawl did not end `ok`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from scrapy import signals
from scrapy.exceptions import CloseSpider
from scrapy.http import Request
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future

from crawler.domain.dates import KST
from crawler.domain.keys import digest64
from crawler.domain.urls import canonical_url
from crawler.runrecord import (
    Assessment,
    RunRecord,
    assess,
    json_stats,
    process_identity,
    reap_dead_runs,
    this_host,
)
from pipelines.spill import SpillFile, pending_files, pending_runs, spill_dir, write_back
from pipelines.writing import StoreOptions, is_transient, one_line

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Statuses after which a re-run with the same arguments continues the run (resume).
RESUMABLE = ("killed", "failed")


@dataclass(slots=True)
class Resume:
    """A killed run this crawl continues: its id, the start of its chain, what it stored."""

    from_run: int
    since: datetime
    done: frozenset[int]  # digest64 of every URL of the articles stored since `since`


@dataclass(slots=True)
class RunContext:
    """What the crawl's components share about its run (one per crawler).

    `fail` names a page or item the run lost (the run cannot end `ok`); `note` names one that
    is not a failure (not an article, a text held as suspect). The store, the validation, the
    archive and the spider write here; the owner records it in `crawl_runs`.
    """

    spider: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    owned: bool = True  # False when the CLI opens and closes the run (`crawl all`)
    database: str = ""  # the database's identity, for spill files
    record: RunRecord = field(default_factory=RunRecord)
    assessment: Assessment | None = None
    resume: Resume | None = None
    known_hits: frozenset[int] | None = None  # digest64 of this search's recent hit URLs
    incremental_stop: bool = True  # False when the previous run of this crawl lost something
    spill_directory: Path = field(default_factory=lambda: spill_dir())
    spill: SpillFile | None = None
    options: StoreOptions = field(default_factory=StoreOptions)

    def fail(self, kind: str, url: str, reason: str) -> None:
        """Records a lost page under `kind` with its URL; a failure kind keeps the run from ending
        ok.
        """
        self.record.add(kind, url, reason)

    def note(self, kind: str, url: str, reason: str) -> None:
        """Records a page left out on purpose (e.g. not_article) with its URL; a note kind is not a
        failure.
        """
        self.record.add(kind, url, reason)

    def spill_file(self) -> SpillFile:
        """This run's spill file, created on first use (file I/O: call it off the reactor)."""
        if self.spill is None:
            self.spill = SpillFile(self.spill_directory, self.database, self.run_id)
        return self.spill

    def store_options(self) -> StoreOptions:
        """What the store needs of this run: its id, and the near-duplicate cluster distance, window
        (days) and suspect ratio.
        """
        return StoreOptions(
            self.run_id,
            self.options.cluster_distance,
            self.options.cluster_window_days,
            self.options.suspect_ratio,
        )


def run_context(crawler: Any) -> RunContext | None:
    """The crawl's run context, or None when the crawler has no database owner."""
    owner = DatabaseOwner.find(crawler)
    return owner.context if owner is not None else None


class DatabaseOwner:
    """Scrapy extension: the crawl's one owner of the database (see the module docstring)."""

    def __init__(self, crawler: Any) -> None:
        from twisted.python.threadpool import ThreadPool

        from db.connection import database_url

        s = crawler.settings
        self.crawler = crawler
        self.url: str = s.get("STORE_DATABASE_URL") or database_url()
        self.wait = s.getfloat("SOSIK_DB_WAIT", 5.0)  # seconds to wait for a pooled connection
        self.heartbeat_seconds = s.getfloat("SOSIK_HEARTBEAT_SECONDS", 30.0)
        self.min_share = s.getfloat("SOSIK_DRIFT_MIN_SHARE", 0.8)
        self.min_items = s.getint("SOSIK_DRIFT_MIN_ITEMS", 3)
        self.resume_enabled = s.getbool("SOSIK_RESUME", True)
        self.known_days = s.getint("SOSIK_INCREMENTAL_DAYS", 30)
        # For measuring the concurrency model only (bench/e2e.py): run every database call on
        # the reactor thread, as before this owner existed. Never for production.
        self.inline = s.getbool("SOSIK_DB_INLINE", False)
        self.probe = ReactorProbe() if s.getbool("SOSIK_REACTOR_PROBE", False) else None
        size = s.getint("SOSIK_DB_THREADS", 4)
        self.threads = ThreadPool(minthreads=0, maxthreads=size, name="sosik-db")
        self.pool_size = size
        self.pool: Any = None
        run_id = s.getint("SOSIK_RUN_ID", 0) or None
        self.context = RunContext(
            run_id=run_id,
            owned=run_id is None,
            spill_directory=spill_dir(s.get("STORE_SPILL_DIR")),
            options=StoreOptions(
                None,
                s.getint("STORE_CLUSTER_DISTANCE", 3),
                s.getfloat("STORE_CLUSTER_WINDOW_DAYS", 3),
                s.getfloat("STORE_SUSPECT_RATIO", 0.5),
            ),
        )
        self._closers: list[Callable[[], Any]] = []
        self._beat: Any = None
        self._beat_errors = -1
        if s.get("JOBDIR"):
            logger.warning(
                "JOBDIR is set: sosik resumes a killed crawl from the database; Scrapy's "
                "JOBDIR state is not needed and its request filter may skip pages"
            )
        # The pool logs every failed reconnection attempt; the store says it once, with the URLs.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Any) -> DatabaseOwner:
        """One owner per crawler; the pipelines and middlewares find it with `DatabaseOwner.of`."""
        return cls(crawler)

    @staticmethod
    def find(crawler: Any) -> DatabaseOwner | None:
        """The crawler's owner, or None (a crawler built without sosik's extensions)."""
        try:
            return crawler.get_extension(DatabaseOwner)
        except (AttributeError, RuntimeError):
            return None

    @staticmethod
    def of(crawler: Any) -> DatabaseOwner:
        """The crawler's owner; a component that needs the database fails without one."""
        owner = DatabaseOwner.find(crawler)
        if owner is None:
            raise RuntimeError(
                "sosik's database owner is not enabled: add "
                "'crawler.extensions.owner.DatabaseOwner' to EXTENSIONS"
            )
        return owner

    # -- calls off the reactor -----------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(connection, *args, **kwargs)` on a database thread with a pooled connection.

        Raises what `fn` raises, and psycopg_pool.PoolTimeout when no connection could be had
        within SOSIK_DB_WAIT seconds (the database is down).
        """
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThreadPool

        if self.inline:
            return self._with_connection(fn, args, kwargs)
        if not self.threads.started:
            self.threads.start()
        d = deferToThreadPool(reactor, self.threads, self._with_connection, fn, args, kwargs)
        return await maybe_deferred_to_future(d)

    async def run_io(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a database thread without a connection (spill file I/O)."""
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThreadPool

        if not self.threads.started:
            self.threads.start()
        return await maybe_deferred_to_future(deferToThreadPool(reactor, self.threads, fn, *args))

    def _with_connection(self, fn: Callable[..., T], args: Iterable[Any], kwargs: Any) -> T:
        with self.pool.connection(timeout=self.wait) as conn:
            return fn(conn, *args, **kwargs)

    def on_close(self, fn: Callable[[], Any]) -> None:
        """Have `fn()` (a coroutine function) run at spider_closed before the run is closed."""
        self._closers.append(fn)

    # -- the run -------------------------------------------------------------------------------
    async def spider_opened(self, spider: Any) -> None:
        """Opens the pool and the run record in `crawl_runs` (resume, incremental and search memory
        included), then starts the reactor probe and heartbeat; raises CloseSpider when the database
        cannot be reached.
        """
        from db.connection import open_pool

        ctx = self.context
        ctx.spider = spider.name
        ctx.args = dict(getattr(spider, "run_args", {}) or {})
        self.pool = open_pool(self.url, max_size=self.pool_size, name=f"sosik-{spider.name}")
        incremental = bool(getattr(spider, "incremental", False))
        search = (getattr(spider, "portal", "") or "", getattr(spider, "query", "") or "")
        try:
            await self.run(self._open, incremental, search)
        except Exception as exc:
            reason = one_line(exc)
            logger.error("cannot open the crawl's run record: %s", reason)
            raise CloseSpider(f"database unavailable: {reason}") from exc
        if self.probe is not None:
            self.probe.start()
        if ctx.run_id is not None and self.heartbeat_seconds > 0:
            from twisted.internet import task

            # A Twisted timer calling a coroutine: run it as Scrapy runs its own (an asyncio
            # task under the asyncio reactor), not as a Twisted-driven coroutine.
            self._beat = task.LoopingCall(lambda: deferred_from_coro(self._heartbeat()))
            self._beat.start(self.heartbeat_seconds, now=False)

    def _open(self, conn: Any, incremental: bool, search: tuple[str, str]) -> None:
        """On a database thread: write back pending spills, reap dead runs, open the run."""
        from db.crawl_runs import crawl_key, database_identity, previous_run, start_run
        from db.hits import known_hit_urls
        from db.reads import urls_seen_since

        ctx = self.context
        ctx.database = database_identity(conn)
        for path in pending_files(ctx.spill_directory, ctx.database):
            done = write_back(conn, path, ctx.options, record_run=True)
            if done is not None:
                self.crawler.stats.inc_value(
                    "spill/written_back_at_start", done.articles + done.hits
                )
        reap_dead_runs(conn, skip=pending_runs(ctx.spill_directory, ctx.database))
        if ctx.owned:
            resumed = None
            if self.resume_enabled:
                prev = previous_run(conn, ctx.spider, 2**62, args=ctx.args)
                if prev is not None and prev.status in RESUMABLE:
                    since = prev.resume_since or prev.started_at
                    done = frozenset(digest64(u) for u in urls_seen_since(conn, since))
                    resumed = Resume(prev.id, since, done)
            ctx.run_id = start_run(
                conn,
                ctx.spider,
                ctx.args,
                pid=os.getpid(),
                host=this_host(),
                process=process_identity(),
                resumed_from=resumed.from_run if resumed else None,
                resume_since=resumed.since if resumed else None,
            )
            ctx.resume = resumed
            if resumed is not None:
                logger.warning(
                    "resuming run %s (%s): %d article URLs stored since %s are not fetched again",
                    resumed.from_run,
                    ctx.spider,
                    len(resumed.done),
                    resumed.since.isoformat(),
                )
                self.crawler.stats.set_value("resume/from_run", resumed.from_run)
        if incremental and ctx.run_id is not None:
            prev = previous_run(conn, ctx.spider, ctx.run_id, key=crawl_key(ctx.args))
            ctx.incremental_stop = prev is None or prev.status == "ok"
            if not ctx.incremental_stop:
                logger.warning(
                    "incremental: run %s of this crawl ended %s; paging on past known pages",
                    prev.id,  # type: ignore[union-attr]
                    prev.status,  # type: ignore[union-attr]
                )
            portal, query = search
            ctx.known_hits = frozenset(
                digest64(u) for u in known_hit_urls(conn, portal, query, self.known_days)
            )

    async def _heartbeat(self) -> None:
        from db.crawl_runs import heartbeat

        ctx = self.context
        record = ctx.record
        errors = None
        if record.failures + record.notes != self._beat_errors:
            errors, self._beat_errors = record.to_json(), record.failures + record.notes
        stats = json_stats(self.crawler.stats.get_stats()) if ctx.owned else None
        try:
            await self.run(heartbeat, ctx.run_id, stats, errors)
        except Exception as exc:
            self._beat_errors = -1
            logger.warning("heartbeat of run %s failed: %s", ctx.run_id, one_line(exc))

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Close the run, always: in the database, else in the spill file."""
        from db.crawl_runs import finish_run

        if self._beat is not None and self._beat.running:
            self._beat.stop()
        if self.probe is not None:
            self.probe.stop(self.crawler.stats)
        ctx = self.context
        # Assessed before the first await: the other spider_closed handlers (metrics) run as
        # soon as this one waits, and read it. Again after the closers: what the archive could
        # not write at the end counts too.
        ctx.assessment = self._assess(reason)
        for closer in self._closers:
            try:
                await closer()
            except Exception:
                logger.exception("closing a database component failed")
        stats = self.crawler.stats.get_stats()
        ctx.assessment = self._assess(reason)
        for alarm in ctx.assessment.alarms:
            logger.error("LAYOUT DRIFT: %s", alarm)
        try:
            if ctx.owned and ctx.run_id is not None and self.pool is not None:
                final = {
                    **json_stats(stats),
                    "finish_reason": reason,
                    "alarms": ctx.assessment.alarms,
                    "failure": ctx.assessment.reason,
                    "finished_at": datetime.now(KST).isoformat(),
                }
                errors = ctx.record.to_json()
                try:
                    await self.run(finish_run, ctx.run_id, ctx.assessment.status, final, errors)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    spill = await self.run_io(ctx.spill_file)
                    await self.run_io(spill.append_run, ctx.assessment.status, final, errors)
                    logger.error(
                        "the database is unavailable (%s): run %s ended %s; its end is kept in "
                        "%s until the next crawl or `sosik db flush-spill` records it",
                        one_line(exc),
                        ctx.run_id,
                        ctx.assessment.status,
                        spill.path,
                    )
        finally:
            if ctx.spill is not None:
                ctx.spill.close()
            if self.pool is not None:
                pool, self.pool = self.pool, None
                await self.run_io(pool.close)

    def _assess(self, reason: str) -> Assessment:
        stats = self.crawler.stats.get_stats()
        failures = self.context.record.failures
        return assess(stats, failures, reason, self.min_share, self.min_items)

    def engine_stopped(self) -> None:
        """Stops the thread pool that ran the database calls, once the engine is done with it."""
        if self.threads.started:
            self.threads.stop()


class ReactorProbe:
    """How late the reactor runs a timer due every 50 ms: how long something held the thread
    that downloads, parses and schedules (SOSIK_REACTOR_PROBE=1; stats `reactor/lag_*_ms`)."""

    INTERVAL = 0.05

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._call: Any = None
        self._due = 0.0

    def start(self) -> None:
        """Schedules the first tick, INTERVAL (50 ms) from now."""
        from twisted.internet import reactor

        self._due = time.monotonic() + self.INTERVAL
        self._call = reactor.callLater(self.INTERVAL, self._tick)

    def _tick(self) -> None:
        from twisted.internet import reactor

        now = time.monotonic()
        self.lags.append(max(0.0, now - self._due))
        self._due = now + self.INTERVAL
        self._call = reactor.callLater(self.INTERVAL, self._tick)

    def stop(self, stats: Any) -> None:
        """Cancels the timer and writes the lag stats (`reactor/lag_max_ms`, `reactor/lag_p99_ms`,
        `reactor/lag_total_s`); nothing when no tick ran.
        """
        if self._call is not None and self._call.active():
            self._call.cancel()
        if not self.lags:
            return
        lags = sorted(self.lags)
        stats.set_value("reactor/lag_max_ms", round(1000 * lags[-1], 1))
        stats.set_value("reactor/lag_p99_ms", round(1000 * lags[int(0.99 * (len(lags) - 1))], 1))
        stats.set_value("reactor/lag_total_s", round(sum(lags), 2))


class ResumeFilter:
    """Spider middleware: a resumed crawl does not fetch again the articles already stored.

    Only article requests (meta `sosik_article`) are dropped, and only those whose URL (as
    linked or canonical) belongs to an article stored since the killed run chain started; list
    and search pages are walked again, so nothing the killed crawl had not reached is missed.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.owner = DatabaseOwner.find(crawler)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ResumeFilter:
        """Built with the crawler; without a DatabaseOwner it lets every request through."""
        return cls(crawler)

    def _skip(self, r: Any) -> bool:
        resume = self.owner.context.resume if self.owner is not None else None
        if resume is None or not isinstance(r, Request) or not r.meta.get("sosik_article"):
            return False
        if digest64(r.url) in resume.done or digest64(canonical_url(r.url)) in resume.done:
            self.crawler.stats.inc_value("resume/skipped")
            return True
        return False

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Start requests, minus the article requests a resumed run already stored."""
        async for r in start:
            if not self._skip(r):
                yield r

    def process_spider_output(self, response: Any, result: Iterable[Any], spider: Any = None):
        """The spider's output, minus the article requests a resumed run already stored (counted as
        `resume/skipped`).
        """
        for r in result:
            if not self._skip(r):
                yield r

    async def process_spider_output_async(
        self, response: Any, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        """The async form of process_spider_output: same filter."""
        async for r in result:
            if not self._skip(r):
                yield r
