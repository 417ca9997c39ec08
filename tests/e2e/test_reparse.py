"""The raw-page archive and `sosik reparse`: archive a replayed crawl, change what a parser
returns, re-parse, and the stored articles follow as new versions, with no request made."""

from __future__ import annotations

import socket

import psycopg
import pytest

import crawler.parsers.mk as mk_parser
from crawler.commands.reparse import reparse
from db.connection import connect
from tests.e2e.replaykit import SECTION_ARGS, counts, crawl, section_replay

pytestmark = pytest.mark.e2e

TARGETS = [
    ("https://www.mk.co.kr/news/society/11328184", "mk-article/mk_society_11328184.html"),
    ("https://www.mk.co.kr/news/sports/11328187", "mk-article/mk_sports_11328187.html"),
    (
        "https://n.news.naver.com/mnews/article/607/0000001728",
        "naver-article/naver_607_0000001728_2023.html",
    ),
]
FIX = "정정: 이 기사는 재분석으로 고쳐졌다."


def refuse_network(monkeypatch) -> None:
    """Any socket our Python code opens fails the test (libpq's own sockets are not Python's)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network use during reparse: {args[1:] or kwargs}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_archive_then_reparse_updates_articles_without_fetching(tmp_path, fresh_db, monkeypatch):

    replay = section_replay(tmp_path / "r", TARGETS)
    result = crawl(fresh_db, *SECTION_ARGS, replay=replay, env={"SOSIK_ARCHIVE": "1"})
    assert result.code == 0, result.stderr[-3000:]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        archived = {r[0] for r in conn.execute("SELECT url FROM pages")}
        before = dict(conn.execute("SELECT canonical_url, body FROM articles"))
    # the list page (twice: page 1 and 2) and the three articles; robots.txt is not kept
    assert {u for u, _ in TARGETS} <= archived
    assert not any(u.endswith("robots.txt") for u in archived)
    assert counts(fresh_db)["articles"] == 3

    # Unchanged parsers: re-parsing changes nothing.
    with connect(fresh_db) as conn:
        same = reparse(conn)
    assert same["unchanged"] == 3 and same["updated"] == 0 and same["skipped"] == 2

    # An mk parser that now reads one more paragraph: mk articles get a new version.
    original = mk_parser.parse_article

    def fixed(page):
        item = original(page)
        item.body = item.body + "\n\n" + FIX
        return item

    monkeypatch.setattr(mk_parser, "parse_article", fixed)
    refuse_network(monkeypatch)
    with connect(fresh_db) as conn:
        changed = reparse(conn, portal="mk")
    assert changed["updated"] == 2 and changed["pages"] == 2
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        rows = conn.execute("SELECT canonical_url, body, version FROM articles").fetchall()
        versions = conn.execute("SELECT count(*) FROM article_versions").fetchone()[0]
    for url, body, version in rows:
        if "mk.co.kr" in url:
            assert body.endswith(FIX) and version == 2
            assert body.startswith(before[url])
        else:
            assert body == before[url] and version == 1
    assert versions == 2
    assert counts(fresh_db)["articles"] == 3
