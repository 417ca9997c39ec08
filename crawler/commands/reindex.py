"""`sosik db reindex [--follow]`: fill the search index (crawler.extensions.indexer), in batches.

Indexes every article whose search row is missing, of an older version or of older rules, and
stops (exit 0); `--follow` then keeps indexing new articles and new versions as they are
stored, until SIGINT/SIGTERM, which end it after the batch in hand. Resumable: a killed run
loses at most one batch and the next run goes on from what is indexed. The schema is brought
to the newest revision first, as a crawl does.

A crawl starts `sosik db reindex --follow` itself as a niced child process
(crawler.extensions.indexer's SearchIndexExtension); SOSIK_SEARCH_INDEX=off turns that off.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from crawler.arguments import flag_type, positive


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `sosik db reindex` (on the `db` parser)."""
    parser.add_argument(
        "--follow", action="store_true", help="reindex: go on indexing new articles until stopped"
    )
    parser.add_argument(
        "--batch",
        type=flag_type(positive),
        default=100,
        help="reindex: articles cut and written per statement (default 100)",
    )
    parser.add_argument("--nice", type=int, default=0, help="reindex: lower its CPU priority")
    # for the crawl's child process: where to report, whose death ends it
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Runs the search indexer once (or --follow), reporting progress on a TTY and in --report as
    JSON lines; SIGINT/SIGTERM stop it cleanly.
    """
    from crawler.extensions.indexer import IndexStats, json_reporter
    from crawler.extensions.indexer import run as run_indexer
    from db.connection import database_url
    from db.migrate import upgrade

    if args.nice:
        os.nice(args.nice)
    url = database_url()
    upgrade(url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    report_file = open(args.report, "a", encoding="utf-8") if args.report else None
    tty = sys.stderr.isatty()
    to_file = json_reporter(report_file) if report_file else None

    def report(stats: IndexStats) -> None:
        if to_file is not None:
            to_file(stats)
        if tty:
            sys.stderr.write(f"\rsearch index: {_line(stats)}   ")
            sys.stderr.flush()

    try:
        stats = run_indexer(
            url, follow=args.follow, batch=args.batch, stop=stop, report=report, parent=args.parent
        )
    finally:
        if report_file is not None:
            report_file.close()
    if tty:
        sys.stderr.write("\n")
    print(f"search index: {_line(stats)}", file=sys.stderr)
    return 0


def _line(stats: Any) -> str:
    if stats.waiting:
        return "another indexer is at work on this database; waiting"
    pending = "?" if stats.pending is None else f"{stats.pending:,}"
    per = f", {1000 * stats.seconds / stats.indexed:.1f} ms CPU each" if stats.indexed else ""
    return f"{stats.indexed:,} articles indexed{per}, {pending} waiting"
