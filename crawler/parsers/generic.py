"""Generic article parser: any publisher without a module of its own, and every site parser's fallback.

Example: https://www.example.co.kr/news/articleView.html?idxno=123456 (any Korean news site).

Each field is read from what the page says about itself first, then from what it shows:
- JSON-LD NewsArticle, then OpenGraph / `article:` meta for URL, dates, authors and publisher;
- the visible headline (the heading whose text the declared title contains), not `<title>`;
- the body from the densest block of paragraph text on the page (or `itemprop=articleBody`),
  minus photo, caption, subtitle, byline and promo boxes; failing that from HTML held in a
  `<script>` JSON blob (client-rendered pages), JSON-LD `articleBody`, and last trafilatura.

Why the density pass comes before trafilatura: on Korean news pages trafilatura keeps the deck
(subtitle), pull quotes and photo captions, and on portal pages the headline and meta lines;
its fast setting returns nothing for a `<br>`-only body (Daejon Ilbo mobile). Measured with
GOLD.md's token F1: corpus article pages 0.77-1.00 for trafilatura 2.3.1 against 0.99-1.00
here; scrapinghub's 181 pages 0.954 (trafilatura, fast) against 0.960; fundus-evaluation's
80 English pages 0.916 against 0.923. Why trafilatura at all, as the last resort: it is the
best-measured general extractor (scrapinghub F1 0.958, readability-lxml 0.922, newspaper4k
0.949), it works on our lxml tree without parsing again, and it needs no network or model.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.domain.dates import parse_datetime
from crawler.domain.items import ArticleItem
from crawler.domain.text import norm
from crawler.domain.urls import host_of
from crawler.parsers.base import declared_url, make_article
from crawler.parsers.common import (
    AD_SLOT,
    PUBLISHER_NAMES,
    brand_key,
    dateline_reporter,
    first_date,
    korean_publisher,
    real_update,
    reporter_names,
    title_of,
)
from crawler.parsers.dom import (
    first,
    first_meta,
    ld_names,
    ld_news,
    ld_persons,
    meta_map,
    paragraphs,
    text_of,
)
from crawler.parsers.page import NotAnArticle, Page, ParseError

logger = logging.getLogger(__name__)

PARSER = "generic/1"

# Portals carry other outlets' articles; their own name is never the publisher.
_PORTAL = re.compile(r"네이버|다음\s*뉴스|^다음$|naver|daum|kakao|카카오|네이트|nate", re.I)


# --- metadata ---------------------------------------------------------------------------------


def publisher_of(page: Page, metas: dict[str, str], ld: dict[str, Any]) -> str | None:
    """The outlet, as it names itself: og:site_name, JSON-LD publisher, then weaker hints."""
    candidates: list[str | None] = [first_meta(metas, "og:site_name")]
    candidates += ld_names(ld.get("publisher"))
    # Kakao/Naver's "og:article:author" names the press ("연합뉴스", "이데일리 | 네이버")
    for part in (first_meta(metas, "og:article:author") or "").split("|"):
        candidates.append(part)
    candidates.append(first_meta(metas, "twitter:creator", "twitter:site", "application-name"))
    for c in candidates:
        c = norm(c)
        if c and not _PORTAL.search(c) and "://" not in c and brand_key(c) not in ("", "@"):
            if c.startswith("@"):
                # a Twitter handle only counts when we know whose it is
                mapped = PUBLISHER_NAMES.get(brand_key(c))
                if mapped:
                    return mapped
                continue
            return korean_publisher(c)
    # <title> segments ("… - 조선닷컴 - 스포츠"): a brand we know, else one that spells the
    # host's own name ("… - Entermedia" on entermedia.co.kr)
    segments = _title_segments(page)
    for seg in segments:
        mapped = PUBLISHER_NAMES.get(brand_key(seg))
        if mapped:
            return mapped
    label = host_label(page.url)
    return first(norm(seg) for seg in segments[1:] if label and brand_key(seg) == label)


def _title_segments(page: Page) -> list[str]:
    return re.split(r"\s+[-|:]+\s+|ㅣ", text_of(first(page.tree.iter("title"))))


# --- dates and authors ------------------------------------------------------------------------

_DATE_TEXT = re.compile(
    r"(?:(입력|등록|작성|발행|수정|최종\s*수정|업데이트|기사입력|승인)\s*[:：]?\s*)?"
    r"(\d{4}\s*[.\-/년]\s*\d{1,2}\s*[.\-/월]\s*\d{1,2}\s*[.일]?\s*(?:\([월화수목금토일]\)\s*)?"
    r"(?:오전|오후|AM|PM)?\s*\d{1,2}\s*:\s*\d{2}(?:\s*:\s*\d{2})?)"
)


def visible_dates(page: Page, title: str) -> tuple[datetime | None, datetime | None]:
    """(published, updated) from the "입력 …" / "수정 …" lines shown near the headline.

    Without labels, the first date-time after the headline is the publication time.
    """
    texts = page.tree.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]")
    full = norm(" ".join(texts))
    start = full.find(title) if title else -1
    region = full[start:] if start >= 0 else full
    published = updated = None
    for m in _DATE_TEXT.finditer(region[:5000]):
        label = (m.group(1) or "").replace(" ", "")
        dt = parse_datetime(m.group(2))
        if dt is None:
            continue
        if label in ("수정", "최종수정", "업데이트"):
            updated = updated or dt
        elif published is None:
            published = dt
        if published and updated:
            break
    return published, updated


# an English broadcast sign-off closing the text: "Max Lee, KBS World Radio News."
_SIGN_OFF = re.compile(
    r"^([A-Z][a-z]+(?: [A-Z][a-z]+(?:-[A-Za-z][a-z]+)?){1,3}),\s+[\w .&'-]{2,40}\bNews\.?$"
)
_BYLINE_BOXES = etree.XPath(
    ".//*[contains(@class,'byline') or contains(@class,'reporter') or contains(@class,'writer')"
    " or contains(@class,'journalist') or contains(@class,'author') or @itemprop='author'"
    " or contains(@class,'byl')]"
)


def byline_box_names(root: Any) -> list[str]:
    """Reporter names in the short byline boxes under `root`, in page order."""
    names: list[str] = []
    for box in _BYLINE_BOXES(root):
        text = text_of(box)
        if len(text) <= 120:
            names += [n for n in reporter_names(text) if n not in names]
    return names


def authors_of(
    page: Page, metas: dict[str, str], ld: dict[str, Any], text: Text, publisher: str | None
) -> list[str]:
    """JSON-LD persons, else byline boxes, else author meta, else the text's dateline/sign-off."""
    names = [n for n in ld_persons(ld.get("author")) if n != publisher]
    if names:
        return names
    names = byline_box_names(page.tree)
    if not names and text.how == "script-json":
        names = byline_box_names(text.node)
    if names:
        return names
    for key in ("author", "article:author", "dable:author", "byl"):
        value = metas.get(key)
        if value and "://" not in value:
            names = reporter_names(value)
            if names:
                return names
    paras = text.paras
    if paras:
        names = dateline_reporter(paras[0])
        if names:
            return names
        for p in reversed(paras[-3:]):
            if len(p) <= 40:
                names = reporter_names(p)
                if names:
                    return names
            m = _SIGN_OFF.match(p)
            if m:
                return [m.group(1)]
    return []


