"""Database fixtures for every test that needs PostgreSQL (registered in tests/conftest.py).

- `pg_server_url` (session): a server: `TEST_DATABASE_URL` if set, else an embedded pgserver
  under the temp dir (`sosik-test-<uid>/pg`), started once and left running for later runs.
- `db_template` (session): a database migrated to head with Alembic, the template of the next.
- `db_url` (module): a fresh database cloned from the template (CREATE DATABASE … TEMPLATE,
  ~0.1 s), dropped after the module. Without the right to create databases on the
  `TEST_DATABASE_URL` server, that database itself is migrated and used.
- `conn` (function): an autocommit connection to `db_url` with every table emptied first.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from db import migrate
from db.connection import connect, start_embedded, with_dbname

ENV_TEST_URL = "TEST_DATABASE_URL"
TABLES = ("article_versions", "article_urls", "search_hits", "pages", "articles", "crawl_runs")
TRUNCATE = sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
    sql.SQL(", ").join(map(sql.Identifier, TABLES))
)
DROP_DATABASE = "DROP DATABASE IF EXISTS {} WITH (FORCE)"

_numbers = itertools.count(1)
_run = uuid.uuid4().hex[:8]


def pgdata_for_tests() -> Path:
    """Where the embedded test server keeps its data (shared by runs, never the repo)."""
    return Path(tempfile.gettempdir()) / f"sosik-test-{os.getuid()}" / "pg"


def drop_database(server_url: str, name: str) -> None:
    with connect(server_url) as c:
        c.execute(sql.SQL(DROP_DATABASE).format(sql.Identifier(name)))


def new_database(server_url: str, prefix: str, template: str | None = None) -> str | None:
    """Create a uniquely named database (from `template`); its name, None if not allowed."""
    name = f"{prefix}_{_run}_{next(_numbers)}"
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
    try:
        with connect(server_url) as c:
            c.execute(query)
    except psycopg.errors.InsufficientPrivilege:
        return None
    return name


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(ENV_TEST_URL)
    if url:
        return url
    pgdata = pgdata_for_tests()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return start_embedded(pgdata)


@pytest.fixture(scope="session")
def db_template(pg_server_url: str) -> Iterator[str | None]:
    name = new_database(pg_server_url, "sosik_tpl")
    if name is None:  # no CREATEDB: the given database is the only one we may use
        migrate.upgrade(pg_server_url)
        yield None
        return
    migrate.upgrade(with_dbname(pg_server_url, name))
    yield name
    drop_database(pg_server_url, name)


@pytest.fixture(scope="module")
def db_url(pg_server_url: str, db_template: str | None) -> Iterator[str]:
    if db_template is None:
        yield pg_server_url
        return
    name = new_database(pg_server_url, "sosik_t", template=db_template)
    assert name is not None
    yield with_dbname(pg_server_url, name)
    drop_database(pg_server_url, name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with connect(db_url) as c:
        c.execute(TRUNCATE)
        yield c


__all__ = [
    "conn",
    "db_template",
    "db_url",
    "drop_database",
    "new_database",
    "pg_server_url",
    "pgdata_for_tests",
]
