"""Database and process faults on replayed crawls, each counted on PostgreSQL afterwards.

Every scenario crawls the bench's synthetic replay site (bench/_replay.py: distinct articles
made from the corpus pages, Naver section lists linking to them) with the real `sosik crawl`
in a child process, into a database of a PostgreSQL server the scenario owns (an embedded one
it starts in a temp dir, or one started with `pg_ctl` on a free port: never a shared server),
injects its fault, and returns a `FaultRow` counted afterwards:

- expected: the site's articles (or the items an undisturbed crawl stores);
- stored: how many of them are in `articles` (by canonical URL); stored twice: rows beyond one
  per article, and texts held twice;
- failures: articles not stored at the end; named: how many of those a run record names;
- statuses: the final status of every run record of the scenario.

tests/faults/test_database.py runs them at CI size; `bench/faults_db.py` at full size.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from crawler.domain.outcomes import is_failure
from crawler.domain.urls import canonical_url
from crawler.runrecord import iter_errors
from db.rows import CrawlRun
from tests.faults.table import FaultRow

REPO = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until `condition()` holds (a deadline, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- servers we own ----------------------------------------------------------------------------
class OwnServer:
    """A PostgreSQL server this process started and may stop: never a shared one."""

    label = "server"
    url: str  # its maintenance database

    def database(self, prefix: str = "fault") -> str:
        """A new empty database (no schema: the crawl migrates it); its URL."""
        from db.connection import with_dbname

        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return with_dbname(self.url, name)

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class EmbeddedServer(OwnServer):
    """sosik's embedded server (pgserver) with its data in a temp dir, stopped and started as
    `sosik db stop` and the next command do it."""

    label = "embedded"

    def __init__(self, root: Path) -> None:
        from db.connection import start_embedded

        self.pgdata = root / "pg"
        self.url = start_embedded(self.pgdata)

    def stop(self) -> None:
        from db.connection import stop_embedded

        stop_embedded(self.pgdata)

    def start(self) -> None:
        import pgserver

        from db.connection import embedded_status

        status = embedded_status(self.pgdata)
        if status.running:
            return
        socket_dir = self.url.split("host=", 1)[1].split("&")[0]
        user = "pgserver" if os.geteuid() == 0 else None
        pgserver.pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {socket_dir}",
                "-l",
                str(self.pgdata / "log"),
                "start",
            ],
            pgdata=self.pgdata,
            user=user,
            timeout=60,
        )

    def close(self) -> None:
        self.stop()


class LocalServer(OwnServer):
    """A PostgreSQL from the system's binaries (`initdb`, `pg_ctl` on PATH), on a free port."""

    label = "pg_ctl"

    def __init__(self, root: Path) -> None:
        self.data = root / "pgdata"
        self.port = _free_port()
        self.user = "pgserver" if os.geteuid() == 0 else None  # initdb refuses to run as root
        root.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(root, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.start()

    def _run(self, *cmd: str) -> None:
        subprocess.run(
            cmd, check=True, capture_output=True, text=True, user=self.user, timeout=120, cwd="/"
        )

    def start(self) -> None:
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.data}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.data / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_server_available() -> bool:
    return shutil.which("initdb") is not None and shutil.which("pg_ctl") is not None


# -- the replayed site -------------------------------------------------------------------------
@dataclass
class Replay:
    """The synthetic site, served; `crawl_args` crawl all of it as `sosik crawl` would."""

    site: Any
    server: Any

    @property
    def articles(self) -> int:
        return self.site.articles

    def canonical_urls(self) -> set[str]:
        return {canonical_url(self.site.article_url(n)) for n in range(1, self.articles + 1)}

    def served_since(self, mark: int) -> int:
        """Article pages served since `mark` (an earlier `site.served`)."""
        return self.site.served - mark

    def crawl_args(self) -> list[str]:
        from bench._replay import SID1, SID2

        first, last = self.site.day_range()
        return [
            "crawl", "naver_section", "--section", str(SID1), "--sub", SID2, "--layout", "legacy",
            "--since", first.isoformat(), "--until", last.isoformat(),
            *politeness_off(self.server.url),
        ]  # fmt: skip


