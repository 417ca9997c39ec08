"""`sosik worker`: one process that works on every active job's frontiers until told to stop.

The worker looks at the jobs in Redis every second; for each spider of a job with pending
requests it runs a Scrapy crawler of that spider with the job's arguments and settings, on
FrontierScheduler. The spider's own `start()` is skipped (its start requests were pushed by
`sosik enqueue`). A crawler closes when its frontier is exhausted; the worker exits when it has
had nothing to do for `DISTRIBUTED_IDLE_TIMEOUT` seconds (0: never), and on SIGTERM/SIGINT
after finishing what it holds: no new requests are taken, requests in progress complete, their
items are stored and acknowledged, requests it had not started go back to the queue. A second
signal stops at once (what it held returns to the queue when its leases expire).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
from typing import Any

from crawler.distributed.config import LOCAL_ONLY, Keys, redis_url, setting
from crawler.distributed.handoff import run_settings
from crawler.distributed.jobs import Job, JobBoard, frontier_for
from crawler.distributed.redisconn import Guard, RedisDown, client
from crawler.distributed.scheduler import JOB_SETTING, WORKER_SETTING, worker_id

logger = logging.getLogger(__name__)

BUDGET_MIDDLEWARE = "crawler.distributed.budget.BudgetMiddleware"
NO_START_MIDDLEWARE = "crawler.distributed.worker.NoStartMiddleware"


class NoStartMiddleware:
    """Spider middleware: a worker's spider does not run its own `start()`."""

    async def process_start(self, start: Any) -> Any:
        """Drops the spider's own start requests: the job's were queued in the frontier when it was
        enqueued.
        """
        aclose = getattr(start, "aclose", None)
        if aclose is not None:
            await aclose()
        return
        yield  # an asynchronous generator that yields nothing


def distributed_settings(settings: Any, job: str, run_id: int, worker: str) -> None:
    """Turn `settings` (a copy per crawler) into those of one job's worker crawler."""
    settings.set("SCHEDULER", "crawler.distributed.scheduler.FrontierScheduler", "cmdline")
    settings.set("DUPEFILTER_CLASS", "crawler.distributed.dupefilter.RotatingDupeFilter", "cmdline")
    settings.set("SCHEDULER_PERSIST", True, "cmdline")
    settings.set("SCHEDULER_SERIALIZER", "crawler.distributed.codec", "cmdline")
    settings.set(JOB_SETTING, job, "cmdline")
    settings.set(WORKER_SETTING, worker, "cmdline")
    for name, value in run_settings(run_id).items():
        settings.set(name, value, "cmdline")
    dm = settings.getdict("DOWNLOADER_MIDDLEWARES")
    dm[BUDGET_MIDDLEWARE] = 960  # after the replay rewrite: the last thing before the download
    settings.set("DOWNLOADER_MIDDLEWARES", dm, "cmdline")
    sm = settings.getdict("SPIDER_MIDDLEWARES")
    sm[NO_START_MIDDLEWARE] = 0
    settings.set("SPIDER_MIDDLEWARES", sm, "cmdline")


