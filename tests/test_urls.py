from __future__ import annotations

import pytest

from crawler.domain.urls import canonical_url

NAVER = "https://n.news.naver.com/mnews/article/001/0009205077"


@pytest.mark.parametrize(
    "url",
    [
        "https://n.news.naver.com/mnews/article/001/0009205077?sid=100",
        "https://n.news.naver.com/article/001/0009205077",
        "https://news.naver.com/main/read.naver?mode=LSD&mid=sec&oid=001&aid=0009205077&sid1=001",
        "https://news.naver.com/main/read.nhn?oid=001&aid=0009205077",
        "https://m.news.naver.com/read.nhn?oid=001&aid=0009205077&sid1=102",
        "https://sports.news.naver.com/news?oid=001&aid=0009205077",
        "https://m.sports.naver.com/article/001/0009205077",
        "https://m.entertain.naver.com/article/001/0009205077",
        "http://n.news.naver.com/mnews/article/001/0009205077#comment",
    ],
)
def test_every_naver_shape_is_one_key(url):
    assert canonical_url(url) == NAVER


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://v.daum.net/v/20180516162315753", "https://v.daum.net/v/20180516162315753"),
        (
            "https://news.v.daum.net/v/20180516162315753?f=o",
            "https://v.daum.net/v/20180516162315753",
        ),
        (
            "https://www3.seoul.co.kr/news/economy/2025/07/18/20250718500096?wlog_tag3=naver",
            "https://www.seoul.co.kr/news/economy/2025/07/18/20250718500096",
        ),
        (
            "https://m.seoul.co.kr/news/society/accident/2024/10/05/20241005500037?cp=go",
            "https://www.seoul.co.kr/news/society/accident/2024/10/05/20241005500037",
        ),
        (
            "https://biz.heraldcorp.com/article/10471898?ref=naver",
            "https://biz.heraldcorp.com/article/10471898",
        ),
        (
            "HTTPS://WWW.Example.COM:443/a?id=3&utm_source=x&fbclid=y#top",
            "https://www.example.com/a?id=3",
        ),
        (
            "http://m.daejonilbo.com/mnews.asp?pk_no=1412361",
            "http://m.daejonilbo.com/mnews.asp?pk_no=1412361",
        ),
    ],
)
def test_canonical(url, expected):
    assert canonical_url(url) == expected


def test_identity_parameters_survive():
    # An article id in the query is identity, not tracking.
    assert (
        canonical_url("https://www.mk.co.kr/view.php?no=123&sc=30000001")
        == "https://www.mk.co.kr/view.php?no=123&sc=30000001"
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://search.naver.com/search.naver?where=news&query=x", "search"),
        ("https://search.daum.net/search?w=news&q=x", "search"),
        ("https://search.seoul.co.kr/index.php?keyword=x", "search"),
        ("https://news.naver.com/main/main.naver?mode=LSD&mid=shm&sid1=100", "list"),
        ("https://news.naver.com/main/read.naver?oid=001&aid=0009205077", "article"),
        ("https://www.yna.co.kr/international/asia-australia", "list"),
        ("https://www.yna.co.kr/view/AKR20251201000100084", "article"),
        ("https://www.mk.co.kr/news/society/11328184", "article"),
        ("https://www.seoul.co.kr/newsList/society/", "list"),
    ],
)
def test_page_kind(url, kind):
    from crawler.domain.urls import page_kind

    assert page_kind(url) == kind