def politeness_off(replay_url: str) -> list[str]:
    pairs = (
        f"REPLAY_URL={replay_url}",
        "ROBOTSTXT_OBEY=0",
        "DOWNLOAD_DELAY=0",
        "AUTOTHROTTLE_ENABLED=0",
        "CONCURRENT_REQUESTS_PER_DOMAIN=16",
        "LOGSTATS_INTERVAL=600",
    )
    return [x for p in pairs for x in ("-s", p)]


@contextmanager
def replay_site(articles: int, stories: int | None = None) -> Iterator[Replay]:
    """A synthetic site of `articles` distinct articles (`stories` texts behind them: fewer
    is faster to build; URLs of one story still differ in title, first paragraph and id)."""
    from bench._replay import SyntheticSite
    from crawler.middlewares.replay import ReplayServer

    site = SyntheticSite(articles, stories=stories)
    with ReplayServer(site) as server:  # type: ignore[arg-type] - same match() API
        yield Replay(site, server)


# -- running sosik -----------------------------------------------------------------------------
@dataclass
class Sosik:
    """`sosik` against one database, with a home of its own (spill files, embedded server)."""

    db_url: str | None
    home: Path
    env_extra: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SOSIK_METRICS_PORT")
        }
        env.update(SOSIK_HOME=str(self.home), SOSIK_PROGRESS="0", SOSIK_LOG_LEVEL="WARNING")
        if self.db_url:
            env["DATABASE_URL"] = self.db_url
        return {**env, **self.env_extra}

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", *args],
            cwd=REPO,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crawler.cli", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise
    return proc.returncode, err


def stored_count(db_url: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as c:
        if not c.execute("SELECT to_regclass('articles') IS NOT NULL").fetchone()[0]:
            return 0
        return c.execute("SELECT count(*) FROM articles").fetchone()[0]


def census(db_url: str, expected_urls: set[str]) -> tuple[int, int]:
    """(stored, stored twice): articles of the site in the database by canonical URL, and
    every row or text beyond one per article."""
    with psycopg.connect(db_url, autocommit=True) as c:
        urls = {r[0] for r in c.execute("SELECT canonical_url FROM articles")}
        total, texts = c.execute(
            "SELECT count(*), count(DISTINCT content_hash) FROM articles"
        ).fetchone()
    stored = len(urls & expected_urls)
    return stored, (total - stored) + (total - texts)


def run_records(db_url: str) -> list[CrawlRun]:
    from db.crawl_runs import recent_runs

    with psycopg.connect(db_url, autocommit=True) as c:
        return list(reversed(recent_runs(c, 1000)))


def named_failures(runs: list[CrawlRun]) -> set[str]:
    """Canonical URLs every run record names as failed."""
    return {
        canonical_url(url)
        for r in runs
        for kind, url, _ in iter_errors(r.errors)
        if is_failure(kind)
    }


def fault_row(
    fault: str,
    db_url: str,
    expected_urls: set[str],
    pages_affected: int,
    retried: int,
    notes: str = "",
) -> FaultRow:
    stored, twice = census(db_url, expected_urls)
    runs = run_records(db_url)
    with psycopg.connect(db_url, autocommit=True) as c:
        have = {r[0] for r in c.execute("SELECT canonical_url FROM articles")}
    missing = expected_urls - have
    return FaultRow(
        fault=fault,
        pages_affected=pages_affected,
        retried=retried,
        expected=len(expected_urls),
        stored=stored,
        stored_twice=twice,
        failures=len(missing),
        named=len(missing & named_failures(runs)),
        notes=notes,
        statuses=[r.status for r in runs],
    )


def stat(runs: list[CrawlRun], key: str) -> int:
    return int(sum(float((r.stats or {}).get(key, 0) or 0) for r in runs))


# -- the scenarios -----------------------------------------------------------------------------
def outage(
    server: OwnServer, replay: Replay, home: Path, *, down: float, at: float = 0.5
) -> FaultRow:
    """The database stopped for `down` seconds once `at` of the articles were served."""
    db = server.database()
    sosik = Sosik(db, home)
    mark = replay.site.served
    crawl = sosik.start(*replay.crawl_args())
    try:
        wait_for(
            lambda: replay.served_since(mark) >= at * replay.articles or crawl.poll() is not None,
            120,
            "the crawl to get going",
        )
        before = stored_count(db)
        server.stop()
        time.sleep(down)  # the fault itself: how long the database stays down
        server.start()
        code, err = finish(crawl)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    runs = run_records(db)
    row = fault_row(
        f"{server.label} server stopped {down:g} s at article {int(at * replay.articles)}",
        db,
        replay.canonical_urls(),
        replay.articles - before,
        stat(runs, "store/write_retries") + stat(runs, "store/spilled"),
        f"exit {code}; outage {stat(runs, 'store/outage_seconds')} s seen by the store",
    )
    row.notes += "" if code == 0 else f"; stderr: {err[-300:]}"
    return row


def killed_sessions(
    server: OwnServer, replay: Replay, home: Path, *, for_seconds: float = 2.0
) -> FaultRow:
    """Every session of the crawl's database terminated (pg_terminate_backend), again and
    again for `for_seconds`, from a third of the crawl on."""
    db = server.database()
    name = conninfo_to_dict(db)["dbname"]
    mark = replay.site.served
    crawl = Sosik(db, home).start(*replay.crawl_args())
    killed = 0
    try:
        wait_for(
            lambda: replay.served_since(mark) >= replay.articles / 3 or crawl.poll() is not None,
            120,
            "the crawl to get going",
        )
        with psycopg.connect(server.url, autocommit=True) as c:
            until = time.monotonic() + for_seconds
            while time.monotonic() < until:
                killed += c.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [name],
                ).fetchone()[0]
                time.sleep(0.1)  # pacing of the fault, not a measurement
        code, err = finish(crawl)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    runs = run_records(db)
    return fault_row(
        f"store's sessions terminated ({killed} times over {for_seconds:g} s)",
        db,
        replay.canonical_urls(),
        killed,
        stat(runs, "store/write_retries"),
        f"exit {code}" + ("" if code == 0 else f"; {err[-300:]}"),
    )


