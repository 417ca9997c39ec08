"""db/jobs.py on a real PostgreSQL: job locks, a job's last runs, the URLs a crawl holds."""

from __future__ import annotations

import time
import urllib.request
from datetime import datetime

from crawler.commands.schedule import Scheduler, _metrics
from crawler.dates import KST
from crawler.items import SearchHit
from crawler.schedule import parse_schedule
from db.articles import store_search_hits
from db.connection import connect
from db.jobs import (
    job_lock,
    known_urls,
    last_job_starts,
    last_success_per_job,
    last_successes,
    release_job_lock,
    try_job_lock,
)
from db.runs import finish_run, get_run, start_run
from tests.ops.opskit import free_port


def run(conn, spider: str, status: str, **args: str) -> int:
    rid = start_run(conn, spider, args)
    if status != "running":
        finish_run(conn, rid, status, {})
    return rid


def test_a_job_lock_is_held_by_one_session_at_a_time(conn, db_url):
    with connect(db_url) as other:
        with job_lock(conn, "nvidia") as taken:
            assert taken
            assert not try_job_lock(other, "nvidia")  # the other scheduler skips it
            assert try_job_lock(other, "chips")  # other jobs are free
            release_job_lock(other, "chips")
        assert try_job_lock(other, "nvidia")  # released when the job ended
        with job_lock(conn, "nvidia") as taken:
            assert not taken
        assert release_job_lock(other, "nvidia")
        assert not release_job_lock(other, "nvidia")  # held no more


def test_a_lock_dies_with_its_session(conn, db_url):
    holder = connect(db_url)
    assert try_job_lock(holder, "nvidia")
    holder.close()  # a scheduler that crashed
    # the server ends the session a moment after the client went away
    deadline = time.monotonic() + 10
    while not try_job_lock(conn, "nvidia"):
        assert time.monotonic() < deadline, "the lock outlived its session"
        time.sleep(0.02)
    release_job_lock(conn, "nvidia")


def test_last_runs_of_a_job_per_crawl(conn):
    run(conn, "naver", "ok", job="j", query="a")
    newest_a = run(conn, "naver", "errors", job="j", query="a")
    run(conn, "naver", "failed", job="j", query="a")  # not a success
    b = run(conn, "daum", "ok", job="j", query="a")
    run(conn, "naver", "degraded", job="j", query="b")
    sec = run(conn, "naver_section", "ok", job="j", section="경제")
    run(conn, "naver", "ok", job="other", query="a")
    run(conn, "naver", "ok", query="a")  # not a scheduled run
    runs = {
        (r.spider, r.args.get("query") or r.args.get("section")): r.id
        for r in last_successes(conn, "j")
    }
    assert runs == {("naver", "a"): newest_a, ("daum", "a"): b, ("naver_section", "경제"): sec}
    running = run(conn, "seoul", "running", job="j", query="a")
    starts = last_job_starts(conn)
    assert set(starts) == {"j", "other"}
    assert starts["j"] == get_run(conn, running).started_at  # the newest start, any status
    assert set(last_success_per_job(conn)) == {"j", "other"}


def test_known_urls_are_stored_articles_or_hits_of_the_same_search(conn):
    hit = SearchHit("naver", "q", 1, 1, "t", "https://a.example/1", "https://n.news.naver.com/x/1")
    store_search_hits(conn, [hit], None)
    asked = ["https://a.example/1", "https://a.example/2", ""]
    assert known_urls(conn, asked, "naver", "q") == {"https://a.example/1"}
    assert known_urls(conn, asked, "naver", "other query") == set()
    assert known_urls(conn, [], "naver", "q") == set()


def test_the_scheduler_serves_each_jobs_last_success_from_crawl_runs(conn, db_url, monkeypatch):
    run(conn, "naver", "ok", job="nightly", query="a")
    run(conn, "naver", "failed", job="broken", query="a")
    port = free_port()
    monkeypatch.setenv("SOSIK_METRICS_PORT", str(port))
    metrics = _metrics(db_url)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        metrics.stop()
    assert 'sosik_last_success_timestamp_seconds{job="nightly"}' in text
    assert 'job="broken"' not in text
    assert "sosik_database_up 1.0" in text


def test_the_scheduler_reconnects_when_its_session_dies(conn, db_url):
    schedule = parse_schedule(
        {"job": [{"name": "later", "portal": "naver", "query": "x", "cron": "0 3 * * *"}]}
    )
    scheduler = Scheduler(schedule, db_url)
    try:
        now = datetime(2024, 8, 1, 10, 0, tzinfo=KST)
        assert scheduler.tick(now) == []  # not due: reads crawl_runs, runs nothing
        pid = scheduler.conn.info.backend_pid
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))  # a server restart, say
        assert scheduler.tick(now) == []
        assert scheduler.conn.info.backend_pid != pid
    finally:
        scheduler.close()
