"""Pages per second of a whole replayed crawl into PostgreSQL, against bare Scrapy on the same
site and `scrapy bench`, all in the same run.

    .venv/bin/python bench/e2e.py [--articles 2000] [--bench-seconds 15] [--set NAME=VALUE]

Ours: `sosik crawl naver_section` (the real CLI, spider, parsers, pipelines, database owner and
store) in a child process, over a synthetic replay site served from this process
(bench/_replay.py): Naver section list pages, 20 links each, to `--articles` article URLs of
every corpus article page's shape, each URL a distinct article (own id, own text), so every
article is parsed, cleaned, hashed and inserted, none dropped as a duplicate. Politeness is off
(no delay, no AutoThrottle, no robots.txt, 16 requests at once) and the database is a
throwaway one.

References, in the same run and against the same server:
- bare Scrapy (bench/_bare.py): a plain spider fetching exactly the URLs our crawl fetches,
  through the same replay middleware and concurrency, with a callback that does nothing: no
  parsing, no pipelines, no database. The ceiling for this site on this machine. Run before
  and after ours; the ratio uses the faster of the two. Target: ours ≥ 0.75× of it.
- `scrapy bench` (Scrapy's own local link-following benchmark, its own server), before and
  after, for comparison with earlier figures.
All rates are Scrapy's closing stats: responses received / elapsed_time_seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import _common
import _replay
import psycopg


def scrapy_bench(seconds: int) -> tuple[float, float, float]:
    """(responses, elapsed seconds, pages/s) of `scrapy bench`, run outside the project."""
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "bench",
        "-s",
        f"CLOSESPIDER_TIMEOUT={seconds}",
        "-s",
        "CONCURRENT_REQUESTS=16",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=16",
        "-s",
        "LOGSTATS_INTERVAL=600",
    ]
    with tempfile.TemporaryDirectory() as tmp:  # no scrapy.cfg: Scrapy's defaults, not ours
        p = subprocess.run(
            cmd,
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 120,
        )
    stats = _replay.closing_stats(p.stderr)
    n = stats.get("response_received_count", 0.0)
    t = stats.get("elapsed_time_seconds", float("nan"))
    return n, t, n / t if t else 0.0


def _lag(stats: dict[str, float]) -> list[float]:
    return [stats.get(f"reactor/lag_{k}", float("nan")) for k in ("max_ms", "p99_ms", "total_s")]


def bare(site: _replay.SyntheticSite) -> tuple[float, float, float]:
    """(responses, elapsed seconds, pages/s) of bare Scrapy fetching our crawl's URLs."""
    from crawler.middlewares.replay import ReplayServer

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(site.crawled_urls()) + "\n")
        urls = fh.name
    try:
        with ReplayServer(site) as server:  # type: ignore[arg-type] - same match() API
            p = subprocess.run(
                [sys.executable, str(_common.REPO / "bench" / "_bare.py"), urls, server.url],
                capture_output=True,
                text=True,
                check=False,
                timeout=3600,
                cwd=str(_common.REPO),
            )
    finally:
        os.unlink(urls)
    stats = _replay.closing_stats(p.stderr)
    n = stats.get("response_received_count", 0.0)
    t = stats.get("elapsed_time_seconds", float("nan"))
    if not n:
        print(p.stderr[-2000:])
    return n, t, n / t if t else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--bench-seconds", type=int, default=15, help="scrapy bench run time")
    ap.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="extra -s for our crawl"
    )
    ap.add_argument(
        "--inline",
        action="store_true",
        help="also crawl with every database call on the reactor thread (SOSIK_DB_INLINE=1), "
        "the concurrency model before the database owner, for docs/concurrency.md",
    )
    args = ap.parse_args()
    print(f"# bench/e2e.py — {_common.machine()}")
    print(f"# {_common.versions('Scrapy', 'Twisted', 'lxml', 'psycopg')}")
    t = time.perf_counter()
    site = _replay.SyntheticSite(args.articles)
    problems = site.check()
    print(
        f"# replay site: {args.articles:,} article URLs over {len(site.templates)} corpus pages, "
        f"{site.days * site.pages_per_day:,} list pages; built and checked in "
        f"{time.perf_counter() - t:.1f}s; problems: {problems or 'none'}"
    )

    runs = []
    b1 = scrapy_bench(args.bench_seconds)
    runs.append(["scrapy bench (before)", *b1, None, None])
    r1 = bare(site)
    runs.append(
        ["bare Scrapy, same site (before)", *r1, r1[0] - site.days * (site.pages_per_day + 1), None]
    )
    extra = ["-s", "SOSIK_REACTOR_PROBE=1", *(x for kv in args.set for x in ("-s", kv))]
    with _common.throwaway_database() as url:
        ours = _replay.crawl(site, url, extra=extra)
        with psycopg.connect(url, autocommit=True) as conn:
            stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            urls = conn.execute("SELECT count(*) FROM article_urls").fetchone()[0]
    inline = None
    if args.inline:
        with _common.throwaway_database() as url:
            inline = _replay.crawl(site, url, extra=[*extra, "-s", "SOSIK_DB_INLINE=1"])
    r2 = bare(site)
    runs.append(
        ["bare Scrapy, same site (after)", *r2, r2[0] - site.days * (site.pages_per_day + 1), None]
    )
    b2 = scrapy_bench(args.bench_seconds)
    runs.append(["scrapy bench (after)", *b2, None, None])
    s = ours.stats
    n, el = s.get("response_received_count", 0.0), s.get("elapsed_time_seconds", float("nan"))
    arts = s.get("pages/article", 0.0)
    runs.insert(2, ["sosik crawl (replayed, into PostgreSQL)", n, el, n / el, arts, stored])
    if inline is not None:
        si = inline.stats
        ni, eli = si.get("response_received_count", 0.0), si.get("elapsed_time_seconds", 1.0)
        label = "sosik crawl, database calls on the reactor"
        runs.insert(3, [label, ni, eli, ni / eli, si.get("pages/article", 0.0), None])
    ref = max(b1[2], b2[2])
    ceiling = max(r1[2], r2[2])
    rows = [
        [*r, r[3] / ceiling if ceiling else float("nan"), r[3] / ref if ref else float("nan")]
        for r in runs
    ]
    print(
        _common.table(
            [
                "run",
                "responses",
                "seconds",
                "pages/s",
                "article pages",
                "articles stored",
                "vs bare Scrapy",
                "vs scrapy bench",
            ],
            rows,
            "Throughput, Scrapy's closing stats (responses / elapsed_time_seconds)",
        )
    )
    outcome = {
        k: int(v)
        for k, v in s.items()
        if k.startswith(("store/", "dedupe/", "parse/", "fetch/", "validate/", "clean/"))
    }
    print(
        f"\nsosik crawl: exit {ours.code}, wall {ours.wall:.1f}s (process start to exit), "
        f"{arts:,.0f} article pages, {s.get('pages/list', 0):,.0f} list pages; "
        f"articles {stored:,}, article_urls {urls:,}; {outcome}"
    )
    if ours.code != 0:
        print(ours.stderr[-3000:])
    lag = [
        ["database calls on the owner's threads", *_lag(s)],
        *([["database calls on the reactor thread", *_lag(inline.stats)]] if inline else []),
    ]
    print(
        _common.table(
            ["sosik crawl", "reactor lag max ms", "p99 ms", "total s"],
            lag,
            "How late a 50 ms reactor timer ran (SOSIK_REACTOR_PROBE): time the reactor was held",
        )
    )
    ratio = (n / el) / ceiling if ceiling else float("nan")
    print(
        f"target >= 0.75x bare Scrapy on the same site: {ratio:.2f}x: "
        f"{_common.verdict(ratio >= 0.75)}"
    )


if __name__ == "__main__":
    main()
