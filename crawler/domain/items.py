"""Items that parsers produce and pipelines consume.

Plain dataclasses (Scrapy accepts them through itemadapter), so parsers stay free of Scrapy
imports and tests can build items without a crawler.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class ArticleItem:
    """One article as a parser read it; pipelines fill the derived keys."""

    url: str  # canonical URL (crawler.domain.urls.canonical_url)
    portal: str  # parser key: naver, daum, seoul, hankookilbo, mk, ..., generic
    title: str
    body: str
    publisher: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    original_url: str | None = None  # the publisher's own copy ("기사원문")
    urls: list[str] = field(default_factory=list)  # every address of this article
    parser: str = ""  # parser name and layout version, e.g. "naver.mnews/2"
    fetched_at: datetime | None = None
    # filled by the pipelines
    headline_key: str | None = None
    content_hash: str | None = None
    simhash: int | None = None

    def all_urls(self) -> list[str]:
        """The canonical URL first, then every alias once, in order."""
        seen: dict[str, None] = {self.url: None}
        for u in [*self.urls, self.original_url]:
            if u:
                seen.setdefault(u, None)
        return list(seen)

    def to_json(self) -> dict[str, Any]:
        """GOLD.md's keys, ISO timestamps with offset; for `sosik extract`."""
        d = asdict(self)
        for k in ("published_at", "updated_at", "fetched_at"):
            if d[k] is not None:
                d[k] = d[k].isoformat()
        return d


@dataclass(slots=True)
class SearchHit:
    """One ranked result on a portal's search page."""

    portal: str
    query: str
    page: int
    rank: int  # 1-based among the page's main results
    title: str
    url: str  # the result's main link (publisher original on Naver, Daum's copy on Daum)
    portal_url: str | None = None  # the portal-hosted copy, when the result shows one
    publisher: str | None = None
    published: str | None = None  # the date text exactly as shown
    published_at: datetime | None = None  # that text resolved against the crawl time
    snippet: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The hit as JSON-ready data (`published_at` in ISO 8601 with its offset), for `sosik
        extract`.
        """
        d = asdict(self)
        if d["published_at"] is not None:
            d["published_at"] = d["published_at"].isoformat()
        return d


@dataclass(slots=True)
class SearchPage:
    """A parsed search result page: its hits and what the spider needs to page on."""

    portal: str
    query: str
    hits: list[SearchHit]
    total_count: int | None = None  # the portal's hit count, when shown
    has_next: bool | None = None  # None when the page does not say
    next_url: str | None = None  # where the next block comes from, when the page names it
    result_cap: int | None = None  # the most results the portal serves, when the page says
    drift: list[str] = field(default_factory=list)  # two readings of the page that disagree

    @property
    def total_shown(self) -> int:
        """How many results this page showed (not the portal's total_count)."""
        return len(self.hits)

    def to_json(self) -> dict[str, Any]:
        """The page as JSON-ready data, hits included, for `sosik extract`."""
        return {
            "query": self.query,
            "portal": self.portal,
            "results": [h.to_json() for h in self.hits],
            "total_shown": self.total_shown,
            "total_count": self.total_count,
        }


@dataclass(slots=True)
class ListPage:
    """A section list page: the article links of its main list, in page order."""

    links: list[str]
    next_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The page as JSON-ready data, with the link count, for `sosik extract`."""
        return {"links": self.links, "count": len(self.links), "next_url": self.next_url}
