"""What every article parser ends with: the URL the page declares, the other addresses it was
reached by, and `make_article`, the one place an ArticleItem is built from a page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crawler.domain.items import ArticleItem
from crawler.domain.urls import canonical_url, is_url
from crawler.parsers.dom import canonical_link
from crawler.parsers.page import Page


def _absolute(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def declared_url(
    page: Page,
    og_url: str | None,
    ld: dict[str, Any] | None = None,
    accept: Callable[[str], Any] = _absolute,
) -> str:
    """The URL the page declares for itself, through crawler.domain.urls.canonical_url.

    og:url (read by the caller, with `meta` or `first_meta`), else <link rel=canonical>, else
    the JSON-LD `url`; the request URL when there is none or `accept` refuses it. A parser that
    knows its article URLs passes a test for them (Yonhap's /view/), so a section or home URL a
    page declares by mistake never replaces the article's; others take any absolute URL.
    """
    url = og_url or canonical_link(page.tree)
    if not url and ld and isinstance(ld.get("url"), str):
        url = ld["url"]
    url = (url or "").strip()
    return canonical_url(url if url and is_url(url) and accept(url) else page.url)


def other_urls(page: Page, url: str) -> list[str]:
    """The request URL, for ArticleItem.urls, when it is not the item's canonical `url`."""
    return [page.url] if canonical_url(page.url) != url else []


def make_article(
    page: Page, *, url: str, portal: str, parser: str, urls: list[str] | None = None, **fields: Any
) -> ArticleItem:
    """The article read from `page`: its canonical `url`, the parser's name and version, the
    fetch time of the page, and every other address of it (`urls`; by default the request URL
    when it is not the canonical one). `fields` are ArticleItem's text and date fields.
    """
    if urls is None:
        urls = other_urls(page, url)
    return ArticleItem(
        url=url, portal=portal, urls=urls, parser=parser, fetched_at=page.fetched_at, **fields
    )