# --- body -------------------------------------------------------------------------------------

_INLINE = frozenset({"a", "b", "strong", "em", "i", "u", "span", "font", "mark", "sup", "sub", "small",
                     "big", "br", "img", "s", "strike", "ins", "del", "q", "cite", "abbr", "time",
                     "label", "wbr", "code", "var", "dfn", "kbd", "samp", "bdi", "bdo", "ruby"})  # fmt: skip
_SKIP = frozenset({"script", "style", "noscript", "template", "a", "button", "select", "option",
                   "textarea", "iframe", "svg", "nav", "header", "footer", "aside", "form", "head",
                   "title", "figcaption", "figure"})  # fmt: skip
_PARA = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"})

# Non-text boxes inside an article body, recognised by their class or id. Short words must be
# whole tokens ("ad" in "end-ad-container", not in "header"); long ones may be part of a word
# ("news_imgbox", "media_end_summary", "sub-tit-ll").
_JUNK_TOKENS = (r"ad|ads|advert|img|image|images|pic|tag|tags|btn|sns|share|vod|video|movie|"
                r"source|reply|comment|comments|like|util|tool|tools|rank|ranking|popular|writer")  # fmt: skip
_JUNK_PARTS = (r"caption|photo|thumb|imgbox|img_|figure|banner|advert|promo|related|relation|"
               r"recommend|copyright|byline|reporter|journalist|subtitle|sub-tit|sub_tit|subtit|"
               r"midtitle|mid_title|summary|pull-?quote|module-quote|quote-box|sponsor|keyword|"
               r"social|subscribe|newsletter|more-|more_|morenews|hashtag|player|tooltip|"
               r"categoriz")  # fmt: skip
