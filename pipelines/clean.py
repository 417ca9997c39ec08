"""Clean: NFC, whitespace, and GOLD.md's body rules, applied to every article item."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scrapy.exceptions import DropItem

from crawler.domain.items import ArticleItem
from pipelines.text import clean_authors, clean_body, clean_title, norm


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


class CleanPipeline:
    def __init__(self, stats, context: Any = None) -> None:  # noqa: ANN001
        self.stats = stats
        self.context = context  # crawler.database.RunContext: such pages are named there

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001, ANN206
        from crawler.database import run_context

        return cls(crawler.stats, run_context(crawler))

    def process_item(self, item, spider=None):  # noqa: ANN001, ANN201
        if isinstance(item, ArticleItem):
            cleaned = clean_article(item)
            if not cleaned.body:
                # Everything was boilerplate: not an article text we can store.
                self.stats.inc_value("clean/dropped_empty_body")
                if self.context is not None:
                    self.context.note("not_article", item.url, "body empty after cleaning")
                raise DropItem(f"body empty after cleaning: {item.url}")
            return cleaned
        return item
