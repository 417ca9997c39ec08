"""Helpers for end-to-end crawls: replay folders built from real corpus pages, a crawl run as
the operator runs it (the `sosik` CLI in a subprocess), and row counts read back.

The corpus's search pages link to articles that are not saved, so a test may rewrite a real
search page's result links (in a copy under tmp_path) to the addresses of saved article pages.
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.corpus import corpus_dir

REPO = Path(__file__).resolve().parents[2]
TABLES = ("articles", "article_urls", "search_hits", "crawl_runs")


def corpus_file(rel: str) -> Path:
    return corpus_dir() / rel


@dataclass
class ReplayFolder:
    """A replay folder under construction: url -> bytes, written as urls.tsv + files."""

    root: Path
    pages: dict[str, bytes] = field(default_factory=dict)

    def add(self, url: str, content: bytes | Path | str) -> None:
        if isinstance(content, str):
            content = corpus_file(content)
        if isinstance(content, Path):
            content = content.read_bytes()
        self.pages[url] = content

    def write(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        lines = []
        for i, (url, body) in enumerate(self.pages.items()):
            name = f"page{i:04d}.html"
            (self.root / name).write_bytes(body)
            lines.append(f"{url}\t{name}")
        (self.root / "urls.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.root


def rewrite_links(body: bytes, mapping: dict[str, str]) -> bytes:
    """Replace result links in a saved page, in the raw and the HTML-escaped form."""
    text = body.decode("utf-8")
    for old, new in mapping.items():
        for form in (html.escape(old, quote=True), old):
            text = text.replace(f'"{form}"', f'"{html.escape(new, quote=True)}"')
    return text.encode("utf-8")


@dataclass
class CrawlResult:
    code: int
    stdout: str
    stderr: str


def crawl(
    db_url: str,
    *args: str,
    replay: Path | None = None,
    replay_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> CrawlResult:
    """`sosik crawl ARGS` in a subprocess against `db_url`, as an operator would run it."""
    cmd = [sys.executable, "-m", "crawler.cli", "crawl", *args]
    if replay is not None:
        cmd += ["--replay", str(replay)]
    if replay_url is not None:
        cmd += ["-s", f"REPLAY_URL={replay_url}"]
    full_env = {**os.environ, "DATABASE_URL": db_url, **(env or {})}
    p = subprocess.run(
        cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return CrawlResult(p.returncode, p.stdout, p.stderr)


def counts(db_url: str) -> dict[str, int]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def last_run_stats(db_url: str) -> dict:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] or {}


LIST_URL = "https://news.naver.com/main/main.naver?mode=LS2D&mid=shm&sid1=100&sid2=267"
LIST_FILE = "naver-list/naver_list_sid100_sid2_267_2022.html"
# the legacy list of a day (a real 2022 page); today's feed is tested in test_naver_sections.py
SECTION_ARGS = (
    "naver_section", "--section", "100", "--sub", "267", "--date", "2022-12-29",
    "--layout", "legacy",
)  # fmt: skip


def section_replay(root: Path, targets: list[tuple[str, bytes | Path | str]]) -> Path:
    """A replay of a real Naver section list whose 20 links now lead to `targets` (url, page).

    Links beyond the targets repeat the first target (Scrapy's duplicate filter drops them);
    page 2 repeats page 1, as Naver does past the last page, which ends the paging.
    """
    import json

    gold = json.loads(corpus_file(LIST_FILE.replace(".html", ".expected.json")).read_text())
    mapping = {}
    for i, link in enumerate(gold["links"]):
        mapping[link] = targets[i][0] if i < len(targets) else targets[0][0]
    body = rewrite_links(corpus_file(LIST_FILE).read_bytes(), mapping)
    folder = ReplayFolder(root)
    folder.add(LIST_URL, body)
    folder.add(LIST_URL + "&page=2", body)
    for url, content in targets:
        folder.add(url, content)
    return folder.write()


def variant(rel: str, url: str, replace: dict[str, str]) -> bytes:
    """A saved page re-declared at `url` (og:url, canonical) with some text replaced."""
    text = corpus_file(rel).read_text("utf-8")
    for old, new in replace.items():
        assert old in text, f"{old!r} not in {rel}"
        text = text.replace(old, new)
    return text.encode("utf-8")
