"""Schema migrations: Alembic, configured in code so `sosik db upgrade` needs no ini file.

The revisions live in the repository's `migrations/` folder (plain SQL, importing nothing from
the application). `$SOSIK_MIGRATIONS` points elsewhere when the package is installed away from
its source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from db.connection import connect, database_url
from db.dsn import ConfigError

ENV_MIGRATIONS = "SOSIK_MIGRATIONS"
HEAD = "head"
BASE = "base"

_HAS_VERSION_TABLE = "SELECT to_regclass('alembic_version') IS NOT NULL"
_VERSION = "SELECT version_num FROM alembic_version"


class MigrationsMissing(ConfigError, FileNotFoundError):
    """The Alembic migrations folder is not where sosik looks for it."""


def migrations_dir() -> Path:
    """The folder holding env.py and versions/: $SOSIK_MIGRATIONS, else `<repo>/migrations`."""
    configured = os.environ.get(ENV_MIGRATIONS)
    path = Path(configured) if configured else Path(__file__).resolve().parent.parent / "migrations"
    if not (path / "env.py").is_file():
        # a configuration matter (an install without the source tree): one line, exit 64
        raise MigrationsMissing(
            f"no Alembic migrations at {path} (set {ENV_MIGRATIONS} to the migrations folder)"
        )
    return path


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config for `url` (default: `database_url()`), built without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    config.attributes["sosik_url"] = url or database_url()
    return config


def upgrade(url: str | None = None, revision: str = HEAD) -> None:
    """Bring the schema up to `revision` (default: the newest).

    Raises DatabaseUnavailable (one line) when the database cannot be reached. A schema that
    is already at the newest revision is left alone without taking the migration lock (every
    crawl starts with an upgrade; only a real change of the schema waits for that lock).
    """
    config = _reachable_config(url)
    if revision == HEAD and current_revision(config.attributes["sosik_url"]) == head_revision():
        return
    command.upgrade(config, revision)


def downgrade(url: str | None = None, revision: str = BASE) -> None:
    """Take the schema down to `revision` (default: nothing at all). Destroys data."""
    command.downgrade(_reachable_config(url), revision)


def _reachable_config(url: str | None) -> Config:
    # Connect once with db.connection first: an unreachable server is then a one-line
    # DatabaseUnavailable, not a traceback from inside SQLAlchemy's pool.
    config = alembic_config(url)
    connect(config.attributes["sosik_url"]).close()
    return config


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with connect(url or database_url()) as conn:
        if not conn.execute(_HAS_VERSION_TABLE).fetchone()[0]:
            return None
        row = conn.execute(_VERSION).fetchone()
        return row[0] if row else None


def head_revision() -> str | None:
    """The newest revision in the migrations folder."""
    return ScriptDirectory.from_config(alembic_config("unused")).get_current_head()


def is_up_to_date(url: str | None = None) -> bool:
    """True when the database at `url` (default: the configured one) is at the newest Alembic
    revision.
    """
    return current_revision(url) == head_revision()