def down_to_end(
    server: OwnServer, replay: Replay, home: Path, *, then: str
) -> tuple[FaultRow, dict[str, Any]]:
    """The database stopped at half the crawl and not back before it ends; then `sosik db
    flush-spill` (then="flush-spill") or the same crawl again (then="next run").

    Also returns what the test checks: the first run's exit code and record, the URLs not
    stored before recovery, what recovery printed."""
    db = server.database()
    sosik = Sosik(db, home)
    fast = ["-s", "STORE_RETRY_SECONDS=3", "-s", "SOSIK_DB_WAIT=1"]
    mark = replay.site.served
    crawl = sosik.start(*replay.crawl_args(), *fast)
    try:
        wait_for(
            lambda: replay.served_since(mark) >= replay.articles / 2 or crawl.poll() is not None,
            120,
            "the crawl to get going",
        )
        before = stored_count(db)
        server.stop()
        code, err = finish(crawl)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    spill_files = sorted((home / "spill").glob("*.jsonl"))
    server.start()
    not_yet = replay.canonical_urls() - _stored_urls(db)
    first = run_records(db)[0]
    if then == "flush-spill":
        recovery = sosik.run("db", "flush-spill")
    else:
        recovery = sosik.run(*replay.crawl_args())
    runs = run_records(db)
    first_after = runs[0]
    row = fault_row(
        f"database down from article {replay.articles // 2} to the end, then {then}",
        db,
        replay.canonical_urls(),
        replay.articles - before,
        stat(runs, "spill/written_back") + stat(runs, "store/spilled"),
        f"crawl exit {code}, {then} exit {recovery.returncode}",
    )
    # The run's truth: `errors`, naming every URL that was not stored when it ended.
    row.notes += (
        f"; {len(not_yet)} not stored when the crawl ended, "
        f"{len(not_yet & named_failures([first_after]))} of them named in its record"
    )
    return row, {
        "exit": code,
        "stderr": err,
        "spill_files": spill_files,
        "not_yet": not_yet,
        "first_before": first,
        "first_after": first_after,
        "recovery": recovery,
        "runs": runs,
    }


def _stored_urls(db_url: str) -> set[str]:
    with psycopg.connect(db_url, autocommit=True) as c:
        return {r[0] for r in c.execute("SELECT canonical_url FROM articles")}


