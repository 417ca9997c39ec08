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

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.domain.dates import KST, parse_datetime
from crawler.domain.items import ArticleItem, ListPage, SearchHit, SearchPage
from crawler.domain.text import norm
from crawler.domain.urls import canonical_url, naver_ids
from crawler.parsers.base import make_article
from crawler.parsers.common import EMAIL, NAME, labelled_dates
from crawler.parsers.dom import by_id, css, first, html_text, lines_of, meta, paragraphs, text_of
from crawler.parsers.page import NotAnArticle, Page, ParseError

PORTAL = "naver"

# ---------------------------------------------------------------------------------------------
# Articles
# ---------------------------------------------------------------------------------------------


def _has_class(name: str) -> str:
    """XPath test for one class among several (what CSS `.name` compiles to)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# One O(1) look-up in libxml2's id table (base.by_id) finds whichever body container the page
# has. Ids are what Naver's own scripts hook into, so they outlive the presentational classes.
_BODY_IDS = "dic_area articleBodyContents newsEndContents"
# Newer m.sports / m.entertain pages: `_article_content` is the JS hook class Naver also puts
# on mnews' #dic_area; looked for inside #comp_news_article, and only page-wide as a last resort.
_MO_BODY = css("div._article_content")
_MO_BODY_ANY = etree.XPath(f"descendant::*[{_has_class('_article_content')}][1]")

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


def _text(nodes: Iterable[Any]) -> str:
    for n in nodes:
        v = text_of(n)
        if v:
            return v
    return ""


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
        authors = _byline_names(_text(_MN_BYLINE(scope)), publisher)
    return _finish(
        page,
        meta=meta,
        parser="naver.mnews/2" if body.tag == "article" else "naver.mnews/1",
        title=_text(_MN_TITLE(scope)) or (meta.get("og:title") or ""),
        subtitle=lines_of(first(_MN_SUMMARY(body))),
        body=_body_text(body, _MN_DROP),
        publisher=publisher,
        authors=authors,
        section=_text(_MN_SECTION(scope)) or None,
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
        title=_text(_RN_TITLE(scope)) or (meta.get("og:title") or ""),
        body=_body_text(body, _RN_DROP),
        publisher=publisher,
        authors=authors,
        section=_text(_RN_SECTION(scope)) or meta.get("me2:category2"),
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
    authors = _byline_names(_text(_SP_BYLINE(body)), publisher)
    tabs = first(by_id(body, ids=_SP_SECTION_IDS))
    return _finish(
        page,
        meta=meta,
        parser="naver.sports/1",
        title=_text(_SP_TITLE(head)) or (meta.get("og:title") or ""),
        body=_body_text(body, _SP_DROP, _furniture(body)),
        publisher=publisher,
        authors=authors,
        section=_text(_SP_SECTION(tabs)) if tabs is not None else None,
        published_at=published,
        updated_at=updated,
        original_url=_attr(_SP_ORIGINAL(head), "href"),
    )


def _parse_mobile(page: Page, body: Any, meta: _Meta) -> ArticleItem:
    """m.sports / m.entertain: body container plus metadata; anything missing → ParseError."""
    root = body.getroottree().getroot()
    stamps = _MO_DATES(root)
    title = _text(_MO_TITLE(root)) or (meta.get("og:title") or "")
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


# ---------------------------------------------------------------------------------------------
# Search (search.naver.com, where=news, and its infinite-scroll loader)
# ---------------------------------------------------------------------------------------------
#
# search.naver.com renders the first block of results only. Every further block comes from the
# page's infinite-scroll loader: an XHR whose URL the page carries in an inline script
# (`new …({url:"https://s.search.naver.com/p/newssearch/3/api/tab/more?…&start=11",
# insertTarget:"._infinite_list"…})`) and which answers JSON
# `{"collection": [{"html": "<the next items>", "script": "…"}], "url": "<the next loader URL>"}`.
# Both are read here: a page, or an answer (the body is JSON), into one SearchPage whose
# `next_url` is the next block's address as Naver gave it (docs/sources.md).
#
# Results are read twice where the page allows it: from the markup (below), and from the data
# the client renderer is started with (`entry.bootstrap(el, {"meta":…, "body":…})` in a script:
# title, titleHref, content, sourceProfile with its sub-texts). The markup is the answer; the
# data fills in when the markup reads nothing, and a disagreement between the two is reported
# in `SearchPage.drift`, which is how a markup change shows before it costs results.

# The result list keeps its functional class across deploys (`_infinite_list` is the scroll
# hook); the wrappers inside it carry hashed per-deploy class names, so nothing below uses them.
_S_LIST = css("ul.list_news")
# If the list is rendered by another element: the scroll hook class the loader inserts into.
_S_LIST_ANY = etree.XPath(f"//*[{_has_class('_infinite_list')} or {_has_class('list_news')}]")
# `sds-comps-*` are the design-system component names (headline, body text, profile): they name
# what a node *is*, which is why they survived the 2025→2026 redesign the hashed classes did not.
# Each is tried tag-qualified first (fast: the class is only tested on spans/divs) and without
# the tag if a deploy renders the component with another element.
_S_HEADLINE = (css("span.sds-comps-text-type-headline1"), css(".sds-comps-text-type-headline1"))
_S_PROFILE = (css("div.sds-comps-profile"), css(".sds-comps-profile"))
_S_SNIPPET = (css("span.sds-comps-text-type-body1"), css(".sds-comps-text-type-body1"))
# Inside one profile (a few dozen nodes), so no tag is needed; read as strings, which saves
# building a Python object per node. The press name, else the logo's "헤럴드경제의 프로필 이미지".
_S_PRESS = etree.XPath(
    f"string(descendant::*[{_has_class('sds-comps-profile-info-title-text')}][1])"
)
_S_PRESS_ALT = etree.XPath("string(descendant::img[1]/@alt)")
_S_SUBTEXT = css(".sds-comps-profile-info-subtext")
_S_HREFS = etree.XPath("descendant::a/@href", smart_strings=False)
_S_IDS = etree.XPath("descendant-or-self::*/@id", smart_strings=False)
# Legacy paging (before infinite scroll: div.sc_page right under the news section) and the old
# "1-10 / 1,234건" counter in its head; looked for two levels down from the section only.
_S_NEXT_BUTTON = etree.XPath(
    f"*/*[{_has_class('sc_page')}]//a[{_has_class('btn_next')}]/@aria-disabled",
    smart_strings=False,
)
_S_COUNT = etree.XPath(f"string(*/*[{_has_class('title_desc')}][1])")
_S_DATE = re.compile(
    r"^(?:\d+\s*(?:초|분|시간|일|주|개월|년)\s*전|방금\s*전|어제|\d{4}\.\d{1,2}\.\d{1,2}\.?)$"
)
_S_COUNT_RX = re.compile(r"([\d,]+)\s*건")
_HF_TIME = re.compile(r'headerfooter_time_(year|month|day|hour|minute|second)_s\s*=\s*"(\d+)"')
_G_QUERY = re.compile(r'g_query\s*=\s*"((?:[^"\\]|\\.)*)"')
# The loader's request: a `url:"…"` property of a script object whose value pages by `start=`
# (the path has changed before, /newssearch/3/ → /4/, so it is never assumed).
_S_LOADER = re.compile(r'url["\']?\s*:\s*"')
_JS_STR_BODY = re.compile(r'([^"\\]*(?:\\.[^"\\]*)*)"')
# "네이버 검색은 … 뉴스 검색결과를 2,000건까지 제공합니다" (hidden until the cap is reached).
_S_CAP_IDS = "news_max_display"
_S_CAP = re.compile(r"([\d,]+)\s*건\s*까지")
_S_CAP_TEXT = re.compile(r"검색\s*결과를?\s*([\d,]+)\s*건\s*까지")
# The renderer's start: `….bootstrap(document.getElementById("fdr-…"), {…data…}, {…})`.
_S_BOOT = re.compile(
    r"""\.bootstrap\(\s*(?:[\w$.]+\(\s*["']([^"']*)["']\s*\)|[^,()]*)\s*,\s*(?=\{)"""
)


class EmptyAnswer(ParseError):
    """The loader answered `{"collection": null}`: a transient failure, never the last block."""


def is_empty_answer(body: bytes) -> bool:
    """Whether a loader answer is `{"collection": null}` (to be retried, not read)."""
    head = body.lstrip()[:1]
    if head != b"{":
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "collection" in data and data["collection"] is None


def _page_time(page: Page) -> datetime | None:
    """The crawl time the page states itself (Naver's header clock), else page.fetched_at."""
    text = page.text
    i = text.find("headerfooter_time_year_s")
    if i >= 0:
        parts = dict(_HF_TIME.findall(text, i, i + 800))
        try:
            return datetime(
                int(parts["year"]), int(parts["month"]), int(parts["day"]),
                int(parts.get("hour", 0)), int(parts.get("minute", 0)),
                int(parts.get("second", 0)), tzinfo=KST,
            )  # fmt: skip
        except (KeyError, ValueError):
            pass
    return page.fetched_at


def _query(page: Page, tree: Any) -> str:
    """The search term: `<title>` is "페이히어 : 네이버 뉴스검색"; JS g_query as a fallback."""
    head = tree.find("head")
    title = norm(head.findtext("title")) if head is not None else ""
    if " : " in title:
        return title.rsplit(" : ", 1)[0].strip()
    text = page.text
    i = text.find("g_query")
    m = _G_QUERY.search(text, i) if i >= 0 else None
    if m is None:
        return title
    return _js_string(m.group(1))


def _js_string(body: str) -> str:
    """The value of a double-quoted JS string literal's body (\\" \\uXXXX \\xXX \\' escapes)."""
    if "\\" not in body:
        return body
    fixed = _JS_X.sub(r"\\u00\1", body.replace("\\'", "'"))
    try:
        return json.loads(f'"{fixed}"', strict=False)
    except ValueError:
        return body


_JS_X = re.compile(r"\\x([0-9A-Fa-f]{2})")


def page_number(url: str) -> int:
    """Which result block a URL asks for: Naver pages by `start` (1, 11, 21, … for 10 a block)."""
    start = dict(parse_qsl(urlsplit(url).query)).get("start", "1")
    return (int(start) - 1) // 10 + 1 if start.isdigit() and int(start) > 0 else 1


def _either(pair: tuple[Any, Any], node: Any) -> list[Any]:
    return pair[0](node) or pair[1](node)


def _first_profiles(ul: Any) -> dict[Any, Any]:
    """Each element of the list that holds a press profile → the first profile inside it.

    One selector pass over the list; a result item is then found by walking up from its title
    link to the nearest element in this map, and its own profile is the first one inside it.
    """
    out: dict[Any, Any] = {}
    for prof in _either(_S_PROFILE, ul):
        for anc in prof.iterancestors():
            if anc is ul or anc in out:
                break
            out[anc] = prof
    return out


def _up_to(el: Any, stop: Any) -> list[Any]:
    """The ancestors of `el` below `stop`, nearest first (a walk that ends at the list)."""
    out = []
    for anc in el.iterancestors():
        if anc is stop:
            break
        out.append(anc)
    return out


def _is_naver_copy(href: str) -> bool:
    """A Naver article address (n.news, m.entertain, m.sports), not a press or profile page."""
    return ("/article/" in href or "aid=" in href) and naver_ids(href) is not None


def _hit(item: Any, anchor: Any, headline: Any, profile: Any, now: datetime | None) -> dict:
    publisher = norm(_S_PRESS(profile)) or norm(_S_PRESS_ALT(profile)).removesuffix(
        "의 프로필 이미지"
    )
    # Subtexts mix dates, print positions ("A19면 1단") and the "네이버뉴스" label.
    published = next(
        (t for t in (text_of(n) for n in _S_SUBTEXT(profile)) if _S_DATE.match(t)),
        None,
    )
    # The "네이버뉴스" link: a profile link that is a Naver article address; the press-name link
    # goes to media.naver.com/press/… and carries no ids.
    portal_url = next((h for h in _S_HREFS(profile) if _is_naver_copy(h)), None)
    # The snippet sits next to the title link; the whole item is searched only if it does not.
    snippet = _text(_either(_S_SNIPPET, anchor.getparent())) or _text(_either(_S_SNIPPET, item))
    return {
        "title": text_of(headline),
        "url": (anchor.get("href") or "").strip(),
        "portal_url": portal_url,
        "publisher": publisher or None,
        "published": published,
        "published_at": parse_datetime(published, now) if published else None,
        "snippet": snippet or None,
    }


def _markup_hits(lists: Iterable[Any], now: datetime | None) -> list[dict]:
    """The results of the result list(s), nested related-news clusters left out."""
    hits: list[dict] = []
    taken: set[Any] = set()
    for ul in lists:
        profiles = _first_profiles(ul)
        for headline in _either(_S_HEADLINE, ul):
            anchor = next(headline.iterancestors("a"), None)
            if anchor is None:
                continue
            chain = _up_to(anchor, ul)
            at = next((i for i, a in enumerate(chain) if a in profiles), None)
            if at is None:
                continue
            item = chain[at]
            # A related-news box nests whole sub-results inside a result: skip an item that
            # sits inside one already taken (or repeats it).
            if any(a in taken for a in chain[at:]):
                continue
            taken.add(item)
            hits.append(_hit(item, anchor, headline, profiles[item], now))
    return hits


# --- the renderer's data (entry.bootstrap) ----------------------------------------------------


# A JS object literal as JSON: bare keys quoted, 'strings' re-quoted, !0/!1/undefined as values,
# trailing commas dropped.
# Strings are matched first, so nothing inside one is ever rewritten. The page's own start-up
# call is minified JS (`{meta:{query:"…"},…}`); the loader's answer ships JSON as is.
_JS_TO_JSON = re.compile(
    r""""[^"\\]*(?:\\.[^"\\]*)*"|'([^'\\]*(?:\\.[^'\\]*)*)'|([{,]\s*)([A-Za-z_$][\w$]*)(\s*:)"""
    r"""|!([01])(?![\w$])|(?<=[:,\[])undefined(?![\w$])|(,)\s*(?=[\]}])"""
)
_DECODER = json.JSONDecoder(strict=False)


def _js_fix(m: re.Match) -> str:
    if m.group(3) is not None:
        return f'{m.group(2)}"{m.group(3)}"{m.group(4)}'
    if m.group(5) is not None:
        return "true" if m.group(5) == "0" else "false"
    if m.group(6) is not None:  # a trailing comma
        return ""
    if m.group(1) is not None:
        return json.dumps(_js_string(m.group(1).replace('"', '\\"')), ensure_ascii=False)
    text = m.group(0)
    return "null" if text == "undefined" else text


def _js_data(text: str, pos: int) -> Any:
    """The JSON or JS object literal at `pos` (up to the end of its script) as Python data."""
    end = text.find("</script", pos)
    chunk = text[pos : end if end >= 0 else len(text)]
    try:
        return _DECODER.raw_decode(chunk)[0]
    except ValueError:
        return _DECODER.raw_decode(_JS_TO_JSON.sub(_js_fix, chunk))[0]


def _news_items(node: Any, out: list[dict]) -> None:
    """Every result in the renderer's data: an object with a title, its link and a source
    profile. Not descended into, so a result's nested related-news cluster stays out."""
    if isinstance(node, dict):
        if isinstance(node.get("titleHref"), str) and isinstance(node.get("sourceProfile"), dict):
            out.append(node)
            return
        for v in node.values():
            _news_items(v, out)
    elif isinstance(node, list):
        for v in node:
            _news_items(v, out)


def _bootstrap_data(text: str, ids: set[str] | None) -> tuple[list[dict], str | None]:
    """(result objects, query) from every renderer start-up call in `text`.

    With `ids`, a call counts only when the element it renders into is one of them (a result
    list's blocks): other boxes on the page are rendered the same way.
    """
    items: list[dict] = []
    query = None
    for m in _S_BOOT.finditer(text):
        target = m.group(1)
        if ids is not None and target is not None and target not in ids:
            continue
        try:
            data = _js_data(text, m.end())
        except (ValueError, RecursionError):
            continue
        if not isinstance(data, dict):
            continue
        meta_q = data.get("meta", {}).get("query") if isinstance(data.get("meta"), dict) else None
        query = query or (meta_q if isinstance(meta_q, str) else None)
        _news_items(data.get("body"), items)
    return items, query


def _data_hit(d: dict, now: datetime | None) -> dict:
    """One result object of the renderer's data in _hit's shape."""
    prof = d.get("sourceProfile") or {}
    subs = prof.get("subTexts")
    subs = [s for s in subs if isinstance(s, dict)] if isinstance(subs, list) else []
    published = next(
        (t for t in (html_text(str(s.get("text") or "")) for s in subs) if _S_DATE.match(t)), None
    )
    portal_url = next(
        (h for h in (s.get("textHref") for s in subs) if isinstance(h, str) and _is_naver_copy(h)),
        None,
    )
    return {
        "title": html_text(str(d.get("title") or "")),
        "url": str(d.get("titleHref") or "").strip(),
        "portal_url": portal_url,
        "publisher": html_text(str(prof.get("title") or "")) or None,
        "published": published,
        "published_at": parse_datetime(published, now) if published else None,
        "snippet": html_text(str(d.get("content") or "")) or None,
    }


def _crosscheck(markup: list[dict], data: list[dict]) -> list[str]:
    """Where the markup's results and the renderer's data disagree, in a few readable lines."""
    if not data or not markup:
        return []
    out = []
    a = Counter(h["url"] for h in markup)
    b = Counter(h["url"] for h in data)
    if a != b:
        only_m, only_d = list((a - b).elements()), list((b - a).elements())
        out.append(
            f"markup has {len(markup)} results, data {len(data)}; only in markup: "
            f"{only_m[:2]}, only in data: {only_d[:2]}"
        )
    seen = {h["url"]: h for h in data}
    for h in markup:
        d = seen.get(h["url"])
        if d is None:
            continue
        for f in ("title", "publisher", "published"):
            if norm(h[f]) != norm(d[f]):  # a field one reading lacks counts too
                out.append(f"{f} of {h['url']}: markup {h[f]!r}, data {d[f]!r}")
    return out[:5]


# --- the page and the loader's answers --------------------------------------------------------


def _loader_url(page: Page) -> str | None:
    """The next block's address as the page's loader script gives it."""
    text = page.text
    found = []
    for m in _S_LOADER.finditer(text):
        lit = _JS_STR_BODY.match(text, m.end())
        if lit is None or "start=" not in lit.group(1):
            continue
        url = _absolute_url(page.url, _js_string(lit.group(1)))
        if url and "naver" in (urlsplit(url).hostname or ""):
            found.append(url)
    # The loader's own request names an API path; any other `url:` paging by start= is a guess.
    return next((u for u in found if "/api/" in u), found[0] if found else None)


def _absolute_url(base: str, url: str) -> str | None:
    """`url` resolved against `base` if it is an http(s) address at all; else None."""
    try:
        out = urljoin(base, url.strip())
        return out if url.strip() and urlsplit(out).scheme in ("http", "https") else None
    except ValueError:  # e.g. a bracketed host that is no IPv6 address
        return None


def _result_cap(page: Page, tree: Any) -> int | None:
    """The most results Naver serves for a query, as the page states it ("2,000건까지")."""
    box = first(by_id(tree, ids=_S_CAP_IDS))
    m = _S_CAP.search(text_of(box)) if box is not None else None
    if m is None:
        m = _S_CAP_TEXT.search(page.text)
    return int(m.group(1).replace(",", "")) if m else None


def _has_next(section: Any, hits: int, loader: str | None) -> bool | None:
    """Whether another result block exists: the legacy next button, or the loader's URL.

    A list with no result in it ends the paging whatever else the page carries, so a spider
    never walks empty pages up to the result cap.
    """
    if hits == 0:
        return False
    disabled = _S_NEXT_BUTTON(section)
    if disabled:
        return disabled[0] != "true"
    return True if loader else None


def _total_count(section: Any) -> int | None:
    m = _S_COUNT_RX.search(_S_COUNT(section))
    return int(m.group(1).replace(",", "")) if m else None


def _ids(roots: Iterable[Any]) -> set[str]:
    return {i for r in roots for i in _S_IDS(r)}


def _search_page(
    query: str,
    url: str,
    markup: list[dict],
    data: list[dict],
    now: datetime | None,
    next_url: str | None,
    has_next: bool | None,
    **kw: Any,
) -> SearchPage:
    """The SearchPage of one page or block: markup first, the renderer's data if it reads none.

    A block with no result in it ends the paging, whatever else it names.
    """
    drift = _crosscheck(markup, [_data_hit(d, now) for d in data]) if data else []
    chosen = markup
    if not markup and data:
        chosen = [_data_hit(d, now) for d in data]
        drift.append(f"the markup read no result; {len(chosen)} taken from the renderer's data")
    page_no = page_number(url)
    hits = [
        SearchHit(portal=PORTAL, query=query, page=page_no, rank=i, **fields)
        for i, fields in enumerate(chosen, 1)
    ]
    return SearchPage(
        portal=PORTAL,
        query=query,
        hits=hits,
        drift=drift,
        has_next=has_next if hits else False,
        next_url=next_url if hits else None,
        **kw,
    )


def parse_search(page: Page) -> SearchPage:
    """A news search page, or a loader answer (JSON), into ranked hits and the next block."""
    if page.body.lstrip()[:1] == b"{":
        return _parse_answer(page)
    tree = page.tree
    now = _page_time(page)
    query = _query(page, tree)
    lists = _S_LIST(tree) or _S_LIST_ANY(tree)
    data, _ = _bootstrap_data(page.text, _ids(lists) if lists else None)
    if not lists and not data:
        raise ParseError(page.url, "naver search: no ul.list_news result list")
    markup = _markup_hits(lists, now)
    section = next(lists[0].iterancestors("section"), tree) if lists else tree
    loader = _loader_url(page)
    return _search_page(
        query,
        page.url,
        markup,
        data,
        now,
        loader,
        _has_next(section, len(markup) or len(data), loader),
        total_count=_total_count(section),
        result_cap=_result_cap(page, tree),
    )


def _parse_answer(page: Page) -> SearchPage:
    """A loader answer: `{"collection": [{"html", "script"}…], "url": next}`."""
    try:
        answer = json.loads(page.text)
    except ValueError as e:
        raise ParseError(page.url, f"naver search: loader answer is not JSON ({e})") from None
    if not isinstance(answer, dict) or "collection" not in answer:
        raise ParseError(page.url, "naver search: loader answer without a collection")
    coll = answer["collection"]
    if coll is None:
        raise EmptyAnswer(page.url, "naver search: the loader answered collection: null")
    parts = [c for c in (coll if isinstance(coll, list) else [coll]) if isinstance(c, dict)]
    html = "".join(c["html"] for c in parts if isinstance(c.get("html"), str))
    script = "\n".join(c["script"] for c in parts if isinstance(c.get("script"), str))
    now = page.fetched_at
    root = None
    if html.strip():
        try:
            root = lxml.html.fragment_fromstring(html, create_parent="div")
        except (etree.ParserError, ValueError) as e:
            raise ParseError(page.url, f"naver search: loader html does not parse ({e})") from None
    data, data_query = _bootstrap_data(script, _ids([root]) if root is not None else None)
    markup = _markup_hits([root], now) if root is not None else []
    nxt = answer.get("url")
    nxt = _absolute_url(page.url, nxt) if isinstance(nxt, str) else None
    query = dict(parse_qsl(urlsplit(page.url).query)).get("query") or data_query or ""
    return _search_page(query, page.url, markup, data, now, nxt, bool(nxt))


# ---------------------------------------------------------------------------------------------
# Section lists (news.naver.com)
# ---------------------------------------------------------------------------------------------

# Both old list layouts keep their main list in #main_content (~230-530 of 1,400-1,700 nodes).
_L_MAIN_IDS = "main_content"
# list.naver (LS2D): two ULs (headline + rest) of <dl>s; the photo <dt> repeats the title link.
_L_LIST = css("div.list_body li dt:not(.photo) a")
_L_PAGING = css("div.paging")
# Section home (main.naver?sid1=…): the headline clusters are the groups hooked by the
# `_cluster_content` JS class; the promoted series box after them is a plain .cluster_group.
_L_CLUSTER = css("div.section_index div.cluster_group._cluster_content a.cluster_text_headline")
# News home: the press-edited grid ("언론사편집"), one story per press card; the reporter-series
# block (div.comp_series_subscribe) next to it is not news.
_L_HOME = css("div.comp_journal_subscribe a.cjs_news_a")
# Since 2023 the old list URLs redirect to news.naver.com/section/… and /breakingnews/…, whose
# lists are ul.sa_list of li.sa_item with the title link a.sa_text_title (the thumbnail link has
# its own class, so no duplicates): the headline block, then the article feed that "기사 더보기"
# continues (naver_section100_20260530 in the corpus). If the title link is renamed, an item's
# first Naver article link stands in for it.
_L_SA = css("ul.sa_list a.sa_text_title")
_L_SA_ITEM = css("li.sa_item")
_L_ITEM_LINKS = etree.XPath("descendant::a/@href", smart_strings=False)
# "기사 더보기": the feed's container carries the cursor the next block is asked for with
# (data-has-next, data-cursor-name="next", data-cursor, data-page-no, data-template, data-sid…);
# a loaded block (SECTION_ARTICLE_LIST JSON) carries the next cursor the same way.
_L_CURSOR = etree.XPath("descendant-or-self::*[@data-cursor]")
_TEMPLATE_PATH = "/section/template/"


def _next_page(page: Page, main: Any) -> str | None:
    """The link right after the current page number (<strong>) in list.naver's paging bar."""
    paging = first(_L_PAGING(main))
    current = first(paging.iterchildren("strong")) if paging is not None else None
    nxt = first(current.itersiblings("a")) if current is not None else None
    href = nxt.get("href") if nxt is not None else None
    return urljoin(page.url, href) if href else None


def _hrefs(anchors: Iterable[Any]) -> list[str]:
    return [h for h in (a.get("href", "").strip() for a in anchors) if h]


def _sa_links(root: Any) -> list[str]:
    """The ul.sa_list items' title links; each item's first article link if those are renamed."""
    links = _hrefs(_L_SA(root))
    if links:
        return links
    for item in _L_SA_ITEM(root):
        href = next((h.strip() for h in _L_ITEM_LINKS(item) if _is_naver_copy(h)), None)
        if href and "/comment/" not in href:
            links.append(href)
    return links


def _cursor_url(page: Page, root: Any) -> str | None:
    """The next feed block's URL from the cursor the page (or block) carries; None at the end.

    The browser's script (not saved anywhere) asks `/section/template/<data-template>?sid=…
    &sid2=…&cluid=…&pageNo=<page+1>&date=…&<data-cursor-name>=<data-cursor>`; public crawlers
    of 2024-2026 request exactly that. On a loaded block, what its container does not carry is
    kept from the block's own URL.
    """
    boxes = _L_CURSOR(root)
    box = next((b for b in boxes if b.get("data-template")), None)
    box = box if box is not None else first(boxes)
    if box is None:
        return None
    cursor = (box.get("data-cursor") or "").strip()
    if not cursor or (box.get("data-has-next") or "").strip().lower() == "false":
        return None
    parts = urlsplit(page.url)
    own = dict(parse_qsl(parts.query, keep_blank_values=True))
    in_template = parts.path.startswith(_TEMPLATE_PATH)
    template = box.get("data-template") or (parts.path.rsplit("/", 1)[-1] if in_template else "")
    if not template:
        return None
    path_sid, path_sid2 = _path_ids(parts.path)
    sid = box.get("data-sid") or own.get("sid") or path_sid
    if not sid:
        return None
    page_no = box.get("data-page-no") or own.get("pageNo") or "1"
    params = [
        ("sid", sid),
        ("sid2", box.get("data-sid2") or own.get("sid2") or path_sid2),
        ("cluid", box.get("data-cluid", own.get("cluid", ""))),
        ("pageNo", str(int(page_no) + 1 if page_no.isdigit() else 2)),
        ("date", box.get("data-date", own.get("date", ""))),
        (box.get("data-cursor-name") or "next", cursor),
    ]
    return urljoin(page.url, _TEMPLATE_PATH + template + "?" + urlencode(params))


def _path_ids(path: str) -> tuple[str, str]:
    """(sid, sid2) of /section/100 or /breakingnews/section/101/259; '' where absent."""
    m = _SECTION_PATH.search(path)
    return (m.group(1), m.group(2) or "") if m else ("", "")


_SECTION_PATH = re.compile(r"/section/(\d{3})(?:/(\d{3}))?(?:/|$)")


def _parse_template(page: Page) -> ListPage:
    """A feed block: `{"renderedComponent": {"SECTION_ARTICLE_LIST…": "<html>"}}`."""
    try:
        answer = json.loads(page.text)
    except ValueError as e:
        raise ParseError(page.url, f"naver list: block answer is not JSON ({e})") from None
    rendered = answer.get("renderedComponent") if isinstance(answer, dict) else None
    if not isinstance(rendered, dict):
        raise ParseError(page.url, "naver list: block answer without renderedComponent")
    name = urlsplit(page.url).path.rsplit("/", 1)[-1]
    html = rendered.get(name)
    if not isinstance(html, str):
        html = "".join(v for v in rendered.values() if isinstance(v, str))
    if not html.strip():
        return ListPage(links=[])
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError) as e:
        raise ParseError(page.url, f"naver list: block html does not parse ({e})") from None
    links = _sa_links(root)
    return ListPage(links=links, next_url=_cursor_url(page, root) if links else None)


def parse_list(page: Page) -> ListPage:
    """A news.naver.com list page (or a feed block): the main list's links in page order."""
    if page.body.lstrip()[:1] == b"{":
        return _parse_template(page)
    tree = page.tree
    main = first(by_id(tree, ids=_L_MAIN_IDS))
    if main is not None:
        links = _hrefs(_L_LIST(main))
        if links:
            return ListPage(links=links, next_url=_next_page(page, main))
        links = _hrefs(_L_CLUSTER(main))
        if links:
            return ListPage(links=links)
    links = _hrefs(_L_HOME(tree))
    if links:
        return ListPage(links=links)
    links = _sa_links(tree)
    if links:
        return ListPage(links=links, next_url=_cursor_url(page, tree))
    raise ParseError(page.url, "naver list: no known news list on this page")
