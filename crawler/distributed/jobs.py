"""Distributed jobs: what `sosik enqueue` starts, workers pick up, and the last one finishes.

A job is one crawl (a portal, or `all`: several spiders) with one run record. In Redis:

    P:jobs              zset  job id -> created (Redis time)
    P:job:<id>          hash  run_id, portal, spiders (JSON), args (JSON per spider),
                              settings (JSON: the enqueue's -s pairs), state, created
    P:job:<id>:stats    hash  every worker's numeric Scrapy stats, summed (HINCRBYFLOAT)
    P:job:<id>:errors   list  every page workers' run records named (kind, url, reason)
    P:f:<id>:<spider>:* the frontier of each spider (crawler/distributed/scripts.py)

States: `seeding` (start requests being pushed), `active`, `finishing` (one worker is writing
the run record), `done`. A job is finished when every frontier has nothing pending and nothing
in flight; the check and the move to `finishing` are one Lua script, so exactly one worker
closes the run record. A worker pushes a request's children before it acknowledges the
request, so "nothing pending, nothing in flight" cannot happen while work remains.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from crawler.distributed import handoff, scripts
from crawler.distributed.config import Keys, setting
from crawler.distributed.frontier import Frontier, ReliableQueue
from crawler.distributed.redisconn import Guard
from crawler.runrecord import RunRecord

logger = logging.getLogger(__name__)

# Stats that make no sense summed over workers; the job's own figures replace them.
NOT_SUMMED = ("elapsed_time_seconds", "memusage/", "start_time", "finish_time")


@dataclass(slots=True)
class Job:
    """A distributed crawl: its run record, portal, spiders with their arguments and settings, state
    (seeding, active, done) and Redis times.
    """

    id: str
    run_id: int
    portal: str
    spiders: list[str]
    args: dict[str, dict[str, Any]]
    settings: dict[str, str] = field(default_factory=dict)
    state: str = "active"
    created: float = 0.0
    finished: float = 0.0


class JobBoard:
    """Jobs in Redis: create, find, finish."""

    def __init__(self, guard: Guard, keys: Keys) -> None:
        self.guard = guard
        self.keys = keys
        self._finish = guard.redis.register_script(scripts.FINISH)

    def redis_time(self) -> float:
        """Redis's clock in seconds: one clock for every worker's timestamps."""
        sec, usec = self.guard.call(self.guard.redis.time)
        return sec + usec / 1e6

    # -- creating ------------------------------------------------------------------------------
    def create(
        self,
        run_id: int,
        portal: str,
        args: dict[str, dict[str, Any]],
        settings: dict[str, str],
    ) -> Job:
        """Writes a new job, numbered from the job counter, in state seeding (not listed until
        `activate`).
        """
        r = self.guard.redis
        ident = str(self.guard.call(r.incr, self.keys.job_seq))
        now = self.redis_time()
        job = Job(ident, run_id, portal, list(args), args, settings, "seeding", now)
        mapping = {
            "run_id": run_id,
            "portal": portal,
            "spiders": json.dumps(job.spiders),
            "args": json.dumps(args, ensure_ascii=False, default=str),
            "settings": json.dumps(settings, ensure_ascii=False),
            "state": "seeding",
            "created": now,
        }
        self.guard.call(r.hset, self.keys.job(ident), mapping=mapping)
        return job

    def activate(self, job: Job) -> None:
        """Lists the seeded job for workers (state active), in one transaction."""
        r = self.guard.redis
        pipe = r.pipeline(transaction=True)
        pipe.hset(self.keys.job(job.id), "state", "active")
        pipe.zadd(self.keys.jobs, {job.id: job.created})
        self.guard.call(pipe.execute)
        job.state = "active"

    # -- finding -------------------------------------------------------------------------------
    def get(self, ident: str) -> Job | None:
        """The job with this id; None when Redis has no such job (or it expired)."""
        raw = self.guard.call(self.guard.redis.hgetall, self.keys.job(ident))
        if not raw:
            return None
        d = {_text(k): _text(v) for k, v in raw.items()}
        return Job(
            ident,
            int(d["run_id"]),
            d["portal"],
            json.loads(d["spiders"]),
            json.loads(d["args"]),
            json.loads(d.get("settings") or "{}"),
            d.get("state", "active"),
            float(d.get("created") or 0),
            float(d.get("finished") or 0),
        )

    def all(self) -> list[Job]:
        """Every job Redis still knows (oldest first); done ones until their keys expire."""
        ids = [_text(x) for x in self.guard.call(self.guard.redis.zrange, self.keys.jobs, 0, -1)]
        jobs = []
        for ident in ids:
            job = self.get(ident)
            if job is None:  # expired: drop it from the index
                self.guard.call(self.guard.redis.zrem, self.keys.jobs, ident)
            else:
                jobs.append(job)
        return jobs

    def active(self) -> list[Job]:
        """The jobs workers should crawl now."""
        return [j for j in self.all() if j.state == "active"]

    def bases(self, job: Job) -> list[str]:
        """The frontier key prefix of each of the job's spiders."""
        return [self.keys.frontier(job.id, s) for s in job.spiders]

    # -- finishing -----------------------------------------------------------------------------
    def try_finish(self, job: Job, settings: Any, database_url: str | None) -> bool:
        """Close the job's run record if the job is done and nobody else is closing it."""
        args = [self.keys.job(job.id), "active", "finishing", *self.bases(job)]
        if not int(self.guard.call(self._finish, args=args)):
            return False
        try:
            stats, record = self.rollup(job)
            a = handoff.assess(stats, record.failures, settings)
            final = {
                **stats,
                "finish_reason": "finished",
                "alarms": a.alarms,
                "failure": a.reason,
                "distributed": {"job": job.id, "portal": job.portal, "spiders": job.spiders},
            }
            handoff.close_run(database_url, job.run_id, a.status, final, record.to_json())
        except Exception:
            # back to active: the next worker that looks tries again
            self.guard.call(self.guard.redis.hset, self.keys.job(job.id), "state", "active")
            raise
        self.mark_done(job, settings)
        logger.info("job %s finished: run %s %s", job.id, job.run_id, a.status)
        return True

    def rollup(self, job: Job) -> tuple[dict[str, Any], RunRecord]:
        """The job's stats (workers' counts summed, the frontiers' own figures added) and its
        run record (the pages workers named, then every failed queue entry with its URL)."""
        r = self.guard.redis
        raw = self.guard.call(r.hgetall, self.keys.job_stats(job.id))
        stats: dict[str, Any] = {}
        for k, v in raw.items():
            f = float(v)
            stats[_text(k)] = int(f) if f.is_integer() else f
        listed = self.guard.call(r.lrange, self.keys.job_errors(job.id), 0, -1)
        record = RunRecord()
        for e in listed:
            named = json.loads(_text(e))
            record.add(named["kind"], named["url"], named["reason"])
        now = self.redis_time()
        stats["elapsed_time_seconds"] = round(now - job.created, 3)
        for base in self.bases(job):
            counts = {
                _text(k): int(v) for k, v in self.guard.call(r.hgetall, f"{base}:counts").items()
            }
            for name in ("pushed", "done", "failed", "reclaimed", "released", "late", "filtered"):
                if counts.get(name):
                    key = f"distributed/{name}"
                    stats[key] = stats.get(key, 0) + counts[name]
            failed = self.guard.call(r.hgetall, f"{base}:failed")
            for _, v in sorted(failed.items(), key=lambda kv: int(kv[0])):
                f = json.loads(_text(v))
                record.add("queue", f.get("url", "?"), f.get("reason", "?"))
        return stats, record

    def mark_done(self, job: Job, settings: Any) -> None:
        """Marks the job done; its keys and the frontiers' counts expire after DISTRIBUTED_DONE_TTL
        seconds, the rest of the frontiers goes now.
        """
        r = self.guard.redis
        ttl = int(setting(settings, "DISTRIBUTED_DONE_TTL"))
        pipe = r.pipeline(transaction=True)
        pipe.hset(self.keys.job(job.id), mapping={"state": "done", "finished": self.redis_time()})
        for key in (
            self.keys.job(job.id),
            self.keys.job_stats(job.id),
            self.keys.job_errors(job.id),
        ):
            pipe.expire(key, ttl)
        self.guard.call(pipe.execute)
        # the frontiers: everything but their counts goes now, the counts after the TTL
        for base in self.bases(job):
            for key in self.guard.call(lambda b=base: list(r.scan_iter(match=f"{b}:*"))):
                if _text(key) == f"{base}:counts":
                    self.guard.call(r.expire, key, ttl)
                else:
                    self.guard.call(r.delete, key)


