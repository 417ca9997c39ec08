"""Locks a reader cannot take or hold, and timeouts so that no writer waits forever.

Why not advisory locks: `pg_advisory_lock` is open to every role that can connect, so a
reader (`sosik_reader`) could take the writers' key and freeze ingestion, or a job's key and
make every scheduler skip the job. The locks here are rows of tables that only the writers'
role may touch (migration 0003 revokes them from PUBLIC):

- **The writers' lock** (`take_writer_lock`): `SELECT … FROM sosik_locks WHERE name =
  'writers' FOR UPDATE`, taken first in every transaction that adds articles or search hits and
  held to its commit. Writer transactions therefore run one at a time, which makes article ids
  commit in id order (db.feed's cursor relies on it) and a URL lookup and its insert one atomic
  step. Taking a row lock needs UPDATE on the table: a reader cannot take it, and so cannot
  hold it.
- **Leases** (`Lease`, used for scheduled jobs by db.jobs): a row of `sosik_leases` naming its
  owner (host:pid:token), the backend that renews it and when it expires. A job's crawls run
  for minutes or hours; holding a row lock for that long would mean an open transaction for as
  long: it holds back VACUUM's horizon for the whole database (dead rows of every table pile
  up), dies with any network blip, and trips `idle_in_transaction_session_timeout`. A lease
  needs only short statements: taken with one upsert, renewed by a heartbeat thread every
  `ttl / 4` seconds, released by a delete. It frees itself when it expires (the owner's host
  died) or as soon as the session that renews it is gone (the owner's process died).

Timeouts (`Timeouts`, from the environment): every session sosik opens gets `lock_timeout`,
`statement_timeout` and `idle_in_transaction_session_timeout` (`set_session_timeouts`, called
by db.connection.connect), and every writer transaction tighter ones (`take_writer_lock`), so
a writer blocked by anything fails with an error after a bounded wait instead of hanging.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import class_row

from db.dsn import ConfigError

logger = logging.getLogger(__name__)

WRITERS = "writers"

# Environment variables (PostgreSQL durations: "500ms", "30s", "5min"; "0" turns one off).
ENV_LOCK_TIMEOUT = "SOSIK_DB_LOCK_TIMEOUT"
ENV_STATEMENT_TIMEOUT = "SOSIK_DB_STATEMENT_TIMEOUT"
ENV_WRITE_TIMEOUT = "SOSIK_DB_WRITE_TIMEOUT"
# A lock wait: writer transactions last well under a second (a batch of 250 articles stores in
# ~50 ms), so 30 s of waiting means something is wrong, not busy.
DEFAULT_LOCK_TIMEOUT = "30s"
# Any statement of any session: a safety net, not a performance bound (a re-parse's archive
# query over millions of pages may take a while).
DEFAULT_STATEMENT_TIMEOUT = "10min"
# Each statement of a writer transaction, and the idle time inside one: a writer holds the
# writers' lock for all of that time, so it must not stall.
DEFAULT_WRITE_TIMEOUT = "60s"
# Idle inside a transaction, for other sessions.
DEFAULT_IDLE_TIMEOUT = "10min"

LEASE_TTL = 120.0  # seconds a lease lives without a heartbeat

_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*(us|ms|s|min|h|d)?\s*$")


# -- timeouts ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Timeouts:
    """Postgres session timeouts as duration strings (`lock_timeout`, `statement_timeout`, writer
    transactions, idle in transaction).
    """

    lock: str = DEFAULT_LOCK_TIMEOUT
    statement: str = DEFAULT_STATEMENT_TIMEOUT
    write: str = DEFAULT_WRITE_TIMEOUT
    idle: str = DEFAULT_IDLE_TIMEOUT

    @classmethod
    def from_env(cls) -> Timeouts:
        """The timeouts the environment asks for; ConfigError names a malformed variable."""
        return cls(
            lock=_duration(ENV_LOCK_TIMEOUT, DEFAULT_LOCK_TIMEOUT),
            statement=_duration(ENV_STATEMENT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT),
            write=_duration(ENV_WRITE_TIMEOUT, DEFAULT_WRITE_TIMEOUT),
        )


def _duration(var: str, default: str) -> str:
    value = os.environ.get(var)
    if value is None or value == "":
        return default
    if not _DURATION.match(value):
        raise ConfigError(f"{var} {value!r} is not a duration like 500ms, 30s or 5min (0 = none)")
    return value.strip()


SET_SESSION = (
    "SELECT set_config('lock_timeout', %(lock)s, false),"
    " set_config('statement_timeout', %(statement)s, false),"
    " set_config('idle_in_transaction_session_timeout', %(idle)s, false)"
)


def set_session_timeouts(conn: psycopg.Connection[Any], timeouts: Timeouts | None = None) -> None:
    """Give this session sosik's lock, statement and idle-in-transaction timeouts."""
    t = timeouts or Timeouts.from_env()
    params = {"lock": t.lock, "statement": t.statement, "idle": t.idle}
    if conn.autocommit:
        conn.execute(SET_SESSION, params)
    else:
        with conn.transaction():
            conn.execute(SET_SESSION, params)


