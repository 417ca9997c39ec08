"""Reader contract, history, near-duplicates and the raw-page archive.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

- `articles.version` / `article_versions`: an article whose text changed at the same URL keeps
  its id; the text it replaced is kept as a numbered version.
- `articles.simhash` / `cluster_id`: near-duplicates share the cluster of the first article of
  the story (a new story is its own cluster). Four 16-bit band indexes find candidates within
  3 bits (if two hashes differ in at most 3 bits, one of the 4 bands is equal).
- `pages`: raw fetched bytes, zlib-compressed by the application (so stored EXTERNAL: TOAST
  does not try to compress them again), for re-parsing with a newer parser.
- `articles_feed`: the one thing readers see, through the `sosik_reader` role; a NOTIFY on
  channel `sosik_articles` carries the id of every new article and every new version.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BANDS = {
    "articles_simhash_b0_idx": "(simhash >> 48)",
    "articles_simhash_b1_idx": "((simhash >> 32) & 65535)",
    "articles_simhash_b2_idx": "((simhash >> 16) & 65535)",
    "articles_simhash_b3_idx": "(simhash & 65535)",
}


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE articles
            ADD COLUMN version     integer NOT NULL DEFAULT 1,
            ADD COLUMN simhash     bigint,
            ADD COLUMN cluster_id  bigint,
            ADD COLUMN captured_at timestamptz NOT NULL DEFAULT now()
        """
    )
    # captured_at: when the current text was first seen (the version's birth, not the row's).
    op.execute("UPDATE articles SET cluster_id = id, captured_at = first_seen_at")
    op.execute("ALTER TABLE articles ALTER COLUMN cluster_id SET NOT NULL")
    op.execute("CREATE INDEX articles_cluster_idx ON articles (cluster_id)")
    for name, expr in BANDS.items():
        op.execute(f"CREATE INDEX {name} ON articles ({expr}) WHERE simhash IS NOT NULL")

    op.execute(
        """
        CREATE TABLE article_versions (
            article_id    bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
            version       integer NOT NULL,
            title         text NOT NULL,
            subtitle      text,
            body          text NOT NULL,
            content_hash  text NOT NULL,
            published_at  timestamptz,
            updated_at    timestamptz,
            captured_at   timestamptz NOT NULL,
            superseded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (article_id, version)
        )
        """
    )

    op.execute(
        """
        CREATE TABLE pages (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            url          text NOT NULL,
            fetched_at   timestamptz NOT NULL DEFAULT now(),
            status       integer NOT NULL,
            encoding     text,
            body         bytea NOT NULL,
            size         integer NOT NULL,
            portal       text NOT NULL,
            crawl_run_id bigint REFERENCES crawl_runs (id) ON DELETE SET NULL
        )
        """
    )
    op.execute("ALTER TABLE pages ALTER COLUMN body SET STORAGE EXTERNAL")
    op.execute("CREATE INDEX pages_portal_fetched_idx ON pages (portal, fetched_at)")
    op.execute("CREATE INDEX pages_url_idx ON pages (url)")

    op.execute(
        """
        CREATE VIEW articles_feed AS
        SELECT a.id,
               a.canonical_url,
               ARRAY(SELECT u.url FROM article_urls u
                     WHERE u.article_id = a.id
                     ORDER BY u.is_canonical DESC, u.first_seen_at, u.url) AS urls,
               a.portal, a.publisher, a.title, a.subtitle, a.body, a.authors, a.section,
               a.published_at, a.updated_at, a.version, a.cluster_id,
               a.first_seen_at, a.last_seen_at
        FROM articles a
        """
    )

    # pg_notify is transactional: delivered at commit, dropped on rollback.
    op.execute(
        """
        CREATE FUNCTION sosik_notify_article() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('sosik_articles', NEW.id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER articles_notify_insert AFTER INSERT ON articles
            FOR EACH ROW EXECUTE FUNCTION sosik_notify_article()
        """
    )
    op.execute(
        """
        CREATE TRIGGER articles_notify_version AFTER UPDATE OF version ON articles
            FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
            EXECUTE FUNCTION sosik_notify_article()
        """
    )

    # Roles belong to the whole server, not to this database: another database on the same
    # server (a second deployment, a test database) may have made it already.
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sosik_reader') THEN
                CREATE ROLE sosik_reader NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- made meanwhile by a concurrent migration of another database
        END
        $$
        """
    )
    op.execute("GRANT SELECT ON articles_feed TO sosik_reader")


def downgrade() -> None:
    op.execute("DROP VIEW articles_feed")  # its grant to sosik_reader goes with it
    # Drop the role only when nothing else on the server still uses it: a grant in another
    # database makes DROP ROLE fail with dependent_objects_still_exist, and then the role
    # stays for that database.
    op.execute(
        """
        DO $$
        BEGIN
            DROP ROLE IF EXISTS sosik_reader;
        EXCEPTION WHEN dependent_objects_still_exist THEN
            NULL;
        END
        $$
        """
    )
    op.execute("DROP TRIGGER articles_notify_version ON articles")
    op.execute("DROP TRIGGER articles_notify_insert ON articles")
    op.execute("DROP FUNCTION sosik_notify_article()")
    op.execute("DROP TABLE pages")
    op.execute("DROP TABLE article_versions")
    for name in BANDS:
        op.execute(f"DROP INDEX {name}")
    op.execute("DROP INDEX articles_cluster_idx")
    op.execute(
        """
        ALTER TABLE articles
            DROP COLUMN captured_at,
            DROP COLUMN cluster_id,
            DROP COLUMN simhash,
            DROP COLUMN version
        """
    )
