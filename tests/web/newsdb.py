"""A database of news to read, stored by real crawls of the demo site; and the app served.

Three crawls through the real Scrapy engine against `sosik demo`'s hand-written site, replayed
on loopback, each as a scheduled job runs it (`-s SOSIK_JOB=…`): a Naver search, a section list
(the wire story under a second headline: a cluster), and a search whose result page the site
does not have (a run ending `errors` that names the URL). Then one stored article gets a
second text at its address through the store (`db.articles.store_article`, what a re-crawl
calls): a version to compare. Every article is then indexed for search. Used by tests/web and bench/screenshots.py.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

from crawler.commands.demo import QUERY, SECTION, SITE
from db.connection import connect
from tests.ops.opskit import sosik

EDITED = "https://n.news.naver.com/mnews/article/973/0000000401"  # found by search and section
MISSING_QUERY = "없는검색어"
ADDED_SENTENCE = "이 문장은 기사가 고쳐지면서 새로 들어갔다."
JOBS = {"ev-search": "ok", "economy": "ok", "broken": "errors"}


def schedule() -> Any:
    """The schedule the three crawls of `fill` would run from (for the health page)."""
    from crawler.scheduler.jobs import parse_schedule

    return parse_schedule(
        {"job": [
            {"name": "ev-search", "portal": "naver", "query": QUERY, "every": "15m"},
            {"name": "economy", "portal": "naver_section", "section": SECTION, "cron": "0 * * * *"},
            {"name": "broken", "portal": "naver", "query": MISSING_QUERY, "every": "1h"},
        ]}
    )  # fmt: skip


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
    from crawler.domain.items import ArticleItem
    from crawler.domain.keys import with_keys
    from db.articles import store_article

    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT a.id, portal, publisher, title, subtitle, body, authors, section, "
            "published_at, parser FROM articles a JOIN article_urls u ON u.article_id = a.id "
            "WHERE u.url = %s",
            [url],
        ).fetchone()
        if row is None:
            raise AssertionError(f"the crawl did not store {url}")
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
        if result.outcome != "updated":
            raise AssertionError(f"the second text was not a new version: {result}")
        return aid


def index(db_url: str) -> int:
    """Index every stored article for search (what `sosik db reindex` does); how many."""
    from crawler.extensions.indexer import Indexer

    with connect(db_url) as conn:
        return Indexer(db_url).run_pass(conn)


def fill(db_url: str) -> NewsDb:
    """Crawl the demo site into the (migrated) database at `db_url` and edit one article."""
    from crawler.middlewares.replay import ReplayServer, load_replay

    with ReplayServer(load_replay([SITE])) as server:
        for job, args in (
            ("ev-search", ("naver", "--query", QUERY)),
            ("economy", ("naver_section", "--section", SECTION)),
            ("broken", ("naver", "--query", MISSING_QUERY)),
        ):
            done = crawl(db_url, server.url, job, *args)
            if (done.returncode == 0) != (JOBS[job] == "ok"):
                raise AssertionError(f"crawl {job} exited {done.returncode}: {done.stderr}")
    edited = edit_article(db_url, EDITED)
    index(db_url)
    with connect(db_url) as conn:
        (cluster,) = conn.execute(
            "SELECT cluster_id FROM articles GROUP BY cluster_id HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
    return NewsDb(db_url, edited, cluster)


def wait_ready(base: str, proc: subprocess.Popen[Any], deadline: float = 60) -> None:
    """Wait until `sosik serve` in `proc` answers at `base` (raises if it exits or never does)."""
    import httpx

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"sosik serve exited {proc.returncode}")
        try:
            if httpx.get(base + "/openapi.json", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # not listening yet: waiting for startup, not timing anything
    raise RuntimeError(f"sosik serve did not answer within {deadline:.0f} s")


class Served:
    """`create_app` under a real uvicorn on 127.0.0.1, in a thread of this process."""

    def __init__(self, url: str, **options: Any) -> None:
        import uvicorn

        from crawler.web.app import create_app

        config = uvicorn.Config(
            create_app(url, **options), host="127.0.0.1", port=0, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.02)  # waiting for startup, not timing anything
        (sock,) = [s for srv in self.server.servers for s in srv.sockets]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
