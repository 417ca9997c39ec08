"""Pages per second of 1, 2 and 3 distributed workers, and what the reliable queue costs.

    .venv/bin/python bench/distributed.py [--articles 1500] [--workers 1,2,3]

The site is the synthetic replay site of bench/_replay.py (Naver section list pages linking to
`--articles` distinct article URLs of every corpus article page's shape, `--pages-per-day`
list pages a day, so a backfill over many days), served from this process, every page
rendered before the runs so the server costs the same for every run.
Politeness is off (no per-site budget, no robots.txt, 16 requests at once per worker), each run
gets a new database and a new Redis of its own.

With `--latency 0` (the default) the server answers at once and a worker is CPU-bound (about
8 ms of parsing, cleaning and storing per page, a whole core at ~120 pages/s), so on 2 cores
shared with PostgreSQL, Redis and the replay server a second worker has little to add; with
`--latency 0.3` each article page takes 0.3 s, as a real site's would, and a worker is bound
by its 16 requests at once instead, which more workers multiply.

Runs, each over the whole site:
- `sosik crawl` alone (no Redis): the local reference;
- plain scrapy-redis in one `sosik crawl` process (its Scheduler, PriorityQueue and
  RFPDupeFilter, pickled requests: a pop deletes the request, nothing is acknowledged). Under
  replay each request passes the scheduler twice (the replay rewrite is a new request): plain
  scrapy-redis sends both through Redis, the reliable frontier keeps the rewrite on the worker
  as it keeps retries and redirects, which favours it here;
- `sosik enqueue` + N `sosik worker` processes (the reliable frontier), N = 1, 2, 3.

pages/s is counted on the server's clock, from the first request to the last, so the
processes' start-up (~2 s of imports each) is left out; the wall time from start to the last
worker's exit is printed too, and the CPU time the crawling processes used per page (which a
busy machine disturbs less than the rates). The configurations run in interleaved rounds and
the best round of each is kept. The ratio to one worker is the scaling (this machine has 2
cores, which the workers share with PostgreSQL, Redis and the replay server; target ≥ 1.6×
at 2 workers); one worker against plain scrapy-redis is the cost of leases and
acknowledgements, together with the CPU Redis spent per page.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import _replay
import psycopg
import redis

REPO = _common.REPO
sys.path.insert(0, str(REPO))

from crawler.middlewares.replay import ReplayServer  # noqa: E402
from crawler.spiders.naver_section import list_url  # noqa: E402
from tests.distributed.redisfix import RedisServer  # noqa: E402
from tests.distributed.scenarios import legacy_layout  # noqa: E402

OFF = {
    "ROBOTSTXT_OBEY": "0",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOGSTATS_INTERVAL": "600",
    "DISTRIBUTED_SITE_RATE": "0",
}


class WideSite(_replay.SyntheticSite):
    """The synthetic site spread over more days: each day's list is paged on its own, so the
    frontier holds several days' pages at once (a backfill's shape), not one chain of pages
    of which a few workers could only ever take the next twenty articles."""

    def __init__(self, articles: int, pages_per_day: int) -> None:
        self._per_day = pages_per_day
        super().__init__(articles)

    @property
    def pages_per_day(self) -> int:
        return self._per_day


class RenderedSite:
    """The synthetic site with every page rendered once; each request's arrival is kept."""

    def __init__(self, site: _replay.SyntheticSite) -> None:
        self.site = site
        self.latency = 0.0  # seconds each article page takes to answer
        self.pages: dict[str, Any] = {}
        self.times: list[float] = []
        first, _ = site.day_range()
        from datetime import timedelta

        for d in range(site.days):
            day = first + timedelta(days=d)
            for page in range(1, site.pages_per_day + 2):
                url = list_url(_replay.SID1, day, page, _replay.SID2)
                self.pages[url] = site.match(url)
        for n in range(1, site.articles + 1):
            url = site.article_url(n)
            self.pages[url] = site.match(url)

    def match(self, url: str) -> Any:
        self.times.append(time.monotonic())
        saved = self.pages.get(url)
        if self.latency and "main.naver" not in url:
            time.sleep(self.latency)  # a handler thread of its own: other requests go on
        return saved if saved is not None else self.site.match(url)

    def __len__(self) -> int:
        return len(self.site)

    def day_range(self) -> Any:
        return self.site.day_range()

    def rate(self) -> tuple[int, float]:
        """(requests, seconds from the first to the last) since the last reset."""
        if len(self.times) < 2:
            return len(self.times), float("nan")
        return len(self.times), self.times[-1] - self.times[0]


def sets(pairs: dict[str, str]) -> list[str]:
    return [x for k, v in pairs.items() for x in ("-s", f"{k}={v}")]


def section_args(site: RenderedSite) -> list[str]:
    first, last = site.day_range()
    return [
        "naver_section", "--section", str(_replay.SID1), "--sub", _replay.SID2,
        "--since", first.isoformat(), "--until", last.isoformat(), *legacy_layout(),
    ]  # fmt: skip


