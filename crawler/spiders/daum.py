"""Daum News keyword search: result pages, then Daum's copy of each result.

    scrapy crawl daum -a query=손흥민 -a pages=3 [-a since=… -a until=…] [-a sort=recent|relevance]

Daum's results link only to its own copy (`v.daum.net/v/ID`); the article page names the
publisher's original, which is stored as an alias URL of the same article.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from crawler.spiders.base import SearchSpider

SEARCH_URL = "https://search.daum.net/search"
PAGE_SIZE = 10
MAX_PAGE = 80  # Daum pages no further than this


def search_url(
    query: str,
    page: int,
    sort: str = "recent",
    since: date | None = None,
    until: date | None = None,
) -> str:
    """Daum's news search URL, newest or most relevant first; `since`/`until` become a whole-day
    window (00:00:00 to 23:59:59) of Daum's own.
    """
    params: dict[str, Any] = {
        "w": "news",
        "q": query,
        "sort": "recency" if sort == "recent" else "accuracy",
        "cluster": "n",
    }
    if since or until:
        params["period"] = "u"
        if since:
            params["sd"] = f"{since:%Y%m%d}000000"
        if until:
            params["ed"] = f"{until:%Y%m%d}235959"
    if page > 1:
        params["p"] = page
    return f"{SEARCH_URL}?{urlencode(params)}"


class DaumSpider(SearchSpider):
    """Daum news search (`scrapy crawl daum -a query=…`), paged up to MAX_PAGE."""

    name = "daum"
    portal = "daum"
    page_size = PAGE_SIZE
    max_page = MAX_PAGE

    def search_url(self, page: int, since: date | None, until: date | None) -> str:
        """Daum's search URL for this query and sort, within the dates given."""
        return search_url(self.query, page, self.sort, since, until)
