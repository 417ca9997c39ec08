"""What the Naver spiders send: the loader's XHR headers, the date window on the loader URL, the
first address of a section crawl. (Paging itself is tested end to end in tests/e2e.)"""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

from crawler.spiders.naver import NaverSpider, search_url, start_of, with_window
from crawler.spiders.naver_section import NaverSectionSpider, day_url, section_url

LOADER = (
    "https://s.search.naver.com/p/newssearch/3/api/tab/more?cluster_rank=22&de=&ds=&field=0"
    "&nso=so%3Ar%2Cp%3Aall%2Ca%3Aall&pd=-1&query=%ED%8E%98&sort=0&ssc=tab.news.all&start=11"
)


def test_loader_requests_carry_the_search_page_as_referer_and_xhr_markers():
    spider = NaverSpider(query="페이히어", since="2024-08-01", until="2024-08-31")
    req = spider.block_request(LOADER, 2, spider.since, spider.until)
    assert req.url == LOADER
    assert req.headers["Referer"].decode() == search_url(
        "페이히어", 1, "recent", date(2024, 8, 1), date(2024, 8, 31)
    )
    assert req.headers["X-Requested-With"] == b"XMLHttpRequest"
    assert b"application/json" in req.headers["Accept"]
    assert not req.dont_filter  # only a retry of a null answer asks the same URL again
    assert spider.block_request(LOADER, 2, None, None, attempt=1).dont_filter


def test_the_window_is_set_on_the_loader_url_everything_else_kept():
    url = with_window(LOADER, "recent", date(2024, 8, 1), date(2024, 8, 31))
    got = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    assert got["pd"] == "3" and got["ds"] == "2024.08.01" and got["de"] == "2024.08.31"
    assert got["nso"] == "so:dd,p:from20240801to20240831,a:all"
    assert got["cluster_rank"] == "22" and got["ssc"] == "tab.news.all" and got["start"] == "11"
    assert urlsplit(url).path == urlsplit(LOADER).path
    assert with_window(LOADER, "recent", None, None) == LOADER
    assert start_of(url) == 11 and start_of("https://x/?q=1") is None


def test_section_crawl_starts_at_todays_page_or_the_days_feed():
    assert section_url(101) == "https://news.naver.com/section/101"
    assert section_url(101, "259") == "https://news.naver.com/breakingnews/section/101/259"
    assert day_url(101, date(2024, 8, 29)) == (
        "https://news.naver.com/section/template/SECTION_ARTICLE_LIST_FOR_LATEST"
        "?sid=101&sid2=&cluid=&pageNo=1&date=20240829&next="
    )
    spider = NaverSectionSpider(section="경제", layout="legacy")
    assert spider.sid1 == 101 and spider.layout == "legacy"
