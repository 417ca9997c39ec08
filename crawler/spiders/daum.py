"""Daum News keyword search: result pages, then Daum's copy of each result.

    scrapy crawl daum -a query=손흥민 -a pages=3 [-a since=… -a until=…] [-a sort=recent|relevance]

Daum's results link only to its own copy (`v.daum.net/v/ID`); the article page names the
publisher's original, which is stored as an alias URL of the same article.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.spiders.base import SosikSpider

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


class DaumSpider(SosikSpider):
    name = "daum"
    portal = "daum"

    def __init__(self, query: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not query:
            raise ValueError("daum needs -a query=…")
        self.query = query

    async def start(self) -> Any:
        yield self.search_request(1)

    def search_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(
            search_url(self.query, page, self.sort, self.since, self.until),
            callback=self.parse_search,
            errback=self.errback,
            cb_kwargs={"page": page},
        )

    def parse_search(self, response: Response, page: int) -> Iterator[Any]:
        result = self.search_page(response)
        if result is None:
            return
        known = self.page_is_known(result.hits)  # before this page's hits are stored
        for hit in result.hits:
            hit.page, hit.query = page, self.query
            yield hit
            if self.follow_articles:
                yield self.article_request(hit.url, [hit.url, hit.portal_url])
        more = result.has_next if result.has_next is not None else len(result.hits) >= PAGE_SIZE
        if known:
            return  # incremental: the rest was stored by earlier crawls
        if more and page < MAX_PAGE and not (self.max_pages and page >= self.max_pages):
            yield self.search_request(page + 1)
