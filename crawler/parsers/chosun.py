"""Chosun Ilbo (chosun.com): article pages, one parser version per layout.

Example: https://news.chosun.com/site/data/html_dir/2020/08/27/2020082704301.html

* "chosun.legacy/1": news.chosun.com (until 2020): headline `#news_title_text_id`, text in
  `div.par` blocks under `#news_body_id`, byline `.news_title_author`. Stories of the group's
  other papers (Sports Chosun) are served in the same frame; the publisher is the site owner,
  조선일보 (GOLD.md; the web brand is 조선닷컴).
* "chosun.arc/1": www.chosun.com since its move to Arc XP (2020): the story is rendered from
  the `Fusion.globalContent` object of the `fusion-metadata` script, in Arc's content format
  (`headlines.basic`, `subheadlines.basic`, `content_elements[]` of type text/header/list,
  `credits.by[]`, `first_publish_date`, `taxonomy.primary_section`). Built from Arc's public
  content format, not checked against a saved chosun.com page (the corpus has none); a page
  without that object or without text in it raises ParseError, and the registry hands it to
  the generic parser.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from crawler.domain.items import ArticleItem
from crawler.domain.text import norm
from crawler.domain.urls import canonical_url
from crawler.parsers.base import declared_url, make_article
from crawler.parsers.common import first_date, korean_publisher, real_update, reporter_names
from crawler.parsers.dom import (
    by_id,
    css,
    first,
    first_meta,
    html_lines,
    html_text,
    lines_of,
    meta_map,
    paragraphs,
    text_of,
)
from crawler.parsers.page import Page, ParseError

PORTAL = "chosun"
PUBLISHER = "조선일보"

# --- legacy news.chosun.com -------------------------------------------------------------------
# Ids are what the old site's scripts hooked into (base.by_id looks them up).
# One div.par per paragraph; the photo box (.news_imgbox with its figcaption) and the date
# line are siblings of them, so taking the .par blocks alone leaves both out.
_PARS = css("div.par")
# Without .par blocks (older stories), the whole box minus its furniture.
_LEGACY_DROP = css(
    "div.news_imgbox, figure, figcaption, div.news_date, h3.news_subtitle, div.news_like, "
    "div.news_copyright, script"
)
# The byline box in the headline area: "<a>스포츠조선=선수민 기자</a>" per reporter.
_LEGACY_AUTHORS = etree.XPath(
    "descendant::div[contains(@class,'news_title_author')][1]//li[contains(@class,'author')]"
)
# The visible stamp inside the body box: "입력 2020.08.27 20:27" (+ "수정 …" when updated).
_LEGACY_DATE = css("div.news_date")
_LEGACY_SUBTITLE = css("h3.news_subtitle")
# Does a block have text of its own, outside links?
_OWN_TEXT = etree.XPath("boolean(.//text()[normalize-space()][not(ancestor::a)])")

# --- Arc XP www.chosun.com --------------------------------------------------------------------
_FUSION = re.compile(r"Fusion\.globalContent\s*=\s*")
# content_elements kept as text: paragraphs, in-body subheads, list items and quotes that are
# part of the text. Images (captions), raw_html (ads, embeds), interstitial_link (related
# stories) and oembed blocks are not article text.
_ARC_TEXT_TYPES = frozenset({"text", "header", "list", "quote"})


def parse_article(page: Page) -> ArticleItem:
    """A chosun.com article in whichever layout the page has."""
    found = by_id(page.tree, ids="news_body_id news_title_text_id")
    body = first(el for el in found if el.get("id") == "news_body_id")
    if body is not None:
        title = first(el for el in found if el.get("id") == "news_title_text_id")
        return _legacy(page, body, title)
    story = _fusion_content(page)
    if story is not None:
        return _arc(page, story)
    raise ParseError(page.url, "chosun: neither #news_body_id nor Fusion.globalContent")


def _item(page: Page, parser: str, metas: dict[str, str], **fields: Any) -> ArticleItem:
    if not fields.get("title") or not fields.get("body"):
        raise ParseError(page.url, f"{parser}: no headline or no text")
    url = fields.pop("url", None) or declared_url(page, first_meta(metas, "og:url"))
    site = first_meta(metas, "og:site_name")
    return make_article(
        page,
        url=url,
        portal=PORTAL,
        publisher=korean_publisher(site) or PUBLISHER,
        parser=parser,
        **fields,
    )


def _par_lines(par: Any) -> list[str]:
    """The lines of one .par block; none for Sports Chosun's trailer of "▲ <a>…</a>" links."""
    if not _OWN_TEXT(par):  # nothing but links
        return []
    lines = paragraphs(par)
    return [] if lines and lines[0].startswith("▲") else lines


