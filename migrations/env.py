"""Alembic environment: plain-SQL revisions run on PostgreSQL through psycopg 3.

The SQLAlchemy URL names the `postgresql+psycopg` driver; the connection string itself comes,
first found wins, from `config.attributes["sosik_url"]` (set by db.migrate), `sqlalchemy.url`
in the ini file, or db.connection.database_url() (DATABASE_URL, else the embedded server).
Revisions themselves import nothing from the application.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("sosik_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from db.connection import database_url

        url = database_url()
    return url


def _engine(url: str):  # noqa: ANN202 - sqlalchemy.Engine
    """A one-connection engine on the psycopg 3 driver.

    The libpq URL or key=value string goes to psycopg untouched (unix-socket hosts and
    percent-encoded passwords need no translation into SQLAlchemy's URL syntax).
    """
    import psycopg

    from db.locks import Timeouts

    def connect() -> psycopg.Connection:
        # A migration waits for its locks at most lock_timeout: an ALTER TABLE queued behind a
        # reader's open transaction would otherwise make every writer queue behind it. Its
        # statements may run long (index builds), so no statement_timeout.
        conn = psycopg.connect(url)
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false),"
            " set_config('statement_timeout', '0', false)",
            [Timeouts.from_env().lock],
        )
        conn.commit()
        return conn

    return create_engine("postgresql+psycopg://", creator=connect, poolclass=pool.NullPool)


def run_migrations_offline() -> None:
    context.configure(
        dialect_name="postgresql", literal_binds=True, dialect_opts={"paramstyle": "named"}
    )
    with context.begin_transaction():
        context.run_migrations()


# Migrations run one at a time per database: every upgrade or downgrade takes this
# transaction-scoped advisory lock ("sosk", 2) before Alembic reads the version table, so a
# second crawl starting on a fresh database waits for the first one's migration and then finds
# the schema at head (without it, both create alembic_version and one dies).
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(1936683883, 2)"


def run_migrations_online() -> None:
    from sqlalchemy import text

    engine = _engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, transactional_ddl=True)
            with context.begin_transaction():
                connection.execute(text(MIGRATION_LOCK))
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
