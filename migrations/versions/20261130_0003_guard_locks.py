"""Locks a reader cannot take, and no large objects for readers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Advisory locks are open to every role that can connect: `sosik_reader` could take the writers'
key and freeze ingestion, or a job's key and make every scheduler skip that job. The writers'
ordering lock and the job locks therefore move to rows of tables no reader can see:

- `sosik_locks`: one row per lock held for one transaction; the writers' lock is
  `SELECT … FROM sosik_locks WHERE name = 'writers' FOR UPDATE` (db.locks.take_writer_lock).
  Taking it needs UPDATE on the table, which only the writers' own role has.
- `sosik_leases`: a lease per scheduled job (`job:<name>`), owned by one scheduler, renewed by
  a heartbeat and ended by expiry or by the death of the session that renews it
  (db.locks.Lease). A lease is a row, not an open transaction: a crawl of an hour holds no
  transaction, no snapshot and no xid for that hour.

Both tables are revoked from PUBLIC. Large-object functions (lo_from_bytea, lo_create, lowrite…)
are executable by PUBLIC out of the box, which let a reader store data in the database; their
EXECUTE privilege is revoked from PUBLIC (sosik stores no large objects). Revoking privileges
on pg_catalog functions needs a superuser (or the functions' owner): a migration run by another
role leaves them as they are and says so in a WARNING, and `docs/operations.md` gives the
statement for the administrator.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every large-object function of pg_catalog open to PUBLIC, whatever its signatures in this
# server's version. lo_import/lo_export (server files) are already closed to PUBLIC by
# PostgreSQL itself and stay out of this list, so the downgrade never opens them.
LO_FUNCTIONS = (
    "lo_creat", "lo_create", "lo_from_bytea", "lo_open", "lo_close",
    "loread", "lowrite", "lo_get", "lo_put", "lo_lseek", "lo_lseek64", "lo_tell", "lo_tell64",
    "lo_truncate", "lo_truncate64", "lo_unlink",
)  # fmt: skip


def _each_lo_function(action: str) -> str:
    names = ", ".join(f"'{n}'" for n in LO_FUNCTIONS)
    return f"""
        DO $$
        DECLARE f regprocedure;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
                     WHERE p.pronamespace = 'pg_catalog'::regnamespace
                       AND p.proname IN ({names})
            LOOP
                EXECUTE format('{action}', f);
            END LOOP;
        END
        $$
        """


def upgrade() -> None:
    op.execute("CREATE TABLE sosik_locks (name text PRIMARY KEY)")
    op.execute("INSERT INTO sosik_locks (name) VALUES ('writers')")
    op.execute(
        """
        CREATE TABLE sosik_leases (
            name        text PRIMARY KEY,
            owner       text NOT NULL,
            pid         integer NOT NULL,
            acquired_at timestamptz NOT NULL DEFAULT now(),
            renewed_at  timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz NOT NULL
        )
        """
    )
    op.execute("REVOKE ALL ON sosik_locks, sosik_leases FROM PUBLIC")
    op.execute(_each_lo_function("REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC"))
    op.execute(
        """
        DO $$
        BEGIN
            IF has_function_privilege('sosik_reader', 'lo_from_bytea(oid, bytea)', 'EXECUTE') THEN
                RAISE WARNING 'sosik_reader can still create large objects: as a superuser, run '
                    'the REVOKE statements of docs/operations.md ("The reader role")';
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(_each_lo_function("GRANT EXECUTE ON FUNCTION %s TO PUBLIC"))
    op.execute("DROP TABLE sosik_leases")
    op.execute("DROP TABLE sosik_locks")