def sigkill_then_again(
    server: OwnServer, replay: Replay, home: Path
) -> tuple[FaultRow, dict[str, Any]]:
    """SIGKILL of the crawl at half the articles, then the same command again."""
    db = server.database()
    sosik = Sosik(db, home)
    # a heartbeat every second: the killed run keeps the stats of its last one
    crawl = sosik.start(*replay.crawl_args(), "-s", "SOSIK_HEARTBEAT_SECONDS=1")
    try:
        wait_for(
            lambda: stored_count(db) >= replay.articles / 2 or crawl.poll() is not None,
            180,
            "half the articles stored",
        )
        wait_for(lambda: _beats(db) >= 1 or crawl.poll() is not None, 60, "a heartbeat")
        os.kill(crawl.pid, signal.SIGKILL)
        finish(crawl, timeout=60)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    at_kill = stored_count(db)
    again = sosik.run(*replay.crawl_args())
    row, runs = _after_kill("the same command", db, replay, at_kill, again.returncode)
    return row, {"at_kill": at_kill, "again": again, "runs": runs}


def _after_kill(
    then: str, db: str, replay: Replay, at_kill: int, code: int
) -> tuple[FaultRow, list[CrawlRun]]:
    """The row of a kill followed by `then`: what the re-run fetched, what it skipped."""
    runs = run_records(db)
    row = fault_row(
        f"SIGKILL at article {at_kill}, then {then}",
        db,
        replay.canonical_urls(),
        replay.articles - at_kill,
        stat(runs[1:], "pages/article"),
        f"re-run exit {code}, {stat(runs[1:], 'resume/skipped')} stored ones not fetched again",
    )
    return row, runs


def _beats(db_url: str) -> int:
    """Runs whose heartbeat carried stats."""
    with psycopg.connect(db_url, autocommit=True) as c:
        return c.execute(
            "SELECT count(*) FROM crawl_runs WHERE stats ? 'pages/article'"
        ).fetchone()[0]


