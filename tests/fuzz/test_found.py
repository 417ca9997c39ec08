"""What the fuzz found, kept as regressions: the crashes of `make fuzz` (seed 20261130, 10,000
cases), each reduced to the input that raised, and checked at its root."""

from __future__ import annotations

import pytest

from crawler.domain.dates import KST, parse_datetime
from crawler.domain.urls import canonical_url, is_url
from crawler.parsers import Page, ParseError
from tests.conftest import FIXTURES
from tests.corpus import extract_article


@pytest.mark.parametrize(
    "text",
    [
        "승인 ᪃꤈𑛁߃𞥐년0월00:001",  # month 0 in other scripts' digits (\d matches them)
        "입력৬߀৬၄႖년੨-0৬၄႖:0੨",  # hour 61
        "2024.13.01",
        "2024-02-30 10:00",
        "2024.01.01 오후 25:00",
        "99999999년 전",
        "20241399123456",
    ],
)
def test_a_date_shaped_string_out_of_range_holds_no_date(text):
    from datetime import datetime

    assert parse_datetime(text, now=datetime(2026, 1, 1, tzinfo=KST)) is None


def test_a_url_with_a_broken_port_is_not_an_address_and_canonicalises_to_itself():
    assert not is_url("https://m.sports.naver.com:02<meta")
    assert canonical_url(" https://x.kr:02< ") == "https://x.kr:02<"
    assert canonical_url("http://[::1") == "http://[::1"  # a broken IPv6 host
    assert is_url("https://www.mk.co.kr/news/1") and not is_url("/news/1")


def test_a_page_declaring_a_broken_og_url_keeps_its_own_address():
    # fixtures/naver/mobile_sports.html with bytes 193-397 spliced out: the og:url runs into
    # the next tag ("…naver.com:02<…" reads as host and port)
    body = (FIXTURES / "naver" / "mobile_sports.html").read_bytes()
    cut = body[:193] + body[397:]
    for url in (
        "https://n.news.naver.com/mnews/article/001/0014000001?sid=101",
        "https://www.chosun.com/economy/2025/01/01/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
    ):
        try:
            item = extract_article(Page(url=url, body=cut))
        except ParseError:
            continue
        assert is_url(item.url)
