from __future__ import annotations

from datetime import datetime

import pytest

from crawler.domain.dates import KST, parse_date_arg, parse_datetime

NOW = datetime(2026, 9, 3, 0, 25, tzinfo=KST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024.08.29. 오전 7:45", datetime(2024, 8, 29, 7, 45, tzinfo=KST)),
        ("2017.04.20. 오후 3:53", datetime(2017, 4, 20, 15, 53, tzinfo=KST)),
        ("2024.08.29. 오전 12:05", datetime(2024, 8, 29, 0, 5, tzinfo=KST)),
        ("2024.08.29. 오후 12:05", datetime(2024, 8, 29, 12, 5, tzinfo=KST)),
        ("기사입력 2017.05.12. 오후 02:09", datetime(2017, 5, 12, 14, 9, tzinfo=KST)),
        ("최종수정 2017.05.12. 오후 02:19", datetime(2017, 5, 12, 14, 19, tzinfo=KST)),
        ("입력 2024-08-29 07:45", datetime(2024, 8, 29, 7, 45, tzinfo=KST)),
        ("수정 : 2024-06-28 03:27", datetime(2024, 6, 28, 3, 27, tzinfo=KST)),
        ("2010. 01. 01. 09:21", datetime(2010, 1, 1, 9, 21, tzinfo=KST)),
        ("2025-06-04 02:37:08", datetime(2025, 6, 4, 2, 37, 8, tzinfo=KST)),
        ("2025-05-15T20:00:52.000+0900", datetime(2025, 5, 15, 20, 0, 52, tzinfo=KST)),
        ("2019-01-01T00:00:00Z", datetime(2019, 1, 1, 9, 0, tzinfo=KST)),
        ("2019-01-01T00:00:00-05:00", datetime(2019, 1, 1, 14, 0, tzinfo=KST)),
        ("20100101092104", datetime(2010, 1, 1, 9, 21, 4, tzinfo=KST)),
        ("2026.01.29 18:40", datetime(2026, 1, 29, 18, 40, tzinfo=KST)),
        ("2024년 8월 29일 오후 3시 5분", datetime(2024, 8, 29, 15, 5, tzinfo=KST)),
        ("2024.07.28.", datetime(2024, 7, 28, tzinfo=KST)),
        ("3시간 전", datetime(2026, 9, 2, 21, 25, tzinfo=KST)),
        ("23분 전", datetime(2026, 9, 3, 0, 2, tzinfo=KST)),
        ("5일 전", datetime(2026, 8, 29, 0, 25, tzinfo=KST)),
        ("1주 전", datetime(2026, 8, 27, 0, 25, tzinfo=KST)),
        ("어제", datetime(2026, 9, 2, 0, 25, tzinfo=KST)),
        ("12-01 23:26", datetime(2025, 12, 1, 23, 26, tzinfo=KST)),
        ("09-02 10:00", datetime(2026, 9, 2, 10, 0, tzinfo=KST)),
    ],
)
def test_korean_dates(text, expected):
    got = parse_datetime(text, NOW)
    assert got == expected
    assert got.utcoffset().total_seconds() == 9 * 3600


def test_relative_dates_need_a_crawl_time():
    assert parse_datetime("3시간 전") is None
    assert parse_datetime("네이버뉴스", NOW) is None
    assert parse_datetime("A19면 1단", NOW) is None
    assert parse_datetime("", NOW) is None


def test_date_arguments():
    assert parse_date_arg("2024-08-29") == parse_date_arg("20240829")
    with pytest.raises(ValueError):
        parse_date_arg("2024-8")
