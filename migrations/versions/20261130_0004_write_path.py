"""The write path: run records that always end, suspect texts held back, a database identity.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

- `crawl_runs.pid`, `host`, `process`, `heartbeat_at`: who runs a crawl and when it last said
  so, so that the next command can tell a crawl whose process is gone (`killed`) from one that
  is still running; `resumed_from`/`resume_since`: a re-run that continues a killed crawl.
- `article_suspects`: a new text at a known URL that is much shorter than the stored one is
  kept here, not made current (a truncated fetch must never replace an article).
- `sosik_database`: one row, a random id made when the schema is created: the spill file of a
  crawl that could not write names the database it belongs to by it (and the database name).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE crawl_runs
            ADD COLUMN pid          integer,
            ADD COLUMN host         text,
            ADD COLUMN process      text,
            ADD COLUMN heartbeat_at timestamptz,
            ADD COLUMN resumed_from bigint REFERENCES crawl_runs (id) ON DELETE SET NULL,
            ADD COLUMN resume_since timestamptz
        """
    )
    op.execute("CREATE INDEX crawl_runs_running_idx ON crawl_runs (id) WHERE status = 'running'")

    op.execute(
        """
        CREATE TABLE article_suspects (
            article_id    bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
            content_hash  text NOT NULL,
            url           text NOT NULL,
            title         text NOT NULL,
            subtitle      text,
            body          text NOT NULL,
            published_at  timestamptz,
            updated_at    timestamptz,
            crawl_run_id  bigint REFERENCES crawl_runs (id) ON DELETE SET NULL,
            first_seen_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (article_id, content_hash)
        )
        """
    )

    op.execute(
        """
        CREATE TABLE sosik_database (
            one         boolean PRIMARY KEY DEFAULT true CHECK (one),
            database_id uuid NOT NULL DEFAULT gen_random_uuid(),
            created_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("INSERT INTO sosik_database DEFAULT VALUES")


def downgrade() -> None:
    op.execute("DROP TABLE sosik_database")
    op.execute("DROP TABLE article_suspects")
    op.execute("DROP INDEX crawl_runs_running_idx")
    op.execute(
        """
        ALTER TABLE crawl_runs
            DROP COLUMN resume_since,
            DROP COLUMN resumed_from,
            DROP COLUMN heartbeat_at,
            DROP COLUMN process,
            DROP COLUMN host,
            DROP COLUMN pid
        """
    )
