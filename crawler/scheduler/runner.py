"""The scheduler: due jobs of schedule.toml run one at a time, each under its lock (a lease,
db.jobs), each crawl in a child `sosik crawl` process. What a job is and when it is due is
crawler/scheduler/jobs.py; `sosik schedule` (crawler/commands/schedule.py) starts it.

A SIGTERM (or Ctrl-C) is forwarded to the running crawl, whose graceful shutdown finishes the
requests in flight and flushes the store; then the scheduler returns 0 without starting
anything else. The child runs in its own session, so a terminal's Ctrl-C reaches it once,
through us, not twice (a second signal makes Scrapy stop at once).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from crawler.domain.dates import KST
from crawler.scheduler.jobs import (
    SUCCESS_STATUSES,
    Crawl,
    Job,
    Schedule,
    crawl_commands,
    crawl_key,
    due_jobs,
    next_due,
)

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75  # sysexits.h: the job is running elsewhere; try again later
MAX_NAP = 60.0  # seconds; the scheduler looks at crawl_runs at least this often
RETRY_NAP = 30.0  # after the database could not be reached


@dataclass(slots=True)
class JobResult:
    """What running one job did: ran, skipped (another scheduler held it) or stopped, with the worst
    exit code of its crawls and its duration in seconds.
    """

    job: str
    status: str  # ran, skipped, stopped
    exit_code: int
    seconds: float = 0.0


def child_env(url: str) -> dict[str, str]:
    """The crawl's environment: ours, the same database, the page archive on unless the
    operator switched it off, no metrics port of its own."""
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env.setdefault("SOSIK_ARCHIVE", "1")  # scheduled crawls keep their raw pages for reparse
    env.pop("SOSIK_METRICS_PORT", None)  # the scheduler serves it; a child would collide
    return env


def worst(codes: list[int]) -> int:
    """One exit code for a job's crawls: degraded (2) over errors/failed (1) over ok (0)."""
    return max((c if c in (0, 1, 2) else 1 for c in codes), default=0)


