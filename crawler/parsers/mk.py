"""Maeil Business Newspaper (mk.co.kr): article pages.

Example: https://www.mk.co.kr/news/politics/11333783

One layout so far ("mk.v1/1", the 2025 site). The article column is
`section.news_cnt_sec`: its `header.sec_head` holds the reporters (`dl.author`, one per
reporter) and the 입력/수정 lines (`dl.registration`), and its `div[itemprop=articleBody]`
the text. The headline box (`div.news_ttl_wrap`: `h2.news_ttl`, `span.cate`) sits above that
column; a second copy of the headline lives in the sticky top bar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree

from crawler.domain.dates import parse_datetime
from crawler.domain.items import ArticleItem
from crawler.parsers.base import declared_url, make_article
from crawler.parsers.dom import (
    css,
    first,
    first_meta,
    ld_news,
    ld_persons,
    lines_of,
    meta_map,
    paragraphs,
    text_of,
)
from crawler.parsers.page import Page, ParseError

PORTAL = "mk"
PARSER = "mk.v1/1"

# The microdata body box (also class news_cnt_detail_wrap); `descendant::…[1]` lets libxml2
# stop at the first match instead of scanning the rest of the page.
_BODY = etree.XPath("descendant::div[@itemprop='articleBody'][1]")
# Inside the body and not text: the deck box (div.mid_title > div.midtitle_text, which is the
# subtitle), photo blocks with their "[사진 출처 = …]" captions (div.thumb_area, figure),
# the hidden paragraph counter (#refTotal) and ad slots (div.ad_wrap, seen in other mk pages).
_DROP = css("div.mid_title, div.thumb_area, figure, figcaption, #refTotal, div.ad_wrap, script")
_SUBTITLE = css("div.midtitle_text")
# The headline box above the article column (the sticky header repeats the h2 in a <nav>);
# found once, then the headline and the visible Korean section label ("정치"; article:section
# meta is an English code) are read inside it.
_TITLE_BOX = etree.XPath("descendant::div[contains(@class,'news_ttl_wrap')][1]")
_TITLE = css("h2.news_ttl")
_SECTION = css("span.cate")
# In the column's header: "<dt class=name>배윤경 기자</dt><dd class=email>…</dd>" per reporter
_AUTHORS = css("dl.author dt.name")
# "<dt>입력 : </dt><dd>2025-05-28 00:13:03</dd>", then the same with 수정 when it was updated
_STAMPS = css("dl.registration")


def parse_article(page: Page) -> ArticleItem:
    """An mk.co.kr article; ParseError when the page has no articleBody box."""
    tree = page.tree
    body = first(_BODY(tree))
    if body is None:
        raise ParseError(page.url, "mk: no div[itemprop=articleBody]")
    text = "\n\n".join(paragraphs(body, drop=_DROP))
    metas = meta_map(page)
    head = first(_TITLE_BOX(tree))
    if head is None:
        head = tree
    title = text_of(first(_TITLE(head))) or first_meta(metas, "taboola:title")
    if not text or not title:
        raise ParseError(page.url, "mk: no headline or no text")

    # the reporters' header belongs to the body's column: search that section only
    column = first(body.iterancestors("section"))
    if column is None:
        column = tree
    authors = [text_of(n) for n in _AUTHORS(column)]
    if not authors:  # LD-JSON names the same reporters; read only when the header has none
        authors = ld_persons(ld_news(page).get("author"))
    shown = _stamps(column, page.fetched_at)
    published = parse_datetime(first_meta(metas, "article:published_time"), page.fetched_at)
    published = published or shown.get("입력")
    # LD-JSON dateModified repeats datePublished on every page; only a 수정 line is an update
    updated = shown.get("수정")

    url = declared_url(page, first_meta(metas, "og:url"))
    return make_article(
        page,
        url=url,
        portal=PORTAL,
        title=title,
        body=text,
        publisher=first_meta(metas, "og:site_name") or "매일경제",
        subtitle=lines_of(first(_SUBTITLE(body))),
        authors=authors,
        section=text_of(first(_SECTION(head))) or first_meta(metas, "article:section"),
        published_at=published,
        updated_at=updated,
        parser=PARSER,
    )


def _stamps(root: Any, now: datetime | None) -> dict[str, datetime]:
    """{"입력": …, "수정": …} from the dl.registration lines."""
    out: dict[str, datetime] = {}
    for dl in _STAMPS(root):
        label = text_of(first(dl.iter("dt"))).rstrip(" :")
        dt = parse_datetime(text_of(first(dl.iter("dd"))), now)
        if dt is not None and label:
            out.setdefault(label, dt)
    return out
