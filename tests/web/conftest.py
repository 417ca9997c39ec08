"""A database of news for the reading tests, stored by real crawls of the demo site.

Three crawls through the real Scrapy engine against `sosik demo`'s hand-written site, replayed
on loopback, each as a scheduled job would run it (`-s SOSIK_JOB=…`): a Naver search, a section
list (the wire story under a second headline: a cluster), and a search whose result page the
site does not have (a failed run naming its URL). Then one stored article gets a second text
at its address through the store (`db.articles.store_article`): a version to compare.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from crawler.commands.demo import QUERY, SECTION, SITE
from db.connection import connect, with_dbname
from tests.dbfixtures import drop_database, new_database
from tests.ops.opskit import sosik

EDITED = "https://n.news.naver.com/mnews/article/973/0000000401"  # found by search and section
MISSING_QUERY = "없는검색어"
ADDED_SENTENCE = "이 문장은 기사가 고쳐지면서 새로 들어갔다."


@dataclass(frozen=True)
class NewsDb:
    url: str  # the owner's connection string
    edited_id: int  # the article with two versions
    wire_cluster: int  # a cluster of more than one article


def crawl(db_url: str, replay: str, job: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`sosik crawl ARGS` against the replay server, as scheduled job `job` runs it."""
    return sosik(db_url, "crawl", *args, "-s", f"REPLAY_URL={replay}", "-s", f"SOSIK_JOB={job}")


def edit_article(db_url: str, url: str) -> int:
    """Store a second text at `url` the way a crawl would: a new version of its article."""
    from crawler.items import ArticleItem
    from db.articles import store_article
    from pipelines.dedupe import with_keys

    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT a.id, portal, publisher, title, subtitle, body, authors, section, "
            "published_at, parser FROM articles a JOIN article_urls u ON u.article_id = a.id "
            "WHERE u.url = %s",
            [url],
        ).fetchone()
        assert row, f"the crawl did not store {url}"
        aid, portal, publisher, title, subtitle, body, authors, section, published, parser = row
        paragraphs = body.split("\n")
        paragraphs.insert(1, ADDED_SENTENCE)
        item = ArticleItem(
            url=url,
            portal=portal,
            publisher=publisher,
            title=title,
            subtitle=subtitle,
            body="\n".join(paragraphs),
            authors=list(authors),
            section=section,
            published_at=published,
            parser=parser,
        )
        result = store_article(conn, with_keys(item))
        assert result.outcome == "updated", result
        return aid


@pytest.fixture(scope="session")
def news_db(pg_server_url: str, db_template: str | None) -> Iterator[NewsDb]:
    from crawler.replay import ReplayServer, load_replay

    name = new_database(pg_server_url, "sosik_web", template=db_template) if db_template else None
    if name is None:
        pytest.skip("the test server's role cannot create databases; the web tests need one")
    url = with_dbname(pg_server_url, name)
    with ReplayServer(load_replay([SITE])) as server:
        done = [
            crawl(url, server.url, "ev-search", "naver", "--query", QUERY),
            crawl(url, server.url, "economy", "naver_section", "--section", SECTION),
        ]
        for c in done:
            assert c.returncode == 0, c.stderr
        broken = crawl(url, server.url, "broken", "naver", "--query", MISSING_QUERY)
        assert broken.returncode != 0
    edited = edit_article(url, EDITED)
    with psycopg.connect(url, autocommit=True) as conn:
        (cluster,) = conn.execute(
            "SELECT cluster_id FROM articles GROUP BY cluster_id HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
    yield NewsDb(url, edited, cluster)
    drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def reader_url(news_db: NewsDb) -> Iterator[str]:
    """A service's login in sosik_reader (README: CREATE ROLE … LOGIN IN ROLE sosik_reader)."""
    import uuid

    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    role = f"sosik_web_{uuid.uuid4().hex[:8]}"
    with connect(news_db.url) as c:
        try:
            c.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE sosik_reader").format(sql.Identifier(role))
            )
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("no right to create roles on the test server")
    yield make_conninfo(news_db.url, user=role)
    with connect(news_db.url) as c:
        c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


class Served:
    """`create_app` under a real uvicorn on 127.0.0.1, in a thread of the test process."""

    def __init__(self, url: str, **options: object) -> None:
        import threading

        import uvicorn

        from crawler.web.app import create_app

        config = uvicorn.Config(
            create_app(url, **options), host="127.0.0.1", port=0, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
            time.sleep(0.02)  # waiting for startup, not timing anything
        (sock,) = [s for srv in self.server.servers for s in srv.sockets]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="session")
def api(reader_url: str) -> Iterator[str]:
    """The base URL of `sosik serve`'s application logged in as a reader login."""
    with Served(reader_url) as base:
        yield base
