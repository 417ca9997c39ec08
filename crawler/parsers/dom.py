"""Reading a parsed page: CSS selectors compiled once, element text, <meta>, JSON-LD, paragraphs.

How Korean news pages are written is crawler.parsers.common; building the item is
crawler.parsers.base.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html import unescape
from typing import Any

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

from crawler.domain.text import norm
from crawler.parsers.page import Page


def css(selector: str) -> CSSSelector:
    """Compile a CSS selector once, at import, for the hot path."""
    return CSSSelector(selector, translator="html")


def first(nodes: Iterable[Any]) -> Any | None:
    """The first of `nodes`, or None when there are none (for xpath results)."""
    for n in nodes:
        return n
    return None


# Elements by id, in document order: `by_id(tree, ids="a b")` is an O(1) look-up in libxml2's id
# table (a `//` scan for them costs as much as half the parse).
by_id = etree.XPath("id($ids)")


# What lxml.html's text_content() runs, called directly: saves its Python method layer.
_STRING = etree.XPath("string()", smart_strings=False)


def text_of(node: Any | None) -> str:
    """The node's text, whitespace collapsed; '' for None."""
    return norm(_STRING(node)) if node is not None else ""


# <head> metas only, as a path rather than a `//` scan, returning the string itself: touching
# elements from Python costs ~2 µs each (lxml.html's class lookup), so a few direct look-ups
# beat reading every meta into a dict. Blank contents are passed over.
_META = etree.XPath(
    "string(/html/head/meta[@property=$k or @name=$k or @itemprop=$k]"
    "[normalize-space(@content)][1]/@content)"
)


def meta(tree: lxml.html.HtmlElement, *names: str) -> str:
    """The first non-blank <head> meta content (property, name or itemprop) among `names`, normed.

    '' when none. For a parser that asks for a few names; the generic parser, which asks for
    many and also reads metas outside <head>, uses `meta_map` instead.
    """
    for name in names:
        v = norm(_META(tree, k=name))
        if v:
            return v
    return ""


def meta_map(page: Page) -> dict[str, str]:
    """Every <meta> content by property/name/itemprop, first non-empty one wins; cached on the page.

    The other meta reader, on purpose: one pass over the whole page, keys lower-cased, for a
    parser that asks for many names (the generic parser asks for about fifteen) or reads metas
    that pages put in <body>; `meta` would run one XPath per name.
    """
    cached = page._cache.get("meta_map")
    if cached is None:
        cached = {}
        for el in page.tree.iter("meta"):
            content = el.get("content")
            if not content:
                continue
            for attr in ("property", "name", "itemprop"):
                key = el.get(attr)
                if key:
                    cached.setdefault(key.strip().lower(), content)
        page._cache["meta_map"] = cached
    return cached


def first_meta(metas: dict[str, str], *names: str) -> str | None:
    """The first non-empty normed value of a `meta_map` among `names` (lower-case)."""
    for n in names:
        v = norm(metas.get(n))
        if v:
            return v
    return None


def canonical_link(tree: lxml.html.HtmlElement) -> str | None:
    """The page's first non-empty <link rel=canonical> href, as written (maybe relative); None
    without one.
    """
    for el in tree.xpath("//link[@rel='canonical'][@href]"):
        v = el.get("href", "").strip()
        if v:
            return v
    return None


# JSON-LD @types that declare an article.
_ARTICLE_TYPES = frozenset({"newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle",
                            "opinionnewsarticle", "backgroundnewsarticle", "blogposting"})  # fmt: skip


