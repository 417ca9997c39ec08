"""Shared fixtures: the corpus of real saved pages (read from outside the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.parsers import Page
from tests.corpus import CorpusPage, corpus_dir

pytest_plugins = ["tests.dbfixtures"]  # db_url, conn, pg_server_url: a real PostgreSQL

FIXTURES = Path(__file__).parent / "fixtures"


def require_corpus() -> Path:
    root = corpus_dir()
    if not (root / "SOURCES.tsv").exists():
        pytest.skip(f"corpus of saved pages not found at {root} (set SOSIK_CORPUS)")
    return root


def load_page(cp: CorpusPage) -> Page:
    return Page(url=cp.url, body=cp.path.read_bytes())
