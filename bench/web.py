"""Latency of `sosik serve` on a database of 100k articles: /articles, /articles/{id}, /health.

    .venv/bin/python bench/web.py [--articles 100000] [--requests 300] [--keep URL]

A throwaway database (DATABASE_URL's server, else the embedded one) is filled with synthetic
but realistic articles (bench/_items.py: real corpus paragraphs, bulk-stored by the real
`store_articles` in batches of 2,000) and 30 days of run records (statuses, drift alarms and
failed URLs in the run record's compact form, written as crawl_runs rows). `sosik serve` runs
as a subprocess, exactly as an operator starts it, and one client asks it over HTTP with
keep-alive, one request at a time: after 30 warm-up requests per endpoint, `--requests` timed
ones each. Time is wall time from request to the last byte of the answer.

- /articles: a page of 20, newest first; every third page filtered by publisher; the cursor
  `before_id` drawn at random over the id range (a reader deep in the archive).
- /articles/{id}: a random stored article with its addresses, versions, cluster and hits.
- /health: the whole health page's data (every article of the last 30 days is counted: the
  load puts them all in that window, the worst case).

Target: p99 < 100 ms for each, on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack

import _common
from _items import ItemFactory

from tests.ops.opskit import free_port
from tests.web.newsdb import wait_ready

JOBS = ("nvidia", "chips-daily", "economy-section", "daum-culture", "seoul-politics")
STATUSES = ("ok",) * 16 + ("errors",) * 3 + ("degraded", "failed")
LOAD_BATCH = 2000


def load_articles(url: str, count: int) -> float:
    """Store `count` synthetic articles; seconds taken."""
    from db.articles import store_articles
    from db.connection import connect

    factory = ItemFactory(seed=7)
    started = time.perf_counter()
    with connect(url) as conn:
        for start in range(1, count + 1, LOAD_BATCH):
            n = min(LOAD_BATCH, count + 1 - start)
            items = [factory.item(i, exact_keys=False) for i in range(start, start + n)]
            store_articles(conn, items)
            print(f"\r  stored {start + n - 1:,}/{count:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - started


def load_runs(url: str, days: int = 30, per_day: int = 24) -> int:
    """Run records over `days`: one per job and hour slot, some failed or drifting."""
    import json

    from db.connection import connect

    rng = random.Random(3)
    rows = []
    for day in range(days):
        for slot in range(per_day):
            job = JOBS[slot % len(JOBS)]
            status = rng.choice(STATUSES)
            stats: dict = {"downloader/response_count": rng.randint(20, 400)}
            stats["alarms"] = (
                ["parser naver.mnews: body present in 41% of items (threshold 80%)"]
                if status == "degraded"
                else []
            )
            errors = []
            if status in ("errors", "failed"):
                urls = [
                    f"https://n.news.naver.com/mnews/article/{rng.randint(1, 30):03d}/"
                    f"{rng.randint(1, 40):010d}"
                    for _ in range(rng.randint(1, 6))
                ]
                errors = [{"kind": "fetch", "reason": "HTTP 503", "urls": urls}]
            started = f"now() - interval '{day} days {slot} hours'"
            rows.append((json.dumps({"job": job}), started, status, stats, errors))
    with connect(url) as conn, conn.transaction():
        for args, started, status, stats, errors in rows:
            conn.execute(
                "INSERT INTO crawl_runs (spider, args, started_at, finished_at, status, stats,"
                f" errors) VALUES ('naver', %s, {started}, {started} + interval '3 minutes',"
                " %s, %s, %s)",
                [args, status, json.dumps(stats), json.dumps(errors)],
            )
    return len(rows)


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url}
    argv = [sys.executable, "-m", "crawler.cli", "serve", "--port", str(port)]
    return subprocess.Popen(argv, cwd=_common.REPO, env=env)


def measure(client: object, paths: list[str]) -> list[float]:
    """Milliseconds per request, in order; every answer must be 200."""
    out = []
    for path in paths:
        t = time.perf_counter()
        r = client.get(path)  # type: ignore[attr-defined]
        r.read()
        out.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"GET {path}: {r.status_code} {r.text[:300]}")
    return out


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> None:
    import httpx

    from db.connection import connect

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--keep", help="measure this database as it is (no load, not dropped)")
    args = ap.parse_args()
    print(_common.machine())
    print(_common.versions("fastapi", "uvicorn", "psycopg"))
    with ExitStack() as stack:
        if args.keep:
            url = args.keep
        else:
            url = stack.enter_context(_common.throwaway_database("sosik_bench_web"))
            took = load_articles(url, args.articles)
            print(f"stored {args.articles:,} articles in {took:.0f} s; {load_runs(url)} runs")
            with connect(url) as conn:
                conn.execute("VACUUM ANALYZE")
        with connect(url) as conn:
            lo, hi, n = conn.execute("SELECT min(id), max(id), count(*) FROM articles").fetchone()
            publishers = [r[0] for r in conn.execute("SELECT DISTINCT publisher FROM articles")]
        port = free_port()
        proc = serve(url, port)
        stack.callback(proc.wait, 30)
        stack.callback(proc.terminate)
        client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
        wait_ready(f"http://127.0.0.1:{port}", proc)
        rng = random.Random(11)

        def articles() -> str:
            path = f"/articles?limit=20&before_id={rng.randint(lo + 20, hi + 1)}"
            if rng.random() < 1 / 3:
                path += "&publisher=" + rng.choice(publishers)
            return path

        plans = {
            "/articles (20, cursor, 1/3 by publisher)": articles,
            "/articles/{id}": lambda: f"/articles/{rng.randint(lo, hi)}",
            "/health (30 days)": lambda: "/health",
        }
        rows = []
        for name, make in plans.items():
            measure(client, [make() for _ in range(30)])
            ms = measure(client, [make() for _ in range(args.requests)])
            rows.append(
                (
                    name,
                    len(ms),
                    f"{pct(ms, 0.5):.1f}",
                    f"{pct(ms, 0.99):.1f}",
                    f"{statistics.fmean(ms):.1f}",
                    f"{max(ms):.1f}",
                    _common.verdict(pct(ms, 0.99) < 100),
                )  # fmt: skip
            )
        print(
            _common.table(
                ("endpoint", "requests", "p50 ms", "p99 ms", "mean ms", "max ms", "p99 < 100"),
                rows,
                title=f"sosik serve on {n:,} articles (one client, keep-alive, sequential)",
            )
        )


if __name__ == "__main__":
    main()
