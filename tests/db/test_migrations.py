"""Alembic: upgrade to head, down to nothing, and up again, on a database of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db import migrate
from db.articles import store_articles
from db.connection import DatabaseUnavailable, connect, with_dbname
from tests.db.factories import article
from tests.dbfixtures import drop_database, new_database

OBJECTS = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'S') AND c.relname <> 'alembic_version'
ORDER BY 1
"""
FUNCTIONS = "SELECT proname FROM pg_proc WHERE proname LIKE 'sosik%'"
ROLE = "SELECT count(*) FROM pg_roles WHERE rolname = 'sosik_reader'"


@pytest.fixture
def empty_url(pg_server_url: str, db_template: str | None) -> Iterator[str]:
    name = new_database(pg_server_url, "sosik_mig")
    if name is None:
        pytest.skip("no right to create a database on TEST_DATABASE_URL")
    yield with_dbname(pg_server_url, name)
    drop_database(pg_server_url, name)


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    assert migrate.current_revision(empty_url) is None
    migrate.upgrade(empty_url)
    assert migrate.current_revision(empty_url) == migrate.head_revision() == "0007"
    assert migrate.is_up_to_date(empty_url)
    with connect(empty_url) as c:
        names = [r[0] for r in c.execute(OBJECTS)]
        assert names == [
            "article_search",
            "article_suspects",
            "article_urls",
            "article_versions",
            "articles",
            "articles_feed",
            "articles_id_seq",
            "crawl_runs",
            "crawl_runs_id_seq",
            "pages",
            "pages_id_seq",
            "reader_article_urls",
            "reader_article_versions",
            "reader_runs",
            "reader_search_hits",
            "search_hits",
            "search_hits_id_seq",
            "sosik_database",
            "sosik_leases",
            "sosik_locks",
        ]
        assert c.execute(FUNCTIONS).fetchall() == [("sosik_notify_article",)]

    # a session that stored a batch keeps its temporary table: it must not block the downgrade
    writer = connect(empty_url)
    assert len(store_articles(writer, [article(1), article(2)])) == 2

    migrate.downgrade(empty_url, "0001")
    with connect(empty_url) as c:
        names = [r[0] for r in c.execute(OBJECTS)]
        assert "articles_feed" not in names and "pages" not in names and "articles" in names
        assert c.execute(FUNCTIONS).fetchall() == []

    migrate.downgrade(empty_url)
    assert migrate.current_revision(empty_url) is None
    with connect(empty_url) as c:
        assert c.execute(OBJECTS).fetchall() == []
        # the other test databases of this server still grant to the role: it stays for them
        assert c.execute(ROLE).fetchone() == (1,)

    migrate.upgrade(empty_url)
    assert migrate.current_revision(empty_url) == "0007"
    writer.close()


def test_migrations_folder_is_found_and_can_be_moved(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    assert (migrate.migrations_dir() / "versions").is_dir()
    monkeypatch.setenv(migrate.ENV_MIGRATIONS, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="SOSIK_MIGRATIONS"):
        migrate.migrations_dir()


def test_upgrade_of_an_unreachable_database_is_one_clear_line() -> None:
    with pytest.raises(
        DatabaseUnavailable, match=r"^cannot connect to PostgreSQL x@127\.0\.0\.1:1/"
    ):
        migrate.upgrade("postgresql://x@127.0.0.1:1/sosik?connect_timeout=2")


def test_two_upgrades_at_once_on_a_fresh_database_both_succeed(
    pg_server_url: str, db_template: str | None
) -> None:
    """Two processes migrating one empty database at the same moment, 10 times: the
    migration lock makes the second wait and find the schema at head (without it, one died on
    `alembic_version already exists`). Forked, so that each round costs no interpreter start."""
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    for _ in range(10):
        name = new_database(pg_server_url, "sosik_race")
        if name is None:
            pytest.skip("no right to create a database on TEST_DATABASE_URL")
        url = with_dbname(pg_server_url, name)
        try:
            procs = [fork.Process(target=_upgrade_quietly, args=(url,)) for _ in range(2)]
            for p in procs:
                p.start()
            for p in procs:
                p.join(timeout=120)
            assert [p.exitcode for p in procs] == [0, 0]
            assert migrate.current_revision(url) == migrate.head_revision()
        finally:
            drop_database(pg_server_url, name)


def _upgrade_quietly(url: str) -> None:
    import os
    import sys
    import traceback

    try:
        migrate.upgrade(url)
    except BaseException:
        traceback.print_exc(file=sys.stderr)
        os._exit(1)
    os._exit(0)