class Worker:
    """Runs crawlers for jobs' frontiers in one reactor until idle or stopped."""

    def __init__(
        self,
        settings: Any,
        *,
        only_job: str | None = None,
        idle_timeout: float | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.keys = Keys(setting(settings, "DISTRIBUTED_KEY_PREFIX"))
        self.guard = Guard(client(redis_url(settings)))
        self.board = JobBoard(self.guard, self.keys)
        self.only_job = only_job
        self.idle_timeout = (
            setting(settings, "DISTRIBUTED_IDLE_TIMEOUT") if idle_timeout is None else idle_timeout
        )
        self.id = name or worker_id()
        self.database_url = settings.get("STORE_DATABASE_URL") or None
        self.running: dict[tuple[str, str], Any] = {}
        self.crawlers: list[Any] = []
        self.stopping = False
        self.idle_since = time.monotonic()
        self.started = time.time()
        self.process: Any = None
        self.exit_code = 0

    # -- running ---------------------------------------------------------------------------------
    def run(self) -> int:
        """Runs the reactor, starting a crawler per job and spider with pending work, until a signal
        or the idle timeout; the exit code.
        """
        from scrapy.crawler import CrawlerProcess
        from scrapy.utils.reactor import install_reactor

        install_reactor(self.settings["TWISTED_REACTOR"] or _ASYNCIO_REACTOR)
        from twisted.internet import reactor, task

        self.process = CrawlerProcess(self.settings)
        loop = task.LoopingCall(self._poll)

        def started() -> None:
            from scrapy.utils.ossignal import install_shutdown_handlers

            install_shutdown_handlers(self._on_signal)
            loop.start(1.0, now=True)

        reactor.callWhenRunning(started)
        self.process.start(stop_after_crawl=False, install_signal_handlers=False)
        self._unregister()
        return self.exit_code

    def _on_signal(self, signum: int, _frame: Any) -> None:
        from twisted.internet import reactor

        if self.stopping:
            from scrapy.utils.ossignal import install_shutdown_handlers

            install_shutdown_handlers(signal.SIG_IGN)
            reactor.callFromThread(self._stop_reactor)
            return
        reactor.callFromThread(self.shutdown, f"signal {signal.Signals(signum).name}")

    def shutdown(self, why: str) -> None:
        """Take no new work, let every crawler finish what it holds, then stop."""
        from scrapy.utils.defer import deferred_from_coro
        from twisted.internet import defer

        if self.stopping:
            return
        self.stopping = True
        logger.info("worker %s stopping (%s): finishing what it holds", self.id, why)
        stops = []
        for crawler in list(self.running.values()):
            scheduler = getattr(crawler.engine, "scheduler", None) if crawler.engine else None
            if scheduler is not None:
                scheduler.draining = True
            stops.append(deferred_from_coro(crawler.stop_async()))
        d = defer.DeferredList(stops)
        d.addBoth(lambda _: self._stop_reactor())

    def _stop_reactor(self) -> None:
        from twisted.internet import reactor

        try:
            reactor.stop()
        except Exception:  # already stopping
            pass

    # -- looking for work --------------------------------------------------------------------------
    def _poll(self) -> None:
        try:
            self._poll_once()
        except RedisDown:
            pass
        except Exception:
            logger.exception("worker poll failed")

    def _poll_once(self) -> None:
        if self.stopping:
            return
        self._register()
        if self.only_job is not None:
            job = self.board.get(self.only_job)
            if job is None or job.state == "done":
                if not self.running:
                    self.shutdown(f"job {self.only_job} done")
                return
            jobs = [job] if job.state == "active" else []
        else:
            jobs = self.board.active()
        for job in jobs:
            busy_any = False
            for spider in job.spiders:
                f = frontier_for(self.guard, self.keys, job.id, spider, self.id, self.settings)
                pending = f.counts().get("pending", 0) > 0
                busy_any = busy_any or pending or f.busy()
                if pending and (job.id, spider) not in self.running:
                    self._start_crawler(job, spider)
            if not busy_any and not any(k[0] == job.id for k in self.running):
                # nothing left anywhere: close the run record if nobody did (a finisher died)
                try:
                    self.board.try_finish(job, self.settings, self.database_url)
                except Exception:
                    logger.exception("job %s: finishing its run record failed", job.id)
        if self.running:
            self.idle_since = time.monotonic()
        elif self.idle_timeout and time.monotonic() - self.idle_since >= self.idle_timeout:
            self.shutdown(f"idle for {self.idle_timeout:g}s")

    def _start_crawler(self, job: Job, spider: str) -> None:
        from scrapy.crawler import Crawler

        settings = self.settings.copy()
        for name, value in job.settings.items():
            if name not in LOCAL_ONLY:
                settings.set(name, value, "cmdline")
        distributed_settings(settings, job.id, job.run_id, self.id)
        spidercls = self.process.spider_loader.load(spider)
        crawler = Crawler(spidercls, settings)
        self.running[(job.id, spider)] = crawler
        self.crawlers.append(crawler)
        logger.info("worker %s: job %s spider %s (run %s)", self.id, job.id, spider, job.run_id)
        d = self.process.crawl(crawler, **job.args.get(spider, {}))

        def done(result: Any) -> Any:
            self.running.pop((job.id, spider), None)
            self.idle_since = time.monotonic()
            return None if _is_failure(result) and _log_failure(result) else result

        d.addBoth(done)

    # -- being seen ----------------------------------------------------------------------------
    def _register(self) -> None:
        info = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self.started,
            "beat": time.time(),
            "jobs": sorted({f"{j}/{s}" for j, s in self.running}),
        }
        self.guard.call(self.guard.redis.hset, self.keys.workers, self.id, json.dumps(info))

    def _unregister(self) -> None:
        try:
            self.guard.call(self.guard.redis.hdel, self.keys.workers, self.id)
        except RedisDown:
            pass


_ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def _is_failure(result: Any) -> bool:
    from twisted.python.failure import Failure

    return isinstance(result, Failure)


def _log_failure(failure: Any) -> bool:
    logger.error("crawler failed: %s", failure.getErrorMessage())
    return True
