"""Naver: articles on n.news.naver.com (and older shapes), news search, section lists.

Example: https://n.news.naver.com/mnews/article/018/0005316196

Naver serves one article under several hosts and page generations. They are told apart by the
id of the body container, not by the host, because the same host served different markup over
the years and a redirect can land a request on another host:

* ``#dic_area`` — n.news.naver.com/mnews (2022: a ``div``, "naver.mnews/1"; 2023+: an
  ``article``, "naver.mnews/2");
* ``#articleBodyContents`` — the old news.naver.com/main/read.naver page ("naver.readnaver/1");
* ``#newsEndContents`` — the old sports.news.naver.com page ("naver.sports/1");
* ``._article_content`` alone — the newer m.sports / m.entertain pages, read from the body
  container and page metadata only ("naver.mobile/1"); without a title or body they raise
  ParseError so the registry's generic parser gets the page.

Every article is stored under ``https://n.news.naver.com/mnews/article/OID/AID``
(crawler.domain.urls), whichever address it came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

from crawler.domain.dates import parse_datetime
from crawler.domain.items import ArticleItem
from crawler.domain.text import norm
from crawler.domain.urls import canonical_url, naver_ids
from crawler.parsers.base import make_article
from crawler.parsers.common import EMAIL, NAME, labelled_dates
from crawler.parsers.dom import by_id, css, first, lines_of, meta, paragraphs, text_of
from crawler.parsers.naver.shared import PORTAL, first_text, has_class
from crawler.parsers.page import NotAnArticle, Page, ParseError

# One O(1) look-up in libxml2's id table (base.by_id) finds whichever body container the page
# has. Ids are what Naver's own scripts hook into, so they outlive the presentational classes.
_BODY_IDS = "dic_area articleBodyContents newsEndContents"
# Newer m.sports / m.entertain pages: `_article_content` is the JS hook class Naver also puts
# on mnews' #dic_area; looked for inside #comp_news_article, and only page-wide as a last resort.
_MO_BODY = css("div._article_content")
_MO_BODY_ANY = etree.XPath(f"descendant::*[{has_class('_article_content')}][1]")

# Selectors are tag-qualified where the markup allows it: libxml2 then tests the class only on
# elements with that name, which is what keeps the parser well under the cost of the parse.

# --- mnews (#dic_area) -----------------------------------------------------------------------
# All header parts sit in #ct (the article column, ~300 of ~1,200 elements); selectors run on
# that subtree only. The headline's id (#title_area) only exists from 2023, so the class is key.
_MN_TITLE = css("h2.media_end_head_headline, h2#title_area")
# data-date-time is the machine-readable KST stamp behind the visible "2023.09.07. 오후 12:22".
_MN_DATE = css("span._ARTICLE_DATE_TIME")
_MN_MODIFIED = css("span._ARTICLE_MODIFY_DATE_TIME")
# Fallback when the JS-hook classes change: the visible stamps in the date box, in order.
_MN_DATE_TEXT = css("span.media_end_head_info_datestamp_time")
# The journalist layer lists every reporter (the head may abbreviate to "… 외 1명"); the head
# names, the reporter cards under the body and finally the plain byline are fallbacks in order.
_MN_AUTHORS = (
    css("em.media_end_head_journalist_layer_name"),
    css("em.media_end_head_journalist_name"),
    css("em.media_journalistcard_summary_name_text"),
)
_MN_BYLINE = css("span.byline_s")
# The press logo names the original publisher (light and dark variants carry the same title).
_MN_PRESS = css("a.media_end_head_top_logo img")
_MN_SECTION = css("em.media_end_categorize_item")
_MN_ORIGINAL = css("a.media_end_head_origin_link")
# Inside #dic_area: the bold deck (→ subtitle) and the photo blocks with their captions. Naver
# wraps every inserted photo the same way on all its article pages (span.end_photo_org >
# em.img_desc); the 2022 mnews page also puts photos in a table.nbd_table whose second row is the
# caption; figure/figcaption cover press HTML passed through as is.
_MN_SUMMARY = css("strong.media_end_summary")
_PHOTO = "span.end_photo_org, em.img_desc, table.nbd_table, figure, figcaption"
_MN_DROP = css(f"strong.media_end_summary, {_PHOTO}")

# --- read.naver (#articleBodyContents) --------------------------------------------------------
# Header, byline and journalist card all sit in #main_content.
_RN_TITLE = css("h3#articleTitle, h2#articleTitle")
# "기사입력 <span class=t11>2017.04.20. 오후 3:53</span>" (+ "최종수정 <span class=t11>…")
_RN_DATES = css("div.sponsor span.t11")
_RN_AUTHORS = (css("div.journalistcard_summary_name"), css("div.byline p"))
_RN_PRESS = css("div.press_logo img")
_RN_SECTION = css("em.guide_categorization_item")
_RN_ORIGINAL = css("a.btn_artialoriginal")
_RN_DROP = css(_PHOTO)

# --- old sports.news.naver.com (#newsEndContents) ---------------------------------------------
# The headline box (title, dates, press logo, original link) is a sibling of the body inside
# div.content_area; everything else is read inside it.
_SP_HEAD = css("div.news_headline")
_SP_TITLE = css("h4.title")
# "기사입력 2017.05.12. 오후 02:09" then "최종수정 …", each in its own span.
_SP_DATES = css("div.info > span")
_SP_PRESS_IDS = "pressLogo"
_SP_PRESS = css("img")
_SP_ORIGINAL = css("a.press_link")
# The page shows no section on the article; the selected tab of the side ranking box is the
# sport the page was opened under (the only visible label of it).
_SP_SECTION_IDS = "_ranking_news_tab_selector"
_SP_SECTION = css("a.selected")
_SP_BYLINE = css("p.byline")
_SP_DROP = css(_PHOTO)
# Naver appends its own furniture to the text inside #newsEndContents, always starting with the
# "기사제공" line (p.source); everything from the first of these blocks on is not article text.
_SP_FURNITURE = ("source", "byline", "reporter_area", "copyright", "categorize", "promotion")
# A plain substring test per direct child: the block classes are distinctive and this runs on
# every sports page, where the full class-token test costs more than the rest of the parse.
_FURNITURE = etree.XPath(
    "*[{}][1]".format(" or ".join(f"contains(@class, '{c}')" for c in _SP_FURNITURE))
)

# --- newer mobile sports / entertainment (m.sports / m.entertain) -----------------------------
# No saved page of these is in the corpus: only what Naver shares across its article pages is
# relied on (the mnews header component if present, og:title otherwise; data-date-time stamps).
_MO_TITLE = css("h2.media_end_head_headline")
_MO_DATES = etree.XPath("descendant::*[@data-date-time]")
_MO_DROP = css(_PHOTO)


def _attr(nodes: Iterable[Any], *names: str) -> str | None:
    """The first non-empty attribute among `names`, tried node by node."""
    for n in nodes:
        for name in names:
            v = norm(n.get(name))
            if v:
                return v
    return None


class _Meta:
    """Head metadata read on demand, one key at a time; far cheaper than walking every tag."""

    __slots__ = ("tree", "seen")

    def __init__(self, tree: Any) -> None:
        self.tree = tree
        self.seen: dict[str, str | None] = {}

    def get(self, key: str, default: str | None = None) -> str | None:
        if key not in self.seen:
            self.seen[key] = meta(self.tree, key) or None
        return self.seen[key] or default


def _scope(body: Any, ids: str) -> Any:
    """The article column holding the body (by id), else the whole page."""
    for anc in body.iterancestors():
        if anc.get("id") in ids.split():
            return anc
    return body.getroottree().getroot()


def _is_transparent(el: Any) -> bool:
    """Comments and scripts between two lines do not make text of their own."""
    return not isinstance(el.tag, str) or el.tag in ("script", "style")


def _link_lines(body: Any) -> list[Any]:
    """Direct-child links that stand alone on a line: related-article and promo links.

    Old Naver bodies are flat text with `<br>`s; the press appends "[EPL] 36R 프리뷰…" or
    "최신 유행 트렌드 총집결 #흥(클릭!)" as bare `<a>` lines. A link inside a sentence has text
    next to it on the same line and is kept.
    """
    out = []
    for a in body.iterchildren("a"):
        if norm(a.tail):
            continue
        prev = a.getprevious()
        while prev is not None and _is_transparent(prev) and not norm(prev.tail):
            prev = prev.getprevious()
        before = body.text if prev is None else prev.tail
        if norm(before) or (prev is not None and prev.tag != "br"):
            continue
        nxt = a.getnext()
        if nxt is not None and nxt.tag != "br":
            continue
        out.append(a)
    return out


def _furniture(body: Any) -> list[Any]:
    """Naver's own blocks appended to the text (see _SP_FURNITURE) and everything after them."""
    start = first(_FURNITURE(body))
    return [] if start is None else [start, *start.itersiblings()]


