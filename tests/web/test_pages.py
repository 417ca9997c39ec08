"""The server-rendered pages over HTTP (the browser walk is tests/web/test_browser.py)."""

from __future__ import annotations

import json
import re

import httpx

from tests.web.newsdb import ADDED_SENTENCE, NewsDb, Served


def page(base: str, path: str, **params: object) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=30)


def test_search_page_highlights_the_terms_and_links_the_articles(api: str) -> None:
    r = page(api, "/", q="전기버스")
    assert r.status_code == 200
    assert "<mark>전기버스</mark>" in r.text
    assert len(re.findall(r'href="/ui/articles/\d+"', r.text)) >= 2
    # a form sends its empty fields as empty strings: no filter, not an error
    empty = page(api, "/", q="전기버스", since="", until="", portal="", publisher="")
    assert empty.status_code == 200 and empty.text.count("<li>") == r.text.count("<li>")
    newest = page(api, "/", q="전기버스", order="newest").text
    ids = [int(i) for i in re.findall(r'class="title" href="/ui/articles/(\d+)"', newest)]
    assert len(ids) >= 2 and ids == sorted(ids, reverse=True)
    assert 'value="newest" selected' in newest
    assert page(api, "/", q="x", order="oldest").status_code == 422
    bad = page(api, "/", q="전기버스", since="2025-13-01")
    assert bad.status_code == 422 and "since" in bad.json()["detail"]


def test_article_page_shows_the_change_between_versions(api: str, news_db: NewsDb) -> None:
    r = page(api, f"/ui/articles/{news_db.edited_id}")
    assert r.status_code == 200
    assert f'<p class="added">{ADDED_SENTENCE}</p>' in r.text
    assert "1판" in r.text and "2판" in r.text
    assert page(api, "/ui/articles/999999").status_code == 404


def test_cluster_page_lists_the_story(api: str, news_db: NewsDb) -> None:
    r = page(api, f"/ui/clusters/{news_db.wire_cluster}")
    assert r.status_code == 200 and r.text.count('href="/ui/articles/') >= 2


def test_health_page_carries_its_chart_data_and_needs_nothing_from_elsewhere(api: str) -> None:
    r = page(api, "/ui/health")
    assert r.status_code == 200
    data = json.loads(re.search(r'id="chart-data">(.*?)</script>', r.text, re.S).group(1))
    assert data["days"] == 30 and sum(d["articles"] for d in data["articles"]) == 6
    assert {d["status"] for d in data["runs"]} == {"ok", "errors"}
    for html in (r.text, page(api, "/").text, page(api, "/docs").text):
        for ref in re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="([^"]+)"', html):
            assert ref.startswith(("/", "data:", "?")), ref  # no CDN: the pages work offline
    for asset in ("uPlot.iife.min.js", "uPlot.min.css", "charts.js", "sosik.css"):
        assert page(api, f"/static/{asset}").status_code == 200, asset


def test_with_a_schedule_health_lists_jobs_that_never_ran(reader_url: str) -> None:
    from crawler.scheduler.jobs import parse_schedule

    schedule = parse_schedule(
        {"job": [
            {"name": "ev-search", "portal": "naver", "query": "전기버스", "every": "15m"},
            {"name": "never-ran", "portal": "daum", "query": "반도체", "every": "1h"},
        ]}
    )  # fmt: skip
    with Served(reader_url, schedule=schedule) as base:
        jobs = {j["job"]: j for j in page(base, "/health").json()["jobs"]}
        html = page(base, "/ui/health").text
    assert jobs["ev-search"]["status"] == "ok" and jobs["ev-search"]["when"] == "every 15m"
    assert jobs["never-ran"]["status"] is None and jobs["never-ran"]["scheduled"]
    assert not jobs["broken"]["scheduled"]  # has runs, not in this schedule
    assert "실행 기록 없음" in html and "every 1h" in html
