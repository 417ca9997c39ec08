"""Korean full-text search: one row of index terms per article, no extension needed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

`article_search.terms` is a `tsvector` written by sosik itself (crawler.domain.terms: kiwipiepy's
nouns, foreign words and numbers plus Hangul bigrams, at their character offsets, title terms
weighted A/B, body terms C/D), so it needs no text-search parser for Korean and no contrib
extension: it works on the embedded server and on a stock one. Queries are `tsquery` values
built by the same code, answered by the GIN index.

The table is filled by `sosik db reindex` (in batches, resumable), never by this migration:
upgrading a large database stays a matter of milliseconds, and the articles not yet indexed
are simply not found by a search until the indexer reaches them. `version` is the article
version indexed, `tokenizer` the rules that cut it: a row whose version or tokenizer is not
the current one is indexed again (the old row serves until then).

The filter columns (`dated_at` = publication time, else first sighting; portal, publisher,
section) are copies of the article's, kept with the terms so a filtered search reads one
table; portal, publisher and section are also terms of the vector (`publisher:매일경제`), so
the GIN index answers a filtered search without reading vectors. No other index: a plan that
narrowed rows by one and then tested their vectors (read from TOAST, row by row) was slower
than the GIN index's answer. Readers (`sosik_reader`) may SELECT it: it holds nothing the feed does not show.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE article_search (
            article_id  bigint PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
            version     integer NOT NULL,
            tokenizer   text NOT NULL,
            dated_at    timestamptz NOT NULL,
            portal      text NOT NULL,
            publisher   text,
            section     text,
            terms       tsvector NOT NULL,
            indexed_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX article_search_terms_idx ON article_search USING gin (terms)")
    op.execute("GRANT SELECT ON article_search TO sosik_reader")


def downgrade() -> None:
    op.execute("DROP TABLE article_search")
