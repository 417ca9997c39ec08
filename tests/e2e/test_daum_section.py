"""Daum lists end to end through `sosik crawl daum_section`, against the replay server.

The entertainment list is the real page of 2025-12-17; its page 2 is written at run time from
the page's own items (each story under a new id, a pager that ends there), and every story is
our own Daum article fixture made distinct. The sports list API is answered with JSON written
at run time from the same real items. A third crawl feeds every saved list, section and search
page of the corpus to the article path: none may be stored as an article.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from crawler.middlewares.replay import ReplayServer, ReplayStore
from tests.conftest import FIXTURES
from tests.corpus import corpus_pages
from tests.e2e.replaykit import ReplayFolder, corpus_file, counts, crawl, last_run_stats

pytestmark = pytest.mark.e2e

LIST_URL = "https://entertain.daum.net/news/movie"
LIST_FILE = "daum-list/daum_entertain_news_movie_20251217_pc.html"
FIXTURE_ID = "20260106161923456"


def _gold() -> dict:
    return json.loads(corpus_file(LIST_FILE.replace(".html", ".expected.json")).read_text())


def story(url: str, title: str, i: int) -> bytes:
    """Our Daum article fixture as the i-th distinct story, at `url`, headed `title`."""
    aid = url.rsplit("/", 1)[1]
    text = (FIXTURES / "daum" / "article_2026.html").read_text("utf-8")
    text = text.replace(FIXTURE_ID, aid).replace("Xy12AbCdEf", f"Alias{i:04d}")
    text = text.replace("idxno=1234", f"idxno={5000 + i}")  # its own original too
    text = text.replace("도심 공원 야간 개방 확대", title)
    text = text.replace(
        "시가 여름철 도심 공원 12곳의 개방 시간을 밤 10시까지 늘린다.",
        f"{title} 관련 {i}번째 소식이다. 관계자는 {i + 3}개 극장에서 {i * 7 + 11}명이 봤다고 밝혔다.",
    )
    return text.encode("utf-8")


def page_two(html: str, ids: dict[str, str]) -> bytes:
    """Page 2 of the list from page 1's own items: each story under a new id; the pager ends."""
    for old, new in ids.items():
        html = html.replace(old, new)
    start = html.index('<span class="inner_paging">')
    end = html.index("</span>", html.index('<a href="?page=10"')) + len("</span>")
    pager = (
        '<span class="inner_paging"><a href="?page=1" class="num_page" data-page="1">1</a>'
        '<em class="num_page"><span class="screen_out">현재 페이지</span>2</em></span>'
    )
    html = html[:start] + pager + html[end:]
    return html.replace('data-page="1" data-date=""', 'data-page="2"').encode("utf-8")


def test_entertainment_list_two_pages_every_article_once_and_again(tmp_path, fresh_db):
    gold = _gold()
    links, titles = gold["links"], [it["title"] for it in gold["_items"]]
    html = corpus_file(LIST_FILE).read_text("utf-8")
    ids = {u.rsplit("/", 1)[1]: u.rsplit("/", 1)[1].replace("20251217", "20251216") for u in links}
    second = [u.replace("20251217", "20251216") for u in links]
    folder = ReplayFolder(tmp_path / "r")
    folder.add(LIST_URL, LIST_FILE)
    folder.add(LIST_URL + "?page=2", page_two(html, ids))
    for i, (url, title) in enumerate(zip(links + second, titles + titles, strict=True)):
        folder.add(url, story(url, title if i < 15 else f"{title}, 그 뒷이야기", i))
    with ReplayServer(ReplayStore.from_dir(folder.write())) as server:
        first = crawl(fresh_db, "daum_section", "--section", "영화", replay_url=server.url)
        assert first.code == 0, first.stderr[-3000:]
        # page 1, then page 2 (the pager's "?page=2"), and no page 3: page 2's pager ends
        assert server.requested("/news/movie") == [LIST_URL, LIST_URL + "?page=2"]
        asked = server.requested("v.daum.net/v/")
        assert sorted(asked) == sorted(links + second)  # every article once
        stats = last_run_stats(fresh_db)
        assert stats["pages/list"] == 2 and stats["store/inserted"] == 30
        assert counts(fresh_db)["articles"] == 30
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            rows = conn.execute("SELECT canonical_url, portal, title FROM articles").fetchall()
        assert {r[0] for r in rows} == set(links + second)
        assert {r[1] for r in rows} == {"daum"}
        assert "최신 뉴스" not in {r[2] for r in rows}

        again = crawl(fresh_db, "daum_section", "--section", "영화", replay_url=server.url)
        assert again.code == 0, again.stderr[-3000:]
        assert counts(fresh_db)["articles"] == 30
        stats = last_run_stats(fresh_db)
        assert stats.get("store/inserted", 0) == 0 and stats["dedupe/dropped_url"] == 30


def _api_answer(urls: list[str], titles: list[str], has_next: bool) -> bytes:
    contents = [
        {"contentUrl": u, "title": t, "cp": {"cpName": "한빛일보"}, "searchId": u[-6:]}
        for u, t in zip(urls, titles, strict=True)
    ]
    return json.dumps(
        {
            "success": True,
            "result": {"contents": contents, "total": len(urls) * 2, "hasNext": has_next},
        },  # fmt: skip
        ensure_ascii=False,
    ).encode("utf-8")


def test_sports_list_api_pages_by_has_next(tmp_path, fresh_db):
    from datetime import date

    from crawler.spiders.daum_section import sports_url

    gold = _gold()
    links, titles = gold["links"][:10], [it["title"] for it in gold["_items"]][:10]
    day = date(2025, 12, 17)
    folder = ReplayFolder(tmp_path / "r")
    folder.add(sports_url(1028, day, 0), _api_answer(links[:5], titles[:5], True))
    folder.add(sports_url(1028, day, 1), _api_answer(links[5:], titles[5:], False))
    for i, (url, title) in enumerate(zip(links, titles, strict=True)):
        folder.add(url, story(url, title, i))
    with ReplayServer(ReplayStore.from_dir(folder.write())) as server:
        result = crawl(
            fresh_db, "daum_section", "--section", "야구", "--date", "2025-12-17",
            replay_url=server.url,
        )  # fmt: skip
        assert result.code == 0, result.stderr[-3000:]
        api = server.requested("media-api/harmony/contents.json")
        assert [u.split("page=")[1][:1] for u in api] == ["0", "1"]  # then hasNext false: stop
        assert all("createDt=20251217000000~20251217235959" in u for u in api)
        assert counts(fresh_db)["articles"] == 10


def test_no_list_or_search_page_of_the_corpus_is_stored_as_an_article(tmp_path, fresh_db):
    """The list's links lead to every saved list, section, home and search page of the corpus."""
    links = _gold()["links"]
    others = [cp for cp in corpus_pages() if cp.kind != "article"]
    assert len(others) >= 10
    folder = ReplayFolder(tmp_path / "r")
    folder.add(LIST_URL, LIST_FILE)
    folder.add(LIST_URL + "?page=2", LIST_FILE)  # repeats page 1: nothing new, paging ends
    for i, url in enumerate(links):
        folder.add(url, others[i % len(others)].path)
    result = crawl(fresh_db, "daum_section", "--section", LIST_URL, replay=folder.write())
    assert result.code == 0, result.stderr[-3000:]
    assert counts(fresh_db)["articles"] == 0
    stats = last_run_stats(fresh_db)
    assert stats["pages/article"] == 15 and stats["parse/not_article"] == 15
    assert "parse/error" not in stats
