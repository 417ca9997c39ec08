"""End-to-end fixtures: a fresh migrated database per test, and the corpus required."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.connection import with_dbname
from tests.conftest import require_corpus
from tests.dbfixtures import drop_database, new_database


@pytest.fixture
def fresh_db(pg_server_url: str, db_template: str | None) -> Iterator[str]:
    """An empty database at the head revision, for one crawl scenario."""
    require_corpus()
    if db_template is None:
        pytest.skip("TEST_DATABASE_URL's role cannot create databases; e2e needs its own")
    name = new_database(pg_server_url, "sosik_e2e", template=db_template)
    assert name is not None
    yield with_dbname(pg_server_url, name)
    drop_database(pg_server_url, name)
