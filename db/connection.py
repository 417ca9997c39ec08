"""Where the database is and how to connect to it: the one connection factory.

`DATABASE_URL` wins. Without it, sosik starts (or reuses) an embedded PostgreSQL 16 from the
`pgserver` package with its data under `<home>/pg`, reached over a unix socket. The home is
`$SOSIK_HOME` if set, else `$XDG_DATA_HOME/sosik` (`~/.local/share/sosik`): one place per user,
whatever folder a command runs in. The server is left running when the process exits, so the
next command finds it at once; `sosik db status` says where it is and whether it runs, `sosik db
stop` stops it.

Connections are autocommit: every write says where its transaction starts and ends with
`with conn.transaction():`. Failures to reach the database raise `DatabaseUnavailable`, whose
message is one line fit for a CLI to print without a traceback. A crawl's components share one
`psycopg_pool` pool (`open_pool`), held by the crawl's database owner (crawler.extensions.owner).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from db.dsn import check_dsn, redact
from db.locks import Timeouts, set_session_timeouts

logger = logging.getLogger(__name__)

ENV_URL = "DATABASE_URL"
ENV_HOME = "SOSIK_HOME"
ENV_XDG_DATA = "XDG_DATA_HOME"
EMBEDDED_DBNAME = "sosik"
CONNECT_TIMEOUT = 10  # seconds; a database that does not answer by then is reported as down

_DATABASE_EXISTS = "SELECT EXISTS (SELECT FROM pg_database WHERE datname = %(name)s)"
_CREATE_LOCK = "SELECT pg_advisory_lock(1936683883, 3)"  # "sosk", 3: creating the database

_embedded_urls: dict[tuple[Path, str], str] = {}


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or started; the message is one line."""


def sosik_home() -> Path:
    """$SOSIK_HOME, else `$XDG_DATA_HOME/sosik` (default `~/.local/share/sosik`).

    Never the working directory: a command run from another folder finds the same server.
    """
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser().resolve()
    data = os.environ.get(ENV_XDG_DATA) or str(Path("~/.local/share").expanduser())
    return (Path(data).expanduser() / "sosik").resolve()


def embedded_pgdata() -> Path:
    """The embedded server's data folder: `<home>/pg`."""
    return sosik_home() / "pg"


def database_url() -> str:
    """`DATABASE_URL` if set, else the URL of the embedded server (started if needed)."""
    url = os.environ.get(ENV_URL)
    if url:
        return check_dsn(url, ENV_URL)  # a malformed one is one line, its password masked
    return embedded_url()


def embedded_url(pgdata: Path | None = None, dbname: str = EMBEDDED_DBNAME) -> str:
    """URL of database `dbname` on the embedded server in `pgdata`, creating both if needed."""
    pgdata = (pgdata or embedded_pgdata()).resolve()
    key = (pgdata, dbname)
    if key not in _embedded_urls:
        server_url = start_embedded(pgdata, tune=True)
        create_database(server_url, dbname)
        _embedded_urls[key] = with_dbname(server_url, dbname)
    return _embedded_urls[key]


# The embedded server's settings that PostgreSQL's defaults get wrong for a crawler's database.
# Every article updates ~9 indexes keyed by a hash or a URL (random leaf pages); the first change
# of a page after a checkpoint writes the whole 8 KB page to the WAL. With the default
# checkpoints (every 5 min or 1 GB of WAL), at a million articles nearly every such change was a
# full page again: ~60 KB of WAL per article instead of ~6 KB, and the cost per stored article
# grew 2.3x from a small database to a million rows (docs/benchmarks.md). Checkpoints every
# 30 min or 8 GB make a page's full image rare again. Applied with ALTER SYSTEM and a reload (no
# restart), only when they differ; a server of DATABASE_URL is its operator's to tune.
EMBEDDED_SETTINGS = {"max_wal_size": "8GB", "checkpoint_timeout": "30min"}


def start_embedded(pgdata: Path, *, tune: bool = False) -> str:
    """Start (or find running) the embedded server in `pgdata`; its maintenance DB's URL.

    `tune`: apply EMBEDDED_SETTINGS (sosik's own server; not a test server others share)."""
    with warnings.catch_warnings():
        # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (containers, cron);
        # pgserver then uses /tmp/runtime-$UID for its lock file, which is what we want.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        url = server.get_uri()
    except Exception as exc:  # pgserver raises CalledProcessError, AssertionError, OSError...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot start the embedded PostgreSQL in {pgdata}: {reason} (log: {pgdata / 'log'})"
        ) from exc
    if tune:
        tune_embedded(url)
    return url


def tune_embedded(server_url: str) -> bool:
    """Apply EMBEDDED_SETTINGS to the server where they differ; True when something changed."""
    with connect(server_url) as conn:
        stale = [
            name
            for name, value in EMBEDDED_SETTINGS.items()
            if conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0] != value
        ]
        for name in stale:
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(
                    sql.Identifier(name), sql.Literal(EMBEDDED_SETTINGS[name])
                )
            )
        if stale:
            conn.execute("SELECT pg_reload_conf()")
            logger.info("embedded server: %s", {k: EMBEDDED_SETTINGS[k] for k in stale})
        return bool(stale)


