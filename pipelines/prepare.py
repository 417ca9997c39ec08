"""One path for an item: `prepare(item)` = validate → clean → identity keys, pure.

The crawl's pipelines run these same three steps, one per class, in this order
(pipelines.validate, pipelines.clean, pipelines.dedupe: each counts and names what its step
refuses); `sosik extract` and `sosik reparse` call `prepare` itself, so what they show or store
is what a crawl stores. No Scrapy, no database here.
"""

from __future__ import annotations

import re
from dataclasses import replace

from crawler.domain.items import ArticleItem, SearchHit
from crawler.domain.keys import with_keys
from crawler.domain.text import norm
from pipelines.text import clean_authors, clean_body, clean_title

EMPTY_BODY = "body empty after cleaning"


class Rejected(Exception):
    """An item that cannot be stored; `problems` says why, `empty` when cleaning left no body."""

    def __init__(self, problems: list[str], empty: bool = False) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.empty = empty


REQUIRED = {ArticleItem: ("url", "title", "body"), SearchHit: ("url", "title")}
# Characters no stored text may hold: NUL and UTF-16 surrogates (alone, they are not text).
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_BAD_NAMES = {"\x00": "a NUL character"}

# Default limits, in characters (each a setting VALIDATE_MAX_<NAME>).
LIMITS = {
    "title": 300,
    "subtitle": 2_000,
    "body": 200_000,
    "url": 2_000,
    "publisher": 100,
    "section": 100,
    "author": 100,
    "authors": 50,
    "snippet": 5_000,
}


def missing_fields(item: object) -> list[str]:
    """The required fields an item lacks (empty strings count as missing)."""
    need = REQUIRED.get(type(item), ())
    return [f for f in need if not getattr(item, f, None)]


def texts(item: ArticleItem | SearchHit) -> list[tuple[str, str]]:
    """(field, text) of every text an item stores, URLs included."""
    if isinstance(item, ArticleItem):
        out = [
            ("title", item.title),
            ("subtitle", item.subtitle or ""),
            ("body", item.body),
            ("publisher", item.publisher or ""),
            ("section", item.section or ""),
        ]
        out += [("author", a) for a in item.authors]
        out += [("url", u) for u in item.all_urls()]
        return out
    return [
        ("title", item.title),
        ("snippet", item.snippet or ""),
        ("publisher", item.publisher or ""),
        ("url", item.url),
        ("url", item.portal_url or ""),
        ("published", item.published or ""),
    ]


def problems(item: ArticleItem | SearchHit, limits: dict[str, int] | None = None) -> list[str]:
    """Why an item cannot be stored (empty: it can). Pure, so it is tested without Scrapy."""
    limits = limits or LIMITS
    found = [f"missing {f}" for f in missing_fields(item)]
    for name, text in texts(item):
        bad = _BAD_CHARS.search(text)
        if bad:
            what = _BAD_NAMES.get(bad.group(), "a lone surrogate")
            found.append(f"{name} holds {what} (at character {bad.start():,})")
        limit = limits.get(name)
        if limit is not None and len(text) > limit:
            found.append(f"{name} too long ({len(text):,} characters; at most {limit:,})")
    if isinstance(item, ArticleItem) and len(item.authors) > limits.get("authors", 50):
        found.append(f"too many authors ({len(item.authors)}; at most {limits['authors']})")
    return list(dict.fromkeys(found))


def clean_article(item: ArticleItem) -> ArticleItem:
    """The cleaned copy of an article item (pure; also used by `sosik extract`)."""
    lines = (norm(x) for x in (item.subtitle or "").split("\n"))
    return replace(
        item,
        title=clean_title(item.title),
        body=clean_body(item.body),
        subtitle="\n".join(x for x in lines if x) or None,
        authors=clean_authors(item.authors),
        publisher=norm(item.publisher) or None,
        section=norm(item.section) or None,
    )


def prepare(item: ArticleItem, limits: dict[str, int] | None = None) -> ArticleItem:
    """The article as the store receives it: validated, cleaned, with its identity keys.

    Raises Rejected when validation finds problems or cleaning leaves no body.
    """
    found = problems(item, limits)
    if found:
        raise Rejected(found)
    cleaned = clean_article(item)
    if not cleaned.body:
        raise Rejected([EMPTY_BODY], empty=True)
    return with_keys(cleaned)
