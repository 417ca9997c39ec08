"""The reader role, tried as an adversary would: a login in `sosik_reader` (what a downstream
service gets) must not be able to stop, stall or confuse the writers and other readers, nor
store data. One test per attack of issue 13; each failed on the code before db/locks.py.

Nothing here sleeps to make a point: a thread that may hang is joined with a deadline, output
of a subprocess is awaited with a deadline (a deadline is not a timing assertion).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from db import migrate
from db.articles import store_article
from db.connection import connect, with_dbname
from db.feed import listen
from tests.db.factories import article
from tests.dbfixtures import drop_database, new_database

Conn = psycopg.Connection[Any]
REPO = Path(__file__).resolve().parents[2]
OLD_WRITER_KEY = (0x736F736B, 1)  # pg_advisory_xact_lock key the writers used before
OLD_JOB_NS = 0x736F736A  # namespace of the advisory job locks before
DEADLINE = 30.0


@pytest.fixture
def reader_role(db_url: str) -> Iterator[str]:
    """A LOGIN role in sosik_reader, as README tells an operator to create for a service."""
    role = f"sosik_feed_{uuid.uuid4().hex[:8]}"
    with connect(db_url) as c:
        try:
            c.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE sosik_reader").format(sql.Identifier(role))
            )
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("no right to create roles on the test server")
    yield role
    with connect(db_url) as c:
        c.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))  # what it managed
        c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def reader_url(db_url: str, reader_role: str) -> str:
    return make_conninfo(db_url, user=reader_role)


@pytest.fixture
def own_db(pg_server_url: str, db_template: str | None) -> Iterator[str]:
    """A database of this test's own, at head (for a test that may change its schema)."""
    name = new_database(pg_server_url, "sosik_guard", template=db_template) if db_template else None
    if name is None:
        pytest.skip("no right to create databases on the test server")
    yield with_dbname(pg_server_url, name)
    drop_database(pg_server_url, name)


def as_reader(reader_url: str) -> Conn:
    """The attacker's session: plain psycopg, none of sosik's settings."""
    return psycopg.connect(reader_url, autocommit=True)


def in_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    """Run `fn` in a thread; its result or exception lands in the returned list."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as e:
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


# -- the writers' lock -------------------------------------------------------------------------
def test_a_reader_cannot_take_or_hold_the_writers_lock(conn: Conn, reader_url: str) -> None:
    with as_reader(reader_url) as r:
        # Before: this froze every crawl's store for as long as the reader liked.
        r.execute("SELECT pg_advisory_lock(%s, %s)", OLD_WRITER_KEY)
        t, out = in_thread(lambda: store_article(conn, article(1)))
        t.join(DEADLINE)
        assert not t.is_alive(), "the writer is stuck behind the reader's lock"
        assert out[0].outcome == "inserted"
        for attempt in (
            "SELECT name FROM sosik_locks FOR UPDATE",
            "SELECT name FROM sosik_locks FOR KEY SHARE",
            "LOCK TABLE sosik_locks IN ACCESS EXCLUSIVE MODE",
            "SELECT id FROM articles_feed FOR KEY SHARE",  # would block new versions
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with r.transaction():
                    r.execute(attempt)


def test_a_writer_blocked_by_another_writer_gives_up_after_the_lock_timeout(
    conn: Conn, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOSIK_DB_LOCK_TIMEOUT", "1s")
    with connect(db_url) as stuck, stuck.transaction():
        store_article(stuck, article(1))  # holds the writers' lock until its transaction ends
        t, out = in_thread(lambda: store_article(conn, article(2)))
        t.join(DEADLINE)
        stalled = t.is_alive()
    t.join(DEADLINE)
    assert not stalled, "the writer waited past the lock timeout"
    assert isinstance(out[0], psycopg.errors.LockNotAvailable)


def test_a_migration_waits_for_a_readers_open_transaction_at_most_the_lock_timeout(
    own_db: str, reader_role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader idling in a transaction on the feed makes DDL on it wait, and every writer
    would queue behind that DDL. The migration gives up instead, and changes nothing."""
    monkeypatch.setenv("SOSIK_DB_LOCK_TIMEOUT", "1s")
    with as_reader(make_conninfo(own_db, user=reader_role)) as r, r.transaction():
        r.execute("SELECT id FROM articles_feed LIMIT 1")
        t, out = in_thread(lambda: migrate.downgrade(own_db, "0001"))  # DROP VIEW articles_feed
        t.join(DEADLINE)
        stalled = t.is_alive()
    t.join(DEADLINE)
    assert not stalled, "the migration waited for the reader"
    assert isinstance(out[0], Exception) and "lock timeout" in str(out[0])
    assert migrate.current_revision(own_db) == migrate.head_revision()


