"""Daum (다음뉴스, v.daum.net): article pages, news search (search.daum.net, w=news) and lists.

Example URLs: https://v.daum.net/v/20180516162315753 (article; news.v.daum.net is the older
host of the same page), https://search.daum.net/search?w=news&q=손흥민 (search),
https://entertain.daum.net/news/movie?page=2 (a list; news.daum.net sections and the sports
list API answer are lists too).

Daum republishes other outlets' stories, so the publisher is the original press (never
다음뉴스), the article URL is Daum's 17-digit id (the page's og:url is only a short alias), and
reporters often appear only in the wire dateline. Checked against the saved pages in the corpus
(articles of 2010/2018 as served in 2022, a search page of 2026-09).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml import etree

from crawler.domain.dates import parse_datetime
from crawler.domain.items import ArticleItem, ListPage, SearchHit, SearchPage
from crawler.domain.text import norm
from crawler.domain.urls import daum_id, with_params
from crawler.parsers.base import make_article
from crawler.parsers.common import (
    byline_names,
    dateline_authors,
    in_side_box,
    labelled_dates,
    page_param,
    pager_next,
)
from crawler.parsers.dom import by_id, css, first, lines_of, meta, paragraphs, text_of
from crawler.parsers.page import NotAnArticle, Page, ParseError

PORTAL = "daum"
PARSER_ARTICLE = "daum.v/1"
PARSER_SEARCH = "daum.search/1"
PARSER_LIST = "daum.list/1"

# ---------------------------------------------------------------------------------------------
# Article
# ---------------------------------------------------------------------------------------------

# Selectors are XPath on tag names where every piece of evidence agrees on the tag: a wildcard
# `.class` selector walks every node of the page, and the whole parser has to cost less than
# lxml's own parse of the page (the benchmark's budget).

# Three containers, found in one walk of the document (every `div.*_view`, picked in Python): the header `div.head_view` (press logo,
# headline, info line; every saved page, 2010–2018 stories served in 2022, and the 2026 third-party
# parsers), `div.news_view` (deck + body) and `div.article_view` (id harmonyContainer; the body).
_CONTAINERS = etree.XPath("descendant::div[contains(@class, '_view')]")
_TITLE = css("h3.tit_view")
# Info line: one `span.txt_info` per item; a date item wraps `span.num_date` and starts with its
# label (입력/수정), a byline item is plain text ("이근홍"). Read by class, not position: a 2026
# parser takes the byline as the first item, but the Yonhap pages have no byline item at all.
_INFO_ITEMS = etree.XPath("descendant::span[contains(@class, 'txt_info')]")
# Press logo: `em.info_cp > a.link_cp > img@alt` = "연합뉴스". The link is the press's home page,
# not the story, so it is never taken for original_url.
_CP_LOGO = etree.XPath("descendant::a[contains(@class, 'link_cp')]//img[@alt]")
# Deck: `strong.summary_view`, a child of `div.news_view` above the body (2 of 3 saved pages).
_SUMMARY = etree.XPath("strong[contains(@class, 'summary_view')]")
# Body: `div.article_view` wraps one `section` of paragraphs (`p/div[dmcf-ptype=general]`) and
# figures (`figure[dmcf-ptype=figure]` with `figcaption.txt_caption`); the copyright `<p>` is a
# sibling of `section`, outside it. A page without `section` is read whole (the cleaning rules drop
# the copyright line then).
_SECTION = etree.XPath("descendant::section[1]")
_SKIP_TAGS = frozenset(
    {"figure", "figcaption", "script", "style", "ins", "iframe", "aside", "noscript"}
)
_SKIP_PTYPES = frozenset({"figure", "embed", "video", "image", "ad"})
_BODY_DROP = css("figure, figcaption, .txt_caption, ins, iframe, aside")
_INLINE_TAGS = frozenset({"b", "strong", "i", "em", "u", "span", "a", "sup", "sub", "mark", "font"})
# The portal's section label: a screen-reader-only `h2#kakaoBody` ("사회") in `#kakaoContent`, two
# levels above the header (`#kakaoContent > #cSub > div.head_view`).
_SECTION_LABEL = etree.XPath("h2[@id='kakaoBody']")
# A link to the publisher's own copy, when the header shows one ("기사원문"/"원문보기"). None of
# the saved pages has one; matched by its label because no class name for it is known.
_ORIGINAL_LINKS = etree.XPath("descendant::a[starts-with(@href, 'http')][contains(., '원문')]")
_ORIGINAL_LABEL = re.compile(r"(?:기사\s*)?원문(?:\s*보기)?")
# The id also appears on the comment and reaction widgets (`data-post-id="@2018…"`,
# `data-item-key`); used only when the request URL lacks it (a short-alias URL).
_ID_ATTR = re.compile(r'data-(?:item-key|post-id)="@?(\d{17})"')

_PORTAL_NAMES = frozenset({"다음뉴스", "다음", "Daum", "daum", "Daum 뉴스", "카카오"})


def parse_article(page: Page) -> ArticleItem:
    """A Daum copy of an article: original press, 17-digit URL, body from `.article_view`."""
    tree = page.tree
    head = news = view = None
    for el in _CONTAINERS(tree):
        cls = el.get("class", "")
        if head is None and "head_view" in cls:
            head = el
        elif news is None and "news_view" in cls:
            news = el
        elif view is None and "article_view" in cls:
            view = el
    scope = head if head is not None else tree

    title = text_of(first(_TITLE(scope))) or meta(tree, "og:title")
    if not title:
        raise ParseError(page.url, "Daum headline (h3.tit_view) not found")
    if view is None:
        if "/v/" not in urlsplit(page.url).path:
            # a list, section front or home of a Daum host: never an article
            raise NotAnArticle(page.url, "Daum page without an article body or article URL")
        raise ParseError(page.url, "Daum body (div.article_view) not found")
    paras = _body(view)
    if not paras:
        raise ParseError(page.url, "Daum body is empty")

    published, updated, byline = _info_line(scope)
    # og:regDate has seconds (GOLD.md keeps them); the visible 입력 line has minutes only.
    published = parse_datetime(meta(tree, "og:regDate")) or published

    authors: list[str] = []
    for text in byline:
        authors.extend(n for n in byline_names(text) if n not in authors)
    if not authors and not byline:
        authors = dateline_authors(paras[0])

    return make_article(
        page,
        url=f"https://v.daum.net/v/{_article_id(page)}",
        portal=PORTAL,
        title=title,
        body="\n\n".join(paras),
        publisher=_publisher(tree, scope),
        subtitle=lines_of(first(_SUMMARY(news if news is not None else tree))),
        authors=authors,
        section=_section_label(head),
        published_at=published,
        updated_at=updated,
        original_url=_original_url(scope),
        urls=[u for u in (meta(tree, "og:url"),) if u],
        parser=PARSER_ARTICLE,
    )


def _body(view: Any) -> list[str]:
    """The paragraphs of `section` (or of the whole container when it has none).

    Daum's paragraphs are the section's children, so they are read one by one: one holding only
    text and inline tags is taken whole, anything else (<br>, nested blocks, scripts) goes
    through the general walk.
    """
    section = first(_SECTION(view))
    if section is None:
        return paragraphs(view, drop=_BODY_DROP)
    out: list[str] = []
    for child in section:
        tag = child.tag if isinstance(child.tag, str) else None
        if tag is None or tag in _SKIP_TAGS or child.get("dmcf-ptype") in _SKIP_PTYPES:
            continue
        if not len(child):
            t = norm(child.text)
        elif any(d.tag not in _INLINE_TAGS for d in child.iterdescendants()):
            out.extend(paragraphs(child, drop=_BODY_DROP))
            continue
        else:
            t = text_of(child)
        if t:
            out.append(t)
    return out


def _article_id(page: Page) -> str:
    did = daum_id(page.url)
    if did:
        return did
    m = _ID_ATTR.search(page.text)
    if m:
        return m.group(1)
    raise ParseError(page.url, "no 17-digit Daum article id in the URL or the page")


def _info_line(scope: Any) -> tuple[Any, Any, list[str]]:
    """(published, updated, byline texts) from the header's info items."""
    stamps: list[tuple[str, str]] = []  # (label, text): a date item opens with 입력 or 수정
    byline: list[str] = []
    for item in _INFO_ITEMS(scope):
        text = text_of(item)
        if any("num_date" in (c.get("class") or "") for c in item):
            stamps.append((text.split(" ", 1)[0], text))
        elif text:
            byline.append(text)
    return *labelled_dates(stamps), byline


