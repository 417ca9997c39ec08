"""`sosik enqueue PORTAL …` and `sosik crawl … --distributed`: a crawl on the shared frontier.

`sosik enqueue` takes exactly the arguments of `sosik crawl` (portal, --query, --since,
--until, --pages, --section, -s NAME=VALUE…), opens one run record for the whole job, pushes
the spider's start requests into Redis and prints the job id; `sosik worker` processes do the
crawling. The job's settings (every -s, and what `crawl` derives from the environment, such
as the contact in the User-Agent) travel with it to the workers, except what is each host's
own: REDIS_URL, the database, logging.

`sosik crawl … --distributed` (the default when REDIS_URL is set) is enqueue plus a worker in
the same process that works on that job until it is finished, then prints the job's summary
and exits with its code; other workers may help meanwhile.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from crawler.commands import CommandError

logger = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """`sosik enqueue`'s arguments."""
    p = sub.add_parser(
        "enqueue",
        help="start a distributed crawl: one run record, start requests into Redis",
        description="Takes the arguments of `sosik crawl` (portal, --query, --since, --until, "
        "--pages, --section, -s …); prints the job id. `sosik worker` processes crawl it.",
    )
    p.add_argument("portal", help="naver, daum, seoul, naver_section, list, or all")
    p.add_argument("crawl_args", nargs=argparse.REMAINDER, help="the arguments of sosik crawl")
    p.set_defaults(func=run_enqueue)


def crawl_namespace(portal: str, rest: list[str]) -> argparse.Namespace:
    """`sosik crawl PORTAL REST…` parsed by crawl's own parser (one definition of them)."""
    from crawler.cli import build_parser

    return build_parser().parse_args(["crawl", portal, *rest])


def run_enqueue(args: argparse.Namespace) -> int:
    """Starts a distributed crawl from `sosik crawl`'s arguments: one run record, the start requests
    into Redis; prints the job id.
    """
    ns = crawl_namespace(args.portal, args.crawl_args)
    if ns.replay:
        raise CommandError(
            "enqueue takes no --replay (the workers need the site): use -s REPLAY_URL"
        )
    from crawler.commands.crawl import crawl_settings

    settings = crawl_settings(ns)
    job = start_job(ns, settings)
    print(job.id)
    print(
        f"sosik: job {job.id} queued (run {job.run_id}, {', '.join(job.spiders)}); "
        "start `sosik worker` on any host to crawl it",
        file=sys.stderr,
    )
    return 0


def start_job(ns: argparse.Namespace, settings: Any) -> Any:
    """The job of one `sosik crawl`-style invocation: run record, start requests, in Redis."""
    from scrapy.settings import SETTINGS_PRIORITIES

    from crawler.commands.crawl import spider_args
    from crawler.distributed.config import LOCAL_ONLY, redis_url
    from crawler.distributed.jobs import enqueue
    from crawler.distributed.redisconn import Guard, RedisDown, client
    from crawler.domain.portals import SEARCH_SPIDERS, SPIDERS
    from db.migrate import upgrade

    if ns.spider not in (*SPIDERS, "all"):
        raise CommandError(f"unknown spider {ns.spider!r}; one of {', '.join((*SPIDERS, 'all'))}")
    spiders = list(SEARCH_SPIDERS) if ns.spider == "all" else [ns.spider]
    per_spider = {name: spider_args(ns, name) for name in spiders}
    if len(spiders) == 1:
        run_args: dict[str, Any] = {k: v for k, v in per_spider[spiders[0]].items() if v != ""}
    else:
        run_args = {"spiders": spiders, **per_spider[spiders[0]]}
    if settings.get("SOSIK_JOB"):
        run_args["job"] = settings.get("SOSIK_JOB")
    run_args["distributed"] = True
    cmdline = SETTINGS_PRIORITIES["cmdline"]
    job_settings = {
        name: settings[name]
        for name in settings
        if (settings.getpriority(name) or 0) >= cmdline and name not in LOCAL_ONLY
    }
    url = redis_url(settings)
    guard = Guard(client(url))
    try:
        guard.call(guard.redis.ping)
    except RedisDown as e:
        raise CommandError(f"cannot reach Redis at {_masked(url)}: {e}") from None
    upgrade(settings.get("STORE_DATABASE_URL") or None)
    try:
        return enqueue(guard, settings, ns.spider, per_spider, job_settings, run_args)
    except RedisDown as e:
        raise CommandError(f"Redis went away while queueing: {e}") from None


def wants_distributed(args: argparse.Namespace) -> bool:
    """--distributed, or REDIS_URL in the environment unless --no-distributed."""
    import os

    flag = getattr(args, "distributed", None)
    return bool(os.environ.get("REDIS_URL")) if flag is None else bool(flag)


def run_distributed_crawl(args: argparse.Namespace, settings: Any) -> int:
    """`sosik crawl … --distributed`: queue the job, work on it here until it is finished."""
    from crawler.distributed import handoff
    from crawler.distributed.worker import Worker
    from crawler.launch import finish
    from crawler.report import RunSummary
    from crawler.runrecord import RunRecord, iter_errors

    job = start_job(args, settings)
    print(f"sosik: distributed job {job.id} (run {job.run_id})", file=sys.stderr)
    worker = Worker(settings, only_job=job.id, idle_timeout=0)
    worker.run()
    run = handoff.get_run(settings.get("STORE_DATABASE_URL") or None, job.run_id)
    if run is None or run.status == "running":
        print(
            f"sosik: stopped before job {job.id} finished; other workers may finish it "
            "(sosik queue)",
            file=sys.stderr,
        )
        return 1
    stats = dict(run.stats or {})
    record = RunRecord()
    record.extend(iter_errors(run.errors))
    summary = RunSummary(
        run.status,
        stats,
        record,
        list(stats.get("alarms") or []),
        job.spiders,
        [stats["failure"]] if stats.get("failure") else [],
        [job.run_id],
    )
    return finish(summary, sys.stderr)


def _masked(url: str) -> str:
    """A Redis URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