def run(
    label: str, site: RenderedSite, workers: int, mode: str, redis_root: Path
) -> dict[str, Any]:
    """One crawl of the whole site: mode local, plain (scrapy-redis) or reliable."""
    server_redis = RedisServer(redis_root / label.replace(" ", "_")).start()
    r = redis.Redis(port=server_redis.port)
    site.times.clear()
    try:
        with _common.throwaway_database("sosik_bench_dist") as db, ReplayServer(site) as server:
            env = {
                **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
                "DATABASE_URL": db,
                "SOSIK_PROGRESS": "0",
            }
            common = [*sets(OFF), "-s", f"REPLAY_URL={server.url}", "--log-level", "INFO"]
            before = _redis_cpu(r)
            t0 = time.perf_counter()
            procs = []
            if mode == "local":
                procs.append(_spawn(["crawl", *section_args(site), *common], env))
            elif mode == "plain":
                plain = {
                    "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
                    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
                    "SCHEDULER_PERSIST": "0",
                    "REDIS_URL": server_redis.url,
                }
                procs.append(_spawn(["crawl", *section_args(site), *common, *sets(plain)], env))
            else:
                env["REDIS_URL"] = server_redis.url
                cmd = [sys.executable, "-m", "crawler.cli", "enqueue", *section_args(site)]
                cmd += [x for x in common if x not in ("--log-level", "INFO")]
                subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True)
                for i in range(workers):
                    procs.append(
                        _spawn(["worker", "--idle-timeout", "2", "--name", f"w{i}", *common], env)
                    )
            codes, cpu = [], 0.0
            for p in procs:  # wait4: each child's CPU time as well as its exit
                _, status, usage = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                codes.append(p.returncode)
                cpu += usage.ru_utime + usage.ru_stime
            wall = time.perf_counter() - t0
            after = _redis_cpu(r)
            with psycopg.connect(db, autocommit=True) as conn:
                stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        r.close()
        server_redis.stop()
    n, seconds = site.rate()
    return {
        "label": label,
        "workers": workers,
        "codes": codes,
        "requests": n,
        "seconds": seconds,
        "pages/s": n / seconds if seconds else float("nan"),
        "wall": wall,
        "stored": stored,
        "redis_cpu": after - before,
        "cpu": cpu,
    }


def _redis_cpu(r: redis.Redis) -> float:
    """CPU seconds the redis-server has used (user + system)."""
    cpu = r.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1500)
    ap.add_argument("--workers", default="1,2,3", help="worker counts to run")
    ap.add_argument("--pages-per-day", type=int, default=3, help="list pages of each day")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds; best is kept")
    ap.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds each article page takes to answer (0: CPU-bound; 0.3: like a real site)",
    )
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    print(f"# bench/distributed.py — {_common.machine()}")
    print(f"# {_common.versions('Scrapy', 'scrapy-redis', 'redis', 'Twisted')}")
    t = time.perf_counter()
    site = RenderedSite(WideSite(args.articles, args.pages_per_day))
    site.latency = args.latency
    pages = len(site.pages)
    print(
        f"# replay site: {args.articles:,} articles, {pages - args.articles} list pages over "
        f"{site.site.days} days, article pages answered in {args.latency:g}s, "
        f"rendered in {time.perf_counter() - t:.1f}s; problems: {site.site.check() or 'none'}"
    )
    configs = [("sosik crawl, no Redis", 1, "local"), ("plain scrapy-redis, 1 process", 1, "plain")]
    configs += [(f"reliable frontier, {n} worker(s)", n, "reliable") for n in counts]
    best: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="sosik-bench-redis-") as d:
        for i in range(args.rounds):  # interleaved rounds: a busy moment hits every config
            for label, n, mode in configs:
                r = run(label, site, n, mode, Path(d) / str(i))
                print(f"#   round {i + 1}: {label}: {r['pages/s']:.1f} pages/s", flush=True)
                if label not in best or r["pages/s"] > best[label]["pages/s"]:
                    best[label] = r
    results = [best[label] for label, _, _ in configs]
    one = next((r for r in results if r["label"].endswith("1 worker(s)")), None)
    base = one["pages/s"] if one else float("nan")
    rows = []
    for r in results:
        rows.append(
            [
                r["label"],
                r["requests"],
                r["seconds"],
                r["pages/s"],
                r["pages/s"] / base if r["label"].startswith("reliable") else None,
                r["wall"],
                r["stored"],
                1000 * r["cpu"] / max(r["requests"], 1),
                1000 * r["redis_cpu"] / max(r["requests"], 1),
                ",".join(str(c) for c in r["codes"]),
            ]
        )
    print(
        _common.table(
            [
                "run",
                "requests",
                "seconds",
                "pages/s",
                "× 1 worker",
                "wall s",
                "articles stored",
                "crawler CPU ms/page",
                "Redis CPU ms/page",
                "exit",
            ],
            rows,
            f"Throughput, server clock (first request to last), best of {args.rounds} rounds",
        )
    )
    plain = next(r for r in results if r["label"].startswith("plain"))
    local = results[0]
    print(
        f"\nreliable queue, 1 worker vs plain scrapy-redis: {base / plain['pages/s']:.2f}× the "
        f"pages/s (Redis CPU {1000 * plain['redis_cpu'] / max(plain['requests'], 1):.3f} → "
        f"{1000 * one['redis_cpu'] / max(one['requests'], 1):.3f} ms per page; crawler CPU "
        f"{1000 * plain['cpu'] / max(plain['requests'], 1):.2f} → "
        f"{1000 * one['cpu'] / max(one['requests'], 1):.2f} ms per page); "
        f"vs no Redis: {base / local['pages/s']:.2f}×"
        if one
        else ""
    )
    two = next((r for r in results if r["label"].endswith("2 worker(s)")), None)
    if two and one:
        ratio = two["pages/s"] / base
        print(f"target >= 1.6x at 2 workers: {ratio:.2f}x: {_common.verdict(ratio >= 1.6)}")
    bad = [r["label"] for r in results if r["stored"] != args.articles or any(r["codes"])]
    print(f"every run stored all {args.articles} articles and exited 0: {not bad} {bad or ''}")


if __name__ == "__main__":
    main()
