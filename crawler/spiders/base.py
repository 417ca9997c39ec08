"""What every sosik spider shares: turning responses into pages, article callbacks, accounting.

A broken page never crashes a crawl and never passes silently: NotAnArticle and ParseError are
counted in stats (`parse/not_article`, `parse/error`), logged with the URL and named in the run
record (the crawl's RunContext, crawler.extensions.owner); download failures likewise (`fetch/error`).
Every failure is kept, in the record's compact form; a page that is not an article is named as
a note, not a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.domain.dates import KST, parse_date_arg
from crawler.domain.items import ArticleItem, ListPage, SearchHit, SearchPage
from crawler.domain.keys import digest64
from crawler.domain.urls import canonical_url
from crawler.parsers import (
    NotAnArticle,
    Page,
    ParseError,
    parse_article,
    parse_list,
    parse_search,
)
from crawler.runrecord import RunRecord

ARTICLE_PRIORITY = 10


def _bool(v: Any) -> bool:
    return str(v).lower() in ("1", "true", "yes", "on")


class LinkMemory:
    """The list links a crawl has met, as 64-bit digests; `add_new` keeps the unseen ones.

    A distributed crawl replaces it with one shared by its workers (crawler/distributed), with
    the same method: a list spider stops paging at a page with no link met before, and the
    page before may have been read by another worker.
    """

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def add_new(self, urls: list[str]) -> list[str]:
        """The URLs not met before, in order; all of them are remembered."""
        new = []
        for url in urls:
            key = digest64(url)
            if key not in self.seen:
                self.seen.add(key)
                new.append(url)
        return new

    def __len__(self) -> int:
        return len(self.seen)


class SosikSpider(scrapy.Spider):
    """Base class: arguments common to every spider and the article callback."""

    portal = ""

    @classmethod
    def cli_arguments(cls, args: Any) -> dict[str, Any]:
        """The spider's own keyword arguments out of `sosik crawl`'s flags (an argparse
        namespace); ValueError names a flag it needs. The paging and window flags every spider
        shares are the CLI's."""
        return {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._own_record = RunRecord()  # used only without a database owner (bare tests)
        self.links_seen = LinkMemory()  # list links met so far (a distributed crawl shares it)
        self.max_pages = int(kwargs.get("pages", 1) or 0)  # 0 = until the last page
        self.since: date | None = parse_date_arg(kwargs["since"]) if kwargs.get("since") else None
        self.until: date | None = parse_date_arg(kwargs["until"]) if kwargs.get("until") else None
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since {self.since} is after until {self.until}")
        self.sort = kwargs.get("sort", "recent")
        if self.sort not in ("recent", "relevance"):
            raise ValueError(f"sort must be recent or relevance, not {self.sort!r}")
        self.follow_articles = _bool(kwargs.get("articles", "1"))
        self.incremental = _bool(kwargs.get("incremental", "0"))

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SosikSpider:
        """Scrapy's factory; also keeps the spider arguments given (and SOSIK_JOB's job name) as
        `run_args` for the run record.
        """
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The run record's args: what was asked for, and the scheduled job it belongs to.
        spider.run_args = {k: v for k, v in kwargs.items() if v not in (None, "")}
        if crawler.settings.get("SOSIK_JOB"):
            spider.run_args["job"] = crawler.settings.get("SOSIK_JOB")
        return spider

    # -- pages -------------------------------------------------------------------------------
    def page_of(self, response: Response) -> Page:
        """The response as a Page: its bytes, the charset its Content-Type names (None if none) and
        the KST time of reading.
        """
        ctype = response.headers.get("Content-Type", b"").decode("latin-1")
        charset = None
        if "charset=" in ctype.lower():
            charset = ctype.lower().split("charset=", 1)[1].split(";")[0].strip()
        return Page(
            url=response.url, body=response.body, encoding=charset, fetched_at=datetime.now(KST)
        )

    def count(self, key: str, n: int = 1) -> None:
        """Adds `n` to the crawl stat `key`."""
        self.crawler.stats.inc_value(key, n)

    @property
    def run_record(self) -> RunRecord:
        """Where this crawl names its pages: the run context's record (every URL kept)."""
        from crawler.extensions.owner import run_context

        ctx = run_context(self.crawler) if getattr(self, "crawler", None) else None
        return ctx.record if ctx is not None else self._own_record

    def record_error(self, kind: str, url: str, reason: str) -> None:
        """Counts `<kind>/error`, logs it (a fetch error at INFO, a parse error at WARNING) and
        names the URL in the run record.
        """
        self.count(f"{kind}/error")
        # A fetch failure is a fact about the network or the site; the summary and the run
        # record name it, so the live log keeps it at INFO. A parse error is ours: WARNING.
        level = logging.INFO if kind == "fetch" else logging.WARNING
        self.logger.log(level, "%s error at %s: %s", kind, url, reason)
        self.run_record.add(kind, url, reason)

    def errback(self, failure: Any) -> None:
        """A failed request as a fetch error of its original URL: "HTTP <status>" when the site
        answered, else the failure's message.
        """
        request = failure.request
        url = request.meta.get("replay_original", request.url)
        reason = failure.getErrorMessage() or failure.type.__name__
        status = getattr(getattr(failure.value, "response", None), "status", None)
        if status is not None:
            reason = f"HTTP {status}"
        self.record_error("fetch", url, reason)

    # -- search pages ----------------------------------------------------------------------
    def search_page(self, response: Response) -> SearchPage | None:
        """Parse a search page; None (counted, logged) when it does not parse."""
        page = self.page_of(response)
        self.count("pages/search")
        try:
            result = parse_search(page)
        except ParseError as e:
            self.record_error("parse", response.url, e.reason)
            if len(response.body) > 2000:
                # A full page without the result list is a markup change: layout drift.
                self.count("drift/search_empty")
            return None
        if not result.hits and len(response.body) > 2000:
            # A non-empty page with no results is how a markup change first shows: counted for
            # the drift alarm and named in the run record.
            self.count("drift/search_empty")
            self.record_error("drift", response.url, "the page parsed to zero results")
        self.count("items/search_hits", len(result.hits))
        return result

    def page_is_known(self, hits: list[SearchHit]) -> bool:
        """incremental=1: True when every hit of a result page was met by earlier crawls.

        Results come newest first, so such a page means this search has caught up with what
        earlier crawls stored, and the spider stops paging. Ask before yielding the page's own
        hits. No database call here: the crawl's owner read this search's recent hits when the
        spider opened, off the reactor (RunContext.known_hits). Never True while the previous
        run of this crawl ended with losses (killed, failed, errors): then the crawl pages on
        and fetches what that run missed.
        """
        if not self.incremental or not hits:
            return False
        from crawler.extensions.owner import run_context

        ctx = run_context(self.crawler)
        if ctx is None or ctx.known_hits is None or not ctx.incremental_stop:
            return False
        known = ctx.known_hits
        if all(
            digest64(h.url) in known or (h.portal_url and digest64(h.portal_url) in known)
            for h in hits
        ):
            self.count("incremental/known_pages")
            return True
        return False

    def list_page(self, response: Response) -> tuple[ListPage, list[str]] | None:
        """Parse a list page: the page and its links not met before in this crawl (in order).

        None (counted, logged) when it does not parse. Links are remembered as 64-bit digests:
        a long section crawl meets hundreds of thousands.
        """
        self.count("pages/list")
        try:
            result = parse_list(self.page_of(response))
        except ParseError as e:
            self.record_error("parse", response.url, e.reason)
            return None
        if not result.links and len(response.body) > 2000:
            self.count("drift/list_empty")
            self.logger.warning("list page parsed to zero links: %s", response.url)
        return result, self.links_seen.add_new(result.links)

    def article_request(self, url: str, aliases: list[str] | None = None) -> scrapy.Request:
        """The request for an article, ahead of further list/search pages; `aliases` are other
        addresses of it to record.
        """
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.errback,
            # Articles before more result/list pages: the queue of pending requests stays one
            # page deep instead of growing with every page the crawl runs ahead.
            priority=ARTICLE_PRIORITY,
            cb_kwargs={"aliases": [a for a in aliases or [] if a]},
            meta={"sosik_article": True},  # a resumed crawl skips those already stored
        )

    # -- articles ----------------------------------------------------------------------------
    def parse_article(
        self, response: Response, aliases: list[str] | None = None
    ) -> Iterator[ArticleItem]:
        """The article item for a page, with the page's other addresses (as requested, redirected,
        aliases) in `urls`; a not-article or parse error is recorded and yields nothing.
        """
        page = self.page_of(response)
        self.count("pages/article")
        try:
            item = parse_article(page)
        except NotAnArticle as e:
            self.count("parse/not_article")
            self.logger.info("not an article (%s): %s", e.reason, response.url)
            self.run_record.add("not_article", response.url, e.reason)
            return
        except ParseError as e:
            self.record_error("parse", response.url, e.reason)
            return
        item.fetched_at = page.fetched_at
        extra = [response.url, response.request.url if response.request else None, *(aliases or [])]
        for u in extra:
            if not u or "/__replay__/" in u:
                continue
            # both forms: the canonical one for identity, the address as linked for hits
            for form in (canonical_url(u), u):
                if form != item.url and form not in item.urls:
                    item.urls.append(form)
        self.count(f"parser/{item.parser.split('/')[0]}")
        yield item


