"""Near-duplicate band indexes that know the window: (band, publication time).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

A new article looks for a near-duplicate among the articles of its window (±3 days) that
share one of its SimHash's four 16-bit bands. With an index on the band alone, every article of
that band, of any date, was fetched from the heap and only then dropped by the window: ~N/16,000
rows per new article (22 at 360k articles, 60 at 1M), a random heap read each, the cost growing
with the table. Keyed by (band, coalesce(published_at, first_seen_at)), the index itself
returns only the articles of the window.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BANDS = {
    "articles_simhash_b0_idx": "(simhash >> 48)",
    "articles_simhash_b1_idx": "((simhash >> 32) & 65535)",
    "articles_simhash_b2_idx": "((simhash >> 16) & 65535)",
    "articles_simhash_b3_idx": "(simhash & 65535)",
}
WHEN = "(coalesce(published_at, first_seen_at))"


def upgrade() -> None:
    for name, expr in BANDS.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON articles ({expr}, {WHEN}) WHERE simhash IS NOT NULL")


def downgrade() -> None:
    for name, expr in BANDS.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON articles ({expr}) WHERE simhash IS NOT NULL")
