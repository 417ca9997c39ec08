"""Near-duplicates on real articles: wire-copy variants of one story share a cluster; no two
different stories of the corpus ever do (every pair checked, through the real store)."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from crawler.domain.keys import hamming, with_keys
from crawler.settings import STORE_CLUSTER_DISTANCE
from db.articles import store_articles
from pipelines.prepare import clean_article
from tests.conftest import load_page, require_corpus
from tests.corpus import corpus_pages, extract_article

Conn = psycopg.Connection[Any]
ARTICLES = corpus_pages("article")


def corpus_items():
    require_corpus()
    return [with_keys(extract_article(load_page(cp))) for cp in ARTICLES]


def wire_copy(item, n: int):
    """Another outlet's copy: its own credit and first words in the lead, its own sign-off."""
    paras = item.body.split("\n\n")
    lead = re.sub(r"^(\[[^\]]*\]|\([^)]*\)[^=]{0,20}=)\s*", "", paras[0]).split()
    lead[:4] = ["[뉴스1=홍길동 기자]", "관계자에", "따르면", "이번에"]
    body = "\n\n".join([" ".join(lead), *paras[1:], "홍길동 기자 hong@news1.kr"])
    copy = clean_article(
        replace(
            item,
            body=body,
            url=f"https://www.news1.kr/articles/{n}",
            urls=[],
            original_url=None,
            publisher="뉴스1",
            title=item.title + " (종합)",
        )
    )
    return with_keys(copy)


def test_no_two_corpus_stories_are_within_the_cluster_distance():
    items = corpus_items()
    closest = min(hamming(a.simhash, b.simhash) for a, b in itertools.combinations(items, 2))
    assert closest > STORE_CLUSTER_DISTANCE, closest


@pytest.mark.parametrize("cp", ARTICLES, ids=[p.name for p in ARTICLES])
def test_a_wire_copy_with_new_lead_and_byline_is_within_it(cp):
    require_corpus()
    item = with_keys(extract_article(load_page(cp)))
    assert hamming(item.simhash, wire_copy(item, 1).simhash) <= STORE_CLUSTER_DISTANCE


def test_clusters_in_the_database(conn: Conn):
    items = corpus_items()
    results = store_articles(
        conn, items, cluster_distance=STORE_CLUSTER_DISTANCE, cluster_window_days=100_000
    )
    assert [r.outcome for r in results] == ["inserted"] * len(items)
    # two real articles, each carried again by another outlet
    copies = [wire_copy(items[0], 1), wire_copy(items[-1], 2)]
    results = store_articles(
        conn, copies, cluster_distance=STORE_CLUSTER_DISTANCE, cluster_window_days=100_000
    )
    assert [r.outcome for r in results] == ["inserted", "inserted"]
    cluster = dict(conn.execute("SELECT canonical_url, cluster_id FROM articles"))
    assert cluster[copies[0].url] == cluster[items[0].url]
    assert cluster[copies[1].url] == cluster[items[-1].url]
    # and no false merge: the corpus stories are as many clusters as stories
    assert len({cluster[i.url] for i in items}) == len(items)
