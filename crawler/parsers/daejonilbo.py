"""Daejon Ilbo (daejonilbo.com): article pages, mobile and desktop.

Example: http://m.daejonilbo.com/mnews.asp?pk_no=1412361

* "daejonilbo.mobile/1": m.daejonilbo.com/mnews.asp (2020): headline `h2.sub_tit`, then an
  `<article>` whose first line is "이용민 기자 | 2020-03-04 16:52:59" (it also carries the
  Kakao-share script), and the text in `div.m_cont` as plain text split by `<br><br>`. The
  page declares EUC-KR; saved copies hold UTF-8 (Page decodes either).
* "daejonilbo.nd/1": www.daejonilbo.com/news/articleView.html?idxno=… — the ND Soft CMS
  layout that many Korean regional papers share (`#article-view-content-div` with
  itemprop=articleBody, `h3.heading`, `ul.infomation` with "기자명"/"입력"/"수정" items).
  Written from that CMS's public markup, not checked against a saved daejonilbo.com page
  (the corpus has none). Any other desktop page raises ParseError, so the registry hands it
  to the generic parser.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from crawler.domain.dates import parse_datetime
from crawler.domain.items import ArticleItem
from crawler.parsers.base import declared_url, make_article
from crawler.parsers.common import first_date, real_update, reporter_names, title_of
from crawler.parsers.dom import (
    by_id,
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

PORTAL = "daejonilbo"
PUBLISHER = "대전일보"

# --- mobile -----------------------------------------------------------------------------------
# The headline is the only h2.sub_tit ("sub_tit bold verd"); the section boxes use h2 without it.
_M_TITLE = etree.XPath("descendant::h2[contains(concat(' ', @class, ' '), ' sub_tit ')][1]")
# The text box; its id (s3dpop_divID01) belongs to a popup script, so the class is the key.
_M_BODY = etree.XPath("descendant::div[contains(concat(' ', @class, ' '), ' m_cont ')][1]")
# The byline-and-date line: the text of the <article> right after the headline, scripts aside.
_M_BYLINE = etree.XPath("following-sibling::article[1]//text()[not(ancestor::script)]")
_STAMP = re.compile(r"\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?")

# --- desktop (ND Soft CMS) --------------------------------------------------------------------
# Inside the body: photo boxes with captions, the copyright and editor boxes, the reporter
# card and ad slots the CMS inserts between paragraphs.
_ND_DROP = css(
    "figure, figcaption, div.view-copyright, div.view-editors, article.writer, div.ad-template, "
    "div.IMGFLOATING, div.view-ad, script, style"
)
_ND_TITLE = css("header.article-view-header h3.heading, header.article-view-header h1.heading")
_ND_SUBTITLE = css("header.article-view-header .subheading")
# "<li><i class=icon-user-o></i> 기자명 홍길동 기자</li>", "<li>… 입력 2024.01.01 12:00</li>"
_ND_INFO = css("header.article-view-header ul.infomation li")


def parse_article(page: Page) -> ArticleItem:
    """A Daejon Ilbo article, mobile or desktop."""
    tree = page.tree
    title = first(_M_TITLE(tree))
    body = first(_M_BODY(tree))
    if title is not None and body is not None:
        return _mobile(page, title, body)
    body = first(by_id(tree, ids="article-view-content-div"))
    if body is not None:
        return _nd(page, body)
    raise ParseError(page.url, "daejonilbo: neither the mobile nor the ND Soft layout")


def _item(page: Page, parser: str, **fields: Any) -> ArticleItem:
    if not fields.get("title") or not fields.get("body"):
        raise ParseError(page.url, f"{parser}: no headline or no text")
    metas = meta_map(page)
    url = declared_url(page, first_meta(metas, "og:url"))
    return make_article(
        page,
        url=url,
        portal=PORTAL,
        publisher=first_meta(metas, "og:site_name") or PUBLISHER,
        parser=parser,
        **fields,
    )


def _names(byline: str) -> list[str]:
    """Each reporter of a joined byline ("홍길동·김철수 기자"), role kept for the clean step."""
    return [x for x in (part.strip() for part in re.split(r"[·,/]", byline)) if x]


def _mobile(page: Page, title: Any, body: Any) -> ArticleItem:
    line = " ".join(_M_BYLINE(title))
    parts = [p.strip() for p in line.split("|")]
    authors = _names(parts[0]) if len(parts) > 1 and "기자" in parts[0] else []
    stamp = _STAMP.search(line)
    return _item(
        page,
        "daejonilbo.mobile/1",
        title=text_of(title),
        body="\n\n".join(paragraphs(body)),
        authors=authors or reporter_names(line),
        published_at=parse_datetime(stamp.group(0), page.fetched_at) if stamp else None,
    )


def _nd(page: Page, body: Any) -> ArticleItem:
    tree = page.tree
    metas = meta_map(page)
    ld = ld_news(page)
    info: dict[str, str] = {}
    for li in _ND_INFO(tree):
        text = text_of(li)
        for label in ("기자명", "입력", "수정", "승인"):
            if text.startswith(label):
                info.setdefault(label, text[len(label) :].strip())
    authors = ld_persons(ld.get("author")) or _names(info.get("기자명", ""))
    if not authors:
        authors = reporter_names(first_meta(metas, "article:author", "author"))
    now = page.fetched_at
    published = first_date(
        first_meta(metas, "article:published_time"),
        ld.get("datePublished"),
        info.get("입력"),
        now=now,
    )
    updated = first_date(first_meta(metas, "article:modified_time"), info.get("수정"), now=now)
    title = text_of(first(_ND_TITLE(tree)))
    if not title:
        title = title_of(page, metas, ld, [PUBLISHER])
    return _item(
        page,
        "daejonilbo.nd/1",
        title=title,
        subtitle=lines_of(first(_ND_SUBTITLE(tree))),
        body="\n\n".join(paragraphs(body, drop=_ND_DROP)),
        authors=authors,
        section=first_meta(metas, "article:section"),
        published_at=published,
        updated_at=real_update(published, updated),
    )
