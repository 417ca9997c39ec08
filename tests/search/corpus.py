"""The corpus's real articles (their gold texts) stored and indexed, for the search tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
import pytest

from crawler.domain.items import ArticleItem
from crawler.domain.keys import with_keys
from crawler.extensions.indexer import Indexer
from db.articles import store_articles
from tests.corpus import corpus_pages


def corpus_articles() -> list[dict[str, Any]]:
    """The gold of every corpus article page that has a body."""
    out = []
    for page in corpus_pages("article"):
        path = page.path.with_suffix(".expected.json")
        if path.exists():
            gold = json.loads(path.read_text("utf-8"))
            if gold.get("body") and gold.get("title"):
                out.append({**gold, "url": gold.get("url") or page.url, "site": page.site})
    if not out:
        pytest.skip("no corpus articles with gold texts (set SOSIK_CORPUS)")
    return out


def item(gold: dict[str, Any]) -> ArticleItem:
    published = gold.get("published_at")
    return with_keys(
        ArticleItem(
            url=gold["url"],
            portal=gold["site"].split("-")[0],
            title=gold["title"],
            subtitle=gold.get("subtitle"),
            body=gold["body"],
            publisher=gold.get("publisher"),
            authors=list(gold.get("authors") or []),
            section=gold.get("section"),
            published_at=datetime.fromisoformat(published) if published else None,
            parser="test/1",
        )
    )


def store_and_index(conn: psycopg.Connection[Any], items: list[ArticleItem], url: str) -> list[int]:
    """Store `items` as a crawl would, index them; their article ids, in order."""
    results = store_articles(conn, items)
    Indexer(url).run_pass(conn)
    return [r.article_id for r in results]