def _publisher(tree: Any, scope: Any) -> str | None:
    """The original press: og:article:author, else the logo's alt; never the portal's name."""
    # "연합뉴스", or with a portal suffix as Naver writes it ("헤럴드경제 | 네이버")
    v = norm(meta(tree, "og:article:author").split("|")[0])
    if v and v not in _PORTAL_NAMES:
        return v
    for img in _CP_LOGO(scope):
        v = norm(img.get("alt"))
        if v and v not in _PORTAL_NAMES:
            return v
    return None


def _section_label(head: Any) -> str | None:
    anc = head
    for _ in range(3):
        anc = anc.getparent() if anc is not None else None
        if anc is None:
            return None
        label = first(_SECTION_LABEL(anc))
        if label is not None:
            return text_of(label) or None
    return None


def _original_url(scope: Any) -> str | None:
    for a in _ORIGINAL_LINKS(scope):
        href = a.get("href", "")
        if "daum.net" not in href and _ORIGINAL_LABEL.fullmatch(text_of(a)):
            return href
    return None


# ---------------------------------------------------------------------------------------------
# Search (search.daum.net, w=news)
# ---------------------------------------------------------------------------------------------

# Results: `ul.c-list-basic > li[data-docid]` (10 on the 2026-09 page). `data-docid` marks a
# search document; the aside (#mAside: trends, keyword boxes) has none. If the list class
# changes, every `li[data-docid]` that links to a Daum article is taken instead. Inside an item
# the selectors name their tags (all as on the saved page): class-only selectors walk every
# node, and this page is 85 KB.
_SEARCH_ITEMS = css("ul.c-list-basic > li[data-docid]")
_SEARCH_ITEMS_LOOSE = etree.XPath("descendant::li[@data-docid]")
# Title link: `div.item-title a` (highlight `<b>` inside; its text is kept, the tag dropped).
_HIT_TITLE = etree.XPath("descendant::div[contains(@class, 'item-title')]//a[@href]")
_HIT_ANY_ARTICLE_LINK = etree.XPath("descendant::a[contains(@href, '/v/')]")
# Press: `a.item-writer strong.tit_item` (its @title and text agree).
_HIT_PRESS = etree.XPath("descendant::strong[contains(@class, 'tit_item')]")
# Snippet: `p.conts-desc` (server-truncated with "...").
_HIT_SNIPPET = etree.XPath("descendant::p[contains(@class, 'conts-desc')]")
# Date: a `span.gem-subinfo > span.txt_info`; another `.txt_info` holding `span.ico_comment` is
# the comment count ("1", "6"), not a date, so the date is the first item that reads as one.
_HIT_SUBINFO = etree.XPath(
    "descendant::span[contains(@class, 'gem-subinfo')]/span[contains(@class, 'txt_info')]"
)
# Another layout's date: any leaf `span` that reads as a date.
_HIT_SPANS = etree.XPath("descendant::span[not(*)]")
_DATE_TEXT = re.compile(
    r"^(?:\d+\s*(?:초|분|시간|일|주|개월|년)\s*전|방금\s*전|어제|그제|"
    r"\d{4}\s*\.\s*\d{1,2}\s*\.\s*\d{1,2}\.?(?:\s*\d{1,2}:\d{2})?)$"
)
_QUERY_INPUT = etree.XPath("descendant::input[@id='q']")
# Inline JS of the page: the server's clock (relative dates are counted from it), the query, and
# the pager's state (the pager itself is drawn client-side, `div.compo-paging` is empty).
_SERVER_TIME = re.compile(r'ServerTime\s*=\s*"(\d{14})"')
_TOP_QUERY = re.compile(r'topQuery\s*=\s*"((?:[^"\\]|\\.)*)"')
_PAGE_NAV = re.compile(
    r"pageNavigation\s*:\s*\{\s*totalPage\s*:\s*(\d+)\s*,\s*currentPage\s*:\s*(\d+)"
)
# Hit count: the 2026 page prints none. Older Daum result pages printed "1-10 / 약 1,234건" in
# `span#resultCntArea` (from memory of those pages, not verified on a saved one).
_TOTAL = etree.XPath("string(descendant::span[@id='resultCntArea'])")
_TOTAL_TEXT = re.compile(r"([\d,]+)\s*건")


