"""Naver News keyword search: the result page, then its loader's blocks, then each result's
Naver copy or its original.

    scrapy crawl naver -a query=엔비디아 -a pages=3 [-a since=YYYY-MM-DD -a until=YYYY-MM-DD]
        [-a sort=recent|relevance]

search.naver.com renders the first block of results only (its `start` parameter is ignored).
Every further block is asked for the way the page's infinite scroll asks: at the loader URL the
page carries, then at the `url` each JSON answer gives, never at an address built here (the
path has changed before). `pages` counts blocks, the page's own first block included.

An answer `{"collection": null}` is a transient failure: it is asked again with a growing wait
(NAVER_EMPTY_RETRIES times, from NAVER_EMPTY_BACKOFF seconds) and then recorded as a failure of
the run with its URL; it never ends the paging quietly.

Naver serves a query's first 2,000 results only (the page says so: "뉴스 검색결과를 2,000건까지
제공합니다"; the figure is read from each page). When a dated window still has a next block
beyond that cap, the window is split in two and each half crawled from its first page, so a
backfill loses nothing. Naver has been reported to ignore a date window it does not like; the
crawl checks the dates of what it gets and counts results outside the window
(`naver/window_ignored`, a loud warning); such a window is not split (splitting would repeat
the same results), and the results it cannot reach are recorded as a failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from scrapy.utils.asyncio import sleep

from crawler.domain.dates import KST
from crawler.domain.items import SearchHit, SearchPage
from crawler.parsers.naver import is_empty_answer, page_number
from crawler.spiders.base import SearchSpider

SEARCH_URL = "https://search.naver.com/search.naver"
PAGE_SIZE = 10
RESULT_CAP = 2000  # what the 2025 pages state; a page that states another figure wins
EMPTY_RETRIES = 3
EMPTY_BACKOFF = 2.0  # seconds before the first retry of a `collection: null` answer; doubled
WINDOW_PARAMS = ("pd", "ds", "de", "nso")


def window_params(sort: str, since: date | None, until: date | None) -> dict[str, str]:
    """A date window as Naver's period filter: pd=3 switches it on, ds/de/nso carry the days."""
    s, u = since or date(1990, 1, 1), until or date.today()
    return {
        "pd": "3",
        "ds": s.strftime("%Y.%m.%d"),
        "de": u.strftime("%Y.%m.%d"),
        "nso": f"so:{'dd' if sort == 'recent' else 'r'},p:from{s:%Y%m%d}to{u:%Y%m%d},a:all",
    }


def search_url(
    query: str,
    page: int,
    sort: str = "recent",
    since: date | None = None,
    until: date | None = None,
) -> str:
    """The where=news search URL; `page` > 1 only for the legacy `start` paging."""
    params: dict[str, Any] = {
        "where": "news",
        "query": query,
        "sort": "1" if sort == "recent" else "0",
    }
    if since or until:
        params.update(window_params(sort, since, until))
    if page > 1:
        params["start"] = (page - 1) * PAGE_SIZE + 1
    return f"{SEARCH_URL}?{urlencode(params)}"


def with_window(url: str, sort: str, since: date | None, until: date | None) -> str:
    """A loader URL from the page with the crawl's date window in it (one report says the
    loader ignores `nso` alone; pd/ds/de are set with it). Without a window: unchanged."""
    if not (since or until):
        return url
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    window = window_params(sort, since, until)
    out = [(k, window[k] if k in window else v) for k, v in params]
    out += [(k, v) for k, v in window.items() if k not in dict(params)]
    return urlunsplit(parts._replace(query=urlencode(out)))


def xhr_headers(referer: str) -> dict[str, str]:
    """What the browser's loader request carries besides cookies: the search page as Referer
    (the page sets `<meta name="referrer" content="always">`, so the whole URL) and the XHR
    markers public crawlers send (docs/sources.md)."""
    return {
        "Referer": referer,
        "X-Requested-With": "XMLHttpRequest",
        "Accept": "application/json, text/javascript, */*; q=0.01",
    }


def start_of(url: str) -> int | None:
    """The `start` a loader URL asks for (1-based result index), if it names one."""
    v = dict(parse_qsl(urlsplit(url).query)).get("start", "")
    return int(v) if v.isdigit() else None


