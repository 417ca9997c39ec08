"""Helpers for the operations tests: real corpus search pages on a replay server, `sosik` run
as an operator runs it (a subprocess with DATABASE_URL), and run records read through db/.

The corpus holds one saved page of a Naver search (페이히어). Later result pages are made from
it by moving every result link to another host (`https://v2.<host>/…`), so each page has hits
of its own while keeping the real markup.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from crawler.middlewares.replay import ReplayServer, ReplayStore
from crawler.parsers import Page, parse_search
from tests.conftest import require_corpus

REPO = Path(__file__).resolve().parents[2]
QUERY = "페이히어"
SEARCH = f"https://search.naver.com/search.naver?where=news&query={QUERY}"
SEARCH_FILE = "naver-search/naver_search_news_payhere_2025.html"
ARTICLE = "https://n.news.naver.com/mnews/article/018/0005316196?sid=100"
ARTICLE_FILE = "naver-article/naver_018_0005316196_2022.html"


def page_url(n: int) -> str:
    """Naver's address of result block `n`: the page, then its loader (start=11, 21…)."""
    if n == 1:
        return SEARCH
    loader = parse_search(Page(url=SEARCH, body=search_page())).next_url
    assert loader and loader.endswith("&start=11")
    return loader.replace("&start=11", f"&start={(n - 1) * 10 + 1}")


def block(body: bytes, n: int) -> bytes:
    """A saved page's results as the loader's JSON answer for block `n` (next: block n+1)."""
    html = body.decode("utf-8")
    start = html.index('<ul class="list_news')
    start = html.index(">", start) + 1
    end = html.index("</ul>", start)
    answer = {"collection": [{"html": html[start:end], "script": ""}], "url": page_url(n + 1)}
    return json.dumps(answer, ensure_ascii=False).encode("utf-8")


def search_page(tag: str | None = None) -> bytes:
    """The saved search page; with `tag`, every result link moved to host `tag.<host>`."""
    body = (require_corpus() / SEARCH_FILE).read_bytes()
    if tag is None:
        return body
    for hit in parse_search(Page(url=SEARCH, body=body)).hits:
        for url in {hit.url, hit.portal_url} - {None}:
            moved = url.replace("://", f"://{tag}.", 1)
            for a, b in ((url, moved), (url.replace("&", "&amp;"), moved.replace("&", "&amp;"))):
                body = body.replace(a.encode(), b.encode())
    return body


def hits_of(body: bytes) -> list[str]:
    return [h.url for h in parse_search(Page(url=SEARCH, body=body)).hits]


def with_saved_article(body: bytes) -> bytes:
    """The search page with its first result's Naver copy pointing at a saved article."""
    first = parse_search(Page(url=SEARCH, body=body)).hits[0]
    assert first.portal_url
    return body.replace(first.portal_url.encode(), ARTICLE.encode())


def article_page() -> bytes:
    return (require_corpus() / ARTICLE_FILE).read_bytes()


def replay(pages: dict[str, bytes]) -> ReplayServer:
    store = ReplayStore()
    for url, body in pages.items():
        store.add(url, body=body)
    return ReplayServer(store)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sosik_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", *args]


def sosik_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SOSIK_METRICS_PORT"}
    return {**env, "DATABASE_URL": db_url, "SOSIK_LOG_LEVEL": "WARNING", **extra}


def sosik(
    db_url: str, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`sosik ARGS` in a subprocess against `db_url`, output captured."""
    return subprocess.run(
        sosik_argv(*args),
        cwd=REPO,
        env=sosik_env(db_url, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(db_url: str, *args: str, **env: str) -> subprocess.Popen[str]:
    """`sosik ARGS` started in the background; stderr captured, stdout discarded."""
    return subprocess.Popen(
        sosik_argv(*args),
        cwd=REPO,
        env=sosik_env(db_url, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def crawl_args(server: ReplayServer, *args: str, job: str | None = None) -> list[str]:
    out = ["crawl", "naver", "--query", QUERY, *args, "-s", f"REPLAY_URL={server.url}"]
    if job:
        out += ["-s", f"SOSIK_JOB={job}"]
    return out


def schedule_file(path: Path, server: ReplayServer, jobs: str) -> Path:
    """A schedule.toml whose jobs crawl the replay server (REPLAY_URL in every job)."""
    text = jobs.replace("{replay}", server.url)
    path.write_text(text, "utf-8")
    return path
