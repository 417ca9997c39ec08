"""sosik's database layer: the only package that speaks SQL.

- `db.connection`: where the database is (DATABASE_URL or the embedded server) and `connect`;
- `db.migrate`: Alembic upgrade/downgrade, configured in code;
- `db.articles`: storing articles and search hits (the database decides duplicates);
- `db.crawl_runs`: crawl runs; `db.pages`: the raw-page archive;
- `db.feed`: the reader contract (articles_feed view, id cursor, NOTIFY);
- `db.rows`: the typed rows all of them return.
"""

from db.connection import DatabaseUnavailable, connect, database_url

__all__ = ["DatabaseUnavailable", "connect", "database_url"]
