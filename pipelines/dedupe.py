"""Dedupe: derive the identity keys; drop in-process repeats cheaply; the database decides.

`headline_key`, `content_hash` and `simhash` are computed here (crawler/domain/keys.py) for the
store step, whose unique constraints make the real decision (URL, content hash, same publisher's
headline on the same day). The in-process filter drops only an exact repeat within one run (same
canonical URL, same content, same URLs), which has nothing left to tell the database.
"""

from __future__ import annotations

import logging
from collections import deque

from scrapy.exceptions import DropItem

from crawler.domain.items import ArticleItem
from crawler.domain.keys import digest64, with_keys

logger = logging.getLogger(__name__)


class DedupePipeline:
    """Drops an item already seen in this run (same URL, text hash and URLs), within a bounded
    window; the database decides the rest.
    """

    def __init__(self, stats, prefilter: bool = True, window: int = 10_000) -> None:
        self.stats = stats
        self.prefilter = prefilter
        # digests of (URL, text, every URL) of the most recent items only: repeats within a run
        # come close together (one story linked twice on a page), and a bounded filter keeps
        # a months-long crawl's memory flat; what it forgets, the database still decides.
        self.seen: set[int] = set()
        self.order: deque[int] = deque()
        self.window = window

    @classmethod
    def from_crawler(cls, crawler):
        """Reads DEDUPE_PREFILTER (on by default) and DEDUPE_PREFILTER_WINDOW (items remembered,
        default 10000).
        """
        s = crawler.settings
        return cls(
            crawler.stats,
            s.getbool("DEDUPE_PREFILTER", True),
            s.getint("DEDUPE_PREFILTER_WINDOW", 10_000),
        )

    def process_item(self, item, spider=None):
        """Fills the item's dedup keys (`with_keys`) and raises DropItem for a repeat within the
        window; non-articles pass.
        """
        if not isinstance(item, ArticleItem):
            return item
        with_keys(item)
        if self.prefilter:
            key = digest64(item.url, item.content_hash or "", *sorted(item.all_urls()))
            if key in self.seen:
                self.stats.inc_value("dedupe/dropped_url")
                raise DropItem(f"already stored in this run: {item.url}")
            self.seen.add(key)
            self.order.append(key)
            if len(self.order) > self.window:
                self.seen.discard(self.order.popleft())
        return item
