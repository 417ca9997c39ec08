"""The HTTP API through a real uvicorn on 127.0.0.1, logged in as a login in sosik_reader,
over articles stored by real crawls of the demo site (tests/web/conftest.py)."""

from __future__ import annotations

import threading

import httpx
import psycopg
import pytest

from db.connection import connect
from tests.web.newsdb import ADDED_SENTENCE, EDITED, JOBS, MISSING_QUERY, NewsDb, Served


def get(base: str, path: str, **params: object) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=30)


def test_an_article_comes_with_every_address_version_cluster_mate_and_search_hit(
    api: str, news_db: NewsDb
) -> None:
    r = get(api, f"/articles/{news_db.edited_id}")
    assert r.status_code == 200, r.text
    a = r.json()
    # the articles_feed row, as the contract has it
    with connect(news_db.url) as c:
        feed = c.execute("SELECT * FROM articles_feed WHERE id = %s", [news_db.edited_id])
        names = [d.name for d in feed.description]
        row = dict(zip(names, feed.fetchone(), strict=True))
    for name in names:
        assert name in a, name
    assert a["urls"] == row["urls"] and a["title"] == row["title"] and a["version"] == 2
    assert EDITED in [u["url"] for u in a["addresses"]]
    assert {u["url"] for u in a["addresses"]} == set(row["urls"])
    assert [v["version"] for v in a["versions"]] == [1, 2]
    assert ADDED_SENTENCE not in a["versions"][0]["body"]
    assert ADDED_SENTENCE in a["versions"][1]["body"] and a["versions"][1]["superseded_at"] is None
    assert [h["query"] for h in a["hits"]] == ["전기버스"]


def test_a_cluster_lists_the_wire_copies_and_each_member_names_the_others(
    api: str, news_db: NewsDb
) -> None:
    r = get(api, f"/clusters/{news_db.wire_cluster}")
    assert r.status_code == 200, r.text
    members = r.json()["items"]
    assert len(members) >= 2
    assert all(m["cluster_id"] == news_db.wire_cluster for m in members)
    assert "body" not in members[0]
    first = get(api, f"/articles/{members[0]['id']}").json()
    assert {m["id"] for m in first["cluster"]} == {m["id"] for m in members[1:]}


def test_runs_page_by_id_cursor_and_filter_by_job_and_status(api: str) -> None:
    everything = get(api, "/runs", limit=100).json()["items"]
    assert [r["job"] for r in everything] == ["broken", "economy", "ev-search"]
    first = get(api, "/runs", limit=2).json()
    rest = get(api, "/runs", limit=2, before_id=first["next_before_id"]).json()
    assert [r["id"] for r in first["items"] + rest["items"]] == [r["id"] for r in everything]
    assert rest["next_before_id"] is None
    assert [r["job"] for r in get(api, "/runs", status="errors").json()["items"]] == ["broken"]
    one = get(api, f"/runs/{everything[0]['id']}").json()
    assert one["errors"] and one["errors"][0]["reason"] == "HTTP 404"


def test_health_names_each_jobs_last_run_the_lag_the_days_and_the_failing_url(api: str) -> None:
    h = get(api, "/health").json()
    assert {j["job"]: j["status"] for j in h["jobs"]} == JOBS
    assert h["lag"]["newest_article_at"] is not None and h["lag"]["last_ok_run"]["job"]
    # the demo's articles were published in March 2025: captured more than a year later
    assert h["lag"]["sample"] == 6 and h["lag"]["median_capture_seconds"] > 365 * 86400
    assert sum(d["articles"] for d in h["articles_per_day"]) == 6
    assert {d["status"]: d["runs"] for d in h["runs_per_day"]} == {"ok": 2, "errors": 1}
    (failing,) = h["top_failing_urls"]
    assert "search.naver.com" in failing["url"] and failing["times"] == 1
    assert httpx.URL(failing["url"]).params["query"] == MISSING_QUERY
    assert h["alarms"] == []


@pytest.mark.parametrize(
    ("path", "params", "names"),
    [
        ("/runs", {"limit": 1000}, "limit"),
        ("/runs", {"limit": 0}, "limit"),
        ("/runs", {"before_id": "x"}, "before_id"),
        ("/articles/abc", {}, "article_id"),
        ("/health", {"days": 0}, "days"),
        ("/articles", {"since": "2026-13-01"}, "since"),
        ("/search", {}, "q"),
    ],
)
def test_a_bad_parameter_is_422_naming_it(api: str, path: str, params: dict, names: str) -> None:
    r = get(api, path, **params)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{names}: "), r.json()["message"]


def test_what_does_not_exist_is_404(api: str) -> None:
    for path in ("/articles/999999", "/clusters/999999", "/runs/999999"):
        r = get(api, path)
        assert r.status_code == 404 and "999999" in r.json()["detail"], path


def test_no_endpoint_takes_a_write(api: str) -> None:
    paths = ["/articles", "/articles/1", "/search", "/clusters/1", "/runs", "/runs/1", "/health"]
    for path in paths:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            r = httpx.request(method, api + path, json={"title": "x"}, timeout=30)
            assert r.status_code == 405, (method, path, r.status_code)