def parse_search(page: Page) -> SearchPage:
    """One Daum news search page: ranked hits with their relative dates resolved."""
    tree = page.tree
    text = page.text
    params = parse_qs(urlsplit(page.url).query)

    m = _SERVER_TIME.search(text)
    now = parse_datetime(m.group(1)) if m else page.fetched_at

    q_input = first(_QUERY_INPUT(tree))
    query = norm(q_input.get("value")) if q_input is not None else ""
    if not query:
        m = _TOP_QUERY.search(text)
        query = norm(m.group(1)) if m else norm((params.get("q") or [""])[0])
    page_no = _int((params.get("p") or ["1"])[0], 1)
    has_next = None
    m = _PAGE_NAV.search(text)
    if m:
        total_pages, page_no = int(m.group(1)), int(m.group(2))
        has_next = page_no < total_pages

    items = _SEARCH_ITEMS(tree) or [
        li for li in _SEARCH_ITEMS_LOOSE(tree) if first(_HIT_ANY_ARTICLE_LINK(li)) is not None
    ]
    hits: list[SearchHit] = []
    for li in items:
        hit = _hit(li, query, page_no, len(hits) + 1, now)
        if hit is not None:
            hits.append(hit)

    return SearchPage(
        portal=PORTAL,
        query=query,
        hits=hits,
        total_count=_total_count(tree),
        has_next=has_next,
    )


