"""Naver News keyword search: result pages, then each result's Naver copy or its original.

    scrapy crawl naver -a query=엔비디아 -a pages=3 [-a since=YYYY-MM-DD -a until=YYYY-MM-DD]
        [-a sort=recent|relevance]

Naver pages a result list 10 at a time with `start=1, 11, 21…` and stops at 4,000 results
(start 3991). When a dated window still has a next page at that cap, the spider splits the
window in two and crawls each half from page 1, so nothing beyond the cap is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import scrapy

from crawler.items import SearchHit
from crawler.spiders.base import SearchSpider

SEARCH_URL = "https://search.naver.com/search.naver"
PAGE_SIZE = 10
MAX_START = 3991  # Naver serves no result beyond the 4,000th


def search_url(
    query: str,
    page: int,
    sort: str = "recent",
    since: date | None = None,
    until: date | None = None,
) -> str:
    """The where=news search URL for 1-based `page`."""
    params: dict[str, Any] = {
        "where": "news",
        "query": query,
        "sort": "1" if sort == "recent" else "0",
    }
    if since or until:
        s, u = since or date(1990, 1, 1), until or date.today()
        params["pd"] = "3"
        params["ds"] = s.strftime("%Y.%m.%d")
        params["de"] = u.strftime("%Y.%m.%d")
        params["nso"] = f"so:{'dd' if sort == 'recent' else 'r'},p:from{s:%Y%m%d}to{u:%Y%m%d},a:all"
    if page > 1:
        params["start"] = (page - 1) * PAGE_SIZE + 1
    return f"{SEARCH_URL}?{urlencode(params)}"


class NaverSpider(SearchSpider):
    name = "naver"
    portal = "naver"
    page_size = PAGE_SIZE

    def search_url(self, page: int, since: date | None, until: date | None) -> str:
        return search_url(self.query, page, self.sort, since, until)

    def follow_url(self, hit: SearchHit) -> str:
        # The Naver copy has one layout we parse exactly; the original is the fallback.
        return hit.portal_url or hit.url

    def next_pages(
        self, page: int, since: date | None, until: date | None
    ) -> Iterator[scrapy.Request]:
        if page * PAGE_SIZE + 1 > MAX_START:
            yield from self.split_window(since, until)
        else:
            yield self.search_request(page + 1, since, until)

    def split_window(self, since: date | None, until: date | None) -> Iterator[scrapy.Request]:
        """Past Naver's 4,000-result cap: crawl each half of the date window from page 1."""
        if since is None or until is None or since >= until:
            self.count("naver/result_cap_reached")
            self.logger.warning(
                "Naver's 4,000-result cap reached for %r without a splittable "
                "date window; pass since/until to get the rest",
                self.query,
            )
            return
        mid = since + (until - since) // 2
        self.count("naver/window_split")
        self.logger.info("result cap reached for %s..%s; splitting at %s", since, until, mid)
        yield self.search_request(1, since, mid)
        yield self.search_request(1, mid + timedelta(days=1), until)
