"""Parsers: pure functions from a fetched page to items.

No Scrapy, Twisted, network, clock or database imports here (tests/parsers/test_purity.py
enforces it). A spider hands `Page(url, body, encoding, fetched_at)` to `parse_article(page)`,
`parse_search(page)` or `parse_list(page)`; the registry picks the module by host.
"""

from __future__ import annotations

from crawler.parsers.page import NotAnArticle, Page, ParseError
from crawler.parsers.registry import (
    parse_article,
    parse_list,
    parse_search,
    parser_for,
)

__all__ = [
    "NotAnArticle",
    "Page",
    "ParseError",
    "parse_article",
    "parse_list",
    "parse_search",
    "parser_for",
]
