"""The Scrapy pipelines as Scrapy builds them: each does one job and counts what it drops."""

from __future__ import annotations

from datetime import datetime

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.domain.dates import KST
from crawler.domain.items import ArticleItem
from pipelines.clean import CleanPipeline
from pipelines.dedupe import DedupePipeline
from pipelines.validate import ValidatePipeline


def article(n: int = 1, **kw) -> ArticleItem:
    base = dict(
        url=f"https://www.example.co.kr/news/{n}",
        portal="generic",
        title=f"[속보] 기사 제목 {n}",
        body=f"첫 문단 {n}번 기사다.\n\n둘째 문단이다.\n\n홍길동 기자 hong@example.co.kr",
        publisher="예시일보",
        published_at=datetime(2024, 8, 29, 7, 45, tzinfo=KST),
        parser="generic/1",
    )
    base.update(kw)
    return ArticleItem(**base)


def build(cls, **settings):
    crawler = get_crawler(settings_dict=settings)
    return build_from_crawler(cls, crawler), crawler


def test_validate_drops_and_counts_missing_fields_and_measures_coverage():
    pipe, crawler = build(ValidatePipeline)
    assert pipe.process_item(article()) is not None
    with pytest.raises(DropItem, match="missing body"):
        pipe.process_item(article(2, body=""))
    stats = crawler.stats.get_stats()
    assert stats["validate/dropped_no_body"] == 1
    assert stats["coverage/generic/items"] == 2 and stats["coverage/generic/body"] == 1


def test_clean_applies_the_body_rules():
    pipe, _ = build(CleanPipeline)
    item = pipe.process_item(article())
    assert item.body == "첫 문단 1번 기사다.\n\n둘째 문단이다."
    with pytest.raises(DropItem):
        pipe.process_item(article(2, body="홍길동 기자 hong@example.co.kr"))


def test_dedupe_keys_and_in_run_repeat():
    pipe, crawler = build(DedupePipeline)
    item = pipe.process_item(article())
    assert item.headline_key == "기사제목1" and len(item.content_hash) == 64
    assert item.simhash is not None
    with pytest.raises(DropItem):
        pipe.process_item(article())
    assert crawler.stats.get_value("dedupe/dropped_url") == 1


def test_dedupe_prefilter_remembers_a_bounded_window():
    pipe, crawler = build(DedupePipeline, DEDUPE_PREFILTER_WINDOW=2)
    for n in (1, 2, 3):
        pipe.process_item(article(n))
    assert len(pipe.seen) == 2
    pipe.process_item(article(1))  # forgotten here; the database still decides
    with pytest.raises(DropItem):
        pipe.process_item(article(3))  # still within the window
