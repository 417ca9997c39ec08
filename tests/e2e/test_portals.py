"""Daum, Seoul Shinmun and Naver sections end to end, one story met on two portals and at its
publisher, and `crawl all` in one run record: real engine, replayed pages, real PostgreSQL."""

from __future__ import annotations

import html
import json
import re

import lxml.html
import psycopg
import pytest

from tests.conftest import FIXTURES
from tests.e2e.replaykit import (
    SECTION_ARGS,
    ReplayFolder,
    corpus_file,
    counts,
    crawl,
    last_run_stats,
    rewrite_links,
    section_replay,
)

pytestmark = pytest.mark.e2e

DAUM_SEARCH = (
    "https://search.daum.net/search?w=news&q=%EC%86%90%ED%9D%A5%EB%AF%BC&sort=recency&cluster=n"
)
DAUM_SEARCH_FILE = "daum-search/daum_search_news_sonheungmin_2026.html"
DAUM_ARTICLES = {
    "20100101092104056": "daum-article/daum_v_20100101092104056.html",
    "20180516162315753": "daum-article/daum_v_20180516162315753.html",
    "20180516222212362": "daum-article/daum_v_20180516222212362.html",
}


def daum_result_urls() -> list[str]:
    gold = json.loads(corpus_file(DAUM_SEARCH_FILE.replace(".html", ".expected.json")).read_text())
    return [r["url"] for r in gold["results"]]


def daum_replay(root, targets: list[str], pages: dict[str, bytes | str]) -> ReplayFolder:
    """The real Daum search page, its results relinked: result i -> targets[i % len]."""
    mapping = {u: targets[i % len(targets)] for i, u in enumerate(daum_result_urls())}
    folder = ReplayFolder(root)
    folder.add(DAUM_SEARCH, rewrite_links(corpus_file(DAUM_SEARCH_FILE).read_bytes(), mapping))
    for url, content in pages.items():
        folder.add(url, content)
    return folder


def test_daum_search_to_articles_and_again(tmp_path, fresh_db):
    ids = list(DAUM_ARTICLES)
    # results 1-3 lead to the three saved copies; 4-10 to the same copies on the older host
    targets = [f"http://v.daum.net/v/{i}" for i in ids] + [
        f"https://news.v.daum.net/v/{i}" for i in ids
    ]
    pages = {}
    for i, rel in DAUM_ARTICLES.items():
        pages[f"https://v.daum.net/v/{i}"] = rel
        pages[f"https://news.v.daum.net/v/{i}"] = rel
    replay = daum_replay(tmp_path / "r", targets, pages).write()
    first = crawl(fresh_db, "daum", "--query", "손흥민", replay=replay)
    assert first.code == 0, first.stderr[-3000:]
    c = counts(fresh_db)
    assert c["search_hits"] == 6  # six distinct result URLs among the ten results
    assert c["articles"] == 3
    stats = last_run_stats(fresh_db)
    assert stats["store/inserted"] == 3 and stats["dedupe/dropped_url"] == 3
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        canon = {r[0] for r in conn.execute("SELECT canonical_url FROM articles")}
        publishers = {r[0] for r in conn.execute("SELECT publisher FROM articles")}
        unlinked = conn.execute(
            "SELECT count(*) FROM search_hits WHERE article_id IS NULL"
        ).fetchone()[0]
    assert canon == {f"https://v.daum.net/v/{i}" for i in ids}
    assert "다음뉴스" not in publishers
    assert unlinked == 0
    second = crawl(fresh_db, "daum", "--query", "손흥민", replay=replay)
    assert second.code == 0
    again = counts(fresh_db)
    assert {k: again[k] for k in ("articles", "article_urls", "search_hits")} == {
        k: c[k] for k in ("articles", "article_urls", "search_hits")
    }


def seoul_variant(i: int, url: str) -> bytes:
    """Our own Seoul article fixture, made the i-th distinct story at `url`."""
    text = (FIXTURES / "seoul" / "article.html").read_text("utf-8")
    text = text.replace("지하철 막차 30분 연장…심야 귀갓길 숨통", f"시내 교통 대책 {i}호 발표")
    text = text.replace(
        "서울 지하철 2·5·7호선의 막차 시간이 오는 3월부터 30분 늦춰진다.",
        f"서울시가 {i}번째 교통 대책을 내놓았다. 대상 노선은 {i * 7}개다.",
    )
    return text.encode("utf-8")


def test_seoul_search_to_articles_and_again(tmp_path, fresh_db):
    search = (FIXTURES / "seoul" / "search_nvidia_p1.html").read_bytes()
    links = list(
        dict.fromkeys(
            html.unescape(h)
            for h in re.findall(
                r'href="(https?://[^"]*seoul\.co\.kr/news/[^"]+)"', search.decode("utf-8")
            )
        )
    )
    folder = ReplayFolder(tmp_path / "r")
    folder.add("https://search.seoul.co.kr/index.php?keyword=엔비디아", search)
    for i, url in enumerate(links):
        folder.add(url, seoul_variant(i, url))
    replay = folder.write()
    first = crawl(fresh_db, "seoul", "--query", "엔비디아", replay=replay)
    assert first.code == 0, first.stderr[-3000:]
    c = counts(fresh_db)
    assert c["search_hits"] == 20
    assert c["articles"] == 20
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert {r[0] for r in conn.execute("SELECT DISTINCT publisher FROM articles")} == {
            "서울신문"
        }
        assert (
            conn.execute(
                "SELECT count(*) FROM articles WHERE body LIKE '%%Copyright%%' "
                "OR body LIKE '%%AI 퀴즈%%'"
            ).fetchone()[0]
            == 0
        )
    second = crawl(fresh_db, "seoul", "--query", "엔비디아", replay=replay)
    assert second.code == 0
    again = counts(fresh_db)
    assert {k: again[k] for k in ("articles", "article_urls", "search_hits")} == {
        k: c[k] for k in ("articles", "article_urls", "search_hits")
    }


