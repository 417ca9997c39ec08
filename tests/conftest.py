"""Shared fixtures: the corpus of real saved pages (read from outside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crawler.parsers import Page
from tests.corpus import CorpusPage, corpus_dir

pytest_plugins = ["tests.dbfixtures"]  # db_url, conn, pg_server_url: a real PostgreSQL

FIXTURES = Path(__file__).parent / "fixtures"

# Crawls under test start no search indexer (a child loading a 500 MB model per crawl); the
# tests of tests/search turn it on where they test it.
os.environ.setdefault("SOSIK_SEARCH_INDEX", "off")


REQUIRE = "SOSIK_REQUIRE_CORPUS"  # =1 (CI, .ci/run): a missing corpus fails the run


def _missing_corpus() -> str | None:
    root = corpus_dir()
    if (root / "SOURCES.tsv").exists():
        return None
    return f"corpus of saved pages not found at {root} (set SOSIK_CORPUS)"


def pytest_configure(config: pytest.Config) -> None:
    """With SOSIK_REQUIRE_CORPUS=1 the run stops at once without the corpus: the tests that read
    real pages would otherwise skip (or parametrize to nothing) and the run could pass."""
    missing = _missing_corpus()
    if missing and os.environ.get(REQUIRE) == "1":
        raise pytest.UsageError(f"{REQUIRE}=1: {missing}")


def require_corpus() -> Path:
    """The corpus folder; the test is skipped without it (the run fails under SOSIK_REQUIRE_CORPUS=1)."""
    missing = _missing_corpus()
    if missing:
        pytest.skip(missing)
    return corpus_dir()


def load_page(cp: CorpusPage) -> Page:
    return Page(url=cp.url, body=cp.path.read_bytes())
