"""Fixtures of the reading tests: a database crawled from the demo site (tests/web/newsdb.py),
a service login in sosik_reader, and the application served by uvicorn as that login."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from db.connection import connect, with_dbname
from tests.dbfixtures import drop_database, new_database
from tests.web.newsdb import NewsDb, Served, fill


@pytest.fixture(scope="session")
def news_db(pg_server_url: str, db_template: str | None) -> Iterator[NewsDb]:
    name = new_database(pg_server_url, "sosik_web", template=db_template) if db_template else None
    if name is None:
        pytest.skip("the test server's role cannot create databases; the web tests need one")
    yield fill(with_dbname(pg_server_url, name))
    drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def reader_url(news_db: NewsDb) -> Iterator[str]:
    """A service's login in sosik_reader (README: CREATE ROLE … LOGIN IN ROLE sosik_reader)."""
    role = f"sosik_web_{uuid.uuid4().hex[:8]}"
    with connect(news_db.url) as c:
        try:
            c.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE sosik_reader").format(sql.Identifier(role))
            )
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("no right to create roles on the test server")
    yield make_conninfo(news_db.url, user=role)
    with connect(news_db.url) as c:
        c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture(scope="session")
def api(reader_url: str) -> Iterator[str]:
    """The base URL of `sosik serve`'s application, logged in as the reader login."""
    with Served(reader_url) as base:
        yield base
