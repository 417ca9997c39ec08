"""Naver news search (search.naver.com, where=news) and its infinite-scroll loader."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.domain.dates import KST, parse_datetime
from crawler.domain.items import SearchHit, SearchPage
from crawler.domain.text import norm
from crawler.parsers.dom import by_id, css, first, html_text, text_of
from crawler.parsers.naver.shared import PORTAL, first_text, has_class, is_naver_copy
from crawler.parsers.page import Page, ParseError

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
_S_LIST_ANY = etree.XPath(f"//*[{has_class('_infinite_list')} or {has_class('list_news')}]")
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
    f"string(descendant::*[{has_class('sds-comps-profile-info-title-text')}][1])"
)
_S_PRESS_ALT = etree.XPath("string(descendant::img[1]/@alt)")
_S_SUBTEXT = css(".sds-comps-profile-info-subtext")
_S_HREFS = etree.XPath("descendant::a/@href", smart_strings=False)
_S_IDS = etree.XPath("descendant-or-self::*/@id", smart_strings=False)
# Legacy paging (before infinite scroll: div.sc_page right under the news section) and the old
# "1-10 / 1,234건" counter in its head; looked for two levels down from the section only.
_S_NEXT_BUTTON = etree.XPath(
    f"*/*[{has_class('sc_page')}]//a[{has_class('btn_next')}]/@aria-disabled",
    smart_strings=False,
)
_S_COUNT = etree.XPath(f"string(*/*[{has_class('title_desc')}][1])")
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
    portal_url = next((h for h in _S_HREFS(profile) if is_naver_copy(h)), None)
    # The snippet sits next to the title link; the whole item is searched only if it does not.
    snippet = first_text(_either(_S_SNIPPET, anchor.getparent())) or first_text(
        _either(_S_SNIPPET, item)
    )
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
        (h for h in (s.get("textHref") for s in subs) if isinstance(h, str) and is_naver_copy(h)),
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
    answer = page.json("naver search: loader answer")
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
