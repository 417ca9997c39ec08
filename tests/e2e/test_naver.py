"""Naver keyword crawl end to end: real search page → saved article pages → PostgreSQL.

The corpus's saved search page links to articles that were not saved, so its result links are
rewritten (in a copy) to saved article pages: six results to Naver copies (two of them other
shapes of an article already listed), four to publisher pages read by their site parsers.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from crawler.parsers import Page, parse_article
from tests.e2e.replaykit import (
    ReplayFolder,
    corpus_file,
    counts,
    crawl,
    last_run_stats,
    rewrite_links,
)

pytestmark = pytest.mark.e2e

SEARCH_URL = "https://search.naver.com/search.naver?where=news&query=페이히어"
SEARCH_FILE = "naver-search/naver_search_news_payhere_2025.html"

# rank -> (portal copy the result now links to, saved file behind it)
NAVER_COPIES = {
    1: (
        "https://n.news.naver.com/mnews/article/018/0005316196?sid=100",
        "naver-article/naver_018_0005316196_2022.html",
    ),
    4: (
        "https://n.news.naver.com/mnews/article/607/0000001728",
        "naver-article/naver_607_0000001728_2023.html",
    ),
    6: (
        "https://n.news.naver.com/mnews/article/001/0009205077",
        "naver-article/naver_readnaver_001_0009205077_2022fetch.html",
    ),
    8: (
        "https://n.news.naver.com/mnews/article/477/0000073768",
        "naver-sports-article/naver_sports_477_0000073768_2022fetch.html",
    ),
    # the same articles as ranks 4 and 1 under other URL shapes: URL duplicates
    9: (
        "https://n.news.naver.com/article/607/0000001728",
        "naver-article/naver_607_0000001728_2023.html",
    ),
    10: (
        "https://n.news.naver.com/mnews/article/018/0005316196",
        "naver-article/naver_018_0005316196_2022.html",
    ),
}
# rank -> publisher page the result's title link now points to (no Naver copy shown)
ORIGINALS = {
    2: ("https://www.mk.co.kr/news/society/11328184", "mk-article/mk_society_11328184.html"),
    3: (
        "https://www.hankookilbo.com/News/Read/A2025051516330004328",
        "hankookilbo-article/hankookilbo_2025_05_15.html",
    ),
    5: (
        "https://news.chosun.com/site/data/html_dir/2020/08/27/2020082704301.html",
        "chosun-article/chosun_2020082704301_sports_2020.html",
    ),
    7: (
        "http://m.daejonilbo.com/mnews.asp?pk_no=1412361",
        "daejonilbo-article/daejonilbo_mobile_1412361_2020.html",
    ),
}


def original_of(url: str, rel: str) -> str:
    """The publisher original a saved Naver copy names (its 기사원문 link)."""
    item = parse_article(Page(url=url, body=corpus_file(rel).read_bytes()))
    return item.original_url or url


def build_replay(tmp_path):
    gold = json.loads(corpus_file(SEARCH_FILE.replace(".html", ".expected.json")).read_text())
    results = {r["rank"]: r for r in gold["results"]}
    mapping: dict[str, str] = {}
    folder = ReplayFolder(tmp_path / "replay")
    for rank, (copy_url, rel) in NAVER_COPIES.items():
        mapping[results[rank]["portal_url"]] = copy_url
        mapping[results[rank]["url"]] = original_of(copy_url, rel)
        folder.add(copy_url, rel)
    for rank, (url, rel) in ORIGINALS.items():
        assert results[rank]["portal_url"] is None
        mapping[results[rank]["url"]] = url
        folder.add(url, rel)
    body = rewrite_links(corpus_file(SEARCH_FILE).read_bytes(), mapping)
    # Relinked results no longer match the renderer's start-up data, which would (rightly) be
    # reported as drift: this page is read from its markup only.
    body = body.replace(b".bootstrap(", b".not_bootstrap(")
    folder.add(SEARCH_URL, body)
    return folder.write()


def test_search_to_articles_into_postgres_and_again(tmp_path, fresh_db):
    replay = build_replay(tmp_path)
    first = crawl(fresh_db, "naver", "--query", "페이히어", "--pages", "1", replay=replay)
    assert first.code == 0, first.stderr[-3000:]
    after_first = counts(fresh_db)
    # 10 results; 8 distinct articles (ranks 9 and 10 are other URL shapes of 4 and 1)
    # ranks 9 and 10 repeat the URLs of 4 and 1: a hit is unique by (portal, query, url)
    assert after_first["search_hits"] == 8
    assert after_first["articles"] == 8
    stats = last_run_stats(fresh_db)
    assert stats["store/inserted"] == 8
    assert stats["dedupe/dropped_url"] == 2
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        # every hit is linked to its stored article
        assert (
            conn.execute("SELECT count(*) FROM search_hits WHERE article_id IS NULL").fetchone()[0]
            == 0
        )
        # ranks 4 and 9 resolve to one article; both addresses are recorded for it
        row = conn.execute(
            "SELECT count(DISTINCT article_id) FROM article_urls WHERE url IN (%s, %s)",
            (NAVER_COPIES[4][0], NAVER_COPIES[9][0]),
        ).fetchone()
        assert row[0] == 1
        # a Naver copy and its publisher original are one article with both URLs
        a = conn.execute(
            "SELECT a.publisher, array_agg(u.url ORDER BY u.url) FROM articles a "
            "JOIN article_urls u ON u.article_id = a.id "
            "WHERE a.canonical_url = 'https://n.news.naver.com/mnews/article/018/0005316196' "
            "GROUP BY a.publisher"
        ).fetchone()
        assert a[0] == "이데일리"
        assert any("edaily.co.kr" in u for u in a[1])
        statuses = [r[0] for r in conn.execute("SELECT status FROM crawl_runs")]
    assert statuses == ["ok"]
    # per article: its canonical URL, the address it was fetched at when that differs, the
    # publisher original a Naver copy names, and the page's own declared URL (old read.naver
    # and sports pages): 3 + 3 + 3 + 3 for the four Naver copies, 1 each for the four others
    assert after_first["article_urls"] == 16

    second = crawl(fresh_db, "naver", "--query", "페이히어", "--pages", "1", replay=replay)
    assert second.code == 0, second.stderr[-3000:]
    after_second = counts(fresh_db)
    assert {k: v for k, v in after_second.items() if k != "crawl_runs"} == {
        k: v for k, v in after_first.items() if k != "crawl_runs"
    }
    assert after_second["crawl_runs"] == 2
    stats = last_run_stats(fresh_db)
    assert stats.get("store/inserted", 0) == 0
    assert stats["dedupe/dropped_url"] == 10
