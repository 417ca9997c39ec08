"""`sosik demo`: crawl a small made-up news site end to end, offline, in a few seconds.

The site is ours: hand-written pages shipped with the package (`crawler/demo/site`, indexed by
its `urls.tsv` like any replay folder), in the markup the Naver parsers read today — a news
search page whose results lead to Naver's copies of the articles, a section list, and a wire
story carried word for word by a second paper under its own headline and, with its lead
rewritten, by a third. Stories, presses and reporters are fictional; the papers' own
addresses end in `.example`.

The demo serves the site on a loopback port (crawler.middlewares.replay.ReplayServer) and runs two
ordinary crawls against it, each as an operator runs it (`sosik crawl … --replay`, in its own
process, into the database every command uses: DATABASE_URL, else the embedded server). Then
it prints the run records (`sosik runs`) and the site's rows of the reader view
`articles_feed`, and checks that every response the crawls received was one the replay server
sent: nothing went to the network. Run it twice: the second run stores nothing new.

Exit code: 0 when both crawls end `ok` and every request stayed on the machine; otherwise the
first non-zero exit code of a crawl, or 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from crawler.commands import CommandError
from crawler.domain.dates import KST
from crawler.domain.urls import canonical_url, naver_ids, page_kind

SITE = Path(__file__).resolve().parent.parent / "demo" / "site"
QUERY = "전기버스"
SECTION = "경제"


@dataclass(frozen=True, slots=True)
class Step:
    """One crawl of the demo: what it shows, and the `sosik crawl` arguments that run it."""

    about: str
    args: tuple[str, ...]


STEPS = (
    Step(
        f"A Naver News search for {QUERY}: the result page (four results), then each result's "
        "copy on Naver.",
        ("naver", "--query", QUERY),
    ),
    Step(
        f"Naver's {SECTION} section list: two stories the search did not find, one it did, and "
        "the wire story again, word for word under another paper's headline.",
        ("naver_section", "--section", SECTION),
    ),
)


# -- what the demo prints (pure) ---------------------------------------------------------------
def width(text: str) -> int:
    """Columns `text` takes in a terminal: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """`text` followed by spaces up to `columns` terminal columns (str.ljust counts characters)."""
    return text + " " * max(0, columns - width(text))


