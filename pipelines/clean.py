"""Clean: NFC, whitespace, and GOLD.md's body rules (pipelines.prepare.clean_article), applied to
every article item; an item left without a body is dropped and named."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler.domain.items import ArticleItem
from pipelines.prepare import EMPTY_BODY, clean_article


class CleanPipeline:
    """Cleans article text (`clean_article`); drops an item whose body was all boilerplate, named as
    not_article.
    """

    def __init__(self, stats, context: Any = None) -> None:
        self.stats = stats
        self.context = context  # crawler.extensions.owner.RunContext: such pages are named there

    @classmethod
    def from_crawler(cls, crawler):
        """Built with the crawl's stats and run context (where dropped pages are named)."""
        from crawler.extensions.owner import run_context

        return cls(crawler.stats, run_context(crawler))

    def process_item(self, item, spider=None):
        """Cleaned copy of an ArticleItem; other items pass as they are. Raises DropItem when no
        body is left.
        """
        if isinstance(item, ArticleItem):
            cleaned = clean_article(item)
            if not cleaned.body:
                # Everything was boilerplate: not an article text we can store.
                self.stats.inc_value("clean/dropped_empty_body")
                if self.context is not None:
                    self.context.note("not_article", item.url, EMPTY_BODY)
                raise DropItem(f"{EMPTY_BODY}: {item.url}")
            return cleaned
        return item
