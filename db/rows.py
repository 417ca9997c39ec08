"""Typed rows: what the `db` functions return, one dataclass per query shape.

Read with `psycopg.rows.class_row`, so a column added to a query without a field here fails
loudly instead of being dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawler.domain.outcomes import Outcome


@dataclass(slots=True, frozen=True)
class StoreResult:
    """What storing one ArticleItem did (`outcome`: see crawler.domain.outcomes.Outcome and db.batch).

    - inserted: a new article (`cluster_id` != `article_id` when it is a near-duplicate);
    - updated: the text at an address we had fetched before changed: new version;
    - unchanged: that address gave the same text again;
    - dropped_url: an address of a stored article that we had not fetched before (a portal's
      copy, the publisher's original): its URLs are recorded, its text is not kept;
    - dropped_hash: the same text as another article;
    - dropped_headline: same publisher, same headline, same KST day as another article;
    - suspect: a new text at a fetched address, much shorter than the stored one: held in
      `article_suspects`, the article keeps its text.
    `article_id` is the article the item was resolved to in every case; `urls_added` counts
    the item's URLs that were new to `article_urls`.
    """

    article_id: int
    outcome: Outcome
    urls_added: int
    cluster_id: int | None = None
    hits_linked: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", Outcome(self.outcome))


@dataclass(slots=True, frozen=True)
class ArticleRow:
    """One `articles` row: the current version of an article, its dedup keys and its KST-aware
    timestamps.
    """

    id: int
    canonical_url: str
    portal: str
    publisher: str | None
    title: str
    subtitle: str | None
    body: str
    authors: list[str]
    section: str | None
    published_at: datetime | None
    updated_at: datetime | None
    headline_key: str | None
    content_hash: str
    simhash: int | None
    cluster_id: int
    version: int
    parser: str
    crawl_run_id: int | None
    first_seen_at: datetime
    last_seen_at: datetime
    captured_at: datetime


@dataclass(slots=True, frozen=True)
class ArticleVersionRow:
    """One `article_versions` row: an earlier text of an article, kept when a re-fetch changed it."""

    article_id: int
    version: int
    title: str
    subtitle: str | None
    body: str
    content_hash: str
    published_at: datetime | None
    updated_at: datetime | None
    captured_at: datetime
    superseded_at: datetime


@dataclass(slots=True, frozen=True)
class ArticleUrlRow:
    """One `article_urls` row: an address that resolved to an article (`is_canonical` marks its own
    URL).
    """

    url: str
    article_id: int
    is_canonical: bool
    content_hash: str | None
    first_seen_at: datetime


@dataclass(slots=True, frozen=True)
class SearchHitRow:
    """One `search_hits` row: a result of a portal search (query, page, rank) and the article it led
    to, if stored.
    """

    id: int
    crawl_run_id: int | None
    query: str
    portal: str
    page: int
    rank: int
    title: str
    snippet: str | None
    url: str
    portal_url: str | None
    publisher: str | None
    published_text: str | None
    published_at: datetime | None
    article_id: int | None
    first_seen_at: datetime
    seen_at: datetime


@dataclass(slots=True, frozen=True)
class CrawlRun:
    """One `crawl_runs` row: a crawl's arguments, status, stats and named failures, and its process
    while it runs.
    """

    id: int
    spider: str
    args: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None
    status: str
    stats: dict[str, Any] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)
    pid: int | None = None  # the crawl's process, on `host`, identified by `process`
    host: str | None = None
    process: str | None = None
    heartbeat_at: datetime | None = None  # when the running crawl last said it was alive
    resumed_from: int | None = None  # the killed run this one continued
    resume_since: datetime | None = None  # the start of the first run of that chain


@dataclass(slots=True, frozen=True)
class FeedRow:
    """One row of the `articles_feed` view: the reader contract."""

    id: int
    canonical_url: str
    urls: list[str]
    portal: str
    publisher: str | None
    title: str
    subtitle: str | None
    body: str
    authors: list[str]
    section: str | None
    published_at: datetime | None
    updated_at: datetime | None
    version: int
    cluster_id: int
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(slots=True, frozen=True)
class PageRow:
    """An archived raw page; `body` is the bytes as fetched (decompressed)."""

    id: int
    url: str
    fetched_at: datetime
    status: int
    encoding: str | None
    body: bytes
    portal: str
    crawl_run_id: int | None
