"""Daum lists by section: every article of a Daum news, entertainment or sports list, all pages.

    sosik crawl daum_section --section 영화 [--date 2025-12-16] [--pages 3]
    sosik crawl daum_section --section 사회 --since 2025-12-15 --until 2025-12-16
    sosik crawl daum_section --section https://entertain.daum.net/news/drama
    scrapy crawl daum_section -a section=야구 -a date=2025-12-16

What is requested for each kind of section (docs/sources.md says on what evidence):

* entertainment (연예, 스타, 드라마, 예능, 뮤직, 영화, 해외): `entertain.daum.net/news[/<tab>]`,
  a day as `?date=YYYYMMDD`, further pages as the page's own pager links them (`?page=N`);
* news (정치, 경제, 사회, 국제, 문화, IT, 기후): today's section page `news.daum.net/<slug>`
  (then whatever pager it has); a day, from the older `news.daum.net/breakingnews/<slug>`
  list, `?regDate=YYYYMMDD&page=N`;
* sports (축구, 해외축구, 야구, 해외야구, 농구, 배구, 골프, 스포츠일반, e스포츠): the JSON list
  API behind sports.daum.net's news lists, one day per request window (`createDt`), `page=0…`
  while its answer says `hasNext`;
* any Daum list URL as given.

Paging stops at the last page (no next page), at `pages`, or at a page that brings no link the
crawl has not met (a list past its end repeating itself). A next-page link that drops the day
the crawl asked for gets it back, so a day's archive never drifts into today's list.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import scrapy
from scrapy.http import Response

from crawler.domain.dates import KST, parse_date_arg
from crawler.domain.urls import with_params
from crawler.spiders.lists import ListSpider

ENTERTAIN_URL = "https://entertain.daum.net/news"
ENTERTAIN_TABS = {"연예": "", "스타": "star", "드라마": "drama", "예능": "variety", "뮤직": "music",
                  "음악": "music", "영화": "movie", "해외": "abroad", "해외연예": "abroad"}  # fmt: skip
NEWS_URL = "https://news.daum.net"
# name -> (slug of today's section page, slug of the dated breakingnews list)
NEWS_SECTIONS = {"정치": ("politics", "politics"), "경제": ("economy", "economic"),
                 "사회": ("society", "society"), "국제": ("world", "foreign"),
                 "세계": ("world", "foreign"), "문화": ("culture", "culture"),
                 "IT": ("digital", "digital"), "it": ("digital", "digital"),
                 "기후": ("climate", "climate")}  # fmt: skip
SPORTS_API = "https://sports.daum.net/media-api/harmony/contents.json"
SPORTS_CATEGORIES = {"축구": 1027, "해외축구": 100032, "야구": 1028, "해외야구": 1015,
                     "농구": 1029, "배구": 100033, "골프": 5000, "스포츠일반": 1031,
                     "일반": 1031, "e스포츠": 1079, "이스포츠": 1079}  # fmt: skip
SPORTS_PAGE_SIZE = 20
DAY_PARAMS = ("date", "regDate", "createDt")


def sports_url(category: int, day: date, page: int = 0) -> str:
    """The list API's address for one category and day, written as the site's script writes it.

    The script sends `discoveryTag[0]` as a JSON object URL-encoded twice (%257B…), which is
    kept here (crawlers that encoded it once also report answers; not verified which one the
    server needs).
    """
    tag = json.dumps(
        {"group": "media", "key": "defaultCategoryId3", "value": str(category)},
        separators=(",", ":"),
    )
    return (
        f"{SPORTS_API}?page={page}&consumerType=HARMONY&status=SERVICE"
        f"&createDt={day:%Y%m%d}000000~{day:%Y%m%d}235959"
        f"&discoveryTag%5B0%5D={quote(quote(tag, safe=''), safe='')}&size={SPORTS_PAGE_SIZE}"
    )


def section_url(section: str, day: date | None, today: date) -> str:
    """The first list page of a section name or URL, for one day (None: the latest list)."""
    s = section.strip()
    if s.startswith(("http://", "https://")):
        if day is None:
            return s
        host = urlsplit(s).hostname or ""
        key = "regDate" if "/breakingnews" in s else "date"
        if host.startswith("sports.") and "createDt" in s:
            return with_params(s, createDt=f"{day:%Y%m%d}000000~{day:%Y%m%d}235959", page=0)
        return with_params(s, **{key: f"{day:%Y%m%d}"})
    if s in ENTERTAIN_TABS:
        tab = ENTERTAIN_TABS[s]
        url = f"{ENTERTAIN_URL}/{tab}" if tab else ENTERTAIN_URL
        return with_params(url, date=f"{day:%Y%m%d}") if day else url
    if s in NEWS_SECTIONS:
        today_slug, archive_slug = NEWS_SECTIONS[s]
        if day is None:
            return f"{NEWS_URL}/{today_slug}"
        return f"{NEWS_URL}/breakingnews/{archive_slug}?regDate={day:%Y%m%d}"
    if s in SPORTS_CATEGORIES:
        return sports_url(SPORTS_CATEGORIES[s], day or today)
    known = [*ENTERTAIN_TABS, *NEWS_SECTIONS, *SPORTS_CATEGORIES]
    raise ValueError(f"unknown Daum section {section!r}; give a list URL or one of {known}")


def keep_day(next_url: str, start_url: str) -> str:
    """`next_url` with the day of `start_url` put back if the pager link dropped it."""
    start = parse_qs(urlsplit(start_url).query)
    nxt = parse_qs(urlsplit(next_url).query)
    missing = {k: start[k][0] for k in DAY_PARAMS if k in start and k not in nxt}
    return with_params(next_url, **missing) if missing else next_url


class DaumSectionSpider(ListSpider):
    """A Daum news, entertainment or sports list (see the module), one list URL per day asked for."""

    name = "daum_section"
    portal = "daum"

    @classmethod
    def cli_arguments(cls, args: Any) -> dict[str, Any]:
        """The spider arguments from `sosik crawl`'s options; ValueError for a missing or unknown
        --section.
        """
        if not args.section:
            raise ValueError(
                "daum_section needs --section (a Daum list URL, or 영화, 사회, 야구, …)"
            )
        try:
            section_url(args.section, None, date.today())
        except ValueError as e:  # an unknown section: a usage error, in one line
            raise ValueError(f"--section: {e}") from None
        out: dict[str, Any] = {"section": args.section}
        if args.date:
            out["date"] = args.date.isoformat()
        return out

    def __init__(self, section: str | None = None, *args: Any, **kwargs: Any) -> None:
        if not section:
            raise ValueError(
                "daum_section needs -a section=… (a Daum list URL, or 영화, 사회, 야구, …)"
            )
        one = parse_date_arg(kwargs["date"]) if kwargs.get("date") else None
        since = parse_date_arg(kwargs["since"]) if kwargs.get("since") else None
        until = parse_date_arg(kwargs["until"]) if kwargs.get("until") else None
        days: list[date | None]
        if one:
            days = [one]
        elif since or until:
            start, end = since or until, until or since
            assert start and end
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        else:
            days = [None]  # the latest list
        today = datetime.now(KST).date()
        urls = [section_url(section, day, today) for day in days]
        super().__init__(",".join(urls), *args, **kwargs)
        self.section = section

    def list_request(self, url: str, page: int) -> scrapy.Request:
        """A list request; the sports JSON API gets the Referer and Accept headers the site's own
        script sends.
        """
        request = super().list_request(url, page)
        if urlsplit(url).path.endswith(".json"):
            # what the site's own script sends with its XHR
            request.headers["Referer"] = "https://sports.daum.net/"
            request.headers["Accept"] = "application/json, text/plain, */*"
        return request

    def next_list_request(self, response: Response, next_url: str, page: int) -> scrapy.Request:
        """The next page, kept on the day of the page it follows (a pager link can drop the date)."""
        return self.list_request(keep_day(next_url, response.url), page)