def sigkill_then_scheduler(
    server: OwnServer, replay: Replay, home: Path
) -> tuple[FaultRow, dict[str, Any]]:
    """The scheduler's job crawls the site; its crawl is SIGKILLed half way; the job runs
    again (`sosik schedule once`)."""
    import psutil

    db = server.database()
    sosik = Sosik(db, home)
    first, last = replay.site.day_range()
    settings = ", ".join(
        f'{k} = "{v}"'
        for k, v in (
            ("REPLAY_URL", replay.server.url),
            ("ROBOTSTXT_OBEY", "0"),
            ("DOWNLOAD_DELAY", "0"),
            ("AUTOTHROTTLE_ENABLED", "0"),
            ("CONCURRENT_REQUESTS_PER_DOMAIN", "16"),
        )
    )
    from bench._replay import SID1, SID2

    path = home / "schedule.toml"
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""
[[job]]
name = "sections"
portal = "naver_section"
section = "{SID1}"
sub = "{SID2}"
layout = "legacy"
since = "{first.isoformat()}"
until = "{last.isoformat()}"
every = "1h"
settings = {{ {settings} }}
""",
        "utf-8",
    )
    sched = sosik.start("schedule", "once", "sections", "--config", str(path))
    try:
        wait_for(
            lambda: stored_count(db) >= replay.articles / 2 or sched.poll() is not None,
            180,
            "half the articles stored",
        )
        if sched.poll() is not None:
            raise AssertionError(f"the job ended before the kill: {sched.stderr.read()[-3000:]}")
        children = psutil.Process(sched.pid).children(recursive=True)
        for child in children:
            child.send_signal(signal.SIGKILL)
        code, _ = finish(sched)
    finally:
        if sched.poll() is None:
            sched.kill()
    at_kill = stored_count(db)
    again = sosik.run("schedule", "once", "sections", "--config", str(path))
    row, runs = _after_kill("the scheduler's job", db, replay, at_kill, again.returncode)
    row.notes = f"job exit {code} (its crawl killed), then {row.notes}"
    return row, {"at_kill": at_kill, "again": again, "runs": runs, "killed": len(children)}


def bad_items(server: OwnServer, home: Path, good: int = 20) -> tuple[FaultRow, dict[str, Any]]:
    """One batch: `good` ordinary articles and a 1,000-syllable headline, a NUL in a body and
    a 1 MB title among them, through the real pipelines (tests.faults.itemcrawl)."""
    from dataclasses import replace

    from tests.db.factories import article
    from tests.faults.itemcrawl import write_items

    db = server.database()
    items = [
        replace(article(n), headline_key=None, content_hash=None, simhash=None)
        for n in range(1, good + 1)
    ]
    bad = [
        replace(
            article(9001),
            title="가나다라마바사아자차" * 100,
            headline_key=None,
            content_hash=None,
            simhash=None,
        ),
        replace(
            article(9002),
            body="첫 문단이다.\n\n둘째\x00 문단이다.",
            headline_key=None,
            content_hash=None,
            simhash=None,
        ),
        replace(
            article(9003),
            title="제목 " * 350_000,
            headline_key=None,
            content_hash=None,
            simhash=None,
        ),
    ]
    batch = items[: good // 2] + bad + items[good // 2 :]
    home.mkdir(parents=True, exist_ok=True)
    path = write_items(home / "items.jsonl", batch)
    env = {**Sosik(db, home).env()}
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.itemcrawl", str(path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    good_urls = {it.url for it in items}
    bad_urls = {it.url for it in bad}
    stored, twice = census(db, good_urls | bad_urls)
    runs = run_records(db)
    named = named_failures(runs)
    row = FaultRow(
        fault="batch with a 1,000-syllable headline, a NUL body, a 1 MB title",
        pages_affected=len(bad),
        retried=0,
        expected=good,
        stored=len(_stored_urls(db) & good_urls),
        stored_twice=twice + len(_stored_urls(db) & bad_urls),
        failures=len(bad_urls - _stored_urls(db)),
        named=len((bad_urls - _stored_urls(db)) & named),
        notes=f"exit {done.returncode}",
        statuses=[r.status for r in runs],
    )
    return row, {"done": done, "runs": runs, "bad_urls": bad_urls}


def fresh_database_race(
    server: OwnServer, replay: Replay, home: Path, rounds: int, embedded_rounds: int = 1
) -> tuple[FaultRow, list[str]]:
    """Two crawls started at once on a fresh database (no schema yet), `rounds` times; the
    first `embedded_rounds` of them on a fresh embedded server (no DATABASE_URL, a new home:
    both processes start the server and create the database)."""
    problems: list[str] = []
    stored_total = twice_total = 0
    for r in range(rounds):
        embedded = r < embedded_rounds
        rhome = home / f"race{r}"
        db = None if embedded else server.database("race")
        sosik = Sosik(db, rhome)
        procs = [sosik.start(*replay.crawl_args()) for _ in range(2)]
        results = [finish(p) for p in procs]
        for code, err in results:
            if code != 0:
                problems.append(
                    f"round {r}: exit {code}: {err.strip().splitlines()[-1:] or err[-200:]}"
                )
        url = db
        if embedded:
            from db.connection import EMBEDDED_DBNAME, with_dbname

            url = with_dbname(_embedded_server_url(rhome / "pg"), EMBEDDED_DBNAME)
        stored, twice = census(url, replay.canonical_urls())
        stored_total += stored
        twice_total += twice
        if embedded:
            sosik.run("db", "stop")
    row = FaultRow(
        fault=f"two crawls at once on a fresh database, {rounds} times ({embedded_rounds} embedded)",
        pages_affected=2 * rounds,
        retried=0,
        expected=rounds * replay.articles,
        stored=stored_total,
        stored_twice=twice_total,
        failures=len(problems),
        named=0,
        notes="; ".join(problems)[:300],
        statuses=["ok"] if not problems else ["failed"],
    )
    return row, problems


def _embedded_server_url(pgdata: Path) -> str:
    from db.connection import embedded_status

    st = embedded_status(pgdata)
    assert st.running, f"no embedded server running in {pgdata}"
    return f"postgresql://postgres:@/postgres?host={st.socket_dir}"


@contextmanager
def temp_root(prefix: str = "sosik-faults-") -> Iterator[Path]:
    """A temp dir readable by the server's user (pgserver runs it as `pgserver` under root)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