# -- the writers' lock -------------------------------------------------------------------------
TAKE_LOCK = "SELECT name FROM sosik_locks WHERE name = '{name}' FOR UPDATE"


class LockMissing(RuntimeError):
    """The lock's row is not in `sosik_locks` (the schema is older than 0003?)."""


def take_writer_lock(
    conn: psycopg.Connection[Any], *, then: str = "", timeouts: Timeouts | None = None
) -> None:
    """Take the writers' lock for the rest of the current transaction, in one round trip.

    Call it first in every transaction that adds articles or search hits, before any id is
    drawn. The transaction's statements get the writers' timeouts (a lock wait of at most
    `lock`, statements and idle gaps of at most `write`). `then`: more statements to run in the
    same round trip after the lock is taken (settings of the caller's own, no parameters).
    """
    if conn.info.transaction_status != pq.TransactionStatus.INTRANS:
        raise RuntimeError("the writers' lock is taken inside a transaction (conn.transaction())")
    t = timeouts or Timeouts.from_env()
    statements = [
        f"SET LOCAL lock_timeout = '{t.lock}'",
        f"SET LOCAL statement_timeout = '{t.write}'",
        f"SET LOCAL idle_in_transaction_session_timeout = '{t.write}'",
        *([then] if then else []),
        TAKE_LOCK.format(name=WRITERS),
    ]
    cur = conn.execute("; ".join(statements))
    while cur.nextset():
        pass
    if cur.fetchone() is None:
        raise LockMissing(f"no {WRITERS!r} row in sosik_locks: run `sosik db upgrade`")


# -- leases ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LeaseRow:
    """One `sosik_leases` row: who holds a named lease (owner, backend pid) and until when
    (timestamptz).
    """

    name: str
    owner: str
    pid: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


# Taken when free, expired, or left by a session that is gone (its backend pid no longer runs).
TRY_LEASE = """
INSERT INTO sosik_leases AS l (name, owner, pid, expires_at)
VALUES (%(name)s, %(owner)s, pg_backend_pid(), now() + make_interval(secs => %(ttl)s))
ON CONFLICT (name) DO UPDATE
SET owner = EXCLUDED.owner, pid = EXCLUDED.pid, acquired_at = now(), renewed_at = now(),
    expires_at = EXCLUDED.expires_at
WHERE l.expires_at <= now()
   OR NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = l.pid)
RETURNING owner
"""
RENEW_LEASE = """
UPDATE sosik_leases
SET pid = pg_backend_pid(), renewed_at = now(), expires_at = now() + make_interval(secs => %(ttl)s)
WHERE name = %(name)s AND owner = %(owner)s
RETURNING expires_at
"""
RELEASE_LEASE = "DELETE FROM sosik_leases WHERE name = %(name)s AND owner = %(owner)s"
LEASE_HOLDER = """
SELECT l.name, l.owner, l.pid, l.acquired_at, l.renewed_at, l.expires_at
FROM sosik_leases l
WHERE l.name = %(name)s AND l.expires_at > now()
  AND EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = l.pid)
"""