@dataclass(frozen=True, slots=True)
class EmbeddedStatus:
    """What `sosik db status` says of the embedded server, found without starting it."""

    pgdata: Path
    exists: bool  # initialised (PG_VERSION present)
    running: bool
    pid: int | None = None
    socket_dir: str | None = None


def embedded_status(pgdata: Path | None = None) -> EmbeddedStatus:
    """Whether the embedded server in `pgdata` exists and runs (postmaster.pid and its process)."""
    pgdata = (pgdata or embedded_pgdata()).resolve()
    exists = (pgdata / "PG_VERSION").exists()
    pid, socket_dir = None, None
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, socket_dir = int(lines[0]), (lines[4] if len(lines) > 4 else None)
    except (OSError, ValueError, IndexError):
        pass
    running = pid is not None and _alive(pid)
    return EmbeddedStatus(pgdata, exists, running, pid if running else None, socket_dir)


def stop_embedded(pgdata: Path | None = None, timeout: float = 60) -> bool:
    """Stop the embedded server in `pgdata` (fast shutdown: sessions end, work is rolled back,
    nothing committed is lost); False when it was not running."""
    status = embedded_status(pgdata)
    if not status.running:
        return False
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver
    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs the server as this user
    try:
        pgserver.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=status.pgdata, user=user, timeout=timeout
        )
    except Exception as exc:
        raise DatabaseUnavailable(
            f"cannot stop the embedded PostgreSQL in {status.pgdata}: {exc}"
        ) from exc
    _embedded_urls.clear()
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user (the server runs as `pgserver` under root)
    return True


def open_pool(url: str, *, max_size: int = 4, name: str = "sosik") -> Any:
    """A psycopg_pool ConnectionPool of autocommit connections to `url`, opened (no wait).

    A broken connection is never handed out (checked on the way out, discarded on the way
    back); while the server is down the pool keeps reconnecting in the background and a
    caller waiting for a connection gets PoolTimeout.
    """
    from psycopg_pool import ConnectionPool

    url = check_dsn(url, "the database URL")
    timeouts = Timeouts.from_env()
    pool = ConnectionPool(
        url,
        # Every pooled session gets the same lock and statement timeouts as connect()'s.
        configure=lambda conn: set_session_timeouts(conn, timeouts),
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
        check=ConnectionPool.check_connection,
        # Give up a reconnection attempt after this long and start afresh on the next request:
        # the pool's backoff doubles without bound, which would delay the recovery of a long
        # outage by as long as the outage.
        reconnect_timeout=10.0,
        name=name,
        open=False,
    )
    pool.open(wait=False)
    return pool


def database_exists(server_url: str, dbname: str) -> bool:
    """Whether the server at `server_url` has a database named `dbname`."""
    with connect(server_url) as conn:
        return bool(conn.execute(_DATABASE_EXISTS, {"name": dbname}).fetchone()[0])


def create_database(server_url: str, dbname: str) -> bool:
    """Create database `dbname` on the server unless it exists; True when it was created."""
    with connect(server_url) as conn:
        if conn.execute(_DATABASE_EXISTS, {"name": dbname}).fetchone()[0]:
            return False
        # Two commands starting on a fresh server at once: one creates, the other waits and
        # finds it (CREATE DATABASE cannot run in a transaction: a session lock, released at
        # the end of this connection at the latest).
        conn.execute(_CREATE_LOCK)
        if conn.execute(_DATABASE_EXISTS, {"name": dbname}).fetchone()[0]:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return False  # created meanwhile by a process that did not take the lock
        logger.info("created database %s", dbname)
        return True


def connect(url: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
    """An autocommit psycopg connection to `url` (default: `database_url()`).

    Keyword arguments go to `psycopg.connect` (`row_factory`, `autocommit=False`, ...). The
    session gets sosik's lock and statement timeouts (db.locks), so nothing waits forever.
    """
    url = check_dsn(url, "the database URL") if url else database_url()
    timeouts = Timeouts.from_env()
    kwargs.setdefault("autocommit", True)
    kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
    try:
        conn = psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        reason = redact(" ".join(str(exc).split()) or type(exc).__name__, [url])
        raise DatabaseUnavailable(f"cannot connect to {describe(url)}: {reason}") from exc
    set_session_timeouts(conn, timeouts)
    return conn


def describe(url: str) -> str:
    """`user@host:port/dbname` of a connection string, never its password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (unparsable connection string)"
    host = info.get("host") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"PostgreSQL {user}{host}{port}/{info.get('dbname') or ''}"


def with_dbname(url: str, dbname: str) -> str:
    """The same server's connection string pointing at database `dbname`."""
    if "://" not in url:
        return make_conninfo(url, dbname=dbname)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))
