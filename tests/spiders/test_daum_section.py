"""daum_section: what it requests for each kind of section, and the day its paging keeps."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from crawler.spiders.daum_section import DaumSectionSpider, keep_day, section_url, sports_url

TODAY = date(2026, 1, 5)
DAY = date(2025, 12, 16)


@pytest.mark.parametrize(
    ("section", "day", "url"),
    [
        ("영화", None, "https://entertain.daum.net/news/movie"),
        ("연예", DAY, "https://entertain.daum.net/news?date=20251216"),
        ("사회", None, "https://news.daum.net/society"),
        ("경제", DAY, "https://news.daum.net/breakingnews/economic?regDate=20251216"),
        ("https://entertain.daum.net/news/drama", None, "https://entertain.daum.net/news/drama"),
        ("https://entertain.daum.net/news/drama", DAY,
         "https://entertain.daum.net/news/drama?date=20251216"),
        ("https://news.daum.net/breakingnews/society", DAY,
         "https://news.daum.net/breakingnews/society?regDate=20251216"),
    ],
)  # fmt: skip
def test_section_urls(section, day, url):
    assert section_url(section, day, TODAY) == url


def test_sports_list_api_url_as_the_site_script_writes_it():
    url = section_url("야구", None, TODAY)
    assert url == sports_url(1028, TODAY, 0)
    q = parse_qs(urlsplit(url).query)
    assert q["page"] == ["0"] and q["size"] == ["20"]
    assert q["createDt"] == ["20260105000000~20260105235959"]
    # discoveryTag[0] is JSON encoded twice: one decoding by the server leaves %7B…
    assert unquote(q["discoveryTag[0]"][0]) == (
        '{"group":"media","key":"defaultCategoryId3","value":"1028"}'
    )
    assert "createDt=20251216000000~20251216235959" in section_url("야구", DAY, TODAY)


def test_unknown_section_names_the_known_ones():
    with pytest.raises(ValueError, match="영화"):
        section_url("없는섹션", None, TODAY)


def test_paging_keeps_the_requested_day():
    start = "https://entertain.daum.net/news/movie?date=20251216"
    assert keep_day("https://entertain.daum.net/news/movie?page=2", start) == (
        "https://entertain.daum.net/news/movie?page=2&date=20251216"
    )
    kept = "https://entertain.daum.net/news/movie?date=20251216&page=3"
    assert keep_day(kept, start) == kept
    assert keep_day("https://x.daum.net/l?page=2", "https://x.daum.net/l") == (
        "https://x.daum.net/l?page=2"
    )


def test_a_window_is_one_list_per_day():
    spider = DaumSectionSpider(section="영화", since="2025-12-15", until="2025-12-16")
    assert spider.urls == [
        "https://entertain.daum.net/news/movie?date=20251215",
        "https://entertain.daum.net/news/movie?date=20251216",
    ]
    assert spider.max_pages == 0  # every page unless told
    with pytest.raises(ValueError, match="needs -a section"):
        DaumSectionSpider()