_JUNK_RE = rf"(^|[\s_-])({_JUNK_TOKENS})($|[\s_-])|{_JUNK_PARTS}"
_NS = {"re": "http://exslt.org/regular-expressions"}
_DROP = etree.XPath(
    ".//figure | .//figcaption | .//aside | .//nav | .//form | .//table[.//img] | .//ul[.//a]"
    f" | .//*[re:test(@class, '{_JUNK_RE}', 'i') or re:test(@id, '{_JUNK_RE}', 'i')]",
    namespaces=_NS,
)
_SUBTITLE = etree.XPath(
    ".//*[re:test(@class, 'subtitle|sub-tit|sub_tit|subtit|midtitle|mid_title|summary', 'i')]",
    namespaces=_NS,
)
_ARTICLE_BODY = etree.XPath("//*[@itemprop='articleBody']")

_MIN_BODY = 150  # characters: below this the DOM's best box may be a teaser; ask trafilatura
_MIN_TEXT = 40  # characters: below this no article text was found at all


def _block(el: Any) -> Any:
    while el is not None and el.tag in _INLINE:
        el = el.getparent()
    return el


# Boxes that hold many paragraphs of text that is not the article: reader comments, related
# and popular lists, sidebars, cookie banners. Matched only at the start of a class name
# ("comment_content", "related-news"): an article's wrappers often carry classes such as
# "has-sidebar" or "tag-politics" that must not take the article out of the race.
_NOT_ARTICLE = re.compile(
    r"(?:^|\s)(?:comments?|reply|replies|cmt|related|relation|sidebar|aside|footer|popular|"
    r"ranking|most-?read|recommend|newsletter|subscribe|cookie|consent|privacy)(?:$|[\s_-])",
    re.I,
)


def _is_junk(el: Any) -> bool:
    cls, id_ = el.get("class"), el.get("id")
    return bool((cls and _NOT_ARTICLE.search(cls)) or (id_ and _NOT_ARTICLE.search(id_)))


