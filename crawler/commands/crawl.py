"""`sosik crawl SPIDER`: run one spider (or `all` search spiders) into PostgreSQL.

Each spider's own flags come from its class (`cli_arguments`); the paging and window flags
all share are read here. Exit codes: 0 ok, 1 errors or failed, 2 degraded (the layout-drift
alarm), so a scheduler can alert; 64 for a usage error, whose line names the flag and value.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from crawler.arguments import LOG_LEVELS, day, flag_type, pages
from crawler.domain.portals import SEARCH_SPIDERS, SPIDERS
from crawler.errors import UsageError


def crawl_settings(args: argparse.Namespace) -> Any:
    """The Scrapy settings of a `sosik crawl`: the project's, --log-level, checked -s overrides and
    the environment; no politeness delays against a replay server.
    """
    from scrapy.settings import Settings

    from crawler.arguments import check_overrides
    from crawler.launch import apply_environment

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("LOG_LEVEL", args.log_level, priority="cmdline")
    pairs = {}
    for pair in args.set or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"-s {pair!r}: want NAME=VALUE (-s DOWNLOAD_DELAY=2)")
        pairs[name] = value
    check_overrides(pairs, settings)
    for name, value in pairs.items():
        settings.set(name, value, priority="cmdline")
    apply_environment(settings)  # SOSIK_CONTACT, SOSIK_ARCHIVE, DATABASE_URL; -s wins
    if settings.get("REPLAY_URL"):
        # The replay server is ours: no politeness delays against loopback.
        settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 16, priority="cmdline")
    return settings


def spider_args(args: argparse.Namespace, spider: str) -> dict[str, Any]:
    """The spider's keyword arguments from `sosik crawl`'s flags: its own (its class's
    `cli_arguments`, which names a missing one), then the paging and window ones all share."""
    try:
        out: dict[str, Any] = spider_class(spider).cli_arguments(args)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.pages is not None:
        out["pages"] = args.pages
    for k in ("since", "until"):
        v = getattr(args, k)
        if v:
            out[k] = v.isoformat()
    if args.no_articles:
        out["articles"] = "0"
    if args.incremental:
        out["incremental"] = "1"
    return out


def run_crawl(args: argparse.Namespace) -> int:
    """Runs `sosik crawl`: one spider, or every search spider under one run record for `all`;
    against a replay server (with --faults) when asked, on the shared Redis frontier when the
    settings say distributed; the exit code of the run's verdict.
    """
    from crawler.arguments import check_spider_args
    from crawler.launch import finish, prepare_database
    from crawler.report import merge_runs
    from db.connection import connect
    from db.crawl_runs import finish_run, start_run

    spiders = list(SEARCH_SPIDERS) if args.spider == "all" else [args.spider]
    if args.spider not in (*SPIDERS, "all"):
        raise UsageError(f"unknown spider {args.spider!r}; one of {', '.join((*SPIDERS, 'all'))}")
    per_spider = {name: spider_args(args, name) for name in spiders}
    for name, kwargs in per_spider.items():
        check_spider_args(spider_class(name), kwargs)
    server = None
    if args.faults and not args.replay:
        raise UsageError("--faults needs --replay DIR (faults are injected by the replay server)")
    if args.replay:
        from crawler.middlewares.replay import FaultPlan, ReplayServer, load_replay

        try:
            store = load_replay(args.replay)
        except (FileNotFoundError, NotADirectoryError) as e:
            raise UsageError(f"--replay: {e}") from None
        try:
            plan = FaultPlan.parse(args.faults, args.fault_seed) if args.faults else None
        except ValueError as e:
            raise UsageError(f"--faults {args.faults!r}: {e}") from None
        server = ReplayServer(store, faults=plan).start()
        args.set = [*(args.set or []), f"REPLAY_URL={server.url}"]
    try:  # the replay server stops whatever happens
        settings = crawl_settings(args)
        if settings.get("JOBDIR"):
            raise UsageError(
                "JOBDIR is not used by sosik: re-running a killed crawl resumes it from the database"
            )
        from crawler.commands.enqueue import run_distributed_crawl, wants_distributed

        if wants_distributed(args):  # the shared Redis frontier (crawler/distributed)
            return run_distributed_crawl(args, settings)
        prepare_database(settings)
        run_id = None
        if len(spiders) > 1:
            from crawler.runrecord import process_identity, this_host

            with connect(settings.get("STORE_DATABASE_URL") or None) as conn:
                first = per_spider[spiders[0]]
                run_id = start_run(
                    conn,
                    args.spider,
                    {"spiders": spiders, **first},
                    pid=os.getpid(),
                    host=this_host(),
                    process=process_identity(),
                )
            settings.set("SOSIK_RUN_ID", run_id, priority="cmdline")
        crawlers = _run_spiders(settings, per_spider)
    finally:
        if server:
            server.stop()
    summary = merge_runs(crawlers)
    if run_id is not None:
        summary.run_ids = [run_id]
        with connect(settings.get("STORE_DATABASE_URL") or None) as conn:
            stats = {
                **summary.stats,
                "alarms": summary.alarms,
                "failure": "; ".join(summary.reasons) or None,
            }
            finish_run(conn, run_id, summary.status, stats, summary.errors)
    return finish(summary, sys.stderr)


def spider_class(name: str) -> type:
    """The spider class registered under `name` in the project's settings (KeyError for an unknown
    one).
    """
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return SpiderLoader.from_settings(settings).load(name)


def _run_spiders(settings: Any, per_spider: dict[str, dict[str, Any]]) -> list[Any]:
    from scrapy.crawler import CrawlerProcess

    from crawler.launch import quiet_logs

    process = CrawlerProcess(settings)
    crawlers = []
    for name, kwargs in per_spider.items():
        crawler = process.create_crawler(name)
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs)
    quiet_logs()  # after crawl(): each crawler re-installs Scrapy's log handler
    process.start()
    return crawlers


def add_parser(sub: Any) -> None:
    """`sosik crawl`'s flags."""
    c = sub.add_parser("crawl", help=f"run a spider ({', '.join((*SPIDERS, 'all'))})")
    c.add_argument("spider")
    c.add_argument("--query", "-q")
    c.add_argument(
        "--pages",
        type=flag_type(pages),
        default=None,
        help="result pages per query (default 1; naver_section, daum_section, list: all); 0 = all",
    )
    c.add_argument("--since", type=flag_type(day), help="YYYY-MM-DD")
    c.add_argument("--until", type=flag_type(day), help="YYYY-MM-DD")
    c.add_argument("--sort", choices=("recent", "relevance"), default="recent")
    c.add_argument(
        "--section",
        help="naver_section: 100..105 or 정치/경제/사회/생활/세계/IT; "
        "daum_section: a Daum list URL or 영화/연예/사회/경제/야구/축구/…",
    )
    c.add_argument("--sub", help="naver_section: sub-section id (sid2)")
    c.add_argument(
        "--date", type=flag_type(day), help="naver_section, daum_section: one day, YYYY-MM-DD"
    )
    c.add_argument("--url", action="append", help="list: a section list page to crawl")
    c.add_argument(
        "--layout",
        choices=("section", "legacy"),
        help="naver_section: today's section feed (default) or the old main.naver lists",
    )
    c.add_argument("--no-articles", action="store_true", help="store search hits only")
    c.add_argument(
        "--incremental",
        action="store_true",
        help="stop paging at a result page whose hits are all stored already",
    )
    c.add_argument(
        "--replay",
        action="append",
        metavar="DIR",
        help="serve saved pages from DIR (urls.tsv) instead of the network",
    )
    c.add_argument(
        "--faults",
        metavar="SPEC",
        help="with --replay: inject faults, e.g. 5xx:rate=0.2:times=3,429:rate=0.1:after=5 "
        "(kinds and keys: crawler/middlewares/replay.py FaultPlan)",
    )
    c.add_argument(
        "--fault-seed", type=int, default=0, metavar="N", help="which URLs --faults picks"
    )
    c.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy/sosik setting"
    )
    c.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get("SOSIK_LOG_LEVEL", "WARNING").upper(),
    )
    c.add_argument(
        "--distributed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="crawl on the shared Redis frontier with any `sosik worker`s (default: when "
        "REDIS_URL is set)",
    )
    c.set_defaults(func=run_crawl)
