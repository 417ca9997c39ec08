"""Naver sections as served today, end to end: the real section page (2026-05), then two feed
blocks asked with the cursor each gives ("기사 더보기"), every article fetched once and stored
once; a day's archive through SECTION_ARTICLE_LIST_FOR_LATEST; the legacy list as a fallback.

The blocks are written at test time from the real page's own feed groups (naverkit), their
links moved to fresh ids; the articles are our own mnews fixture made into distinct stories.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import psycopg
import pytest

from crawler.middlewares.replay import ReplayServer, load_replay
from crawler.spiders.naver_section import day_url
from tests.e2e import naverkit as k
from tests.e2e.replaykit import ReplayFolder, counts, crawl, last_run_stats

pytestmark = pytest.mark.e2e

TEMPLATE = "https://news.naver.com/section/template/SECTION_ARTICLE_LIST"
BLOCK2 = f"{TEMPLATE}?sid=100&sid2=&cluid=&pageNo=2&date=&next=20260530010909"  # the page's
BLOCK3 = f"{TEMPLATE}?sid=100&sid2=&cluid=&pageNo=3&date=&next=20260529200000"  # block 2's


def feed_replay(tmp_path) -> tuple[ReplayFolder, list[str]]:
    """/section/100 (46 links, 45 distinct) → block 2 (12 new) → block 3 (6 new, 1 again)."""
    groups = k.section_groups()
    g1, links1 = k.relink(groups[0], 1)
    g2, links2 = k.relink(groups[1], 7)
    g3, links3 = k.relink(groups[2], 13)
    folder = ReplayFolder(tmp_path / "r")
    folder.add(k.SECTION_URL, k.section_page())
    # block 3 also repeats an article of block 2: it is fetched and stored once all the same
    folder.add(BLOCK2, k.feed_block("SECTION_ARTICLE_LIST", [g1, g2], "20260529200000", 2))
    folder.add(BLOCK3, k.feed_block("SECTION_ARTICLE_LIST", [g3, g2], None, 3))
    every = list(dict.fromkeys([*k.section_links(), *links1, *links2, *links3]))
    for i, url in enumerate(every):
        folder.add(url, k.story(url, i))
    return folder, every


def test_section_page_and_two_cursor_blocks_every_article_once(tmp_path, fresh_db):
    folder, every = feed_replay(tmp_path)
    assert len(every) == 45 + 18
    with ReplayServer(load_replay([folder.write()])) as server:
        result = crawl(fresh_db, "naver_section", "--section", "정치", replay_url=server.url)
        assert result.code == 0, result.stderr[-3000:]
        feed = [u for u in server.requested("news.naver.com/") if "/section/" in u]
        articles = Counter(u for u in server.requested("/mnews/article/"))
    # the section page, then the blocks at the cursors the page and block 2 carried
    assert feed == [k.SECTION_URL, BLOCK2, BLOCK3]
    assert set(articles) == set(every) and set(articles.values()) == {1}
    stats = last_run_stats(fresh_db)
    assert counts(fresh_db)["articles"] == len(every)
    assert stats["pages/list"] == 3 and stats["store/inserted"] == len(every)
    assert "naver_section/legacy_fallback" not in stats
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        stored = {r[0] for r in conn.execute("SELECT canonical_url FROM articles")}
    assert stored == set(every)


def test_a_day_through_the_latest_template_and_pages_limit(tmp_path, fresh_db):
    groups = k.section_groups()
    g1, links1 = k.relink(groups[0], 101)
    g2, links2 = k.relink(groups[1], 201)
    first = day_url(101, date(2026, 5, 29))
    nxt = (
        "https://news.naver.com/section/template/SECTION_ARTICLE_LIST_FOR_LATEST"
        "?sid=101&sid2=&cluid=&pageNo=2&date=20260529&next=20260529120000"
    )
    folder = ReplayFolder(tmp_path / "r")
    # the blocks' boxes name no section or date: those are kept from the block's own URL
    folder.add(first, k.feed_block("SECTION_ARTICLE_LIST_FOR_LATEST", [g1], "20260529120000", 1))
    folder.add(nxt, k.feed_block("SECTION_ARTICLE_LIST_FOR_LATEST", [g2], "20260529060000", 2))
    for i, url in enumerate([*links1, *links2]):
        folder.add(url, k.story(url, i))
    with ReplayServer(load_replay([folder.write()])) as server:
        result = crawl(
            fresh_db, "naver_section", "--section", "경제", "--date", "2026-05-29", "--pages", "2",
            replay_url=server.url,
        )  # fmt: skip
        assert result.code == 0, result.stderr[-3000:]
        feed = [u for u in server.requested("news.naver.com/") if "/section/" in u]
    assert feed == [first, nxt]  # --pages 2: block 2's cursor is not followed
    assert first.endswith("&date=20260529&next=")
    assert counts(fresh_db)["articles"] == 12


def test_legacy_list_when_the_section_feed_is_not_served(tmp_path, fresh_db):
    """The 2022 legacy list (real page) still crawls: the feed's 404 falls back to it."""
    from tests.e2e.replaykit import LIST_FILE, LIST_URL

    gold = k._gold(LIST_FILE)
    folder = ReplayFolder(tmp_path / "r")
    folder.add(LIST_URL, LIST_FILE)
    folder.add(LIST_URL + "&page=2", LIST_FILE)  # past the end: the last page again
    for i, url in enumerate(dict.fromkeys(gold["links"])):
        folder.add(url, k.story(url, i))
    with ReplayServer(load_replay([folder.write()])) as server:
        args = ("naver_section", "--section", "100", "--sub", "267", "--date", "2022-12-29")
        result = crawl(fresh_db, *args, replay_url=server.url)
        assert result.code == 0, result.stderr[-3000:]
        feed = server.requested("/section/template/")
        legacy = server.requested("main.naver")
    assert feed == [day_url(100, date(2022, 12, 29), "267")]
    assert legacy == [LIST_URL + "&date=20221229", LIST_URL + "&date=20221229&page=2"]
    assert last_run_stats(fresh_db)["naver_section/legacy_fallback"] == 1
    assert counts(fresh_db)["articles"] == len(set(gold["links"]))
