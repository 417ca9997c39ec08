"""Naver section lists (news.naver.com): the old list.naver pages, section homes, the news home and
the section pages with their "기사 더보기" cursor."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.domain.items import ListPage
from crawler.parsers.dom import by_id, css, first
from crawler.parsers.naver.shared import is_naver_copy
from crawler.parsers.page import Page, ParseError

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
        href = next((h.strip() for h in _L_ITEM_LINKS(item) if is_naver_copy(h)), None)
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
    answer = page.json("naver list: block answer")
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