def _hit(li: Any, query: str, page_no: int, rank: int, now: Any) -> SearchHit | None:
    a = first(_HIT_TITLE(li))
    title = text_of(a)
    if not title:
        # another layout: the first article link with text (a thumbnail link has none)
        a = next((x for x in _HIT_ANY_ARTICLE_LINK(li) if text_of(x)), None)
        title = text_of(a)
    url = (a.get("href") or "").strip() if a is not None else ""
    if not url or not title:
        return None
    press_el = first(_HIT_PRESS(li))
    publisher = None
    if press_el is not None:
        publisher = norm(press_el.get("title")) or text_of(press_el) or None
    published = None
    for info in _HIT_SUBINFO(li) or _HIT_SPANS(li):
        if any("ico_comment" in (c.get("class") or "") for c in info):
            continue
        t = text_of(info)
        if _DATE_TEXT.match(t):
            published = t
            break
    return SearchHit(
        portal=PORTAL,
        query=query,
        page=page_no,
        rank=rank,
        title=title,
        url=url,
        # Daum's results link only to Daum's own copy, so the portal copy is the link itself.
        portal_url=url if daum_id(url) else None,
        publisher=publisher,
        published=published,
        published_at=parse_datetime(published, now) if published else None,
        snippet=text_of(first(_HIT_SNIPPET(li))) or None,
    )


def _total_count(tree: Any) -> int | None:
    m = _TOTAL_TEXT.search(_TOTAL(tree))
    return _int(m.group(1).replace(",", ""), None) if m else None


def _int(s: str, default: int | None) -> int | None:
    try:
        return int(s)
    except ValueError:
        return default


# ---------------------------------------------------------------------------------------------
# Lists (news.daum.net sections, entertain.daum.net/news, sports list API)
# ---------------------------------------------------------------------------------------------

# Read by structure, not by the list's classes: Daum renames its list components with every
# redesign (`list_news2` on the 2018-2024 breakingnews lists, `list_news` on the 2025-12
# entertainment list, `list_newsbasic`/`list_newsheadline2` on the 2025 news sections, per
# other people's scrapers). What every one of them shares: each story links to Daum's copy of
# the article, `/v/<17-digit id>`, and the thumbnail repeats the title's link. So the links are
# every article link of the main column, in page order, once per article.
#
# The main column: `#mArticle` (the 2025-12 entertainment page and the older news lists), else
# `<main>`/`[role=main]`/`article.content-article` (the 2025 news design), else the whole page.
_MAIN_COLUMN = etree.XPath(
    "(descendant::main | descendant::*[@role='main']"
    " | descendant::article[contains(@class, 'content-article')])[1]"
)
_ARTICLE_ANCHORS = etree.XPath("descendant::a[contains(@href, '/v/')]")
# Not the main list, wherever it sits: the right column (#mAside, role=complementary: photo/TV
# links, polls, ads), navigation, and boxes named for rankings, popular or promoted series
# (crawler.parsers.common.in_side_box).
#
# Paging. The 2025-12 page links its next pages as `?page=N` (relative; `em.num_page` is the
# current one) and the previous day as `?date=YYYYMMDD`; the list container carries the state
# as `#mArticle[data-page][data-date]`, which the "more" button script reads (its source was not
# saved). Older news lists use `regDate=YYYYMMDD`.
# (pager links carry `data-page` too: the state is on a container, never on a link)
_DATA_PAGE = etree.XPath("descendant-or-self::*[@data-page][not(self::a)][1]")