def feed_table(rows: Sequence[Any], new_since: Any = None) -> str:
    """The reader view's rows as a table, the way a reader would collapse and date them.

    Columns: id, cluster, new (first seen at or after `new_since`), publisher, published,
    addresses (how many URLs lead to the row), title; Hangul is aligned by terminal width.
    """
    head = ("id", "cluster", "new", "publisher", "published (KST)", "addresses", "title")
    body = [
        (
            str(r.id),
            str(r.cluster_id),
            "new" if new_since is not None and r.first_seen_at >= new_since else "",
            r.publisher or "-",
            f"{r.published_at.astimezone(KST):%Y-%m-%d %H:%M}" if r.published_at else "-",
            str(len(r.urls)),
            r.title,
        )
        for r in rows
    ]
    table = [head, *body]
    widths = [max(width(line[i]) for line in table) for i in range(len(head))]
    right = {0, 1, 5}
    lines = []
    for line in table:
        cells = [
            " " * (w - width(c)) + c if i in right else pad(c, w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def what_to_see(rows: Sequence[Any]) -> list[str]:
    """Lines pointing at the duplicates in the rows: copies kept as addresses, shared clusters."""
    out = []
    for r in rows:
        copies = sorted(
            {canonical_url(u) for u in r.urls if naver_ids(u)} - {r.canonical_url}, key=str
        )
        for copy in copies:
            out.append(
                f"article {r.id} ({r.publisher}) also holds {copy}: the same story under another "
                "headline, kept as one more address of this article, not as a second article"
            )
    clusters: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        clusters[r.cluster_id].append(r)
    for cluster_id, members in sorted(clusters.items()):
        if len(members) > 1:
            ids = ", ".join(str(m.id) for m in members)
            papers = ", ".join(m.publisher or "?" for m in members)
            out.append(
                f"articles {ids} share cluster {cluster_id}: one story in near-identical words "
                f"({papers}); a reader collapses on cluster_id to show it once"
            )
    return out


def stat(runs: Iterable[Any], key: str) -> int:
    """One counter summed over the runs' recorded stats (absent means 0)."""
    return sum(int((r.stats or {}).get(key, 0)) for r in runs)


def network_check(runs: Sequence[Any], hits: Sequence[Any], server_url: str) -> tuple[bool, str]:
    """Whether every response the crawls received came from the replay server; a line saying so.

    Scrapy counts the responses it received (in each run's stats); the server logs what it
    answered. One response more than the server sent came from somewhere else.
    """
    received = stat(runs, "downloader/response_count")
    robots = sum(1 for h in hits if h.url.endswith("/robots.txt"))
    unexpected = [h for h in hits if h.answer != "200" and not h.url.endswith("/robots.txt")]
    if not hits:
        return False, f"the replay server at {server_url} answered no request"
    if received != len(hits):
        return False, (
            f"the crawls received {received} responses but the replay server at {server_url} "
            f"answered {len(hits)} requests: something was fetched from elsewhere"
        )
    if unexpected:
        h = unexpected[0]
        return False, f"the replay server answered {h.answer} for {h.url}: the site is incomplete"
    return True, (
        f"all {len(hits)} requests of the crawls ({len(hits) - robots} pages, {robots} "
        f"robots.txt, which the site does not have) were answered by the replay server at "
        f"{server_url}: no network used"
    )


def ending(runs: Sequence[Any], articles: int) -> str:
    """What the crawls of this run stored and what they recognised as already stored."""
    inserted = stat(runs, "store/inserted")
    same_text = stat(runs, "dedupe/dropped_hash")
    same_headline = stat(runs, "dedupe/dropped_headline")
    met_again = stat(runs, "dedupe/dropped_url")
    parts = [f"This run stored {inserted} new {_plural(inserted, 'article')}"]
    if same_text:
        parts.append(
            f"{_plural(same_text, 'a copy', f'{same_text} copies')} of a stored story (the same "
            "text under another address and headline) became an address of that story"
        )
    if same_headline:
        parts.append(
            f"{same_headline} {_plural(same_headline, 'story', 'stories')} with a stored "
            "headline of the same paper that day became an address of that story"
        )
    if met_again:
        were = _plural(met_again, "was", "were")
        parts.append(
            f"{met_again} {_plural(met_again, 'article')} met again {were} not stored twice"
        )
    text = "; ".join(parts) + "."
    if inserted == 0 and articles:
        text += (
            f" Nothing new: an earlier run stored these {articles} articles, and a crawl stores "
            "an article once, however often it meets it."
        )
    else:
        text += " Run `sosik demo` again: the second run stores nothing new."
    return text


def _plural(n: int, one: str, many: str | None = None) -> str:
    return one if n == 1 else (many or f"{one}s")


def _wrap(text: str, first: str = "", rest: str = "") -> str:
    return textwrap.fill(
        text,
        96,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def crawl_command(step: Step, site: Path | str) -> str:
    """The command an operator types for the same crawl."""
    args = " ".join(step.args)
    return f"sosik crawl {args} --replay {site}"


# -- the command -------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """`sosik demo`'s arguments."""
    p = sub.add_parser(
        "demo",
        help="crawl a small made-up news site offline: articles stored, duplicates dropped, "
        "runs and the reader view shown",
    )
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Crawls the bundled made-up news site from a loopback replay server into the configured
    database and shows the runs and the stored articles; CommandError when the site files are
    missing.
    """
    from crawler.middlewares.replay import ReplayServer, load_replay
    from db.connection import ENV_URL, connect, database_url, describe
    from db.crawl_runs import recent_runs
    from db.migrate import upgrade

    out = sys.stdout
    if not (SITE / "urls.tsv").is_file():
        raise CommandError(f"the demo site is missing at {SITE} (reinstall sosik)")
    url = database_url()
    where = "from DATABASE_URL" if os.environ.get(ENV_URL) else "the embedded server"
    upgrade(url)  # the crawls would; the run records are read before the first one
    with connect(url) as conn:
        before = max((r.id for r in recent_runs(conn, 20)), default=0)
    store = load_replay([SITE])
    out.write(
        _wrap(
            f"sosik demo: {len(store)} hand-written pages of a made-up news site ({SITE}), "
            "served on a loopback port and crawled through the real Scrapy engine into "
            f"{describe(url)} ({where}). The stories, papers and reporters are fictional."
        )
        + "\n"
    )
    codes = []
    with ReplayServer(store) as server:
        for n, step in enumerate(STEPS, 1):
            out.write(f"\n{_wrap(step.about, f'{n}. ', '   ')}\n   $ {crawl_command(step, SITE)}\n")
            out.flush()
            codes.append(_crawl(step, server.url, out))
        hits = server.hits()
    with connect(url) as conn:
        spiders = {s.args[0] for s in STEPS}
        runs = [r for r in recent_runs(conn, 20) if r.id > before and r.spider in spiders]
        rows = _site_rows(conn, hits)
    _report(out, runs, rows, codes)
    local, line = network_check(runs, hits, server.url)
    out.write(_wrap(f"Network: {line}.") + "\n")
    out.flush()
    failed = next((c for c in codes if c != 0), None)
    if failed is not None:
        return failed
    return 0 if local else 1


def _site_rows(conn: Any, hits: Sequence[Any]) -> list[Any]:
    """The reader view's rows of the articles the crawls fetched from the site."""
    from db.feed import get_articles_by_url

    fetched = {canonical_url(h.url) for h in hits if page_kind(h.url) == "article"}
    return get_articles_by_url(conn, fetched)


def _report(out: TextIO, runs: list[Any], rows: list[Any], codes: list[int]) -> None:
    """The run records, the reader view's rows and what this run stored."""
    from crawler.commands.runs import format_runs

    runs = sorted(runs, key=lambda r: r.id, reverse=True)
    out.write(
        f"\n{len(STEPS) + 1}. The run records of these crawls (`sosik runs` lists every run, "
        "`sosik runs show ID` one in full):\n"
    )
    out.write(format_runs(runs))
    out.write(
        f"\n{len(STEPS) + 2}. The site's articles in the reader view articles_feed, what "
        "downstream services read:\n"
    )
    first_start = min((r.started_at for r in runs), default=None)
    out.write(feed_table(rows, first_start) if rows else "   (none stored)\n")
    for note in what_to_see(rows):
        out.write(_wrap(note, "   - ", "     ") + "\n")
    failed = next(((n, c) for n, c in enumerate(codes, 1) if c != 0), None)
    if failed is None:
        out.write("\n" + _wrap(ending(runs, len(rows))) + "\n")
    else:
        out.write(
            f"\nCrawl {failed[0]} ended with exit code {failed[1]}; the lines above say why.\n"
        )


def _crawl(step: Step, replay_url: str, out: TextIO) -> int:
    """`sosik crawl STEP --replay` in its own process, against our replay server; its code.

    Its output (the summary table) comes to `out`, so the demo reads in order as one text.
    """
    cmd = [
        sys.executable,
        "-m",
        "crawler.cli",
        "crawl",
        *step.args,
        "-s",
        f"REPLAY_URL={replay_url}",
    ]
    try:
        fd = out.fileno()
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        return subprocess.run(cmd, stdout=fd, stderr=subprocess.STDOUT, env=os.environ).returncode
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    out.write(done.stdout + done.stderr)
    return done.returncode