def test_the_reader_login_and_the_reading_transaction_cannot_write(
    reader_url: str, news_db: NewsDb
) -> None:
    from db.readers import reading

    writes = [
        "INSERT INTO crawl_runs (spider) VALUES ('x')",
        "UPDATE articles SET title = 'x'",
        "DELETE FROM article_urls",
        "INSERT INTO reader_article_urls (url, article_id) VALUES ('https://x.example/', 1)",
        "UPDATE reader_runs SET status = 'ok'",
        "CREATE TABLE mine (x int)",
    ]
    with psycopg.connect(reader_url, autocommit=True) as r:
        for sql in writes:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                r.execute(sql)
    # The owner's connection too, once inside a reading transaction: read-only, as the reader.
    with connect(news_db.url) as owner:
        for sql in writes:
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), reading(owner):
                owner.execute(sql)
        with reading(owner):
            assert owner.execute("SELECT current_user").fetchone()[0] == "sosik_reader"
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                owner.execute("SELECT * FROM sosik_leases")
        assert owner.execute("SELECT count(*) FROM crawl_runs").fetchone()[0] == 3


def test_a_query_held_past_the_statement_timeout_is_503_and_the_server_goes_on(
    reader_url: str, news_db: NewsDb
) -> None:
    with Served(reader_url, statement_timeout_ms=300) as base:
        with connect(news_db.url) as owner, owner.transaction():
            owner.execute("LOCK TABLE crawl_runs IN ACCESS EXCLUSIVE MODE")
            r = get(base, "/runs")
        assert r.status_code == 503
        assert "300 ms" in r.json()["detail"]
        assert get(base, "/runs").status_code == 200


def test_the_openapi_schema_and_the_offline_docs_page(api: str) -> None:
    schema = get(api, "/openapi.json").json()
    for path in ("/articles", "/articles/{article_id}", "/search", "/clusters/{cluster_id}",
                 "/runs", "/health"):  # fmt: skip
        assert path in schema["paths"], path
    limit = next(
        p for p in schema["paths"]["/articles"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 100
    docs = get(api, "/docs").text
    assert "/search" in docs and "cdn" not in docs.lower()


def test_serve_refuses_a_login_that_cannot_act_as_the_reader(news_db: NewsDb) -> None:
    import uuid

    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from crawler.commands import CommandError
    from crawler.web.app import check_reader

    role = f"sosik_other_{uuid.uuid4().hex[:8]}"
    with connect(news_db.url) as c:
        c.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        with pytest.raises(CommandError, match="may not act as sosik_reader"):
            check_reader(make_conninfo(news_db.url, user=role))
        check_reader(news_db.url)  # the owner may
    finally:
        with connect(news_db.url) as c:
            c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


# -- /articles and /search (db.search) ---------------------------------------------------------
def test_articles_are_feed_rows_newest_first_with_filters(api: str, news_db: NewsDb) -> None:
    with connect(news_db.url) as c:
        ids = [r[0] for r in c.execute("SELECT id FROM articles_feed ORDER BY id DESC")]
        by = dict(c.execute("SELECT publisher, count(*) FROM articles_feed GROUP BY 1").fetchall())
    page = get(api, "/articles", limit=100).json()
    assert [a["id"] for a in page["items"]] == ids
    assert page["next_before_id"] is None
    publisher, n = max(by.items(), key=lambda kv: kv[1])
    filtered = get(api, "/articles", publisher=publisher).json()["items"]
    assert len(filtered) == n and {a["publisher"] for a in filtered} == {publisher}
    assert get(api, "/articles", portal="daum").json()["items"] == []
    # published 2025-03-12..14 (KST) in the demo site
    assert get(api, "/articles", until="2025-03-11").json()["items"] == []
    assert len(
        get(api, "/articles", since="2025-03-12", until="2025-03-14").json()["items"]
    ) == len(ids)


def test_search_finds_the_term_ranks_and_names_what_to_highlight(api: str) -> None:
    r = get(api, "/search", q="전기버스")
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["terms"] and all(t in "전기버스" for t in found["terms"])
    assert len(found["items"]) >= 2
    for hit in found["items"]:
        assert "전기버스" in hit["title"] + hit["body"]
        assert hit["rank"] > 0 and isinstance(hit["snippet"], str)
    ranks = [h["rank"] for h in found["items"]]
    assert ranks == sorted(ranks, reverse=True)
    assert get(api, "/search", q="배터리 재활용").json()["items"][0]["version"] == 2
    assert get(api, "/search", q="없는낱말입니다").json()["items"] == []


def test_paging_by_cursor_while_a_writer_stores_skips_and_repeats_nothing(
    pg_server_url: str, db_template: str | None
) -> None:
    from db.articles import store_article
    from db.connection import with_dbname
    from tests.db.factories import article
    from tests.dbfixtures import drop_database, new_database

    name = new_database(pg_server_url, "sosik_web_cursor", template=db_template)
    if name is None:
        pytest.skip("the test server's role cannot create databases")
    url = with_dbname(pg_server_url, name)
    stop = threading.Event()
    stored: list[int] = []

    def writer() -> None:
        with connect(url) as w:
            n = 1000
            while not stop.is_set():
                n += 1
                stored.append(store_article(w, article(n)).article_id)

    try:
        with connect(url) as c:
            for n in range(1, 41):
                store_article(c, article(n))
        with Served(url) as base:
            t = threading.Thread(target=writer, daemon=True)
            t.start()
            seen: list[int] = []
            cursor = None
            while True:
                params = {"limit": 3} | ({"before_id": cursor} if cursor else {})
                page = get(base, "/articles", **params).json()
                seen += [a["id"] for a in page["items"]]
                cursor = page["next_before_id"]
                if cursor is None:
                    break
            stop.set()
            t.join(30)
        assert stored, "the writer stored nothing while the reader paged"
        assert seen == sorted(set(seen), reverse=True)  # newest first, nothing twice
        with connect(url) as c:
            below = [r[0] for r in c.execute(
                "SELECT id FROM articles WHERE id <= %s ORDER BY id DESC", [seen[0]]
            )]  # fmt: skip
        assert seen == below  # nothing skipped
    finally:
        stop.set()
        drop_database(pg_server_url, name)
