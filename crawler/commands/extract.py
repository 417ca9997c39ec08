"""`sosik extract FILE --url URL`: what a saved page yields, as JSON; an article as the crawl would
store it (pipelines.prepare)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from crawler.domain.urls import page_kind
from crawler.errors import UsageError


def run_extract(args: argparse.Namespace) -> int:
    """Prints as JSON what a saved page yields (article as the crawl would store it, search or list
    page); CommandError when it would not parse or be stored.
    """
    from datetime import datetime

    from crawler.commands import CommandError
    from crawler.domain.dates import KST
    from crawler.parsers import (
        NotAnArticle,
        Page,
        ParseError,
        parse_article,
        parse_list,
        parse_search,
    )
    from pipelines.prepare import Rejected, prepare

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
            out = prepare(parse_article(page)).to_json()  # what the crawl would store
    except Rejected as e:
        raise CommandError(f"would not be stored ({e}): {args.url}") from None
    except NotAnArticle as e:
        raise CommandError(f"not an article ({e.reason}): {args.url}") from None
    except ParseError as e:
        raise CommandError(f"could not parse ({e.reason}): {args.url}") from None
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def add_parser(sub: Any) -> None:
    """`sosik extract`'s arguments."""
    e = sub.add_parser("extract", help="print what a saved page yields, as JSON")
    e.add_argument("file")
    e.add_argument("--url", required=True, help="the address the page was fetched from")
    e.add_argument("--kind", choices=("auto", "article", "search", "list"), default="auto")
    e.add_argument("--encoding", help="charset the server declared, if known")
    e.set_defaults(func=run_extract)
