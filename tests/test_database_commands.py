"""Where the embedded server lives, `sosik db status|stop` (the search index's backlog too), and
runs whose process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.extensions.indexer import LEASE
from crawler.runrecord import is_dead, process_identity, this_host
from db.articles import store_articles
from db.connection import embedded_pgdata, sosik_home
from db.crawl_runs import get_run, start_run
from db.locks import Lease
from db.rows import CrawlRun
from tests.db.factories import article
from tests.faults.database import temp_root

REPO = Path(__file__).resolve().parents[1]


def sosik(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_home_is_per_user_not_per_folder(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("SOSIK_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert sosik_home() == Path("~/.local/share/sosik").expanduser().resolve()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert sosik_home() == tmp_path / "data" / "sosik"
    assert embedded_pgdata() == tmp_path / "data" / "sosik" / "pg"
    monkeypatch.setenv("SOSIK_HOME", str(tmp_path / "mine"))  # SOSIK_HOME still wins
    assert sosik_home() == tmp_path / "mine"


def test_status_and_stop_of_the_embedded_server() -> None:
    with temp_root() as root:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(SOSIK_HOME=str(root / "home"))
        before = sosik("db", "status", env=env)
        assert before.returncode == 1
        assert "not created yet" in before.stdout and "spill       nothing waiting" in before.stdout
        try:
            assert sosik("db", "upgrade", env=env).returncode == 0  # starts it, from any folder
            running = sosik("db", "status", env=env)
            assert running.returncode == 0, running.stdout + running.stderr
            assert f"embedded PostgreSQL in {root / 'home' / 'pg'}: running" in running.stdout
            assert "(up to date)" in running.stdout
            assert "crawls      0 running" in running.stdout
            assert "search      0 indexed, 0 waiting for the index\n" in running.stdout
        finally:
            stopped = sosik("db", "stop", env=env)
        assert stopped.returncode == 0
        assert (
            stopped.stderr.strip() == f"stopped the embedded PostgreSQL in {root / 'home' / 'pg'}"
        )
        after = sosik("db", "status", env=env)
        assert after.returncode == 1 and ": stopped" in after.stdout
        again = sosik("db", "stop", env=env)
        assert again.returncode == 0 and "is not running" in again.stderr


def test_stop_refuses_a_server_that_is_not_ours(db_url: str) -> None:
    done = sosik("db", "stop", env={**os.environ, "DATABASE_URL": db_url})
    assert done.returncode == 1
    assert done.stderr.strip().startswith("sosik: DATABASE_URL is set")


def test_status_shows_the_search_index_backlog_and_its_indexer(conn, db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url}
    store_articles(conn, [article(n, title=f"환율 기사 {n}") for n in range(1, 6)])
    before = sosik("db", "status", env=env)
    assert before.returncode == 0, before.stdout + before.stderr
    assert "search      0 indexed, 5 waiting for the index: `sosik db reindex`\n" in before.stdout
    assert "indexer     none holds the lease\n" in before.stdout
    with Lease(db_url, LEASE) as lease:  # what a running indexer holds
        assert lease.held
        during = sosik("db", "status", env=env)
    assert "search      0 indexed, 5 waiting for the index\n" in during.stdout  # no hint
    assert f"indexer     {lease.owner} holds the lease since " in during.stdout
    done = sosik("db", "reindex", env=env)
    assert done.returncode == 0, done.stderr
    after = sosik("db", "status", env=env)
    assert "search      5 indexed, 0 waiting for the index\n" in after.stdout
    assert "indexer     none holds the lease\n" in after.stdout
    # a new version of one article is waiting again
    conn.execute(
        "UPDATE articles SET version = version + 1 WHERE id = (SELECT min(id) FROM articles)"
    )
    again = sosik("db", "status", env=env)
    assert "search      5 indexed, 1 waiting for the index: `sosik db reindex`\n" in again.stdout


def _run(**kw) -> CrawlRun:
    now = datetime.now(UTC)
    fields = dict(id=1, spider="s", args={}, started_at=now, finished_at=None, status="running")
    return CrawlRun(**{**fields, **kw})


def test_a_run_is_dead_when_its_process_is_gone() -> None:
    gone = subprocess.run(["true"], check=True)  # a pid that existed and is over
    here = this_host()
    me = os.getpid()
    assert is_dead(_run(pid=me, host=here, process=process_identity())) is None
    assert is_dead(_run(pid=me, host=here, process="another:process")) is not None  # pid reused
    old = datetime.now(UTC) - timedelta(minutes=10)
    assert "no heartbeat" in is_dead(_run(pid=me, host="elsewhere", heartbeat_at=old))
    assert is_dead(_run(pid=me, host="elsewhere", heartbeat_at=datetime.now(UTC))) is None
    assert gone.returncode == 0


def test_runs_marks_a_run_whose_process_is_gone_killed(conn, db_url: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(child.pid)
    child.wait()
    dead = start_run(
        conn, "naver", {"query": "q"}, pid=child.pid, host=this_host(), process=identity
    )
    alive = start_run(
        conn, "daum", {"query": "q"}, pid=os.getpid(), host=this_host(), process=process_identity()
    )
    listing = sosik("runs", env={**os.environ, "DATABASE_URL": db_url})
    assert listing.returncode == 0, listing.stderr
    run = get_run(conn, dead)
    assert run is not None and run.status == "killed" and run.finished_at is not None
    assert f"process {child.pid} on {this_host()} is gone" in run.stats["failure"]
    assert get_run(conn, alive).status == "running"  # type: ignore[union-attr]
    line = next(x for x in listing.stdout.splitlines() if x.split()[:1] == [str(dead)])
    assert "killed" in line