class NaverSpider(SearchSpider):
    """Naver News keyword search (see the module): the first page, then the loader's blocks."""

    name = "naver"
    portal = "naver"
    page_size = PAGE_SIZE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.result_cap = RESULT_CAP
        self.ignored_windows: set[tuple[date | None, date | None]] = set()
        self.last_block: dict[tuple[date | None, date | None], frozenset[str]] = {}

    def search_url(self, page: int, since: date | None, until: date | None) -> str:
        """Naver's search URL for this query and sort, within the dates given."""
        return search_url(self.query, page, self.sort, since, until)

    def follow_url(self, hit: SearchHit) -> str:
        """The hit's Naver copy when it has one (a layout parsed exactly), else the publisher's
        original.
        """
        # The Naver copy has one layout we parse exactly; the original is the fallback.
        return hit.portal_url or hit.url

    # -- blocks ------------------------------------------------------------------------------
    def block_request(
        self, url: str, page: int, since: date | None, until: date | None, attempt: int = 0
    ) -> scrapy.Request:
        """An XHR request for a further block at a loader URL, with the headers the page's script
        sends; a repeat (`attempt` > 0) bypasses the dupe filter.
        """
        return scrapy.Request(
            url,
            callback=self.parse_block,
            errback=self.errback,
            headers=xhr_headers(self.search_url(1, since, until)),
            cb_kwargs={"page": page, "since": since, "until": until, "attempt": attempt},
            dont_filter=attempt > 0,
        )

    async def parse_block(
        self,
        response: Response,
        page: int,
        since: date | None = None,
        until: date | None = None,
        attempt: int = 0,
    ) -> AsyncIterator[Any]:
        """A loader answer: retried while it is `{"collection": null}`, else read as a page."""
        if is_empty_answer(response.body):
            retries = self.settings.getint("NAVER_EMPTY_RETRIES", EMPTY_RETRIES)
            if attempt >= retries:
                self.record_error(
                    "fetch",
                    response.url,
                    f"the loader answered collection: null {attempt + 1} times",
                )
                return
            wait = self.settings.getfloat("NAVER_EMPTY_BACKOFF", EMPTY_BACKOFF) * 2**attempt
            self.count("naver/empty_answer_retry")
            self.logger.warning(
                "naver loader answered collection: null at %s; retry %d in %.1fs",
                response.url,
                attempt + 1,
                wait,
            )
            await sleep(wait)
            yield self.block_request(response.url, page, since, until, attempt + 1)
            return
        for out in self.parse_search(response, page, since, until):
            yield out

    def search_results(
        self, result: SearchPage, page: int, since: date | None, until: date | None
    ) -> Iterator[Any]:
        """Like the base, after noting a changed result cap and checking the results' dates against
        the window.
        """
        if result.result_cap and result.result_cap != self.result_cap:
            self.logger.warning(
                "Naver states a cap of %d results (was %d)", result.result_cap, self.result_cap
            )
            self.result_cap = result.result_cap
        self.check_window(result, page, since, until)
        yield from super().search_results(result, page, since, until)

    def search_page(self, response: Response) -> SearchPage | None:
        """Like the base; a disagreement between the markup and the renderer's data is counted as
        drift and warned about.
        """
        result = super().search_page(response)
        for note in result.drift if result is not None else ():
            # The markup and the renderer's data read differently: a layout change under way.
            self.count("naver/crosscheck_mismatch")
            self.count(
                "drift/search_crosscheck"
            )  # the run's drift alarm (crawler.runrecord.assess)
            self.logger.warning("naver search: two readings disagree at %s: %s", response.url, note)
        return result

    def check_window(
        self, result: SearchPage, page: int, since: date | None, until: date | None
    ) -> None:
        """Count (and warn loudly about) results dated outside the window that was asked for."""
        if not (since or until):
            return
        lo, hi = since or date.min, until or date.max
        outside = [
            h
            for h in result.hits
            if h.published_at is not None and not lo <= h.published_at.astimezone(KST).date() <= hi
        ]
        if not outside:
            return
        self.count("naver/window_ignored", len(outside))
        self.ignored_windows.add((since, until))
        self.logger.error(
            "NAVER IGNORED THE DATE WINDOW? %d of %d results of %r, block %d, are dated outside "
            "%s..%s (first: %s %s)",
            len(outside),
            len(result.hits),
            self.query,
            page,
            since,
            until,
            outside[0].published,
            outside[0].url,
        )

    # -- paging ------------------------------------------------------------------------------
    def next_pages(
        self, page: int, since: date | None, until: date | None, result: SearchPage
    ) -> Iterator[scrapy.Request]:
        """The next block at the loader URL the answer gave; past the result cap, the date window
        split in two; nothing when Naver repeats the previous block.
        """
        window = (since, until)
        urls = frozenset(h.url for h in result.hits)
        if urls and urls <= self.last_block.get(window, frozenset()):
            # Naver served the block before again (what a `start` it ignores looks like).
            self.count("naver/repeated_block")
            self.logger.warning("naver: block %d repeats the previous one; paging stops", page)
            return
        self.last_block[window] = urls
        if result.next_url:
            url = with_window(result.next_url, self.sort, since, until)
            start, nxt = start_of(url), max(page_number(url), page + 1)
        else:  # a page of the old layout: paged by its own `start`
            url, start, nxt = "", page * PAGE_SIZE + 1, page + 1
        if start is not None and start > self.result_cap:
            yield from self.split_window(since, until, url or self.search_url(nxt, since, until))
        elif url:
            yield self.block_request(url, nxt, since, until)
        else:
            yield self.search_request(nxt, since, until)

    def split_window(
        self, since: date | None, until: date | None, url: str
    ) -> Iterator[scrapy.Request]:
        """Past Naver's result cap: crawl each half of the date window from its first page."""
        if (since, until) in self.ignored_windows:
            self.record_error(
                "naver",
                url,
                f"result cap {self.result_cap} reached in {since}..{until}, a window Naver "
                "seems to ignore; not split, later results not fetched",
            )
            return
        if since is None or until is None or since >= until:
            # The results past the cap cannot be reached: a loss, named in the run record.
            self.count("naver/result_cap_reached")
            what = "without a date window" if since is None or until is None else f"on {since}"
            self.record_error(
                "naver",
                url,
                f"result cap {self.result_cap} reached {what}: later results not fetched "
                "(pass --since/--until to split the window)",
            )
            return
        mid = since + (until - since) // 2
        self.count("naver/window_split")
        self.logger.info("result cap reached for %s..%s; splitting at %s", since, until, mid)
        yield self.search_request(1, since, mid)
        yield self.search_request(1, mid + timedelta(days=1), until)
