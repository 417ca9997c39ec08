"""Validate: an item without its required fields is dropped, counted and logged with its URL."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from crawler.items import ArticleItem, SearchHit
from crawler.runs import CORE_FIELDS

logger = logging.getLogger(__name__)

REQUIRED = {ArticleItem: ("url", "title", "body"), SearchHit: ("url", "title")}


def missing_fields(item: object) -> list[str]:
    """The required fields an item lacks (empty strings count as missing)."""
    need = REQUIRED.get(type(item), ())
    return [f for f in need if not getattr(item, f, None)]


def count_coverage(stats, item: ArticleItem) -> None:  # noqa: ANN001
    """Per parser, how many items carry each core field: the layout-drift alarm's input."""
    parser = item.parser.split("/")[0] or item.portal
    stats.inc_value(f"coverage/{parser}/items")
    for f in CORE_FIELDS:
        if getattr(item, f, None):
            stats.inc_value(f"coverage/{parser}/{f}")


class ValidatePipeline:
    def __init__(self, stats) -> None:  # noqa: ANN001 - Scrapy's StatsCollector
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001, ANN206
        return cls(crawler.stats)

    def process_item(self, item, spider=None):  # noqa: ANN001, ANN201
        if isinstance(item, ArticleItem):
            count_coverage(self.stats, item)  # before any drop: drops are what it measures
        missing = missing_fields(item)
        if missing:
            for f in missing:
                self.stats.inc_value(f"validate/dropped_no_{f}")
            url = getattr(item, "url", "?")
            logger.warning("dropped item without %s: %s", ", ".join(missing), url)
            raise DropItem(f"missing {', '.join(missing)}: {url}")
        return item
