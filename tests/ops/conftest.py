"""A database per test for the operations tests (real PostgreSQL, never a mock)."""

from __future__ import annotations

import itertools
import os

import pytest

from db.connection import create_database, start_embedded, with_dbname
from db.migrate import upgrade

_n = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return start_embedded(tmp_path_factory.mktemp("ops-pg") / "pg")


@pytest.fixture
def db_url(pg_server: str) -> str:
    name = f"sosik_ops_{os.getpid()}_{next(_n)}"
    create_database(pg_server, name)
    url = with_dbname(pg_server, name)
    upgrade(url)
    return url