class SearchSpider(SosikSpider):
    """A keyword search: result pages in order, each hit stored and followed to its article.

    A portal's spider says how its result URLs look (`search_url`) and, where it differs, which
    hits it keeps, which link of a hit it follows, when paging must stop and what comes after a
    page. Paging stops at the last page (the page's own sign, else a short page), at `pages`,
    at the portal's `max_page`, and, with `incremental=1`, at a page whose hits are all stored.
    """

    page_size = 10
    max_page = 0  # the portal pages no further than this; 0: no known limit

    @classmethod
    def cli_arguments(cls, args: Any) -> dict[str, Any]:
        """The spider arguments from `sosik crawl`'s options; ValueError without --query."""
        if not args.query:
            raise ValueError(f"{cls.name} needs --query")
        return {"query": args.query, "sort": args.sort}

    def __init__(self, query: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not query:
            raise ValueError(f"{self.name} needs -a query=…")
        self.query = query

    def search_url(self, page: int, since: date | None, until: date | None) -> str:
        """The portal's result page URL for the query (dates in KST, None: no bound); each portal's
        spider defines it.
        """
        raise NotImplementedError

    async def start(self) -> Any:
        """The first result page of the query."""
        yield self.search_request(1, self.since, self.until)

    def search_request(
        self, page: int, since: date | None = None, until: date | None = None
    ) -> scrapy.Request:
        """The request for result page `page` within the dates."""
        return scrapy.Request(
            self.search_url(page, since, until),
            callback=self.parse_search,
            errback=self.errback,
            cb_kwargs={"page": page, "since": since, "until": until},
        )

    def keep(self, hit: SearchHit) -> bool:
        """Whether a hit belongs to this crawl (a portal without a date filter checks here)."""
        return True

    def follow_url(self, hit: SearchHit) -> str:
        """Which address of a hit to fetch its article from: the hit's own link here."""
        return hit.url

    def stop_paging(self, result: SearchPage) -> bool:
        """A portal's own reason to stop after this page."""
        return False

    def next_pages(
        self, page: int, since: date | None, until: date | None, result: SearchPage
    ) -> Iterator[scrapy.Request]:
        """The request(s) after result page `page` (a portal that pages otherwise overrides)."""
        yield self.search_request(page + 1, since, until)

    def parse_search(
        self, response: Response, page: int, since: date | None = None, until: date | None = None
    ) -> Iterator[Any]:
        """A result page's hits and the requests that follow from it (articles, next page); nothing
        when the page could not be read.
        """
        result = self.search_page(response)
        if result is None:
            return
        yield from self.search_results(result, page, since, until)

    def search_results(
        self, result: SearchPage, page: int, since: date | None, until: date | None
    ) -> Iterator[Any]:
        """One parsed result page's hits (and their articles), then what comes after it."""
        known = self.page_is_known(result.hits)  # before this page's hits are stored
        for hit in result.hits:
            if not self.keep(hit):
                continue
            hit.page, hit.query = page, self.query
            yield hit
            if self.follow_articles:
                yield self.article_request(self.follow_url(hit), [hit.url, hit.portal_url])
        more = (
            result.has_next if result.has_next is not None else len(result.hits) >= self.page_size
        )
        last = (self.max_pages and page >= self.max_pages) or (
            self.max_page and page >= self.max_page
        )
        if known or not more or last or self.stop_paging(result):
            return
        yield from self.next_pages(page, since, until, result)
