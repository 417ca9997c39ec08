"""`sosik schedule run|once|list`: run the jobs of schedule.toml as `sosik crawl` processes.

`run` is a foreground scheduler for systemd or a container (crawler/scheduler/runner.py): it
runs due jobs one at a time, each crawl in a child process, and sleeps until the next one is
due; SIGTERM stops it after the running crawl's graceful shutdown.

`once JOB` runs one job now, for cron. Both take the job's lock first (a lease, db.jobs), so
two schedulers on two hosts never run one job at the same time: the second one skips it, says
so in one line and `once` exits 75 (EX_TEMPFAIL: try again later).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from datetime import datetime
from typing import Any

from crawler.arguments import LOG_LEVELS
from crawler.commands import CommandError
from crawler.domain.dates import KST
from crawler.scheduler.jobs import (
    Schedule,
    crawl_commands,
    load_schedule,
    next_due,
)
from crawler.scheduler.runner import Scheduler

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "schedule.toml"


# -- commands ----------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """`sosik schedule`'s arguments (run, once, list)."""
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
    for name in (__name__, "crawler.scheduler"):
        logging.getLogger(name).setLevel(str(args.log_level).upper())
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
    """Runs the foreground scheduler until SIGTERM, with its metrics endpoint when configured."""
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
    """Runs one job now (or prints its commands with --dry-run); the job's exit code, and a note
    when another scheduler holds it.
    """
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
    """Prints each job with its next time (in the schedule's timezone) and the `sosik` commands it
    runs.
    """
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