NAVER_SAVED = [
    (
        "https://n.news.naver.com/mnews/article/018/0005316196",
        "naver-article/naver_018_0005316196_2022.html",
    ),
    (
        "https://n.news.naver.com/mnews/article/607/0000001728",
        "naver-article/naver_607_0000001728_2023.html",
    ),
    (
        "https://news.naver.com/main/read.naver?mode=LSD&mid=sec&oid=001&aid=0009205077&sid1=001",
        "naver-article/naver_readnaver_001_0009205077_2022fetch.html",
    ),
    (
        "https://sports.news.naver.com/news?oid=477&aid=0000073768",
        "naver-sports-article/naver_sports_477_0000073768_2022fetch.html",
    ),
]


def test_naver_section_list_to_articles_and_again(tmp_path, fresh_db):
    replay = section_replay(tmp_path / "r", NAVER_SAVED)
    first = crawl(fresh_db, *SECTION_ARGS, replay=replay)
    assert first.code == 0, first.stderr[-3000:]
    c = counts(fresh_db)
    assert c["articles"] == 4
    assert c["search_hits"] == 0
    stats = last_run_stats(fresh_db)
    assert stats["pages/list"] == 2  # page 2 repeated page 1: paging stopped there
    second = crawl(fresh_db, *SECTION_ARGS, replay=replay)
    assert second.code == 0
    again = counts(fresh_db)
    assert {k: again[k] for k in ("articles", "article_urls")} == {
        k: c[k] for k in ("articles", "article_urls")
    }


def _naver_story() -> tuple[str, str, list[str]]:
    gold = json.loads(
        corpus_file("naver-article/naver_018_0005316196_2022.expected.json").read_text()
    )
    return gold["title"], gold["publisher"], gold["body"].split("\n\n")


def daum_copy_of_naver_story() -> bytes:
    """A saved Daum page carrying the Naver story's text (a Daum copy of the same story)."""
    title, _, paras = _naver_story()
    tree = lxml.html.fromstring(corpus_file(DAUM_ARTICLES["20180516162315753"]).read_bytes())
    tree.cssselect("h3.tit_view")[0].text = title
    section = tree.cssselect(".article_view section")[0]
    for child in list(section):
        section.remove(child)
    for p in paras:
        el = lxml.html.Element("p", {"dmcf-ptype": "general"})
        el.text = p
        section.append(el)
    return lxml.html.tostring(tree, encoding="utf-8", doctype="<!DOCTYPE html>")


def publisher_original(url: str) -> bytes:
    """A minimal publisher page at the original URL with the same story (our own markup)."""
    title, publisher, paras = _naver_story()
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
    return (
        f'<html><head><meta charset="utf-8"><meta property="og:url" content="{url}">'
        f'<meta property="og:site_name" content="{publisher}">'
        f'<meta property="article:published_time" content="2022-09-14T16:04:03+09:00">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f'<div itemprop="articleBody">{body}</div></body></html>'
    ).encode()


def test_one_story_on_naver_daum_and_its_publisher_is_one_article(tmp_path, fresh_db):
    naver_url, naver_rel = NAVER_SAVED[0]
    original = "http://www.edaily.co.kr/news/newspath.asp?newsid=02952006632460120"
    daum_url = "https://v.daum.net/v/20220914160403001"
    # Naver's section list leads to the Naver copy and to the publisher's own page
    replay = section_replay(
        tmp_path / "naver", [(naver_url, naver_rel), (original, publisher_original(original))]
    )
    assert crawl(fresh_db, *SECTION_ARGS, replay=replay).code == 0
    # Daum's search leads to Daum's copy of the same text
    replay = daum_replay(
        tmp_path / "daum", [daum_url], {daum_url: daum_copy_of_naver_story()}
    ).write()
    result = crawl(fresh_db, "daum", "--query", "손흥민", replay=replay)
    assert result.code == 0, result.stderr[-3000:]
    assert last_run_stats(fresh_db)["dedupe/dropped_hash"] == 1
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
        urls = {r[0] for r in conn.execute("SELECT url FROM article_urls")}
        hit_article = conn.execute("SELECT DISTINCT article_id FROM search_hits").fetchall()
    assert {naver_url, original, daum_url} <= urls
    assert len(hit_article) == 1 and hit_article[0][0] is not None


def test_crawl_all_runs_every_search_portal_in_one_run_record(tmp_path, fresh_db):
    folder = ReplayFolder(tmp_path / "r")
    q = "엔비디아"
    folder.add(
        f"https://search.naver.com/search.naver?where=news&query={q}",
        "naver-search/naver_search_news_payhere_2025.html",
    )
    folder.add(
        f"https://search.daum.net/search?w=news&q={q}&sort=recency&cluster=n", DAUM_SEARCH_FILE
    )
    folder.add(
        f"https://search.seoul.co.kr/index.php?keyword={q}",
        FIXTURES / "seoul" / "search_nvidia_p1.html",
    )
    result = crawl(fresh_db, "all", "--query", q, "--no-articles", replay=folder.write())
    assert result.code == 0, result.stderr[-3000:]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        runs = conn.execute("SELECT spider, status, stats FROM crawl_runs").fetchall()
        per_portal = dict(
            conn.execute(
                "SELECT portal, count(*) FROM search_hits WHERE query = %s GROUP BY portal", (q,)
            )
        )
    assert len(runs) == 1 and runs[0][0] == "all" and runs[0][1] == "ok"
    assert per_portal == {"naver": 10, "daum": 10, "seoul": 20}
    assert runs[0][2]["items/search_hits"] == 40