def parse_list(page: Page) -> ListPage:
    """A Daum list: its article links in page order (as the href reads) and the next page."""
    if page.text.lstrip()[:1] in ("{", "["):
        return _parse_list_json(page)
    tree = page.tree
    body = first(tree.iter("body"))
    if body is None:
        raise ParseError(page.url, "Daum list: no <body>")
    column = first(by_id(tree, ids="mArticle"))
    if column is None:
        column = first(_MAIN_COLUMN(tree))
    links = _list_links(page, column) if column is not None else []
    if not links:
        column = body
        links = _list_links(page, body)
    next_url = _next_list_page(page, column)
    if not links and next_url is None and first(_DATA_PAGE(column)) is None:
        raise ParseError(page.url, "Daum list: no article link and no list paging on this page")
    return ListPage(links=links, next_url=next_url)


def _list_links(page: Page, column: Any) -> list[str]:
    """Article links once each, at the place of their first link, as the title link reads.

    (The thumbnail link comes first; where its href differs from the title's, the title's is
    the story's link.)
    """
    links: dict[str, tuple[str, bool]] = {}  # article id -> (url, from a link with text)
    for a in _ARTICLE_ANCHORS(column):
        href = (a.get("href") or "").strip()
        url = href if href.startswith(("http://", "https://")) else urljoin(page.url, href)
        did = daum_id(url)
        if did is None or (did in links and links[did][1]) or in_side_box(a, column):
            continue
        titled = bool(text_of(a))
        if did not in links or titled:
            links[did] = (url, titled)
    return [url for url, _ in links.values()]


def _next_list_page(page: Page, column: Any) -> str | None:
    """The next page of an HTML list.

    The pager's link to page N+1 when the page has a pager; when it has none but declares its
    page in `data-page` (a "more"-button list), the same URL with `page=N+1` (and the day of
    `data-date`, when the URL lacks one).
    """
    state = first(_DATA_PAGE(column))
    declared = _int(state.get("data-page") or "", None) if state is not None else None
    current = page_param(page.url) or declared or 1
    href, pager = pager_next(page, column, current)
    if href or pager or state is None:
        return href
    day = norm(state.get("data-date"))
    query = parse_qs(urlsplit(page.url).query)
    extra = {"date": day} if day and "date" not in query and "regDate" not in query else {}
    return with_params(page.url, page=current + 1, **extra)


# The list API answers JSON, e.g. sports.daum.net/media-api/harmony/contents.json:
# {"success": true, "result": {"contents": [{"contentUrl": "https://v.daum.net/v/…", "title",
# "cp": {"cpName"}, "searchId", …}], "total": …, "hasNext": true}} (other people's crawlers,
# 2022–2025-11); news.daum.net/api/harmonydic/contents/news.json answered {"list": [{"contentUrl",
# "title", "cpKorName", "regDt"}]} (2023–2024). Neither was seen live here.
_JSON_ITEM_KEYS = ("contents", "list", "items", "data")
_JSON_URL_KEYS = ("contentUrl", "permalink", "url", "link")


def _parse_list_json(page: Page) -> ListPage:
    data = page.json("Daum list API answer")
    result = data.get("result") if isinstance(data, dict) else None
    holder = result if isinstance(result, dict) else data
    items = None
    if isinstance(holder, list):
        items = holder
    elif isinstance(holder, dict):
        items = next((holder[k] for k in _JSON_ITEM_KEYS if isinstance(holder.get(k), list)), None)
    if items is None:
        raise ParseError(page.url, "Daum list API: no contents list in the answer")
    links: list[str] = []
    seen: set[str] = set()
    for it in items:
        if not isinstance(it, dict):
            continue
        url = next((it[k] for k in _JSON_URL_KEYS if isinstance(it.get(k), str) and it[k]), "")
        did = daum_id(url)
        if did is None and re.fullmatch(r"\d{17}", str(it.get("contentId") or "")):
            did, url = str(it["contentId"]), f"https://v.daum.net/v/{it['contentId']}"
        if did is None or did in seen:
            continue
        seen.add(did)
        links.append(url)
    has_next = holder.get("hasNext") if isinstance(holder, dict) else None
    more = has_next if isinstance(has_next, bool) else bool(items)
    current = page_param(page.url) or 0  # the sports API counts from page=0
    next_url = with_params(page.url, page=current + 1) if more and items else None
    return ListPage(links=links, next_url=next_url)
