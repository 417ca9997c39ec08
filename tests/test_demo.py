"""What `sosik demo` prints and decides, on plain values (the whole demo: tests/e2e/test_demo.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from crawler.commands.demo import (
    STEPS,
    crawl_command,
    ending,
    feed_table,
    network_check,
    what_to_see,
)
from crawler.domain.dates import KST
from crawler.middlewares.replay import Hit

SERVER = "http://127.0.0.1:5000"


@dataclass
class Run:
    stats: dict


@dataclass
class Row:
    id: int
    cluster_id: int
    publisher: str
    title: str
    canonical_url: str
    urls: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    first_seen_at: datetime = datetime(2025, 3, 14, 12, tzinfo=KST)


def cells(text: str) -> int:
    """Terminal columns, counted apart from the code under test: a syllable takes two."""
    return len(text) + len(re.findall("[가-힣]", text))


def hits(*answers: tuple[str, str]) -> list[Hit]:
    return [Hit(0.0, url, answer) for url, answer in answers]


PAGES = (
    ("https://n.news.naver.com/robots.txt", "404"),
    ("https://n.news.naver.com/mnews/article/970/0000000101", "200"),
    ("https://n.news.naver.com/mnews/article/970/0000000102", "200"),
)


def test_every_response_from_the_replay_server_is_no_network():
    ok, line = network_check([Run({"downloader/response_count": 3})], hits(*PAGES), SERVER)
    assert ok
    assert line.startswith("all 3 requests of the crawls (2 pages, 1 robots.txt")


def test_a_response_the_replay_server_did_not_send_came_from_elsewhere():
    ok, line = network_check([Run({"downloader/response_count": 4})], hits(*PAGES), SERVER)
    assert not ok
    assert "received 4 responses but the replay server" in line and "answered 3" in line


def test_a_page_missing_from_the_site_or_no_request_at_all_is_no_success():
    missing = hits(*PAGES, ("https://news.naver.com/section/101", "404"))
    ok, line = network_check([Run({"downloader/response_count": 4})], missing, SERVER)
    assert not ok and "answered 404 for https://news.naver.com/section/101" in line
    assert network_check([Run({})], [], SERVER) == (
        False,
        f"the replay server at {SERVER} answered no request",
    )


def test_copies_and_clusters_are_pointed_out_from_the_rows():
    wire = "https://n.news.naver.com/mnews/article/970/0000000101"
    copy = "https://n.news.naver.com/mnews/article/971/0000000201"
    rows = [
        Row(1, 1, "가람통신", "원문", wire, [wire, f"{wire}?sid=101", f"{copy}?sid=101", copy]),
        Row(2, 2, "새벽경제", "다른 기사", "https://n.news.naver.com/mnews/article/973/0000000401"),
        Row(
            4,
            1,
            "바다신문",
            "고쳐 쓴 기사",
            "https://n.news.naver.com/mnews/article/972/0000000301",
        ),
    ]
    notes = what_to_see(rows)
    assert len(notes) == 2
    assert notes[0].startswith(f"article 1 (가람통신) also holds {copy}:")
    assert (
        notes[1].startswith("articles 1, 4 share cluster 1:") and "(가람통신, 바다신문)" in notes[1]
    )
    assert what_to_see(rows[1:2]) == []


def test_the_feed_table_lines_up_korean_text_and_marks_new_rows():
    rows = [
        Row(
            1,
            1,
            "가람통신",
            "한빛시 전기버스",
            "u1",
            ["u1", "u2"],
            datetime(2025, 3, 14, 9, 12, tzinfo=KST),
        ),
        Row(12, 1, "AP", "short", "u3", ["u3"], None, datetime(2025, 3, 13, tzinfo=KST)),
    ]
    lines = feed_table(rows, new_since=datetime(2025, 3, 14, tzinfo=KST)).splitlines()
    words = ("published", "2025-03-14", "-")  # the column after the publishers
    columns = {cells(line[: line.index(w)]) for line, w in zip(lines, words, strict=True)}
    assert len(columns) == 1  # one column, whether the publisher before it is Hangul or not
    assert " new " in lines[1] and " new " not in lines[2]
    assert "2025-03-14 09:12" in lines[1] and lines[2].split()[3] == "-"


def test_the_ending_says_what_was_stored_and_that_a_second_run_stores_nothing():
    first = [
        Run({"store/inserted": 4}),
        Run({"store/inserted": 2, "dedupe/dropped_hash": 1, "dedupe/dropped_url": 1}),
    ]
    text = ending(first, 6)
    assert text.startswith("This run stored 6 new articles; a copy of a stored story")
    assert "1 article met again was not stored twice" in text
    assert text.endswith("the second run stores nothing new.")
    again = ending([Run({"dedupe/dropped_url": 4}), Run({"dedupe/dropped_url": 4})], 6)
    assert again.startswith("This run stored 0 new articles; 8 articles met again were not")
    assert "Nothing new: an earlier run stored these 6 articles" in again


def test_each_step_is_shown_as_the_command_an_operator_types():
    assert [crawl_command(s, "/site") for s in STEPS] == [
        "sosik crawl naver --query 전기버스 --replay /site",
        "sosik crawl naver_section --section 경제 --replay /site",
    ]
