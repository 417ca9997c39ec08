"""`sosik worker`: crawl the jobs queued in Redis, on this host, until idle or stopped.

    sosik worker [--idle-timeout SECONDS] [--name NAME] [-s NAME=VALUE …]

Any number of workers on any number of hosts share the frontier (REDIS_URL) and write into
one PostgreSQL (DATABASE_URL). A worker exits 0 after `--idle-timeout` seconds without work
(default: the DISTRIBUTED_IDLE_TIMEOUT setting, 0 = never) and on SIGTERM/SIGINT after
finishing and storing what it holds; a second signal stops it at once.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from crawler.commands import CommandError


def add_parser(sub: Any) -> None:
    """`sosik worker`'s arguments."""
    p = sub.add_parser("worker", help="crawl jobs from the shared Redis frontier until idle")
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="exit after this long without work (default: DISTRIBUTED_IDLE_TIMEOUT, 0 = never)",
    )
    p.add_argument("--name", help="this worker's name in `sosik queue` (default host:pid:rand)")
    p.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy/sosik setting"
    )
    p.add_argument("--log-level", default=os.environ.get("SOSIK_LOG_LEVEL", "INFO"))
    p.set_defaults(func=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    """Runs a distributed worker until idle (Redis unreachable at start is only a warning: it
    waits); its exit code.
    """
    from crawler.commands.crawl import crawl_settings
    from crawler.distributed.config import redis_url
    from crawler.distributed.redisconn import Guard, RedisDown, client
    from crawler.distributed.worker import Worker

    if args.idle_timeout is not None and args.idle_timeout < 0:
        raise CommandError("--idle-timeout must be 0 (never) or more seconds")
    settings = crawl_settings(args)
    guard = Guard(client(redis_url(settings)))
    try:
        guard.call(guard.redis.ping)
    except RedisDown as e:  # a worker waits for Redis as it waits for work
        logging.getLogger(__name__).warning("cannot reach Redis (%s); waiting for it", e)
    # the worker's log is Scrapy's (at --log-level), not the CLI's WARNING handler as well
    for handler in list(logging.root.handlers):
        logging.root.removeHandler(handler)
    return Worker(settings, idle_timeout=args.idle_timeout, name=args.name).run()
