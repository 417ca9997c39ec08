"""Yonhap News Agency (연합뉴스, www.yna.co.kr): section lists and articles.

Example URLs: https://www.yna.co.kr/international/asia-australia (section list),
https://www.yna.co.kr/view/AKR20251201154051098 (article).

Evidence differs by page kind. The list parser is checked against a real saved page (corpus
`yna-list`, 2025-12). No real article page could be saved, so `parse_article` rests on other
projects' parsers (a 2026 TypeScript parser and a 2025–26 Python scraper, see NOTES.md
"Unverified third-party notes") and on our own fixture: it reads JSON-LD and meta first and
raises ParseError when the body container is missing, so the generic parser takes over.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from crawler.domain.dates import parse_datetime
from crawler.domain.items import ArticleItem, ListPage
from crawler.domain.text import norm
from crawler.domain.urls import canonical_url
from crawler.parsers.base import declared_url, make_article
from crawler.parsers.common import (
    byline_names,
    dateline_authors,
    ld_person_names,
    metadata_dates,
)
from crawler.parsers.dom import css, first, ld_article, meta, paragraphs, text_of
from crawler.parsers.page import Page, ParseError

PORTAL = "yna"
PUBLISHER = "연합뉴스"
PARSER_LIST = "yna.list/1"
PARSER_ARTICLE = "yna.view/1"

# ---------------------------------------------------------------------------------------------
# Section list
# ---------------------------------------------------------------------------------------------

# The section's own list is the only `list-type212` inside `section.box-latest01` (2025-12 page);
# the `list-type200` swiper of popular stories from other sections and the ranking box use other
# list types. Items are `li` children of `ul.list01`; one `li.ads-item01` is an ad slot with no
# link, so items are read through their title link.
_LIST_ITEMS = css("section.box-latest01 div.list-type212 > ul.list01 > li")
_LIST_TITLE_LINK = css("strong.tit-wrap a.tit-news")
# Fallback when the box or list classes change: every story of the section list carries its
# article id as `li[data-cid]` (25 of 25 on the saved page; the swiper and ads have none).
_LIST_ITEMS_BY_CID = css("li[data-cid]")
_LIST_ANY_VIEW_LINK = css("a[href*='/view/']")
# Paging: `yna-paging > div.paging-type01` holds `strong.num.on` (current) then `a.num` pages.
_PAGING_CURRENT = css("div.paging-type01 strong.on")


def parse_list(page: Page) -> ListPage:
    """The section list's article links in page order, exactly as their href reads."""
    tree = page.tree
    links: list[str] = []
    for li in _LIST_ITEMS(tree) or _LIST_ITEMS_BY_CID(tree):
        a = first(_LIST_TITLE_LINK(li))
        if a is None:
            a = first(_LIST_ANY_VIEW_LINK(li))
        href = (a.get("href") or "").strip() if a is not None else ""
        if href:
            href = urljoin(page.url, href)
            if href not in links:
                links.append(href)
    if not links:
        raise ParseError(page.url, "no Yonhap list items")
    return ListPage(links=links, next_url=_next_page(page, tree))


def _next_page(page: Page, tree: Any) -> str | None:
    cur = first(_PAGING_CURRENT(tree))
    if cur is None:
        return None
    for sib in cur.itersiblings():
        if sib.tag == "a" and sib.get("href"):
            return urljoin(page.url, sib.get("href"))
    return None


# ---------------------------------------------------------------------------------------------
# Article
# ---------------------------------------------------------------------------------------------

# Headline: `h1.tit01` in the article header [CODE 2026]; the same class name is reused by the
# sub-headlines (`.tit-sub h2.tit01`), hence the tag.
_TITLE = css("h1.tit01")
# Sub-headlines: one `h2.tit01` per line inside `.tit-sub` [CODE 2026].
_SUBTITLE_LINES = css(".tit-sub h2")
# Body: `div.story-news.article` [CODE 2025–26, two independent parsers]. A first
# `article.story-summary` is the AI three-line summary, not the text, so the body is selected by
# its own classes, never as "the first <article>".
_BODY = css("div.story-news.article, div.story-news")
# Inside the body: photo/graphic boxes (`.comp-box`, `figure.image-zone01`), asides (ads,
# related links), the copyright/tip line (`p.txt-copyright`), the byline box and the AI summary.
_BODY_DROP = css(
    "figure, aside, .comp-box, .image-zone01, .photo-group, .graphic-group, .txt-copyright, "
    ".writer-zone01, .story-summary, .related-zone, .keyword-zone, .ads-box, [class*='ads-'], "
    "ins, iframe"
)
# Byline box below the text: `.writer-zone01 .tit-name` (name, then "기자") [CODE 2025–26].
_BYLINE = css(".writer-zone01 .tit-name, .txt-con .tit-name")
# Published time: `.update-time[data-published-time]` or its text "송고2026-01-06 16:46".
_UPDATE_TIME = css(".update-time")
# Breadcrumb: `.nav-path01 li a` (경제 > 산업) [CODE 2026].
_BREADCRUMB = css(".nav-path01 li a")

_TITLE_SUFFIX = re.compile(r"\s*\|\s*연합뉴스\s*$")
_TIP_LINE = re.compile(r"^(?:제보는\s*카카오톡|<?\s*저작권자)")
_OUTLET_WORDS = ("연합뉴스", "Yonhap", "yna")


def parse_article(page: Page) -> ArticleItem:
    """A Yonhap article: JSON-LD and meta first, then the DOM; ParseError without a body."""
    tree = page.tree
    ld = ld_article(tree)

    body_el = first(_BODY(tree))
    if body_el is None:
        raise ParseError(page.url, "Yonhap body (div.story-news.article) not found")
    paras = [p for p in paragraphs(body_el, drop=_BODY_DROP) if not _TIP_LINE.match(p)]
    if not paras:
        raise ParseError(page.url, "Yonhap body is empty")

    title = text_of(first(_TITLE(tree)))
    if not title:
        # The visible headline is what GOLD.md scores; LD and og:title are fallbacks (og:title
        # carries " | 연합뉴스").
        title = norm((ld or {}).get("headline")) or _TITLE_SUFFIX.sub("", meta(tree, "og:title"))
    if not title:
        raise ParseError(page.url, "Yonhap headline not found")

    subtitle = "\n".join(t for t in (text_of(h) for h in _SUBTITLE_LINES(tree)) if t) or None

    published, updated = metadata_dates(tree, ld)
    if published is None:
        ut = first(_UPDATE_TIME(tree))
        if ut is not None:
            published = parse_datetime(ut.get("data-published-time") or text_of(ut))

    authors = ld_person_names(ld, _OUTLET_WORDS)
    if not authors:
        for el in _BYLINE(tree):
            authors.extend(n for n in byline_names(text_of(el)) if n not in authors)
    if not authors:
        authors = dateline_authors(paras[0])

    section = text_of(first(_BREADCRUMB(tree))) or norm((ld or {}).get("articleSection")) or None
    url = declared_url(page, meta(tree, "og:url"), accept=lambda u: "/view/" in u)

    return make_article(
        page,
        url=url,
        portal=PORTAL,
        title=title,
        body="\n\n".join(paras),
        publisher=PUBLISHER,
        subtitle=subtitle,
        authors=authors,
        section=section,
        published_at=published,
        updated_at=updated,
        urls=[canonical_url(page.url)],
        parser=PARSER_ARTICLE,
    )
