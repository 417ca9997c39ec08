"""A Seoul Shinmun section list through `sosik crawl list`, against the replay server.

No real seoul.co.kr page exists, so page 1 is our own fixture (CONFIDENCE.md); page 2 is
written at run time from page 1's own items (new ids, a pager that ends there), and every story
is our Seoul article fixture made distinct.
"""

from __future__ import annotations

import re

import pytest

from crawler.middlewares.replay import ReplayServer, ReplayStore
from tests.conftest import FIXTURES
from tests.e2e.replaykit import ReplayFolder, counts, crawl, last_run_stats

pytestmark = pytest.mark.e2e

LIST_URL = "https://www.seoul.co.kr/newsList/economy/"
SITE = "https://www.seoul.co.kr"


def story(title: str, i: int) -> bytes:
    text = (FIXTURES / "seoul" / "article.html").read_text("utf-8")
    text = text.replace("지하철 막차 30분 연장…심야 귀갓길 숨통", title)
    text = text.replace(
        "서울 지하철 2·5·7호선의 막차 시간이 오는 3월부터 30분 늦춰진다.",
        f"{title}: {i}번째 소식이다. 관계 기관은 {i + 2}곳에서 {i * 13 + 5}건을 접수했다고 밝혔다.",
    )
    return text.encode("utf-8")


def page_two(html: str) -> tuple[bytes, dict[str, str]]:
    """Page 2 from page 1's items under new ids (…5001xx -> …5002xx); its pager ends at 2."""
    ids = {aid: aid[:-3] + "2" + aid[-2:] for aid in re.findall(r"/(2026010550\d{4})\"", html)}
    for old, new in ids.items():
        html = html.replace(old, new)
    start, end = html.index('<div class="pagination">'), html.index("</main>")
    pager = '<div class="pagination"><a href="?page=1">1</a><strong class="on">2</strong></div>\n'
    return (html[:start] + pager + html[end:]).encode("utf-8"), ids


def test_seoul_section_list_two_pages_every_article_once_and_again(tmp_path, fresh_db):
    html = (FIXTURES / "seoul" / "list_economy_p1.html").read_text("utf-8")
    second, ids = page_two(html)
    items = re.findall(
        r'<div class="articleTitle"><a href="([^"]+)"><h2 class="h28">([^<]+)<', html
    )
    assert len(items) == 10
    folder = ReplayFolder(tmp_path / "r")
    folder.add(LIST_URL, html.encode("utf-8"))
    folder.add(LIST_URL + "?page=2", second)
    urls = []
    for i, (href, title) in enumerate(items):
        aid = href.rsplit("/", 1)[1]
        urls += [SITE + href, SITE + href.replace(aid, ids[aid])]
        folder.add(SITE + href, story(title, i))
        folder.add(SITE + href.replace(aid, ids[aid]), story(f"{title}, 이어진 소식", i + 10))
    with ReplayServer(ReplayStore.from_dir(folder.write())) as server:
        first = crawl(fresh_db, "list", "--url", LIST_URL, replay_url=server.url)
        assert first.code == 0, first.stderr[-3000:]
        assert server.requested("/newsList/") == [LIST_URL, LIST_URL + "?page=2"]
        assert sorted(server.requested("/news/economy/")) == sorted(urls)
        assert counts(fresh_db)["articles"] == 20
        assert last_run_stats(fresh_db)["store/inserted"] == 20
        again = crawl(fresh_db, "list", "--url", LIST_URL, replay_url=server.url)
        assert again.code == 0, again.stderr[-3000:]
        assert counts(fresh_db)["articles"] == 20
        assert last_run_stats(fresh_db)["dedupe/dropped_url"] == 20
