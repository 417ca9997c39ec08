"""`sosik articles [--query …] [filters]`: the stored articles as a table, searched or newest.

    sosik articles                                   # the 20 newest articles
    sosik articles --query 반도체 --since 2025-05-01  # the best matches of that month on
    sosik articles --query '"시내버스 노조"' --publisher 매일경제 --order newest

The query: words (every one must match; particles are ignored, 삼성 finds 삼성전자) and
"quoted phrases". Relevance ranks the newest 500 matches; the line under the table says how
many matched and gives the flags of the next page. Dates are KST days (--until includes its
day). Articles are searchable once indexed (`sosik db reindex`; a crawl does it as it goes).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from typing import Any

from crawler.arguments import day, flag_type, positive
from crawler.commands.demo import pad, width
from crawler.domain.dates import KST

COLUMNS = ("id", "published (KST)", "publisher", "section", "title")


def add_filters(p: argparse.ArgumentParser) -> None:
    """The filters `sosik articles` and `sosik export` share."""
    p.add_argument("--query", "-q", help='words (all must match) and "quoted phrases"')
    p.add_argument("--since", type=flag_type(day), help="published on or after this KST day")
    p.add_argument("--until", type=flag_type(day), help="published on or before this KST day")
    p.add_argument("--portal", help="naver, daum, seoul, … as stored")
    p.add_argument("--publisher", help="the publisher's name as stored (매일경제)")
    p.add_argument("--section", help="the section as stored (정치, 경제, …)")


def filters(args: argparse.Namespace) -> dict[str, Any]:
    """The search filters common to `sosik articles` and `sosik export` (dates, portal, publisher,
    section), as db.search takes them.
    """
    return {
        "since": args.since,
        "until": args.until,
        "portal": args.portal,
        "publisher": args.publisher,
        "section": args.section,
    }


def add_parser(sub: Any) -> None:
    """`sosik articles`'s arguments."""
    p = sub.add_parser("articles", help="stored articles as a table: newest, or searched")
    add_filters(p)
    p.add_argument("--limit", "-n", type=flag_type(positive), default=20, help="rows (max 200)")
    p.add_argument("--order", choices=("relevance", "newest"), default="relevance")
    p.add_argument("--before-id", type=flag_type(positive), help="the next page (printed below)")
    p.add_argument("--offset", type=int, default=0, help="the next page (printed below)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prints one page of stored articles (newest, or matching the query) as a table, with how to
    get the next page; UsageError for a --limit above MAX_LIMIT or a negative --offset.
    """
    from crawler.errors import UsageError
    from db.connection import connect, database_url
    from db.search import MAX_LIMIT, find

    if args.limit > MAX_LIMIT:
        raise UsageError(f"--limit {args.limit}: at most {MAX_LIMIT}")
    if args.offset < 0:
        raise UsageError(f"--offset {args.offset}: not below 0")
    with connect(database_url()) as conn:
        page = find(
            conn,
            args.query,
            **filters(args),
            before_id=args.before_id,
            limit=args.limit,
            offset=args.offset,
            order=args.order,
        )
    out = sys.stdout
    out.write(table(page.hits, shutil.get_terminal_size((120, 24)).columns))
    out.write(footer(page, args) + "\n")
    return 0


def table(hits: list[dict[str, Any]], columns: int) -> str:
    """The hits as aligned columns (Hangul counts two), titles cut to fit `columns`."""
    rows = [COLUMNS] + [
        (
            str(h["id"]),
            f"{h['published_at'].astimezone(KST):%Y-%m-%d %H:%M}" if h["published_at"] else "-",
            h["publisher"] or "-",
            h["section"] or "-",
            h["title"],
        )
        for h in hits
    ]
    widths = [max(width(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    room = max(20, columns - sum(widths) - 2 * len(widths))
    lines = []
    for r in rows:
        first = [r[0].rjust(widths[0])] + [
            pad(c, w) for c, w in zip(r[1:-1], widths[1:], strict=True)
        ]
        lines.append("  ".join([*first, cut(r[-1], room)]).rstrip())
    return "\n".join(lines) + "\n"


def cut(text: str, columns: int) -> str:
    """`text` in at most `columns` terminal columns, … where it was cut."""
    if width(text) <= columns:
        return text
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > columns - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def footer(page: Any, args: argparse.Namespace) -> str:
    """How many matched, and the command of the next page."""
    shown = len(page.hits)
    if not args.query:
        what = f"{shown} of {'' if page.total_exact else 'about '}{page.estimated_total:,} articles"
    elif page.total_exact:
        what = f"{shown} of {page.estimated_total:,} matches"
    else:
        what = f"{shown} of about {page.estimated_total:,} matches"
    if page.next_before_id is None:
        return what
    flags = ["articles"]
    for name in ("query", "since", "until", "portal", "publisher", "section"):
        value = getattr(args, name)
        if value is not None:
            flags += [f"--{name}", str(value)]
    flags += ["--limit", str(args.limit), "--order", args.order]
    flags += ["--before-id", str(page.next_before_id)]
    if page.next_offset:
        flags += ["--offset", str(page.next_offset)]
    return f"{what}; next: sosik {shlex.join(flags)}"
