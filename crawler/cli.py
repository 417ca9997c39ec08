"""The `sosik` command: crawl, extract, db, runs, schedule, reparse.

Errors an operator can act on (no network, no database, a bad argument) end in one line on
stderr and a non-zero exit, never a traceback (crawler.errors.run_guarded). Exit codes of
`crawl`: 0 ok, 1 errors or failed, 2 degraded (the layout-drift alarm), so a scheduler can
alert; 64 for a usage error, whose line names the flag and the value.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from crawler.arguments import LOG_LEVELS, day, flag_type, pages
from crawler.errors import ArgumentParser, UsageError, guard_logging, run_guarded
from crawler.urls import page_kind

SPIDERS = ("naver", "daum", "seoul", "naver_section", "daum_section", "list")
SEARCH_PORTALS = ("naver", "daum", "seoul")

UserError = UsageError  # the name this module used before crawler.errors


# -- crawl -------------------------------------------------------------------------------------
def crawl_settings(args: argparse.Namespace) -> Any:
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
    out: dict[str, Any] = {}
    if spider == "list":
        if not args.url:
            raise UsageError("list needs --url (a section list page; repeat for several)")
        out["url"] = ",".join(args.url)
    elif spider == "naver_section":
        if not args.section:
            raise UsageError("naver_section needs --section (100..105 or 정치, 경제, …)")
        out["section"] = args.section
        if args.sub:
            out["sub"] = args.sub
        if args.date:
            out["date"] = args.date.isoformat()
    elif spider == "daum_section":
        if not args.section:
            raise UsageError(
                "daum_section needs --section (a Daum list URL, or 영화, 사회, 야구, …)"
            )
        from datetime import date

        from crawler.spiders.daum_section import section_url

        try:
            section_url(args.section, None, date.today())
        except ValueError as e:  # an unknown section: a usage error, in one line
            raise UsageError(f"--section: {e}") from None
        out["section"] = args.section
        if args.date:
            out["date"] = args.date.isoformat()
    else:
        if not args.query:
            raise UsageError(f"{spider} needs --query")
        out["query"] = args.query
        out["sort"] = args.sort
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
    if args.layout and spider == "naver_section":
        out["layout"] = args.layout
    return out


def run_crawl(args: argparse.Namespace) -> int:
    from crawler.arguments import check_spider_args
    from crawler.launch import finish, prepare_database
    from crawler.report import merge_runs
    from db.connection import connect
    from db.runs import finish_run, start_run

    spiders = list(SEARCH_PORTALS) if args.spider == "all" else [args.spider]
    if args.spider not in (*SPIDERS, "all"):
        raise UsageError(f"unknown spider {args.spider!r}; one of {', '.join((*SPIDERS, 'all'))}")
    per_spider = {name: spider_args(args, name) for name in spiders}
    for name, kwargs in per_spider.items():
        check_spider_args(_spider_class(name), kwargs)
    server = None
    if args.faults and not args.replay:
        raise UsageError("--faults needs --replay DIR (faults are injected by the replay server)")
    if args.replay:
        from crawler.replay import FaultPlan, ReplayServer, load_replay

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
            from crawler.runs import process_identity, this_host

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


def _spider_class(name: str) -> type:
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


# -- extract -----------------------------------------------------------------------------------
def run_extract(args: argparse.Namespace) -> int:
    from datetime import datetime

    from crawler.commands import CommandError
    from crawler.dates import KST
    from crawler.extract import extract_article
    from crawler.parsers import NotAnArticle, Page, ParseError, parse_list, parse_search
    from pipelines.dedupe import with_keys

    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"FILE {args.file!r}: no such file")
    if path.is_dir():
        raise UsageError(f"FILE {args.file!r} is a directory; give one saved page")
    try:
        body = path.read_bytes()
    except OSError as e:
        raise UsageError(f"FILE {args.file!r}: {e.strerror}") from None
    page = Page(url=args.url, body=body, encoding=args.encoding, fetched_at=datetime.now(KST))
    kind = args.kind
    if kind == "auto":
        kind = page_kind(args.url)
    try:
        if kind == "search":
            out = parse_search(page).to_json()
        elif kind == "list":
            out = parse_list(page).to_json()
        else:
            out = with_keys(extract_article(page)).to_json()  # the keys dedupe would use
    except NotAnArticle as e:
        raise CommandError(f"not an article ({e.reason}): {args.url}") from None
    except ParseError as e:
        raise CommandError(f"could not parse ({e.reason}): {args.url}") from None
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


# -- db ----------------------------------------------------------------------------------------
def run_db(args: argparse.Namespace) -> int:
    from alembic.util import CommandError as AlembicError

    from db.connection import database_url
    from db.migrate import downgrade, upgrade

    if args.action in ("status", "stop", "flush-spill"):
        from crawler.commands import database

        return database.run(args)
    if args.action == "reindex":
        from crawler.commands import reindex

        return reindex.run(args)
    try:
        if args.action == "url":
            print(database_url())
        elif args.action == "upgrade":
            upgrade(None, args.revision or "head")
            print("database schema is at", args.revision or "head", file=sys.stderr)
        elif args.action == "downgrade":
            if not args.revision:
                raise UsageError("db downgrade needs a revision (e.g. base or -1)")
            downgrade(None, args.revision)
    except AlembicError as e:  # a revision that does not exist, mostly
        raise UsageError(f"db {args.action} {args.revision or 'head'}: {e}") from None
    return 0


# -- main --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from crawler.commands.reindex import add_arguments as reindex_arguments

    p = ArgumentParser(prog="sosik", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser(
        "crawl", help="run a spider (naver, daum, seoul, naver_section, daum_section, list, all)"
    )
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
        "(kinds and keys: crawler/replay.py FaultPlan)",
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

    e = sub.add_parser("extract", help="print what a saved page yields, as JSON")
    e.add_argument("file")
    e.add_argument("--url", required=True, help="the address the page was fetched from")
    e.add_argument("--kind", choices=("auto", "article", "search", "list"), default="auto")
    e.add_argument("--encoding", help="charset the server declared, if known")
    e.set_defaults(func=run_extract)

    d = sub.add_parser(
        "db", help="database: upgrade, downgrade, url, status, stop, flush-spill, reindex"
    )
    d.add_argument(
        "action",
        choices=("upgrade", "downgrade", "url", "status", "stop", "flush-spill", "reindex"),
    )
    d.add_argument("revision", nargs="?")
    reindex_arguments(d)  # --follow, --batch, --nice
    d.set_defaults(func=run_db)

    for module in _command_modules():
        module.add_parser(sub)
    return p


def _command_modules() -> list[Any]:
    """Subcommands kept in their own modules."""
    import importlib

    mods = []
    names = ("runs", "schedule", "reparse", "canary", "demo", "enqueue", "worker", "queue")
    names += ("articles", "export", "show", "serve")
    for name in (f"crawler.commands.{n}" for n in names):
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return mods


def main(argv: list[str] | None = None) -> int:
    """`sosik ARGS`: the command's exit code; every failure one line (crawler.errors)."""
    return run_guarded("sosik", lambda: _dispatch(argv))


def _dispatch(argv: list[str] | None) -> int:
    guard_logging(None)  # passwords masked in whatever is logged before a handler is set up
    args = build_parser().parse_args(argv)
    if args.command not in ("crawl", "canary"):  # theirs is Scrapy's, at --log-level
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        guard_logging(None)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