def densest_block(root: Any) -> Any | None:
    """The element holding the most paragraph text, readability-style.

    Text counts for the block that holds it, and half of it for that block's parent; the text
    of a paragraph (`<p>`, `<h3>`, `<blockquote>`…) counts for the element holding the
    paragraphs. So a column of `<div>` lines (legacy Chosun `.par`) beats each line, and a
    `<br>`-separated body keeps its own score. Link text, navigation, and boxes whose class
    says they are comments, captions, related links or ads never count. When the winner's
    siblings hold paragraph text too (a body split by ad slots), their parent is the body.
    """
    score: dict[Any, float] = defaultdict(float)
    body = first(root.iter("body"))
    if body is None:
        return None
    skipped: set[Any] = set()

    def credit(block: Any, n: int) -> None:
        while block is not None and block.tag in _PARA:
            block = block.getparent()
        if block is None or n < 2:
            return
        score[block] += n
        parent = block.getparent()
        if parent is not None:
            score[parent] += n / 2

    for el in body.iter():
        tag = el.tag
        parent = el.getparent()
        if el.tail and parent is not None and parent not in skipped:
            credit(_block(parent), len(el.tail.strip()))
        if not isinstance(tag, str):
            continue
        if tag in _SKIP or parent in skipped or _is_junk(el):
            skipped.add(el)
            continue
        if el.text:
            credit(_block(el), len(el.text.strip()))
    if not score:
        return None
    best = max(score, key=score.__getitem__)
    parent = best.getparent()
    if parent is not None and parent.tag != "body":
        # another sibling as strong as a third of the winner: the body is split in boxes
        rivals = sum(
            score.get(s, 0) for s in parent if s is not best and score.get(s, 0) > 0.3 * score[best]
        )
        if rivals:
            return parent
    return best


def subtitle_in(node: Any) -> str | None:
    """A deck/sub-headline box inside the body, its `<br>` lines joined by newlines."""
    for el in _SUBTITLE(node):
        lines = paragraphs(el)
        if lines and sum(map(len, lines)) < 400:
            return "\n".join(lines)
    return None


_SCRIPT_HTML = re.compile(
    r'"(?:contentHtml|content_html|bodyHtml|body_html|articleBody|articleContent|articleHtml|'
    r'content|body|html)"\s*:\s*"((?:[^"\\]|\\.){200,})"'
)


def script_html(page: Page) -> tuple[Any, str] | None:
    """(parsed HTML, script text) of the article a client-rendered page ships in a JSON blob.

    Next.js/React pages (Hankook Ilbo since 2026) put the body only in JSON such as
    `"contentHtml":"<p class=…>"`; the longest such HTML string is the article.
    """
    best, where = "", ""
    for script in page.tree.iter("script"):
        text = script.text or ""
        if len(text) < 300 or ("\\u003c" not in text and "<p" not in text):
            continue
        for m in _SCRIPT_HTML.finditer(text):
            if len(m.group(1)) > len(best):
                best, where = m.group(1), text
    if not best:
        return None
    try:
        html = AD_SLOT.sub("", json.loads(f'"{best}"'))
        if "<" not in html:
            return None
        return lxml.html.fragment_fromstring(html, create_parent="div"), where
    except (etree.ParserError, ValueError):
        return None


_JSON_PUBLISHED = re.compile(
    r'"(?:datePublished|publishedAt|published_at|publishDate|firstPublishDate|first_publish_date|'
    r'deployDt|regDt|regDate|createdAt|inputDate|displayDate|display_date)"\s*:\s*"([^"]{8,40})"'
)
_JSON_UPDATED = re.compile(
    r'"(?:dateModified|modifiedAt|updatedAt|updated_at|lastUpdatedDate|last_updated_date|'
    r'reDeployDt|modDt|updateDt|modifyDate)"\s*:\s*"([^"]{8,40})"'
)


def trafilatura_text(page: Page) -> str:
    """Main text by trafilatura on our already-parsed tree: fast settings, then the full ones.

    The fast mode skips trafilatura's fallback extractors; a `<br>`-only body (Daejon Ilbo
    mobile) comes back empty that way, so a short result is retried without it.
    """
    import trafilatura  # imported here: 0.5 s at import, needed only when everything else failed

    text = ""
    for fast in (True, False):
        doc = trafilatura.bare_extraction(
            page.tree,
            url=page.url,
            fast=fast,
            include_comments=False,
            include_tables=False,
            include_images=False,
            favor_precision=fast,
        )
        text = (getattr(doc, "text", None) or "") if doc is not None else ""
        if len(norm(text)) >= _MIN_BODY:
            break
    return text


