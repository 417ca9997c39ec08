"""db/jobs.py on a real PostgreSQL: job locks, a job's last runs, the URLs a crawl holds."""

from __future__ import annotations

import time
import urllib.request
from datetime import datetime

from crawler.commands.schedule import _metrics
from crawler.domain.dates import KST
from crawler.domain.items import SearchHit
from crawler.scheduler.jobs import parse_schedule
from crawler.scheduler.runner import Scheduler
from db.articles import store_search_hits
from db.connection import connect
from db.crawl_runs import finish_run, get_run, start_run
from db.jobs import (
    job_holder,
    job_lock,
    known_urls,
    last_job_starts,
    last_success_per_job,
    last_successes,
    lease_name,
)
from db.locks import release_lease, renew_lease, try_lease
from tests.ops.opskit import free_port


def run(conn, spider: str, status: str, **args: str) -> int:
    rid = start_run(conn, spider, args)
    if status != "running":
        finish_run(conn, rid, status, {})
    return rid


def wait_for(condition, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll until `condition()` holds (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_job_lock_is_held_by_one_scheduler_at_a_time(conn, db_url):
    with job_lock(db_url, "nvidia") as first:
        assert first.held
        with job_lock(db_url, "nvidia") as second:
            assert not second.held  # the other scheduler skips it, and knows who has it
            assert second.holder is not None and second.holder.owner == first.owner
        with job_lock(db_url, "chips") as other:
            assert other.held  # other jobs are free
        assert job_holder(conn, "nvidia").owner == first.owner
    assert job_holder(conn, "nvidia") is None  # released when the job ended
    with job_lock(db_url, "nvidia") as again:
        assert again.held


def test_a_lock_dies_with_its_session(conn, db_url):
    holder = connect(db_url)
    assert try_lease(holder, lease_name("nvidia"), "crashed-scheduler")
    assert not try_lease(conn, lease_name("nvidia"), "me")
    holder.close()  # a scheduler that crashed
    # the server ends the session a moment after the client went away
    wait_for(lambda: try_lease(conn, lease_name("nvidia"), "me"), what="the lock to be freed")
    assert job_holder(conn, "nvidia").owner == "me"
    assert release_lease(conn, lease_name("nvidia"), "me")
    assert not release_lease(conn, lease_name("nvidia"), "me")  # held no more


def test_an_expired_lease_is_free_even_while_its_session_lives(conn, db_url):
    with connect(db_url) as holder:  # a host cut off from the database keeps its session
        assert try_lease(holder, lease_name("nvidia"), "cut-off", ttl=0)
        assert job_holder(conn, "nvidia") is None
        assert try_lease(conn, lease_name("nvidia"), "me", ttl=60)
        assert not renew_lease(holder, lease_name("nvidia"), "cut-off")  # it knows it lost
    release_lease(conn, lease_name("nvidia"), "me")


def test_a_held_lease_is_renewed_and_knows_when_it_is_lost(conn, db_url):
    with job_lock(db_url, "nvidia", ttl=0.4) as lock:  # a heartbeat every 0.1 s
        first = job_holder(conn, "nvidia")
        wait_for(
            lambda: job_holder(conn, "nvidia").renewed_at > first.renewed_at,
            what="a heartbeat",
        )
        conn.execute(
            "UPDATE sosik_leases SET owner = 'another' WHERE name = %s", [lease_name("nvidia")]
        )  # what a takeover after expiry looks like to the heartbeat
        wait_for(lock.lost.is_set, what="the heartbeat to notice")
    owners = conn.execute("SELECT owner FROM sosik_leases").fetchall()
    assert owners == [("another",)]  # a lost lease is not "released": it is not ours
    release_lease(conn, lease_name("nvidia"), "another")


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