# -- job locks ---------------------------------------------------------------------------------
def test_a_reader_cannot_see_or_take_a_jobs_lease(db_url: str, reader_url: str) -> None:
    from db.jobs import job_lock

    with as_reader(reader_url) as r:
        for attempt in (
            "SELECT * FROM sosik_leases",
            "INSERT INTO sosik_leases (name, owner, pid, expires_at)"
            " VALUES ('job:nvidia', 'me', pg_backend_pid(), 'infinity')",
            "DELETE FROM sosik_leases",
            "LOCK TABLE sosik_leases",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with r.transaction():
                    r.execute(attempt)
        with job_lock(db_url, "nvidia") as lock:
            assert lock.held


def test_a_reader_holding_a_jobs_advisory_key_does_not_make_the_job_skip(
    conn: Conn, db_url: str, reader_url: str, tmp_path: Path
) -> None:
    from tests.ops import opskit as kit

    with kit.replay({kit.SEARCH: kit.search_page()}) as server:
        path = kit.schedule_file(
            tmp_path / "schedule.toml",
            server,
            f"""
            [[job]]
            name = "shared"
            portal = "naver"
            query = "{kit.QUERY}"
            articles = false
            every = "15m"
            settings = {{ REPLAY_URL = "{{replay}}" }}
            """,
        )
        with as_reader(reader_url) as r:
            # Before: `schedule once` then said "running elsewhere" and exited 75, every time.
            r.execute("SELECT pg_advisory_lock(%s, hashtext('shared'))", [OLD_JOB_NS])
            done = kit.sosik(db_url, "schedule", "once", "shared", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert conn.execute("SELECT status FROM crawl_runs").fetchall() == [("ok",)]


# -- notifications -----------------------------------------------------------------------------
class FeedReader:
    """examples/feed_reader.py as a service runs it, logged in as the reader role."""

    def __init__(self, url: str, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": url}
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "examples" / "feed_reader.py"), *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def next_id(self) -> int:
        try:
            return int(self.lines.get(timeout=DEADLINE).split("\t")[0])
        except queue.Empty:
            raise AssertionError(f"feed_reader printed nothing for {DEADLINE}s") from None

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=DEADLINE)
        return err


def test_a_forged_notification_does_not_make_a_reader_print_an_article_again(
    conn: Conn, reader_url: str, tmp_path: Path
) -> None:
    old = store_article(conn, article(1)).article_id
    state = tmp_path / "feed.pos"
    state.write_text(f"{old}\n")  # the reader handled it yesterday
    feed = FeedReader(reader_url, "--state", str(state))
    try:
        first = store_article(conn, article(2)).article_id
        assert feed.next_id() == first  # it is listening
        with as_reader(reader_url) as r:
            r.execute(sql.SQL("NOTIFY sosik_articles, {}").format(sql.Literal(str(old))))
            r.execute(sql.SQL("NOTIFY sosik_articles, {}").format(sql.Literal(str(first))))
        second = store_article(conn, article(3)).article_id
        assert feed.next_id() == second  # and neither old one came again before it
    finally:
        feed.stop()


def test_a_garbage_notification_is_skipped_and_the_reader_goes_on(
    conn: Conn, reader_url: str
) -> None:
    feed = FeedReader(reader_url)
    try:
        first = store_article(conn, article(1)).article_id
        assert feed.next_id() == first
        with as_reader(reader_url) as r:
            for payload in ("x", "", "-1", "1e3", "9" * 30, " 5"):
                r.execute(sql.SQL("NOTIFY sosik_articles, {}").format(sql.Literal(payload)))
        second = store_article(conn, article(2)).article_id
        assert feed.next_id() == second  # before: it hung here, forever
        assert feed.proc.poll() is None
    finally:
        err = feed.stop()
    assert "skipped a notification on sosik_articles that is not an article id: 'x'" in err
    assert "Traceback" not in err


def test_listen_skips_and_logs_payloads_that_are_not_article_ids(
    conn: Conn, db_url: str, reader_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with connect(db_url) as listener:
        assert list(listen(listener, timeout=0)) == []  # LISTEN now
        with as_reader(reader_url) as r:
            pid = r.info.backend_pid
            for payload in ("x", "12abc", "0"):
                r.execute(sql.SQL("NOTIFY sosik_articles, {}").format(sql.Literal(payload)))
        a = store_article(conn, article(1)).article_id
        got = list(listen(listener, timeout=2))
    assert got == [a]  # before: ValueError on 'x'
    skipped = [r.getMessage() for r in caplog.records if "not an article id" in r.getMessage()]
    assert len(skipped) == 3 and f"from backend pid {pid}" in skipped[0]


# -- storing data ------------------------------------------------------------------------------
def test_a_reader_cannot_store_large_objects(conn: Conn, reader_url: str) -> None:
    with as_reader(reader_url) as r:
        for attempt in (
            "SELECT lo_from_bytea(0, 'stored by a reader')",
            "SELECT lo_create(0)",
            "SELECT lo_creat(-1)",
            "SELECT lo_put(1, 0, 'x')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                r.execute(attempt)
        assert r.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone() == (0,)