def _legacy(page: Page, body: Any, title_el: Any | None) -> ArticleItem:
    metas = meta_map(page)
    pars = _PARS(body)
    if pars:
        lines = [line for par in pars for line in _par_lines(par)]
    else:
        lines = paragraphs(body, drop=_LEGACY_DROP)
    shown = text_of(first(_LEGACY_DATE(body)))
    updated = re.search(r"수정\s*([\d.: ]+)", shown)
    authors = [text_of(li) for li in _LEGACY_AUTHORS(page.tree)]
    if not authors:
        authors = reporter_names(first_meta(metas, "dable:author", "author"))
    return _item(
        page,
        "chosun.legacy/1",
        metas,
        title=text_of(title_el) or first_meta(metas, "og:title", "title"),
        # the deck box is on every page, empty on most
        subtitle=lines_of(first(_LEGACY_SUBTITLE(body))),
        body="\n\n".join(lines),
        authors=authors,
        section=first_meta(metas, "article:section"),
        published_at=first_date(
            first_meta(metas, "article:published_time"), shown, now=page.fetched_at
        ),
        updated_at=first_date(updated.group(1), now=page.fetched_at) if updated else None,
    )


def _fusion_content(page: Page) -> dict[str, Any] | None:
    """The story object Arc's renderer ships in `Fusion.globalContent = {...};`."""
    for script in page.tree.iter("script"):
        text = script.text or ""
        m = _FUSION.search(text) if "globalContent" in text else None
        if m is None:
            continue
        try:
            story, _ = json.JSONDecoder().raw_decode(text, m.end())
        except ValueError:
            return None
        return story if isinstance(story, dict) else None
    return None


def _arc_paragraphs(elements: Any) -> list[str]:
    out: list[str] = []
    for el in elements if isinstance(elements, list) else []:
        if not isinstance(el, dict) or el.get("type") not in _ARC_TEXT_TYPES:
            continue
        if el["type"] == "list":
            out += _arc_paragraphs(el.get("items"))
        elif el["type"] == "quote":
            if el.get("subtype") != "pullquote":  # a pull quote restates the text
                out += _arc_paragraphs(el.get("content_elements"))
        else:
            out += html_lines(el.get("content"))  # inline HTML: <b>, <a>, <br>
    return out


def _arc(page: Page, story: dict[str, Any]) -> ArticleItem:
    metas = meta_map(page)
    headlines = story.get("headlines") if isinstance(story.get("headlines"), dict) else {}
    subheads = story.get("subheadlines") if isinstance(story.get("subheadlines"), dict) else {}
    credits = story.get("credits") if isinstance(story.get("credits"), dict) else {}
    site = korean_publisher(first_meta(metas, "og:site_name")) or PUBLISHER
    # credits also list the desk or the paper itself ("조선일보") on unsigned stories
    authors = [
        norm(c.get("name"))
        for c in credits.get("by") or []
        if isinstance(c, dict)
        and norm(c.get("name"))
        and korean_publisher(c.get("name")) != site
        and str(c.get("type", "author")) == "author"
    ]
    taxonomy = story.get("taxonomy") if isinstance(story.get("taxonomy"), dict) else {}
    section = taxonomy.get("primary_section") if isinstance(taxonomy, dict) else None
    url = first_meta(metas, "og:url")
    if not url and isinstance(story.get("canonical_url"), str):
        url = urljoin("https://www.chosun.com/", story["canonical_url"])
    published = first_date(
        first_meta(metas, "article:published_time"),
        story.get("first_publish_date"),
        story.get("display_date"),
        now=page.fetched_at,
    )
    updated = first_date(
        first_meta(metas, "article:modified_time"),
        story.get("last_updated_date"),
        now=page.fetched_at,
    )
    return _item(
        page,
        "chosun.arc/1",
        metas,
        url=canonical_url(url) if url else None,
        title=html_text(str(headlines.get("basic") or "")) or first_meta(metas, "og:title"),
        subtitle="\n".join(html_lines(subheads.get("basic"))) or None,
        body="\n\n".join(_arc_paragraphs(story.get("content_elements"))),
        authors=authors,
        section=(norm(section.get("name")) or None) if isinstance(section, dict) else None,
        published_at=published,
        updated_at=real_update(published, updated),
    )
