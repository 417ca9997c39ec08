"""Validate: what an item must be before the database sees it, or it is rejected alone.

The rules are pipelines.prepare's first step (`problems`); this pipeline counts and names what
they reject.

An item is rejected, counted (`validate/rejected`, `validate/dropped_no_<field>`) and named with
its URL and the reason in the run record (the run is then `errors`, never `ok`) when:

- a required field is missing (an article without URL, title or body; a hit without URL or
  title);
- a text holds a NUL character or a lone surrogate (PostgreSQL cannot store the first, UTF-8
  cannot encode the second: both mean a page decoded wrongly, not a text to keep);
- a field is longer than its limit (VALIDATE_MAX_TITLE, VALIDATE_MAX_BODY, VALIDATE_MAX_URL, …).
  The limits keep every indexed value far below a btree entry's maximum (2,704 bytes): a title
  of 300 characters is at most 1,200 bytes of UTF-8, and its headline key is bounded too
  (crawler.domain.keys.headline_key), as are URLs (canonical_url and article_urls.url are unique
  indexes). A 1,000-syllable headline or a 1 MB title is an extraction gone wrong.

Every other item of the batch is stored; the database's own refusals are handled by the store.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import DropItem

from crawler.domain.items import ArticleItem, SearchHit
from crawler.domain.outcomes import CORE_FIELDS
from pipelines.prepare import LIMITS, missing_fields, problems

logger = logging.getLogger(__name__)


def count_coverage(stats, item: ArticleItem) -> None:
    """Per parser, how many items carry each core field: the layout-drift alarm's input."""
    parser = item.parser.split("/")[0] or item.portal
    stats.inc_value(f"coverage/{parser}/items")
    for f in CORE_FIELDS:
        if getattr(item, f, None):
            stats.inc_value(f"coverage/{parser}/{f}")


class ValidatePipeline:
    """Rejects items missing required fields or over size limits; each rejection is counted and
    named with its URL.
    """

    def __init__(self, stats, context: Any = None, limits: dict[str, int] | None = None) -> None:
        self.stats = stats
        self.context = context  # crawler.extensions.owner.RunContext: rejections are named there
        self.limits = limits or dict(LIMITS)

    @classmethod
    def from_crawler(cls, crawler):
        """Reads the VALIDATE_MAX_<FIELD> limits over the defaults in LIMITS."""
        from crawler.extensions.owner import run_context

        s = crawler.settings
        limits = {k: s.getint(f"VALIDATE_MAX_{k.upper()}", v) for k, v in LIMITS.items()}
        return cls(crawler.stats, run_context(crawler), limits)

    def process_item(self, item, spider=None):
        """Counts field coverage, then passes a valid ArticleItem or SearchHit; raises DropItem
        naming the problems otherwise.
        """
        if isinstance(item, ArticleItem):
            count_coverage(self.stats, item)  # before any drop: drops are what it measures
        if not isinstance(item, ArticleItem | SearchHit):
            return item
        found = problems(item, self.limits)
        if not found:
            return item
        for f in missing_fields(item):
            self.stats.inc_value(f"validate/dropped_no_{f}")
        self.stats.inc_value("validate/rejected")
        url = getattr(item, "url", "") or "?"
        reason = "; ".join(found)
        logger.warning("rejected %s: %s", url, reason)
        if self.context is not None:
            self.context.fail("rejected", url, reason)
        raise DropItem(f"rejected {url}: {reason}", log_level="DEBUG")
