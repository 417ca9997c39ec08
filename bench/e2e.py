"""Pages per second of a whole replayed crawl into PostgreSQL, against `scrapy bench`.

    .venv/bin/python bench/e2e.py [--articles 2000] [--bench-seconds 15]

Ours: `sosik crawl naver_section` (the real CLI, spider, parsers, pipelines and store) in a
child process, over a synthetic replay site served from this process (bench/_replay.py): Naver
section list pages, 20 links each, to `--articles` article URLs of every corpus article page's
shape (Naver, Daum, Hankook Ilbo, mk.co.kr, Chosun, Daejon Ilbo), each URL a distinct article
(own id, own text), so every article is parsed, cleaned, hashed and inserted, none dropped as a
duplicate. Politeness is off (no delay, no AutoThrottle, no robots.txt, 16 requests at once, as
for scrapy bench) and the database is a throwaway one.

Reference: `scrapy bench` (Scrapy's own local link-following benchmark: its server in a child
process, a spider that only extracts links, no pipelines), run before and after ours with the
same concurrency; the ratio uses the faster of the two runs. Both rates are Scrapy's closing
stats: responses received / elapsed_time_seconds.

Target: ours ≥ 0.7× bare Scrapy's pages/s.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--bench-seconds", type=int, default=15, help="scrapy bench run time")
    ap.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="extra -s for our crawl"
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
    with _common.throwaway_database() as url:
        ours = _replay.crawl(site, url, extra=[x for kv in args.set for x in ("-s", kv)])
        with psycopg.connect(url, autocommit=True) as conn:
            stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            urls = conn.execute("SELECT count(*) FROM article_urls").fetchone()[0]
    b2 = scrapy_bench(args.bench_seconds)
    runs.append(["scrapy bench (after)", *b2, None, None])
    s = ours.stats
    n, el = s.get("response_received_count", 0.0), s.get("elapsed_time_seconds", float("nan"))
    arts = s.get("pages/article", 0.0)
    runs.insert(1, ["sosik crawl (replayed, into PostgreSQL)", n, el, n / el, arts / el, stored])
    ref = max(b1[2], b2[2])
    rows = [[*r, r[3] / ref if ref else float("nan")] for r in runs]
    print(
        _common.table(
            [
                "run",
                "responses",
                "seconds",
                "pages/s",
                "article pages/s",
                "articles stored",
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
    ratio = (n / el) / ref if ref else float("nan")
    print(f"target >= 0.7x scrapy bench pages/s: {ratio:.2f}x: {_common.verdict(ratio >= 0.7)}")


if __name__ == "__main__":
    main()
