"""Store: articles and search hits into PostgreSQL, in batches, the database deciding duplicates.

Each batch is one transaction (db.articles.store_articles): `INSERT … ON CONFLICT`, never
check-then-insert. What the database says of each item is counted in stats: `store/inserted`,
`store/updated` (same URL, new text: a new version), `store/unchanged` (same URL, same text;
also counted as a URL duplicate), and the drops
`dedupe/dropped_url`, `dedupe/dropped_hash`, `dedupe/dropped_headline`. Buffered items are
written when the batch fills, every STORE_FLUSH_SECONDS, and when the spider closes, so a clean
shutdown loses nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from crawler.items import ArticleItem, SearchHit
from db.articles import store_articles, store_search_hits
from db.connection import connect
from db.runs import start_run

logger = logging.getLogger(__name__)

# What the database said of an item, as stats. An unchanged re-fetch of a stored URL is also a
# URL duplicate: nothing of it is stored but its sighting (last_seen_at).
OUTCOME_STATS = {
    "inserted": ("store/inserted",),
    "updated": ("store/updated",),
    "unchanged": ("store/unchanged", "dedupe/dropped_url"),
    "dropped_url": ("dedupe/dropped_url",),
    "dropped_hash": ("dedupe/dropped_hash",),
    "dropped_headline": ("dedupe/dropped_headline",),
}


def run_id_of(crawler: Any) -> int | None:
    return getattr(crawler, "sosik_run_id", None)


class StorePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        s = crawler.settings
        self.batch_size = s.getint("STORE_BATCH_SIZE", 250)
        # a slow, polite crawl must not sit on stored-to-be items: write at least this often
        self.flush_seconds = s.getfloat("STORE_FLUSH_SECONDS", 5.0)
        self.last_flush = time.monotonic()
        self.cluster_distance = s.getint("STORE_CLUSTER_DISTANCE", 3)
        self.cluster_window_days = s.getint("STORE_CLUSTER_WINDOW_DAYS", 3)
        self.database_url = s.get("STORE_DATABASE_URL") or None
        self.articles: list[ArticleItem] = []
        self.hits: list[SearchHit] = []
        self.conn: Any = None

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001, ANN206
        return cls(crawler)

    def open_spider(self, spider=None) -> None:  # noqa: ANN001
        self.conn = connect(self.database_url)
        if run_id_of(self.crawler) is None:
            run_id = self.crawler.settings.getint("SOSIK_RUN_ID", 0) or None
            if run_id is None:
                spider = spider or self.crawler.spider
                run_id = start_run(self.conn, spider.name, dict(getattr(spider, "run_args", {})))
            self.crawler.sosik_run_id = run_id

    def close_spider(self, spider=None) -> None:  # noqa: ANN001
        try:
            self.flush()
        finally:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

    def process_item(self, item, spider=None):  # noqa: ANN001, ANN201
        if isinstance(item, SearchHit):
            self.hits.append(item)
        elif isinstance(item, ArticleItem):
            self.articles.append(item)
        if (
            len(self.articles) >= self.batch_size
            or len(self.hits) >= self.batch_size * 5
            or time.monotonic() - self.last_flush >= self.flush_seconds
        ):
            self.flush()
        return item

    def flush(self) -> None:
        """Write what is buffered: hits first, so articles link to them as they land."""
        run_id = run_id_of(self.crawler)
        self.last_flush = time.monotonic()
        if self.hits:
            hits, self.hits = self.hits, []
            store_search_hits(self.conn, hits, run_id)
            self.stats.inc_value("store/search_hits", len(hits))
        if self.articles:
            batch, self.articles = self.articles, []
            results = store_articles(
                self.conn,
                batch,
                crawl_run_id=run_id,
                cluster_distance=self.cluster_distance,
                cluster_window_days=self.cluster_window_days,
            )
            for item, res in zip(batch, results, strict=True):
                for key in OUTCOME_STATS.get(res.outcome, (f"store/{res.outcome}",)):
                    self.stats.inc_value(key)
                if res.outcome.startswith("dropped"):
                    logger.debug("%s: %s is article %s", res.outcome, item.url, res.article_id)
