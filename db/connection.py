"""Where the database is and how to connect to it: the one connection factory.

`DATABASE_URL` wins. Without it, sosik starts (or reuses) an embedded PostgreSQL 16 from the
`pgserver` package with its data under `$SOSIK_HOME/pg` (default `./.sosik/pg`), reached over
a unix socket. The server is left running when the process exits, so the next command finds
it at once; `pg_ctl -D .sosik/pg stop` stops it.

Connections are autocommit: every write says where its transaction starts and ends with
`with conn.transaction():`. Failures to reach the database raise `DatabaseUnavailable`, whose
message is one line fit for a CLI to print without a traceback.
"""

from __future__ import annotations

import logging
import os
import warnings
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
DEFAULT_HOME = ".sosik"
EMBEDDED_DBNAME = "sosik"
CONNECT_TIMEOUT = 10  # seconds; a database that does not answer by then is reported as down

_DATABASE_EXISTS = "SELECT EXISTS (SELECT FROM pg_database WHERE datname = %(name)s)"

_embedded_urls: dict[tuple[Path, str], str] = {}


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or started; the message is one line."""


def sosik_home() -> Path:
    """$SOSIK_HOME, else `.sosik` in the current directory."""
    return Path(os.environ.get(ENV_HOME) or DEFAULT_HOME).expanduser().resolve()


def database_url() -> str:
    """`DATABASE_URL` if set, else the URL of the embedded server (started if needed)."""
    url = os.environ.get(ENV_URL)
    if url:
        return check_dsn(url, ENV_URL)  # a malformed one is one line, its password masked
    return embedded_url()


def embedded_url(pgdata: Path | None = None, dbname: str = EMBEDDED_DBNAME) -> str:
    """URL of database `dbname` on the embedded server in `pgdata`, creating both if needed."""
    pgdata = (pgdata or sosik_home() / "pg").resolve()
    key = (pgdata, dbname)
    if key not in _embedded_urls:
        server_url = start_embedded(pgdata)
        create_database(server_url, dbname)
        _embedded_urls[key] = with_dbname(server_url, dbname)
    return _embedded_urls[key]


def start_embedded(pgdata: Path) -> str:
    """Start (or find running) the embedded server in `pgdata`; its maintenance DB's URL."""
    with warnings.catch_warnings():
        # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (containers, cron);
        # pgserver then uses /tmp/runtime-$UID for its lock file, which is what we want.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        return server.get_uri()
    except Exception as exc:  # pgserver raises CalledProcessError, AssertionError, OSError...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot start the embedded PostgreSQL in {pgdata}: {reason} (log: {pgdata / 'log'})"
        ) from exc


def create_database(server_url: str, dbname: str) -> bool:
    """Create database `dbname` on the server unless it exists; True when it was created."""
    with connect(server_url) as conn:
        if conn.execute(_DATABASE_EXISTS, {"name": dbname}).fetchone()[0]:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:
            return False  # another process created it between the check and now: same result
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
