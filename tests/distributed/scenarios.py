"""Distributed crawls as an operator runs them: `sosik enqueue`, N `sosik worker` processes, a
Redis, a replayed site (bench/_replay.py: list pages and distinct articles) in this process,
and a fault on the way (a worker SIGKILLed, Redis restarted). Used by the tests and by the
fault table (tests/faults/distributed.py); every figure is counted afterwards on the replay
server's request log, on PostgreSQL and on the run record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import redis

from crawler.middlewares.replay import ReplayServer

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "bench") not in sys.path:
    sys.path.insert(0, str(REPO / "bench"))

import _replay  # noqa: E402 - bench/_replay.py, the synthetic site of distinct articles

# Fast settings for CI-sized runs: short leases (a killed worker's requests come back in 3 s),
# quick acknowledgements and polls. Politeness is off unless a scenario sets a budget.
FAST = {
    "DISTRIBUTED_LEASE_SECONDS": "3",
    "DISTRIBUTED_ACK_INTERVAL": "0.2",
    "DISTRIBUTED_POLL_INTERVAL": "0.05",
    "DISTRIBUTED_SITE_RATE": "0",
    "ROBOTSTXT_OBEY": "0",
    "LOGSTATS_INTERVAL": "600",
}


def legacy_layout() -> list[str]:
    """`--layout legacy` where `sosik crawl` has it: the synthetic site serves the legacy
    main.naver lists, which newer naver_section spiders ask for only with that option."""
    import contextlib
    import io

    from crawler.cli import build_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(["crawl", "naver_section", "--layout", "legacy"])
    except SystemExit:
        return []
    return ["--layout", "legacy"]


class SlowSite:
    """A site whose article pages take `latency` seconds (so workers hold requests a while),
    with a robots.txt for some hosts."""

    def __init__(self, site: Any, latency: float, robots: dict[str, str] | None = None) -> None:
        self.site = site
        self.latency = latency
        self.robots = robots or {}

    def match(self, url: str) -> Any:
        parts = urlsplit(url)
        if parts.path == "/robots.txt":
            body = self.robots.get(parts.hostname or "")
            return _replay._Saved(body.encode()) if body is not None else None
        saved = self.site.match(url)
        if saved is not None and self.latency and "main.naver" not in url:
            time.sleep(self.latency)
        return saved

    def __len__(self) -> int:
        return len(self.site)


@dataclass
class Run:
    """What one distributed crawl did, counted afterwards."""

    articles_expected: int
    requests: Counter[str]
    stored: int
    stored_twice: int
    run: dict[str, Any]
    counts: dict[str, int]
    worker_codes: list[int]
    worker_stats: list[dict[str, float]] = field(default_factory=list)
    times: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0
    killed: int = 0  # leases the killed worker held when it was killed
    victim: int = 0  # which worker the fault hit (index into worker_codes, worker_stats)
    notes: str = ""

    @property
    def article_urls(self) -> list[str]:
        return [u for u in self.requests if "main.naver" not in u and "robots.txt" not in u]

    @property
    def survivors(self) -> list[int]:
        """The exit codes of the workers the fault did not hit."""
        return [c for i, c in enumerate(self.worker_codes) if i != self.victim]

    @property
    def fetched_twice(self) -> int:
        return sum(n - 1 for u, n in self.requests.items() if n > 1 and "robots.txt" not in u)


class Cluster:
    """One job's world: database, Redis (URL and key prefix), replay server, workers."""

    def __init__(self, db_url: str, redis_url: str, prefix: str, logs: Path) -> None:
        self.db_url = db_url
        self.redis_url = redis_url
        self.prefix = prefix
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.files: list[Any] = []
        self.job: str | None = None
        self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "SOSIK_PROGRESS": "0",
            "SOSIK_HOME": str(self.logs / "home"),  # spill files: the test's own
        }

    def sets(self, settings: dict[str, str]) -> list[str]:
        pairs = {**FAST, **settings, "DISTRIBUTED_KEY_PREFIX": self.prefix}
        return [x for k, v in pairs.items() for x in ("-s", f"{k}={v}")]

    def enqueue(self, site: Any, server_url: str, settings: dict[str, str]) -> str:
        first, last = site.day_range()
        cmd = [
            sys.executable, "-m", "crawler.cli", "enqueue", "naver_section",
            "--section", str(_replay.SID1), "--sub", _replay.SID2,
            "--since", first.isoformat(), "--until", last.isoformat(), *legacy_layout(),
            "-s", f"REPLAY_URL={server_url}", *self.sets(settings),
        ]  # fmt: skip
        p = subprocess.run(
            cmd, cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=120
        )
        if p.returncode != 0:
            raise RuntimeError(f"enqueue failed ({p.returncode}): {p.stderr[-2000:]}")
        self.job = p.stdout.strip().splitlines()[-1]
        return self.job

    def start_worker(self, name: str, settings: dict[str, str], idle: float = 1.5) -> None:
        cmd = [
            sys.executable, "-m", "crawler.cli", "worker", "--name", name,
            "--idle-timeout", str(idle), "--log-level", "INFO", *self.sets(settings),
        ]  # fmt: skip
        err = open(self.logs / f"{name}.log", "wb")
        self.files.append(err)
        self.workers[name] = subprocess.Popen(
            cmd, cwd=REPO, env=self.env(), stdout=subprocess.DEVNULL, stderr=err
        )

    def redis(self) -> redis.Redis:
        return self._redis

    def frontier(self) -> str:
        return f"{self.prefix}:f:{self.job}:naver_section"

    def leases_of(self, name: str) -> int:
        try:
            owners = self.redis().hvals(f"{self.frontier()}:owner")
        except redis.RedisError:
            return 0
        return sum(1 for o in owners if o.decode().startswith(f"{name}\t"))

    def holding(self, names: list[str], leases: int, deadline: float) -> str:
        """The first of `names` seen holding at least `leases` requests (the first name when
        none does by `deadline`)."""
        while time.monotonic() < deadline:
            for name in names:
                if self.leases_of(name) >= leases:
                    return name
            time.sleep(0.01)
        return names[0]

    def job_state(self) -> str | None:
        try:
            v = self.redis().hget(f"{self.prefix}:job:{self.job}", "state")
        except redis.RedisError:
            return None
        return v.decode() if v else None

    def counts(self) -> dict[str, int]:
        try:
            raw = self.redis().hgetall(f"{self.frontier()}:counts")
        except redis.RedisError:
            return {}
        return {k.decode(): int(v) for k, v in raw.items()}

    def wait_done(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.job_state() == "done":
                return True
            if all(p.poll() is not None for p in self.workers.values()):
                return self.job_state() == "done"
            time.sleep(0.1)
        return False

    def wait_workers(self, timeout: float) -> list[int]:
        end = time.monotonic() + timeout
        codes = []
        for p in self.workers.values():
            try:
                codes.append(p.wait(timeout=max(0.1, end - time.monotonic())))
            except subprocess.TimeoutExpired:
                p.terminate()
                try:
                    codes.append(p.wait(timeout=20))
                except subprocess.TimeoutExpired:
                    p.kill()
                    codes.append(p.wait())
        return codes

    def kill_all(self) -> None:
        for p in self.workers.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for f in self.files:
            f.close()

    def close(self) -> None:
        self.kill_all()
        self._redis.close()

    def worker_stats(self) -> list[dict[str, float]]:
        out = []
        for name in self.workers:
            log = (self.logs / f"{name}.log").read_text("utf-8", errors="replace")
            out.append(_replay.closing_stats(log))
        return out


def stored(db_url: str) -> tuple[int, int]:
    """(articles, articles stored more than once: same canonical URL or same text)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        n, urls, texts = conn.execute(
            "SELECT count(*), count(DISTINCT canonical_url), count(DISTINCT content_hash) "
            "FROM articles"
        ).fetchone()
    return n, (n - urls) + (n - texts)


def connections(db_url: str) -> int:
    """Sessions of other processes on the database (a crawl's pool keeps one open)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0])


def run_record(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT id, spider, status, stats, errors, args FROM crawl_runs ORDER BY id"
        ).fetchall()
    if len(row) != 1:
        return {"runs": len(row), "rows": [r[:3] for r in row]}
    rid, spider, status, stats, errors, args = row[0]
    return {
        "runs": 1,
        "id": rid,
        "spider": spider,
        "status": status,
        "stats": stats or {},
        "errors": errors or [],
        "args": args,
    }


def distributed_crawl(
    db_url: str,
    redis_url: str,
    prefix: str,
    logs: Path,
    *,
    articles: int = 60,
    workers: int = 3,
    latency: float = 0.0,
    fault: str | None = None,
    redis_server: Any = None,
    database: Any = None,
    settings: dict[str, str] | None = None,
    robots: dict[str, str] | None = None,
    inject: tuple[str, int, dict[str, str]] | None = None,
    timeout: float = 180.0,
) -> Run:
    """Crawl the synthetic site with `workers` workers; `fault`: None, "kill" (SIGKILL a
    worker holding requests), "term" (SIGTERM it: a graceful stop), "redis-restart" (stop
    our Redis mid-crawl, start it again) or "db-down-kill" (stop the PostgreSQL server
    `database` (tests.faults.database.OwnServer, whose database `db_url` is) mid-crawl, SIGKILL
    a worker while its store cannot write, start the server again)."""
    settings = settings or {}
    site = _replay.SyntheticSite(articles)
    problems = site.check()
    if problems:
        raise RuntimeError(f"synthetic site: {problems}")
    cluster = Cluster(db_url, redis_url, prefix, logs)
    server = ReplayServer(SlowSite(site, latency, robots)).start()
    if inject:
        server.inject(*inject)
    notes = ""
    killed = 0
    victim_at = 0
    t0 = time.monotonic()
    try:
        cluster.enqueue(site, server.url, settings)
        names = [f"w{i}" for i in range(workers)]
        for name in names:
            cluster.start_worker(name, settings)
        if fault in ("kill", "term"):
            end = time.monotonic() + 60
            # mid-crawl: a third of the pages served, and the victim holding requests (the
            # first worker seen holding 3: on a loaded machine any of them may start last)
            while len(server.requested()) < articles / 3 and time.monotonic() < end:
                time.sleep(0.01)
            victim = cluster.holding(names, 3, end)
            victim_at = names.index(victim)
            killed = cluster.leases_of(victim)
            sig = signal.SIGKILL if fault == "kill" else signal.SIGTERM
            cluster.workers[victim].send_signal(sig)
            notes = f"{victim} sent {sig.name} holding {killed} leases"
            if fault == "term":
                code = cluster.workers[victim].wait(timeout=60)
                notes += f"; exited {code} holding {cluster.leases_of(victim)} leases"
        elif fault == "redis-restart":
            assert redis_server is not None, "a Redis restart needs the test's own server"
            end = time.monotonic() + 60
            while len(server.requested()) < articles * 0.3 and time.monotonic() < end:
                time.sleep(0.01)
            at = len(server.requested())
            redis_server.restart(down=2.0)
            notes = f"Redis stopped for 2.0 s after {at} of {articles + 4} requests"
        elif fault == "db-down-kill":
            assert database is not None, "a database outage needs the test's own server"
            end = time.monotonic() + 60
            # every worker's crawler has its run open (its pool is connected) and the stores
            # have committed a quarter of the articles
            while (
                stored(db_url)[0] < articles / 4 or connections(db_url) < workers
            ) and time.monotonic() < end:
                time.sleep(0.05)
            database.stop()
            down = time.monotonic()
            at = len(server.requested())
            # the workers go on fetching and parsing, their stores keep the items and retry,
            # and nothing is acknowledged: the victim holds the requests it finished meanwhile
            # (a worker has at most 4 in progress with 2 requests at once: holding 6, it holds
            # finished requests that wait for the store)
            victim = cluster.holding(names, 6, end)
            victim_at = names.index(victim)
            killed = cluster.leases_of(victim)
            cluster.workers[victim].send_signal(signal.SIGKILL)
            fetched = len(server.requested()) - at
            time.sleep(max(0.0, 3.0 - (time.monotonic() - down)))  # the outage: 3 s at least
            database.start()
            notes = (
                f"database stopped for {time.monotonic() - down:.1f} s after {at} of "
                f"{articles + 4} requests; {victim} SIGKILLed holding {killed} leases after "
                f"{fetched} pages were fetched with the database down"
            )
        done = cluster.wait_done(timeout)
        codes = cluster.wait_workers(30)
        if not done:
            notes += "; the job did not finish"
        counts = cluster.counts()
    finally:
        cluster.close()
        server.stop()
    n, twice = stored(db_url)
    return Run(
        articles,
        Counter(server.requested()),
        n,
        twice,
        run_record(db_url),
        counts,
        codes,
        cluster.worker_stats(),
        [(hit.at, hit.url) for hit in server.hits()],
        time.monotonic() - t0,
        killed,
        victim_at,
        notes,
    )


def describe(run: Run) -> str:
    """A few lines for a failing assertion."""
    rec = run.run
    return json.dumps(
        {
            "stored": run.stored,
            "twice": run.stored_twice,
            "requests": sum(run.requests.values()),
            "fetched_twice": run.fetched_twice,
            "status": rec.get("status"),
            "errors": rec.get("errors", [])[:5],
            "counts": run.counts,
            "codes": run.worker_codes,
            "notes": run.notes,
        },
        ensure_ascii=False,
        default=str,
    )