@dataclass(slots=True)
class Text:
    """The article text as found (the clean pipeline still has to run), and where it came from."""

    paras: list[str]
    how: str  # itemprop | density | script-json | ld-json | trafilatura
    node: Any = None  # the element the text came from (bylines are searched there too)
    subtitle: str | None = None
    script: str = ""  # the JSON blob's text when the body came from one

    @property
    def size(self) -> int:
        """Characters in the found paragraphs, to compare the extraction methods' yields."""
        return sum(map(len, self.paras))


def _from_node(node: Any, how: str) -> Text:
    paras = paragraphs(node, drop=_DROP)
    # a line that is nothing but a link is a related-article or promo link
    links = {text_of(a) for a in node.iter("a")}
    paras = [p for p in paras if not (len(p) > 8 and p in links)]
    return Text(paras, how, node, subtitle_in(node))


def dom_text(page: Page) -> Text:
    """The text of the page's body box in the DOM: `itemprop=articleBody`, else the densest block."""
    tree = page.tree
    node = first(el for el in _ARTICLE_BODY(tree) if len(text_of(el)) >= _MIN_BODY)
    if node is not None:
        return _from_node(node, "itemprop")
    node = densest_block(tree)
    return _from_node(node, "density") if node is not None else Text([], "none")


def body_of(page: Page, ld: dict[str, Any], dom: Text | None = None) -> Text:
    """The article text: DOM body box, else script JSON, JSON-LD articleBody, trafilatura."""
    best = dom if dom is not None else dom_text(page)
    size = best.size

    embedded = script_html(page)
    if embedded is not None:
        found = _from_node(embedded[0], "script-json")
        if found.size > 1.5 * size:
            found.script = embedded[1]
            best, size = found, found.size

    ld_body = ld.get("articleBody")
    if isinstance(ld_body, str) and len(norm(ld_body)) > max(_MIN_BODY, 1.5 * size):
        best = Text([p for p in (norm(x) for x in re.split(r"\n+", ld_body)) if p], "ld-json")
        size = best.size

    if size < _MIN_BODY:
        text = trafilatura_text(page)
        found = Text([p for p in (norm(x) for x in text.split("\n")) if p], "trafilatura")
        # a short article found in the DOM stays unless trafilatura finds clearly more
        if found.size >= 1.5 * size + 50:
            best = found
    return best


# --- list pages -------------------------------------------------------------------------------

# A list, a section front or a portal home is never an article, however much text its item
# leads add up to (a Daum list's fifteen leads made a 3,669-character "article" titled "최신
# 뉴스"). A page is refused as list-like when it links many articles and shows none of what an
# article page has: article metadata (JSON-LD of an article type, og:type=article,
# article:published_time, microdata articleBody/…Article), a dated byline ("입력 2025-12-17 14:27", once or twice on the page,
# not once per item), or a dense body block that is not one item of a repeated list.
#
# An article link, as far as a page can tell without knowing the site: a link with a
# headline-length text to an address holding an id (five digits or more: /v/20251217142749929,
# /view/AKR2025…, /news/society/11328184, articleView.html?idxno=123456, read.naver?aid=…).
_ID_IN_URL = re.compile(r"\d{5,}")
_MIN_HEADLINE = 10  # characters of link text
_MIN_LIST_LINKS = 8  # distinct article links
_MIN_DENSE = 250  # characters of body text outside links
_MIN_REPEATS = 4  # siblings alike in tag and class, each headed by an article link: a list
_MAX_BEFORE_TITLE = 20  # characters an item may show before its title link ("[정치]", a time)
_LABELLED_DATE = re.compile(
    r"(?:입력|등록|작성|발행|수정|최종\s*수정|업데이트|기사입력|승인|송고)\s*[:：]?\s*"
    r"\d{4}\s*[.\-/년]\s*\d{1,2}"
)
_ANCHORS = etree.XPath("//body//a[@href]")
_MICRODATA_ARTICLE = etree.XPath(
    "boolean(//*[@itemprop='articleBody'] | //*[contains(@itemtype, 'Article')])"
)
_TEXT_OUTSIDE_LINKS = etree.XPath(
    "//body//text()[not(ancestor::a) and not(ancestor::script) and not(ancestor::style)]"
)


