"""`sosik schedule run|once|list`: run the jobs of schedule.toml as `sosik crawl` processes.

`run` is a foreground scheduler for systemd or a container: it runs due jobs one at a time,
each crawl in a child process, and sleeps until the next one is due. SIGTERM (or Ctrl-C) is
forwarded to the running crawl, whose graceful shutdown finishes the requests in flight and
flushes the store; then the scheduler exits 0 without starting anything else. The child runs
in its own session, so a terminal's Ctrl-C reaches it once, through us, not twice (a second
signal makes Scrapy stop at once).

`once JOB` runs one job now, for cron. Both take the job's lock first (a lease, db.jobs), so
two schedulers on two hosts never run one job at the same time: the second one skips it, says
so in one line and `once` exits 75 (EX_TEMPFAIL: try again later).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
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

from crawler.arguments import LOG_LEVELS
from crawler.commands import CommandError
from crawler.domain.dates import KST
from crawler.schedule import (
    SUCCESS_STATUSES,
    Crawl,
    Job,
    Schedule,
    crawl_commands,
    crawl_key,
    due_jobs,
    load_schedule,
    next_due,
)

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75  # sysexits.h: the job is running elsewhere; try again later
MAX_NAP = 60.0  # seconds; the scheduler looks at crawl_runs at least this often
RETRY_NAP = 30.0  # after the database could not be reached
DEFAULT_CONFIG = "schedule.toml"


@dataclass(slots=True)
class JobResult:
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
        from db.connection import connect

        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = connect(self.url)
        return self.conn

    def close(self) -> None:
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


# -- commands ----------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        "-c",
        default=os.environ.get("SOSIK_SCHEDULE", DEFAULT_CONFIG),
        help="schedule file (default: $SOSIK_SCHEDULE or ./schedule.toml)",
    )
    common.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get("SOSIK_LOG_LEVEL", "INFO").upper(),
    )
    p = sub.add_parser("schedule", help="run scheduled crawls from schedule.toml")
    actions = p.add_subparsers(dest="schedule_action", required=True, metavar="run|once|list")
    actions.add_parser(
        "run", parents=[common], help="foreground scheduler: run due jobs until SIGTERM"
    ).set_defaults(func=run_scheduler)
    once = actions.add_parser("once", parents=[common], help="run one job now (for cron)")
    once.add_argument("job")
    once.add_argument(
        "--dry-run", action="store_true", help="print the crawl commands, run nothing"
    )
    once.set_defaults(func=run_once)
    actions.add_parser(
        "list", parents=[common], help="check the file; show each job's commands"
    ).set_defaults(func=list_jobs)


def _setup(args: argparse.Namespace) -> Schedule:
    # Our own lines at --log-level; other libraries (alembic) stay at the CLI's WARNING.
    logger.setLevel(str(args.log_level).upper())
    return load_schedule(args.config)


def _database() -> str:
    from db.connection import connect, database_url
    from db.migrate import upgrade

    url = database_url()
    connect(url).close()  # an unreachable database is one line (DatabaseUnavailable)
    upgrade(url)
    return url


def _metrics(url: str) -> Any:
    from crawler.extensions.metrics import SchedulerMetrics, setting

    port = setting(None, "SOSIK_METRICS_PORT")
    if not port:
        return None

    def read() -> dict[str, float]:
        from db.connection import connect
        from db.jobs import last_success_per_job

        with connect(url) as conn:
            return {k: v.timestamp() for k, v in last_success_per_job(conn).items()}

    m = SchedulerMetrics(read)
    try:
        m.start(int(port), setting(None, "SOSIK_METRICS_ADDR", "127.0.0.1"))
    except (OSError, ValueError) as e:
        raise CommandError(f"cannot serve metrics on port {port}: {e}") from None
    return m


def run_scheduler(args: argparse.Namespace) -> int:
    schedule = _setup(args)
    url = _database()
    metrics = _metrics(url)
    scheduler = Scheduler(schedule, url, metrics=metrics)
    scheduler.install_signals()
    try:
        return scheduler.run_forever()
    finally:
        if metrics:
            metrics.stop()


def run_once(args: argparse.Namespace) -> int:
    schedule = _setup(args)
    job = schedule.job(args.job)
    url = _database()
    scheduler = Scheduler(schedule, url)
    now = datetime.now(KST)
    try:
        if args.dry_run:
            for crawl in scheduler.commands(job, now):
                print("sosik " + " ".join(_quote(a) for a in crawl.argv))
            return 0
        scheduler.install_signals()
        result = scheduler.run_job(job, now)
    finally:
        scheduler.close()
    if result.status == "skipped":
        print(
            f"sosik: job {job.name} is already running elsewhere "
            "(another scheduler holds its lock); skipped",
            file=sys.stderr,
        )
    return result.exit_code


def list_jobs(args: argparse.Namespace) -> int:
    schedule = _setup(args)
    now = datetime.now(KST)
    tz = schedule.timezone
    print(f"{schedule.path}: {len(schedule.jobs)} job(s), times in {tz}")
    for job in schedule.jobs:
        first = next_due(job, None, now, tz) if job.cron else now
        when = f"{job.when}; next {first.astimezone(tz):%Y-%m-%d %H:%M}" if job.cron else job.when
        print(f"\n{job.name}: {when}")
        for crawl in crawl_commands(job, now.astimezone(KST).date()):
            print("  sosik " + " ".join(_quote(a) for a in crawl.argv))
    return 0


def _quote(arg: str) -> str:
    return shlex.quote(arg)
