"""The `sosik` command: crawl, extract, db, runs, schedule, reparse.

Errors an operator can act on (no network, no database, a bad argument) end in one line on
stderr and a non-zero exit, never a traceback. Exit codes of `crawl`: 0 ok, 1 errors or failed,
2 degraded (the layout-drift alarm), so a scheduler can alert.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from crawler.dates import parse_date_arg
from crawler.urls import page_kind

SPIDERS = ("naver", "daum", "seoul", "naver_section", "list")
SEARCH_PORTALS = ("naver", "daum", "seoul")


class UserError(Exception):
    """Something the operator can fix; printed as one line."""


# -- crawl -------------------------------------------------------------------------------------
def crawl_settings(args: argparse.Namespace) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    contact = os.environ.get("SOSIK_CONTACT")
    if contact:
        settings.set("SOSIK_CONTACT", contact, priority="cmdline")
        settings.set(
            "USER_AGENT",
            f"sosik/0.1 (+news research crawler; contact: {contact})",
            priority="cmdline",
        )
    settings.set("LOG_LEVEL", args.log_level, priority="cmdline")
    if os.environ.get("SOSIK_ARCHIVE"):
        settings.set(
            "SOSIK_ARCHIVE",
            os.environ["SOSIK_ARCHIVE"] not in ("0", "false", "no", ""),
            priority="cmdline",
        )
    if os.environ.get("DATABASE_URL"):
        settings.set("STORE_DATABASE_URL", os.environ["DATABASE_URL"], priority="cmdline")
    for pair in args.set or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise UserError(f"-s wants NAME=VALUE, got {pair!r}")
        settings.set(name, value, priority="cmdline")
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
            raise UserError("list needs --url (a section list page; repeat for several)")
        out["url"] = ",".join(args.url)
    elif spider == "naver_section":
        if not args.section:
            raise UserError("naver_section needs --section (100..105 or 정치, 경제, …)")
        out["section"] = args.section
        if args.sub:
            out["sub"] = args.sub
        if args.date:
            out["date"] = args.date
    else:
        if not args.query:
            raise UserError(f"{spider} needs --query")
        out["query"] = args.query
        out["sort"] = args.sort
    if args.pages is not None:
        out["pages"] = args.pages
    for k in ("since", "until"):
        v = getattr(args, k)
        if v:
            parse_date_arg(v)  # fail early, in one line
            out[k] = v
    if args.no_articles:
        out["articles"] = "0"
    if args.incremental:
        out["incremental"] = "1"
    return out


def run_crawl(args: argparse.Namespace) -> int:
    spiders = list(SEARCH_PORTALS) if args.spider == "all" else [args.spider]
    if args.spider not in (*SPIDERS, "all"):
        raise UserError(f"unknown spider {args.spider!r}; one of {', '.join((*SPIDERS, 'all'))}")
    per_spider = {name: spider_args(args, name) for name in spiders}
    server = None
    if args.replay:
        from crawler.replay import ReplayServer, load_replay

        try:
            store = load_replay(args.replay)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        server = ReplayServer(store).start()
        args.set = [*(args.set or []), f"REPLAY_URL={server.url}"]
    settings = crawl_settings(args)
    from crawler.commands.enqueue import run_distributed_crawl, wants_distributed

    if wants_distributed(args):  # the shared Redis frontier (crawler/distributed)
        try:
            return run_distributed_crawl(args, settings)
        finally:
            if server:
                server.stop()
    from db.connection import connect
    from db.migrate import upgrade
    from db.runs import finish_run, start_run

    upgrade(settings.get("STORE_DATABASE_URL") or None)
    run_id = None
    if len(spiders) > 1:
        with connect(settings.get("STORE_DATABASE_URL") or None) as conn:
            run_id = start_run(conn, args.spider, {"spiders": spiders, **per_spider[spiders[0]]})
        settings.set("SOSIK_RUN_ID", run_id, priority="cmdline")
    try:
        crawlers = _run_spiders(settings, per_spider)
    finally:
        if server:
            server.stop()
    from crawler.report import merge_outcome, print_summary

    outcome = merge_outcome(crawlers)
    if run_id is not None:
        with connect(settings.get("STORE_DATABASE_URL") or None) as conn:
            stats = {
                **outcome.stats,
                "alarms": outcome.alarms,
                "failure": "; ".join(outcome.reasons) or None,
            }
            finish_run(conn, run_id, outcome.status, stats, outcome.errors)
    print_summary(outcome, sys.stderr)
    if outcome.status == "failed":
        fetched = outcome.stats.get("downloader/response_count", 0)
        if outcome.errors and not fetched:
            first = outcome.errors[0]
            why = f"could not fetch {first['url']}: {first['reason']}"
        else:
            why = "; ".join(outcome.reasons) or "see the log above"
        print(f"sosik: crawl failed: {why}", file=sys.stderr)
    return outcome.exit_code


def _run_spiders(settings: Any, per_spider: dict[str, dict[str, Any]]) -> list[Any]:
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawlers = []
    for name, kwargs in per_spider.items():
        crawler = process.create_crawler(name)
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs)
    _quiet_network_tracebacks()  # after crawl(): each crawler re-installs Scrapy's log handler
    process.start()
    return crawlers


class _NetworkErrorsInOneLine(logging.Filter):
    """Network failures (no DNS, refused, timeout) are facts about the world, not bugs: log
    their message without a traceback. Every other exception keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and _is_network_error(exc):
            record.msg = f"{record.getMessage()}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def _is_network_error(exc: BaseException) -> bool:
    from scrapy.exceptions import CannotResolveHostError
    from twisted.internet import error as terr

    network = (
        CannotResolveHostError,
        terr.DNSLookupError,
        terr.ConnectError,
        terr.TimeoutError,
        terr.ConnectionLost,
        TimeoutError,
        ConnectionError,
    )
    seen = exc
    while seen is not None:
        if isinstance(seen, network) or type(seen).__name__ in (
            "ResponseNeverReceived",
            "DownloadTimeoutError",
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _quiet_network_tracebacks() -> None:
    from scrapy.utils import log as scrapy_log

    handler = getattr(scrapy_log, "_scrapy_root_handler", None)
    if handler is not None:
        handler.addFilter(_NetworkErrorsInOneLine())


# -- extract -----------------------------------------------------------------------------------
def run_extract(args: argparse.Namespace) -> int:
    from datetime import datetime

    from crawler.dates import KST
    from crawler.extract import extract_article
    from crawler.parsers import NotAnArticle, Page, ParseError, parse_list, parse_search
    from pipelines.dedupe import with_keys

    path = Path(args.file)
    if not path.exists():
        raise UserError(f"no such file: {path}")
    page = Page(
        url=args.url, body=path.read_bytes(), encoding=args.encoding, fetched_at=datetime.now(KST)
    )
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
        raise UserError(f"not an article ({e.reason}): {args.url}") from None
    except ParseError as e:
        raise UserError(f"could not parse ({e.reason}): {args.url}") from None
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


# -- db ----------------------------------------------------------------------------------------
def run_db(args: argparse.Namespace) -> int:
    from db.connection import database_url
    from db.migrate import downgrade, upgrade

    if args.action == "url":
        print(database_url())
    elif args.action == "upgrade":
        upgrade(None, args.revision or "head")
        print("database schema is at", args.revision or "head", file=sys.stderr)
    elif args.action == "downgrade":
        if not args.revision:
            raise UserError("downgrade needs a revision (e.g. base or -1)")
        downgrade(None, args.revision)
    return 0


# -- main --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sosik", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("crawl", help="run a spider (naver, daum, seoul, naver_section, list, all)")
    c.add_argument("spider")
    c.add_argument("--query", "-q")
    c.add_argument(
        "--pages",
        type=int,
        default=None,
        help="result pages per query (default 1; naver_section: all); 0 = all",
    )
    c.add_argument("--since", help="YYYY-MM-DD")
    c.add_argument("--until", help="YYYY-MM-DD")
    c.add_argument("--sort", choices=("recent", "relevance"), default="recent")
    c.add_argument("--section", help="naver_section: 100..105 or 정치/경제/사회/생활/세계/IT")
    c.add_argument("--sub", help="naver_section: sub-section id (sid2)")
    c.add_argument("--date", help="naver_section: one day, YYYY-MM-DD")
    c.add_argument("--url", action="append", help="list: a section list page to crawl")
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
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy/sosik setting"
    )
    c.add_argument("--log-level", default=os.environ.get("SOSIK_LOG_LEVEL", "WARNING"))
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

    d = sub.add_parser("db", help="database: upgrade, downgrade, url")
    d.add_argument("action", choices=("upgrade", "downgrade", "url"))
    d.add_argument("revision", nargs="?")
    d.set_defaults(func=run_db)

    for module in _command_modules():
        module.add_parser(sub)
    return p


def _command_modules() -> list[Any]:
    """Subcommands kept in their own modules (runs, schedule, reparse, enqueue, worker, queue)."""
    import importlib

    mods = []
    names = ("runs", "schedule", "reparse", "enqueue", "worker", "queue")
    for name in (f"crawler.commands.{n}" for n in names):
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return mods


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "crawl":  # a crawl's logging is Scrapy's, at --log-level
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"sosik: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"sosik: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sosik: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the last line of defence for a one-line error
        from db.connection import DatabaseUnavailable

        if isinstance(e, DatabaseUnavailable):
            print(f"sosik: {e}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