def new_owner() -> str:
    """An owner name for this process: host, pid and a random token (`web1:4242:9f3a1c`)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def try_lease(conn: psycopg.Connection[Any], name: str, owner: str, ttl: float = LEASE_TTL) -> bool:
    """Take lease `name` for `owner` for `ttl` seconds if nobody holds it; True when taken."""
    row = conn.execute(TRY_LEASE, {"name": name, "owner": owner, "ttl": ttl}).fetchone()
    return row is not None


def renew_lease(
    conn: psycopg.Connection[Any], name: str, owner: str, ttl: float = LEASE_TTL
) -> bool:
    """Push the lease's expiry `ttl` seconds ahead; False when `owner` holds it no more."""
    row = conn.execute(RENEW_LEASE, {"name": name, "owner": owner, "ttl": ttl}).fetchone()
    return row is not None


def release_lease(conn: psycopg.Connection[Any], name: str, owner: str) -> bool:
    """End `owner`'s lease `name`; False when it held none."""
    return conn.execute(RELEASE_LEASE, {"name": name, "owner": owner}).rowcount > 0


def lease_holder(conn: psycopg.Connection[Any], name: str) -> LeaseRow | None:
    """Who holds lease `name` now, if anybody."""
    with conn.cursor(row_factory=class_row(LeaseRow)) as cur:
        return cur.execute(LEASE_HOLDER, {"name": name}).fetchone()


class Lease:
    """`with Lease(url, name) as lease:` — `lease.held` tells whether this process got it.

    The lease lives on a connection of its own, renewed every `ttl / 4` seconds by a daemon
    thread while the block runs, and is released when the block ends. `held` False: someone
    else has it, `holder` says who. `lost` is set when a renewal found the lease taken by
    another owner (it had expired: the database was out of reach for longer than `ttl`).
    """

    def __init__(
        self, url: str | None, name: str, *, ttl: float = LEASE_TTL, owner: str | None = None
    ) -> None:
        self.url = url
        self.name = name
        self.ttl = ttl
        self.owner = owner or new_owner()
        self.held = False
        self.holder: LeaseRow | None = None
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self._conn = self._connect()
        try:
            self.held = try_lease(self._conn, self.name, self.owner, self.ttl)
            if not self.held:
                self.holder = lease_holder(self._conn, self.name)
        except BaseException:
            self._close()
            raise
        if self.held:
            self._thread = threading.Thread(
                target=self._heartbeat, name=f"lease {self.name}", daemon=True
            )
            self._thread.start()
        else:
            self._close()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.ttl)  # a renewal stuck on a dead network: the lease expires
        if self.held and not self.lost.is_set():
            try:
                conn = self._conn if self._usable() else self._connect()
                self._conn = conn
                release_lease(conn, self.name, self.owner)
            except (psycopg.Error, OSError) as e:  # it expires by itself
                logger.warning("could not release lease %s (%s); it expires", self.name, e)
        self._close()

    def _connect(self) -> psycopg.Connection[Any]:
        from db.connection import connect

        return connect(self.url)

    def _usable(self) -> bool:
        return self._conn is not None and not self._conn.closed and not self._conn.broken

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _heartbeat(self) -> None:
        every = self.ttl / 4
        while not self._stop.wait(every):
            try:
                if not self._usable():
                    self._close()
                    self._conn = self._connect()
                if not renew_lease(self._conn, self.name, self.owner, self.ttl):  # type: ignore[arg-type]
                    logger.error(
                        "lease %s was taken over by another owner after it expired "
                        "(the database was out of reach?)",
                        self.name,
                    )
                    self.lost.set()
                    return
            except Exception as e:
                logger.warning("could not renew lease %s (%s); trying again", self.name, e)