def _body_text(body: Any, drop: Any, extra: list[Any] | None = None) -> str:
    """The body's paragraphs joined by a blank line, without `drop` matches and `extra` nodes."""
    skipped = [*drop(body), *_link_lines(body), *(extra or [])]
    return "\n\n".join(paragraphs(body, drop=_Fixed(skipped)))


class _Fixed:
    """A precomputed node list in the shape `paragraphs(drop=…)` calls (a selector)."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: list[Any]) -> None:
        self.nodes = nodes

    def __call__(self, _node: Any) -> list[Any]:
        return self.nodes


_NAME_BEFORE_ROLE = re.compile(
    rf"({NAME})\s*(?:선임|수석|객원|인턴)?\s*(?:기자|특파원|논설위원|위원|에디터|PD)"
)
_NAME_BEFORE_MAIL = re.compile(rf"({NAME})\s*[(<\[]?\s*{EMAIL}")
_MORE = re.compile(r"\s*외\s*\d+\s*명\s*$")


def _byline_names(text: str, publisher: str | None) -> list[str]:
    """Person names out of a free byline line; the press's own name is an address, not a person.

    "조민정(jjung@edaily.co.kr)" → 조민정; "뉴스타파 webmaster@newstapa.org" → nothing. Not
    common.reporter_names: Naver's press bylines also sign as 위원/에디터/PD or with a bare
    e-mail, and the corpus pages are scored on exactly these rules.
    """
    names = _NAME_BEFORE_ROLE.findall(text) or _NAME_BEFORE_MAIL.findall(text)
    pub = (publisher or "").replace(" ", "")
    return [n for n in names if not pub or (n not in pub and pub not in n)]


def _names(nodes: Iterable[Any]) -> list[str]:
    out = []
    for n in nodes:
        v = _MORE.sub("", text_of(n))
        if v and v not in out:
            out.append(v)
    return out


def _article_urls(page: Page, og_url: str | None) -> tuple[str, list[str]]:
    """The canonical mnews URL and the other addresses this page was reached or declared by."""
    key = next((u for u in (og_url, page.url) if u and naver_ids(u)), None)
    if key is None:
        raise ParseError(page.url, "no Naver article id (oid/aid) in the URL or og:url")
    url = canonical_url(key)
    urls = []
    for u in (page.url, og_url):
        if u and u != url and u not in urls:
            urls.append(u)
    return url, urls


def _preceding_text(el: Any) -> str:
    prev = el.getprevious()
    return (el.getparent().text if prev is None else prev.tail) or ""


def _press(meta: _Meta) -> str | None:
    """Publisher from metadata: twitter:creator, else the press half of "헤럴드경제 | 네이버"."""
    creator = meta.get("twitter:creator")
    if creator:
        return creator
    author = meta.get("og:article:author") or meta.get("me2:category1")
    if not author:
        return None
    parts = [p.strip() for p in author.split("|") if p.strip() and "네이버" not in p]
    return parts[0] if parts else None


def _finish(
    page: Page,
    *,
    meta: _Meta,
    parser: str,
    title: str,
    body: str,
    **fields: Any,
) -> ArticleItem:
    if not title:
        raise ParseError(page.url, f"{parser}: no headline")
    if not body:
        # The container is there but holds no text: a photo/video-only post or a withdrawn story.
        raise NotAnArticle(page.url, f"{parser}: article body is empty")
    url, urls = _article_urls(page, meta.get("og:url"))
    return make_article(
        page,
        url=url,
        portal=PORTAL,
        title=title,
        body=body,
        urls=urls,
        parser=parser,
        **fields,
    )


def _parse_mnews(page: Page, body: Any, meta: _Meta) -> ArticleItem:
    scope = _scope(body, "ct")
    publisher = _attr(_MN_PRESS(scope), "title", "alt") or _press(meta)
    published = parse_datetime(_attr(_MN_DATE(scope), "data-date-time"))
    updated = parse_datetime(_attr(_MN_MODIFIED(scope), "data-modify-date-time"))
    if published is None:
        stamps = [text_of(n) for n in _MN_DATE_TEXT(scope)]
        published = parse_datetime(stamps[0]) if stamps else None
        if updated is None and len(stamps) > 1:
            updated = parse_datetime(stamps[1])
    authors: list[str] = []
    for sel in _MN_AUTHORS:
        authors = _names(sel(scope))
        if authors:
            break
    else:
        authors = _byline_names(first_text(_MN_BYLINE(scope)), publisher)
    return _finish(
        page,
        meta=meta,
        parser="naver.mnews/2" if body.tag == "article" else "naver.mnews/1",
        title=first_text(_MN_TITLE(scope)) or (meta.get("og:title") or ""),
        subtitle=lines_of(first(_MN_SUMMARY(body))),
        body=_body_text(body, _MN_DROP),
        publisher=publisher,
        authors=authors,
        section=first_text(_MN_SECTION(scope)) or None,
        published_at=published,
        updated_at=updated,
        original_url=_attr(_MN_ORIGINAL(scope), "href"),
    )


def _parse_readnaver(page: Page, body: Any, meta: _Meta) -> ArticleItem:
    scope = _scope(body, "main_content")
    publisher = _attr(_RN_PRESS(scope), "title", "alt") or _press(meta)
    published, updated = labelled_dates(
        (_preceding_text(s), s.text_content()) for s in _RN_DATES(scope)
    )
    authors: list[str] = []
    for sel in _RN_AUTHORS:
        authors = _names(sel(scope))
        if authors:
            break
    return _finish(
        page,
        meta=meta,
        parser="naver.readnaver/1",
        title=first_text(_RN_TITLE(scope)) or (meta.get("og:title") or ""),
        body=_body_text(body, _RN_DROP),
        publisher=publisher,
        authors=authors,
        section=first_text(_RN_SECTION(scope)) or meta.get("me2:category2"),
        published_at=published,
        updated_at=updated,
        original_url=_attr(_RN_ORIGINAL(scope), "href"),
    )


def _parse_sports(page: Page, body: Any, meta: _Meta) -> ArticleItem:
    head = first(_SP_HEAD(body.getparent()))
    if head is None:
        head = body.getroottree().getroot()
    logo = first(by_id(body, ids=_SP_PRESS_IDS))
    publisher = _attr(_SP_PRESS(logo), "alt", "title") if logo is not None else None
    publisher = publisher or _press(meta)
    published, updated = labelled_dates((t, t) for t in (s.text_content() for s in _SP_DATES(head)))
    authors = _byline_names(first_text(_SP_BYLINE(body)), publisher)
    tabs = first(by_id(body, ids=_SP_SECTION_IDS))
    return _finish(
        page,
        meta=meta,
        parser="naver.sports/1",
        title=first_text(_SP_TITLE(head)) or (meta.get("og:title") or ""),
        body=_body_text(body, _SP_DROP, _furniture(body)),
        publisher=publisher,
        authors=authors,
        section=first_text(_SP_SECTION(tabs)) if tabs is not None else None,
        published_at=published,
        updated_at=updated,
        original_url=_attr(_SP_ORIGINAL(head), "href"),
    )


def _parse_mobile(page: Page, body: Any, meta: _Meta) -> ArticleItem:
    """m.sports / m.entertain: body container plus metadata; anything missing → ParseError."""
    root = body.getroottree().getroot()
    stamps = _MO_DATES(root)
    title = first_text(_MO_TITLE(root)) or (meta.get("og:title") or "")
    text = _body_text(body, _MO_DROP, _furniture(body))
    if not title or not text:
        raise ParseError(page.url, "naver.mobile/1: no headline or body in the served HTML")
    return _finish(
        page,
        meta=meta,
        parser="naver.mobile/1",
        title=title,
        body=text,
        publisher=_press(meta),
        published_at=parse_datetime(stamps[0].get("data-date-time")) if stamps else None,
        updated_at=parse_datetime(stamps[1].get("data-date-time")) if len(stamps) > 1 else None,
    )


_LAYOUTS: dict[str, Callable[[Page, Any, _Meta], ArticleItem]] = {
    "dic_area": _parse_mnews,
    "articleBodyContents": _parse_readnaver,
    "newsEndContents": _parse_sports,
}


def parse_article(page: Page) -> ArticleItem:
    """Any Naver article page into an item; the layout is picked by its body container."""
    tree = page.tree
    meta = _Meta(tree)
    body = first(by_id(tree, ids=_BODY_IDS))
    if body is None:
        box = first(by_id(tree, ids="comp_news_article"))
        body = first(_MO_BODY(box)) if box is not None else first(_MO_BODY_ANY(tree))
    if body is None:
        if meta.get("og:type") == "article" and meta.get("og:title"):
            # Declares an article but has no container we know: a layout we have not seen.
            raise ParseError(page.url, "naver: article page without a known body container")
        raise NotAnArticle(page.url, "naver: no article on this page (deleted, gallery or list)")
    return _LAYOUTS.get(body.get("id") or "", _parse_mobile)(page, body, meta)