def json_ld(tree: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, flattened out of lists and @graph."""
    out: list[dict[str, Any]] = []
    for script in tree.xpath("//script[@type='application/ld+json']"):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            d = stack.pop()
            if isinstance(d, list):
                stack.extend(reversed(d))
            elif isinstance(d, dict):
                if "@graph" in d:
                    stack.extend(
                        reversed(d["@graph"] if isinstance(d["@graph"], list) else [d["@graph"]])
                    )
                out.append(d)
    return out


def _ld_types(d: dict[str, Any]) -> set[str]:
    t = d.get("@type")
    return {x.lower() for x in (t if isinstance(t, list) else [t]) if isinstance(x, str)}


def ld_article(tree: lxml.html.HtmlElement) -> dict[str, Any] | None:
    """The page's NewsArticle-like JSON-LD object, if it has one.

    For a site parser, which knows its page is an article: a `WebPage` with a headline or a
    body counts too. `ld_news` is the stricter reading for pages that may be anything.
    """
    for d in json_ld(tree):
        types = _ld_types(d)
        if (types & _ARTICLE_TYPES or "webpage" in types) and (
            d.get("headline") or d.get("articleBody")
        ):
            return d
    return None


def ld_news(page: Page) -> dict[str, Any]:
    """The page's first JSON-LD object of an article type ({} when none); cached on the page.

    Stricter than `ld_article`: the generic parser reads any page, where a `WebPage` with a
    headline is not an article.
    """
    cached = page._cache.get("ld_news")
    if cached is None:
        cached = next((d for d in json_ld(page.tree) if _ld_types(d) & _ARTICLE_TYPES), {})
        page._cache["ld_news"] = cached
    return cached


def ld_names(value: Any) -> list[str]:
    """Names out of a JSON-LD author/publisher value (str, dict or list of either)."""
    items = value if isinstance(value, list) else [value]
    names = []
    for it in items:
        if isinstance(it, dict):
            it = it.get("name")
        if isinstance(it, str) and norm(it):
            names.append(norm(it))
    return names


def ld_persons(value: Any) -> list[str]:
    """Person names of a JSON-LD author value; organisations are not reporters."""
    items = value if isinstance(value, list) else [value]
    people = [
        it
        for it in items
        if not (isinstance(it, dict) and str(it.get("@type", "")).lower() == "organization")
    ]
    return ld_names(people)


_BLOCK_TAGS = frozenset({"p", "div", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "li",
                         "ul", "ol", "table", "tr", "blockquote", "figure", "header", "footer",
                         "dl", "dt", "dd", "pre", "aside", "main"})  # fmt: skip


def paragraphs(node: Any, drop: CSSSelector | None = None) -> list[str]:
    """The node's text as paragraphs: block elements and `<br><br>` end one, `<br>` alone too.

    Elements matching `drop` are skipped (with their text, not their tail). Scripts, styles and
    comments never count.
    """
    dropped = set(drop(node)) if drop is not None else set()
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        s = norm("".join(buf))
        if s:
            out.append(s)
        buf.clear()

    def walk(el: Any) -> None:
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else None
            if (
                tag is None
                or child in dropped
                or tag
                in ("script", "style", "noscript", "template", "iframe", "button", "svg", "select")
            ):
                pass
            elif tag == "br":
                flush()
            elif tag in _BLOCK_TAGS:
                flush()
                if child.text:
                    buf.append(child.text)
                walk(child)
                flush()
            else:
                if child.text:
                    buf.append(child.text)
                walk(child)
            if child.tail:
                buf.append(child.tail)

    if node.text:
        buf.append(node.text)
    walk(node)
    flush()
    return out


def lines_of(node: Any | None) -> str | None:
    """A `<br>`-split block (a deck, a sub-headline) as its lines joined by one newline."""
    return ("\n".join(paragraphs(node)) or None) if node is not None else None


_BR = re.compile(r"<br\s*/?>", re.I)


_TAG = re.compile(r"<[^>]+>")


def html_text(html: str) -> str:
    """The text of a short HTML string a page ships as data (a JSON field): tags dropped."""
    return norm(unescape(_TAG.sub("", html)))


def html_lines(html: Any) -> list[str]:
    """The non-empty lines of such a string, split at `<br>`; [] for anything but a string."""
    if not isinstance(html, str):
        return []
    return [x for x in (html_text(part) for part in _BR.split(html)) if x]
