"""Seoul Shinmun's own news search, then each result's article.

    scrapy crawl seoul -a query=엔비디아 -a pages=3 [-a since=YYYY-MM-DD -a until=YYYY-MM-DD]

The site's search takes only `keyword` and `page` (20 results a page, newest first); a date
filter is not known to work there, so `since`/`until` are applied to the results' dates and
paging stops once a whole page is older than `since`.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from crawler.domain.items import SearchHit, SearchPage
from crawler.spiders.base import SearchSpider

SEARCH_URL = "https://search.seoul.co.kr/index.php"
PAGE_SIZE = 20


def search_url(query: str, page: int) -> str:
    """Seoul Shinmun's search URL for `query`; page 1 carries no page parameter."""
    params: dict[str, Any] = {"keyword": query}
    if page > 1:
        params["page"] = page
    return f"{SEARCH_URL}?{urlencode(params)}"


class SeoulSpider(SearchSpider):
    """Seoul Shinmun's own news search (see the module): dates are checked on the results."""

    name = "seoul"
    portal = "seoul"
    page_size = PAGE_SIZE

    def search_url(self, page: int, since: date | None, until: date | None) -> str:
        """The search URL for the query; the dates are ignored (the site takes no date filter; see
        `keep`).
        """
        return search_url(self.query, page)  # the site takes no date filter

    def keep(self, hit: SearchHit) -> bool:
        """Keeps a hit dated within since..until (KST days); a hit without a date is kept."""
        day = hit.published_at.date() if hit.published_at else None
        if day is None:
            return True
        return not (self.since and day < self.since) and not (self.until and day > self.until)

    def stop_paging(self, result: SearchPage) -> bool:
        """Stops once every hit on the page is older than `since` (results are newest first)."""
        # newest first: once a whole page is older than `since`, every later page is too
        return bool(self.since and result.hits) and all(
            h.published_at is not None and h.published_at.date() < self.since for h in result.hits
        )
