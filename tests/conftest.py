"""Shared fixtures: the corpus of real saved pages (read from outside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crawler.evaluation import CorpusPage, corpus_dir
from crawler.parsers import Page

pytest_plugins = ["tests.dbfixtures"]  # db_url, conn, pg_server_url: a real PostgreSQL

FIXTURES = Path(__file__).parent / "fixtures"

# Crawls under test start no search indexer (a child loading a 500 MB model per crawl); the
# tests of tests/search turn it on where they test it.
os.environ.setdefault("SOSIK_SEARCH_INDEX", "off")


def require_corpus() -> Path:
    root = corpus_dir()
    if not (root / "SOURCES.tsv").exists():
        pytest.skip(f"corpus of saved pages not found at {root} (set SOSIK_CORPUS)")
    return root


def load_page(cp: CorpusPage) -> Page:
    return Page(url=cp.url, body=cp.path.read_bytes())