def frontier_for(
    guard: Guard, keys: Keys, job: str, spider: str, worker: str, settings: Any
) -> Frontier:
    """The Frontier of one spider of one job, with the settings' lease, budget and TTLs."""
    return Frontier(
        guard,
        keys,
        keys.frontier(job, spider),
        worker,
        lease=setting(settings, "DISTRIBUTED_LEASE_SECONDS"),
        lookahead=setting(settings, "DISTRIBUTED_LOOKAHEAD"),
        default_rate=setting(settings, "DISTRIBUTED_SITE_RATE"),
        max_deliveries=setting(settings, "DISTRIBUTED_MAX_DELIVERIES"),
        fingerprint_ttl=setting(settings, "DISTRIBUTED_FINGERPRINT_TTL"),
    )


def enqueue(
    guard: Guard,
    settings: Any,
    portal: str,
    per_spider: dict[str, dict[str, Any]],
    job_settings: dict[str, str],
    run_args: dict[str, Any],
) -> Job:
    """Start a distributed job: its run record, then each spider's start requests pushed (the
    spider's own `start()`, so a distributed crawl begins exactly where a local one does)."""
    from scrapy.crawler import Crawler
    from scrapy.spiderloader import get_spider_loader
    from scrapy.utils.misc import build_from_crawler, load_object

    from crawler.distributed.budget import SiteBudget

    keys = Keys(setting(settings, "DISTRIBUTED_KEY_PREFIX"))
    board = JobBoard(guard, keys)
    loader = get_spider_loader(settings)
    spiders = {}
    for name, kwargs in per_spider.items():  # arguments checked before anything is written
        crawler = Crawler(loader.load(name), settings)
        spiders[name] = (crawler, crawler.spidercls.from_crawler(crawler, **kwargs))
    database_url = settings.get("STORE_DATABASE_URL") or None
    run_id = handoff.open_run(database_url, portal, run_args)
    job = board.create(run_id, portal, per_spider, job_settings)
    for name, (crawler, spider) in spiders.items():
        fingerprinter = build_from_crawler(
            load_object(settings["REQUEST_FINGERPRINTER_CLASS"]), crawler
        )
        frontier = frontier_for(guard, keys, job.id, name, "enqueue", settings)
        queue = ReliableQueue(guard.redis, spider, frontier.base, frontier)
        for request in asyncio.run(_start_requests(spider)):
            fp = None if request.dont_filter else fingerprinter.fingerprint(request)[:16]
            queue.push(request, fp)
    SiteBudget(
        guard,
        keys,
        setting(settings, "DISTRIBUTED_SITE_RATE"),
        setting(settings, "DISTRIBUTED_SITE_RATES"),
    ).publish()
    board.activate(job)
    logger.info("job %s: run %s, %s", job.id, run_id, ", ".join(per_spider))
    return job


async def _start_requests(spider: Any) -> list[Any]:
    import scrapy

    out = []
    async for x in spider.start():
        if isinstance(x, scrapy.Request):
            out.append(x)
    return out


def wait_done(board: JobBoard, job_id: str, timeout: float, poll: float = 0.2) -> Job | None:
    """The job once it is done (None if it is not within `timeout` seconds)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = board.get(job_id)
        if job is not None and job.state == "done":
            return job
        time.sleep(poll)
    return None


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


__all__ = ["Job", "JobBoard", "enqueue", "frontier_for", "wait_done"]
