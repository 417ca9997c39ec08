"""What people read besides the feed: addresses, versions, search hits and runs, read-only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

`sosik serve` and `sosik show` connect as `sosik_reader`, which could SELECT `articles_feed`
and nothing else. An article's page also shows where it was found and how its text changed,
and the health page shows what the crawls did. Four views give exactly that, each granted to
`sosik_reader` (SELECT only; the tables stay closed):

- `reader_article_urls`: every address of an article (the `article_urls` primary key finds an
  article by any of its URLs);
- `reader_article_versions`: every version of an article's text, the current one included
  (`superseded_at` NULL), without the content hash;
- `reader_search_hits`: the portal search results that led to articles;
- `reader_runs`: the run records (status, stats with the drift alarms, the named failed URLs)
  with the scheduled job's name as a column. Not the process identity (pid, host).

And one index, `articles (first_seen_at, portal)`: the health page counts the articles captured
per day and portal over a window; the index answers that by an index-only scan of the window
(a sequential scan of every article before: 125 ms at 100k articles). Its key only grows (the
capture time), so inserts append to its last page, and no update changes it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = {
    "reader_article_urls": """
        SELECT url, article_id, is_canonical, first_seen_at FROM article_urls
    """,
    "reader_article_versions": """
        SELECT article_id, version, title, subtitle, body, published_at, updated_at,
               captured_at, superseded_at
        FROM article_versions
        UNION ALL
        SELECT id, version, title, subtitle, body, published_at, updated_at,
               captured_at, NULL::timestamptz
        FROM articles
    """,
    "reader_search_hits": """
        SELECT id, crawl_run_id, query, portal, page, rank, title, snippet, url, portal_url,
               publisher, published_at, article_id, first_seen_at, seen_at
        FROM search_hits
    """,
    "reader_runs": """
        SELECT id, spider, args->>'job' AS job, args, started_at, finished_at, status, stats,
               errors
        FROM crawl_runs
    """,
}


def upgrade() -> None:
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")
        op.execute(f"GRANT SELECT ON {name} TO sosik_reader")
    op.execute("CREATE INDEX articles_first_seen_idx ON articles (first_seen_at, portal)")


def downgrade() -> None:
    op.execute("DROP INDEX articles_first_seen_idx")
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")  # its grant goes with it
