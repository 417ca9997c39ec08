"""Dedupe: derive the identity keys; drop in-process repeats cheaply; the database decides.

`headline_key`, `content_hash` and `simhash` are computed here (pipelines/hashing.py) for the
store step, whose unique constraints make the real decision (URL, content hash, same publisher's
headline on the same day). The in-process filter drops only an exact repeat within one run (same
canonical URL, same content, same URLs), which has nothing left to tell the database.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from crawler.items import ArticleItem
from pipelines.hashing import content_hash, digest64, headline_key, story_simhash

logger = logging.getLogger(__name__)


def with_keys(item: ArticleItem) -> ArticleItem:
    item.headline_key = headline_key(item.title)
    item.content_hash = content_hash(item.body)
    item.simhash = story_simhash(item.body)
    return item


class DedupePipeline:
    def __init__(self, stats, prefilter: bool = True) -> None:  # noqa: ANN001
        self.stats = stats
        self.prefilter = prefilter
        self.seen: set[int] = set()  # digests of (URL, text, every URL): see digest64

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001, ANN206
        return cls(crawler.stats, crawler.settings.getbool("DEDUPE_PREFILTER", True))

    def process_item(self, item, spider=None):  # noqa: ANN001, ANN201
        if not isinstance(item, ArticleItem):
            return item
        with_keys(item)
        if self.prefilter:
            key = digest64(item.url, item.content_hash or "", *sorted(item.all_urls()))
            if key in self.seen:
                self.stats.inc_value("dedupe/dropped_url")
                raise DropItem(f"already stored in this run: {item.url}")
            self.seen.add(key)
        return item
