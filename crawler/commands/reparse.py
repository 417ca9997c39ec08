"""`sosik reparse [--portal P] [--since DATE]`: today's parsers over the archived raw pages.

When a parser was wrong and has been fixed, the stored articles can follow without fetching
anything again: the newest archived fetch of each article URL is parsed, cleaned and stored
through the same steps a crawl uses (validate, clean, dedupe keys, `store_articles`), so a
changed text becomes a new version and an unchanged one only a sighting.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from datetime import datetime, time
from typing import Any

from crawler.arguments import day, flag_type
from crawler.domain.dates import KST

logger = logging.getLogger(__name__)

BATCH = 100


def reparse(
    conn: Any, portal: str | None = None, since: datetime | None = None, batch: int = BATCH
) -> Counter[str]:
    """Re-parse archived article pages into the database; counts by outcome."""
    from crawler.domain.items import ArticleItem
    from crawler.domain.urls import canonical_url, page_kind
    from crawler.parsers import NotAnArticle, Page, ParseError, parse_article
    from db.pages import iter_pages
    from pipelines.prepare import Rejected, prepare
    from pipelines.writing import StoreOptions, write

    counts: Counter[str] = Counter()
    pending: list[ArticleItem] = []

    def flush() -> None:
        written = write(conn, pending, [], StoreOptions())  # a refused item alone is rejected
        for _, res in written.articles:
            counts[res.outcome] += 1
        for refused in written.refused:
            counts["rejected"] += 1
            logger.warning("refused by the database: %s: %s", refused.item.url, refused.reason)
        pending.clear()

    for row in iter_pages(conn, portal=portal, since=since, latest=True):
        counts["pages"] += 1
        if row.status != 200 or page_kind(row.url) != "article":
            counts["skipped"] += 1
            continue
        page = Page(url=row.url, body=row.body, encoding=row.encoding, fetched_at=row.fetched_at)
        try:
            item = parse_article(page)
        except NotAnArticle:
            counts["not_article"] += 1
            continue
        except ParseError as e:
            counts["parse_error"] += 1
            logger.warning("parse error at %s: %s", row.url, e.reason)
            continue
        item.fetched_at = row.fetched_at
        for form in (canonical_url(row.url), row.url):
            if form != item.url and form not in item.urls:
                item.urls.append(form)
        try:
            pending.append(prepare(item))
        except Rejected:
            counts["invalid"] += 1
            continue
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return counts


def run(args: argparse.Namespace) -> int:
    """Re-parses archived pages and prints the counts by outcome; 1 when a page failed to parse or
    was rejected.
    """
    from db.connection import connect
    from db.migrate import upgrade

    since = datetime.combine(args.since, time(), KST) if args.since else None
    upgrade(None)
    with connect() as conn:
        counts = reparse(conn, args.portal, since)
    print(f"sosik reparse: {counts['pages']} archived pages", file=sys.stderr)
    from crawler.domain.outcomes import Outcome

    for key in (*Outcome, "skipped", "not_article", "parse_error", "invalid"):
        if counts[key]:
            print(f"  {key:<16} {counts[key]}", file=sys.stderr)
    return 1 if counts["parse_error"] or counts["rejected"] else 0


def site_keys() -> list[str]:
    """What `pages.portal` can hold: every site parser's key, and "generic" (crawler.middlewares.archive)."""
    from crawler.domain.portals import GENERIC, PORTALS

    return [*(p.key for p in PORTALS), GENERIC]


def add_parser(sub: Any) -> None:
    """`sosik reparse`'s arguments."""
    p = sub.add_parser("reparse", help="run today's parsers over archived pages (no network)")
    p.add_argument(
        "--portal", choices=site_keys(), help="only pages of this site key (naver, daum, mk, …)"
    )
    p.add_argument("--since", type=flag_type(day), help="only pages fetched on or after YYYY-MM-DD")
    p.set_defaults(func=run)
