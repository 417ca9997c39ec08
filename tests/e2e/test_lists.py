"""A Yonhap section list as a source, end to end: the real list page, its 25 article links
served by our own article fixture made into 25 distinct stories, paging until nothing is new."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.conftest import FIXTURES
from tests.e2e.replaykit import ReplayFolder, corpus_file, counts, crawl, last_run_stats

pytestmark = pytest.mark.e2e

LIST_URL = "https://www.yna.co.kr/international/asia-australia"
LIST_FILE = "yna-list/yna_list_international_asia-australia_2025.html"
FIXTURE_ID = "AKR20260106123400003"


def story(i: int, url: str) -> bytes:
    """The Yonhap fixture as the i-th distinct story, declared at `url`."""
    aid = urlsplit(url).path.rsplit("/", 1)[1]
    text = (FIXTURES / "yna" / "article.html").read_text("utf-8")
    text = text.replace(FIXTURE_ID, aid)
    text = text.replace("항만 물동량 석 달째 늘어", f"수출 지표 {i}건 발표")
    text = text.replace(
        "전국 항만의 컨테이너 물동량이 석 달 연속 늘어",
        f"{i}번째 지표에서 전국 항만의 물동량이 {i + 2}개월 연속 늘어",
    )
    return text.encode("utf-8")


def test_yonhap_list_to_articles_and_again(tmp_path, fresh_db):
    links = json.loads(corpus_file(LIST_FILE.replace(".html", ".expected.json")).read_text())[
        "links"
    ]
    folder = ReplayFolder(tmp_path / "r")
    folder.add(LIST_URL, LIST_FILE)
    folder.add(LIST_URL + "/2", LIST_FILE)  # a page past the end repeats the last one
    for i, url in enumerate(links):
        folder.add(url, story(i, url))
    replay = folder.write()
    first = crawl(fresh_db, "list", "--url", LIST_URL, replay=replay)
    assert first.code == 0, first.stderr[-3000:]
    assert counts(fresh_db)["articles"] == 25
    stats = last_run_stats(fresh_db)
    assert stats["pages/list"] == 2 and stats["store/inserted"] == 25
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert {r[0] for r in conn.execute("SELECT DISTINCT portal FROM articles")} == {"yna"}
        assert {r[0] for r in conn.execute("SELECT DISTINCT publisher FROM articles")} == {
            "연합뉴스"
        }
        assert (
            conn.execute(
                "SELECT count(*) FROM articles WHERE body LIKE '%%저작권자%%' "
                "OR body LIKE '%%AI 요약%%'"
            ).fetchone()[0]
            == 0
        )
    second = crawl(fresh_db, "list", "--url", LIST_URL, replay=replay)
    assert second.code == 0
    assert (
        counts(fresh_db)["articles"] == 25 and last_run_stats(fresh_db)["dedupe/dropped_url"] == 25
    )