def article_links(page: Page) -> dict[str, list[Any]]:
    """The page's links to article-like addresses with a headline text, by absolute URL."""
    out: dict[str, list[Any]] = {}
    for a in _ANCHORS(page.tree):
        href = a.get("href", "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(page.url, href)
        if not url.startswith(("http://", "https://")):
            continue
        parts = urlsplit(url)
        if not _ID_IN_URL.search(parts.path + "?" + parts.query):
            continue
        if len(text_of(a)) >= _MIN_HEADLINE:
            out.setdefault(url.split("#", 1)[0], []).append(a)
    return out


def list_like(page: Page, metas: dict[str, str], ld: dict[str, Any], dom: Text) -> str | None:
    """Why the page is a list rather than an article, or None when it may be an article."""
    if ld or first_meta(metas, "article:published_time") or _MICRODATA_ARTICLE(page.tree):
        return None
    if (first_meta(metas, "og:type") or "").lower() == "article":
        return None
    links = article_links(page)
    if len(links) < _MIN_LIST_LINKS:
        return None
    dated = len(_LABELLED_DATE.findall(norm(" ".join(_TEXT_OUTSIDE_LINKS(page.tree)))))
    if 1 <= dated <= 3:
        return None
    anchors = {a for group in links.values() for a in group}
    for block in (dom.node if dom.size >= _MIN_DENSE else None, _paragraph_block(page)):
        if block is not None and not _list_item(block, anchors):
            return None
    return (
        f"list-like page: {len(links)} article links, no article metadata, "
        "no dated byline, no body block outside a list"
    )


_PARAGRAPHS = etree.XPath("//body//p")


def _paragraph_block(page: Page) -> Any | None:
    """The element holding the most `<p>` text (outside links), when that makes a body.

    A second look for the body block, independent of the density pass (which may pass over a
    page whose `<body>` carries a class such as "sidebar-second"): at least three paragraphs of
    20 characters or more under one parent, 400 characters in all.
    """
    total: dict[Any, int] = defaultdict(int)
    count: dict[Any, int] = defaultdict(int)
    for p in _PARAGRAPHS(page.tree):
        n = len(norm("".join(t for t in p.itertext() if t))) - sum(
            len(text_of(a)) for a in p.iter("a")
        )
        if n >= 20:
            parent = p.getparent()
            total[parent] += n
            count[parent] += 1
    best = max((el for el in total if count[el] >= 3), key=total.__getitem__, default=None)
    return best if best is not None and total[best] >= 400 else None


def _list_item(node: Any, anchors: set[Any]) -> bool:
    """Whether `node` is one item of a repeated list of article links, or mostly made of one."""
    el = node
    for _ in range(6):  # up: the block is one story's lead in a list of stories
        parent = el.getparent()
        if parent is None or el.tag == "body":
            break
        alike = [s for s in parent if s.tag == el.tag and s.get("class") == el.get("class")]
        if _linked_items(alike, anchors):
            return True
        el = parent
    size = len(text_of(node))
    for el in node.iter():  # down: the block is the list itself, its items hold the text
        groups: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
        for child in el:
            if isinstance(child.tag, str):
                groups[(child.tag, child.get("class"))].append(child)
        for items in groups.values():
            linked = _linked_items(items, anchors)
            if linked and sum(len(text_of(c)) for c in linked) * 2 >= size:
                return True
    return False


def _linked_items(alike: list[Any], anchors: set[Any]) -> list[Any]:
    """Those of `alike` (siblings of one tag and class) headed by an article link, if enough."""
    if len(alike) < _MIN_REPEATS:
        return []
    linked = [s for s in alike if _headed_by_link(s, anchors)]
    return linked if len(linked) >= _MIN_REPEATS else []


def _headed_by_link(item: Any, anchors: set[Any]) -> bool:
    """Whether an article link opens `item`: a story's title link, not a link inside prose.

    A list item starts with its title (after a label or a time at most); a paragraph that links
    another story does so after some words of its own.
    """
    before = 0
    for event, el in etree.iterwalk(item, events=("start", "end")):
        if event == "start":
            if el in anchors:
                return True
            before += len((el.text or "").strip()) if el.tag not in ("script", "style") else 0
        elif el is not item:
            before += len((el.tail or "").strip())
        if before > _MAX_BEFORE_TITLE:
            return False
    return False


# --- the parser -------------------------------------------------------------------------------


def _site_names(
    page: Page, metas: dict[str, str], ld: dict[str, Any], publisher: str | None
) -> list[str]:
    """Every name the site goes by, to strip from a declared title: brand, owner, host label."""
    names = {publisher, first_meta(metas, "og:site_name"), *ld_names(ld.get("publisher"))}
    names.update(k for k, v in PUBLISHER_NAMES.items() if v == publisher)
    label = host_label(page.url)
    # "… - Entermedia": a <title> segment that spells the host's own name
    names.update(seg for seg in _title_segments(page) if label and brand_key(seg) == label)
    return [n for n in names if n]


def host_label(url: str) -> str:
    """The distinctive label of a host: "entermedia" for www.entermedia.co.kr."""
    labels = [x for x in host_of(url).split(".") if x not in _HOST_NOISE]
    return labels[0] if labels else ""


_HOST_NOISE = frozenset({"www", "m", "news", "mnews", "v", "co", "kr", "com", "net", "or", "org"})


def parse_article(page: Page, portal: str = "generic") -> ArticleItem:
    """Any news article page as an item; ParseError when no article text can be found."""
    metas = meta_map(page)
    ld = ld_news(page)
    url = declared_url(page, first_meta(metas, "og:url"), ld)
    publisher = publisher_of(page, metas, ld)
    title = title_of(page, metas, ld, _site_names(page, metas, ld, publisher))

    dom = dom_text(page)
    why = list_like(page, metas, ld, dom)
    if why:
        raise NotAnArticle(page.url, why)
    text = body_of(page, ld, dom)
    body = "\n\n".join(text.paras)  # the clean pipeline drops bylines, credits, promo lines
    if text.size < _MIN_TEXT:
        raise ParseError(page.url, f"no article text found ({text.size} characters)")
    if not title:
        raise ParseError(page.url, "no headline found")

    now = page.fetched_at
    published = first_date(
        first_meta(metas, "article:published_time", "og:regdate"), ld.get("datePublished"), now=now
    )
    updated = first_date(
        first_meta(metas, "article:modified_time", "og:updated_time"),
        ld.get("dateModified"),
        now=now,
    )
    if published is None and text.script:
        m, u = _JSON_PUBLISHED.search(text.script), _JSON_UPDATED.search(text.script)
        published = first_date(m.group(1) if m else None, now=now)
        updated = updated or first_date(u.group(1) if u else None, now=now)
    updated = real_update(published, updated)
    if published is None:
        published = first_date(
            first_meta(metas, "datepublished", "pubdate", "publishdate", "date"), now=now
        )
    if published is None:
        published, shown_update = visible_dates(page, title)
        updated = updated or shown_update

    section = first_meta(metas, "article:section") or (
        ld.get("articleSection") if isinstance(ld.get("articleSection"), str) else None
    )
    logger.debug("generic body by %s: %s", text.how, page.url)
    return make_article(
        page,
        url=url,
        portal=portal,
        title=title,
        body=body,
        publisher=publisher,
        subtitle=text.subtitle,
        authors=authors_of(page, metas, ld, text, publisher),
        section=section,
        published_at=published,
        updated_at=updated,
        parser=PARSER,
    )