class Scheduler:
    """Runs due jobs, each under its lock (a lease), one crawl process at a time."""

    def __init__(
        self,
        schedule: Schedule,
        url: str,
        *,
        command: list[str] | None = None,
        metrics: Any = None,
    ) -> None:
        self.schedule = schedule
        self.url = url
        self.command = command or [sys.executable, "-m", "crawler.cli"]
        self.env = child_env(url)
        self.metrics = metrics
        self.conn: Any = None
        self.attempts: dict[str, datetime] = {}  # job -> when this scheduler last tried it
        self.started: datetime | None = None
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None
        self.wake = threading.Event()

    # -- database ------------------------------------------------------------------------------
    def connection(self) -> Any:
        """The scheduler's database connection, opened again when it was closed or broken."""
        from db.connection import connect

        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = connect(self.url)
        return self.conn

    def close(self) -> None:
        """Closes the database connection if one is open."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def last_runs(self) -> dict[str, datetime]:
        """Each job's last start: the newer of crawl_runs (any host) and our own attempts."""
        from db.jobs import last_job_starts

        try:
            last = dict(last_job_starts(self.connection()))
        except psycopg.OperationalError:  # the session died (server restart): once more, anew
            self.close()
            last = dict(last_job_starts(self.connection()))
        for job, at in self.attempts.items():
            if job not in last or at > last[job]:
                last[job] = at
        return last

    def last_successes(self, job: Job) -> dict[str, datetime]:
        """Crawl key -> start of its last successful run, when the job resumes its window."""
        if not job.resume_window:
            return {}
        from db.jobs import last_successes

        runs = last_successes(self.connection(), job.name, SUCCESS_STATUSES)
        return {
            crawl_key(r.spider, r.args.get("query"), r.args.get("section")): r.started_at
            for r in runs
        }

    def commands(self, job: Job, now: datetime) -> list[Crawl]:
        """The `sosik crawl` commands of the job for today (KST), resuming each from its last
        successful run when the job says so.
        """
        return crawl_commands(job, now.astimezone(KST).date(), self.last_successes(job))

    # -- running -------------------------------------------------------------------------------
    def tick(self, now: datetime) -> list[JobResult]:
        """Run every job due at `now` (injected, so tests need no clock)."""
        if self.started is None:
            self.started = now
        due = due_jobs(
            self.schedule.jobs, self.last_runs(), now, start=self.started, tz=self.schedule.timezone
        )
        results = []
        for job in due:
            if self.stopping:
                break
            self.attempts[job.name] = now
            results.append(self.run_job(job, now))
        return results

    def run_job(self, job: Job, now: datetime) -> JobResult:
        """Runs the job's crawls one after another under its database lock; skipped (EX_TEMPFAIL)
        when another scheduler holds it, cut short on a stop or a lost lock; counted in the metrics.
        """
        from db.jobs import job_lock

        t0 = time.monotonic()
        with job_lock(self.url, job.name) as lock:
            if not lock.held:
                holder = lock.holder
                logger.warning(
                    "job %s is running elsewhere (another scheduler holds its lock%s); skipped",
                    job.name,
                    f": {holder.owner} since {holder.acquired_at:%Y-%m-%d %H:%M:%S%z}"
                    if holder
                    else "",
                )
                if self.metrics:
                    self.metrics.skipped.labels(job.name).inc()
                return JobResult(job.name, "skipped", EX_TEMPFAIL)
            codes = []
            for crawl in self.commands(job, now):
                if self.stopping or lock.lost.is_set():
                    break  # a lost lock: another scheduler may run the job now
                codes.append(self.run_crawl(job, crawl))
        result = JobResult(
            job.name, "stopped" if self.stopping else "ran", worst(codes), time.monotonic() - t0
        )
        logger.info(
            "job %s %s in %.1fs, exit code %d",
            job.name,
            result.status,
            result.seconds,
            result.exit_code,
        )
        if self.metrics:
            outcome = {0: "ok", 2: "degraded"}.get(result.exit_code, "errors")
            self.metrics.runs.labels(job.name, outcome).inc()
            self.metrics.duration.labels(job.name).set(result.seconds)
        return result

    def run_crawl(self, job: Job, crawl: Crawl) -> int:
        """Runs one crawl as a child process in its own session (a stop is passed on as SIGTERM);
        its exit code, 1 when a signal killed it.
        """
        argv = [*self.command, *crawl.argv]
        logger.info("job %s: sosik %s", job.name, " ".join(crawl.argv))
        self.child = subprocess.Popen(argv, env=self.env, start_new_session=True)
        if self.stopping:  # the signal came between our check and the start: pass it on
            self.child.send_signal(signal.SIGTERM)
        try:
            code = self.child.wait()
        finally:
            self.child = None
        if code < 0:
            logger.error("job %s: crawl killed by signal %d", job.name, -code)
            return 1
        return code

    def on_signal(self, signum: int, frame: Any = None) -> None:
        """SIGTERM/SIGINT: no new crawl; the running one gets the signal and finishes."""
        first = not self.stopping
        self.stopping = True
        self.wake.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
        if first:
            # logging from a signal handler can deadlock on the handler's lock; write directly
            os.write(2, b"sosik schedule: stopping after the running crawl\n")

    def install_signals(self) -> None:
        """Makes SIGTERM and SIGINT stop the scheduler after the running crawl."""
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)

    def nap(self, now: datetime) -> float:
        """Seconds until the next job is due, between 1 and MAX_NAP."""
        last = self.last_runs()
        start = self.started or now
        tz = self.schedule.timezone
        nxt = min(next_due(j, last.get(j.name), start, tz) for j in self.schedule.jobs)
        return min(MAX_NAP, max(1.0, (nxt - now).total_seconds()))

    def run_forever(self, clock: Callable[[], datetime] | None = None) -> int:
        """Runs due jobs until a signal, napping until the next is due; a database outage is logged
        and retried after RETRY_NAP seconds. Returns 0.
        """
        from db.connection import DatabaseUnavailable

        clock = clock or (lambda: datetime.now(KST))
        self.started = clock()
        logger.info(
            "scheduler started with %d job(s): %s",
            len(self.schedule.jobs),
            ", ".join(f"{j.name} ({j.when})" for j in self.schedule.jobs),
        )
        while not self.stopping:
            try:
                self.tick(clock())
                pause = 0.0 if self.stopping else self.nap(clock())
            except (DatabaseUnavailable, psycopg.OperationalError) as e:
                logger.error("database: %s; retrying in %.0fs", " ".join(str(e).split()), RETRY_NAP)
                self.close()
                pause = RETRY_NAP
            if pause:
                self.wake.wait(pause)
        logger.info("scheduler stopped")
        self.close()
        return 0
