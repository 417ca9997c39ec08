"""Operations end to end: scheduled jobs, job locks across schedulers, incremental crawls,
Retry-After, SIGTERM, metrics and progress, each through real `sosik` processes, a replay
server over real corpus pages and a real PostgreSQL. Time is injected where a schedule decides;
nothing here sleeps to make a point (polling a condition is not timing)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta

import pytest

from crawler.domain.dates import KST
from crawler.domain.urls import canonical_url
from crawler.parsers import Page, parse_search
from crawler.scheduler.jobs import load_schedule
from crawler.scheduler.runner import EX_TEMPFAIL, Scheduler
from db.crawl_runs import recent_runs
from db.jobs import known_urls, last_job_starts
from tests.ops import opskit as kit
from tests.ops.opskit import QUERY, SEARCH, page_url


def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until `condition()` holds (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def runs_of(conn, job: str) -> list:
    return [r for r in recent_runs(conn, 100) if r.args.get("job") == job]


# -- schedules ---------------------------------------------------------------------------------
def test_a_schedule_runs_each_job_at_its_time(conn, db_url, tmp_path):
    with kit.replay({SEARCH: kit.search_page()}) as server:
        path = kit.schedule_file(
            tmp_path / "schedule.toml",
            server,
            f"""
            [defaults]
            articles = false
            days = 3
            settings = {{ REPLAY_URL = "{{replay}}" }}

            [[job]]
            name = "hourly"
            portal = "naver"
            query = "{QUERY}"
            pages = 1
            every = "1h"

            [[job]]
            name = "half-past"
            portal = "naver"
            query = "{QUERY}"
            pages = 1
            cron = "*/30 * * * *"
            """,
        )
        schedule = load_schedule(path)
        # The injected clock runs ahead of the real one, as a scheduler's would after a while.
        real = datetime.now(KST).replace(minute=0, second=0, microsecond=0)
        t0 = real + timedelta(hours=2, minutes=1)
        scheduler = Scheduler(schedule, db_url, command=kit.sosik_argv())
        scheduler.env = kit.sosik_env(db_url)

        def tick(minutes: int) -> list[str]:
            results = scheduler.tick(t0 + timedelta(minutes=minutes))
            assert all(r.status == "ran" and r.exit_code == 0 for r in results), results
            return [r.job for r in results]

        try:
            assert tick(0) == ["hourly"]  # every: at once; cron: at its next tick
            assert tick(19) == []
            assert tick(29) == ["half-past"]  # hh:30
            assert tick(44) == []
        finally:
            scheduler.close()
    assert [len(runs_of(conn, j)) for j in ("hourly", "half-past")] == [1, 1]
    hourly = runs_of(conn, "hourly")[0]
    assert hourly.status == "ok" and hourly.args["query"] == QUERY
    # A restarted scheduler knows from crawl_runs when each job last ran …
    assert set(last_job_starts(conn)) == {"hourly", "half-past"}
    # … and the next window starts on the day the last successful run started.
    again = Scheduler(schedule, db_url)
    try:
        argv = again.commands(schedule.job("hourly"), t0)[0].argv
    finally:
        again.close()
    assert argv[argv.index("--since") + 1] == hourly.started_at.astimezone(KST).date().isoformat()


def test_two_schedulers_never_run_one_job_at_once(conn, db_url, tmp_path):
    with kit.replay({SEARCH: kit.search_page()}) as server:
        path = kit.schedule_file(
            tmp_path / "schedule.toml",
            server,
            f"""
            [[job]]
            name = "shared"
            portal = "naver"
            query = "{QUERY}"
            articles = false
            every = "15m"
            settings = {{ REPLAY_URL = "{{replay}}" }}
            """,
        )
        # The first scheduler's crawl is kept busy: the server holds its first page (then
        # answers 429 with a short Retry-After) until the second scheduler has given up.
        held = threading.Event()
        server.inject(
            "search.naver.com/search.naver", 429, {"Retry-After": "1"}, times=1, gate=held
        )
        once = ["schedule", "once", "shared", "--config", str(path)]
        first = kit.start(db_url, *once)
        try:
            wait_for(lambda: server.requested("search.naver"), what="the first crawl to start")
            second = kit.sosik(db_url, *once)
        finally:
            held.set()
            _, err = first.communicate(timeout=120)
        assert second.returncode == EX_TEMPFAIL, second.stderr
        assert (
            "sosik: job shared is already running elsewhere (another scheduler holds its lock); "
            "skipped" in second.stderr
        )
        assert first.returncode == 0, err
        assert len(server.requested("search.naver.com/search.naver")) == 2  # 429, then the page
    assert len(runs_of(conn, "shared")) == 1
    assert known_urls(conn, kit.hits_of(kit.search_page()), "naver", QUERY)


# -- incremental -------------------------------------------------------------------------------
def test_an_incremental_run_fetches_only_new_result_pages(conn, db_url):
    old1, old2, new = kit.search_page(), kit.search_page("v2"), kit.search_page("v3")
    with kit.replay({page_url(1): old1, page_url(2): kit.block(old2, 2)}) as server:
        first = kit.sosik(db_url, *kit.crawl_args(server, "--pages", "2", "--no-articles"))
        assert first.returncode == 0, first.stderr
        assert len(server.requested("start=11")) == 1
    # Later: one page of new results on top; the pages stored before move down.
    pages = {page_url(1): new, page_url(2): kit.block(old1, 2), page_url(3): kit.block(old2, 3)}
    with kit.replay(pages) as server:
        second = kit.sosik(
            db_url, *kit.crawl_args(server, "--pages", "3", "--no-articles", "--incremental")
        )
        assert second.returncode == 0, second.stderr
        asked = server.requested("start=")
    assert [u for u in asked if "start=11" in u] and not [u for u in asked if "start=21" in u]
    # block 2 still said there was more: only the incremental check stopped the paging
    assert parse_search(Page(url=page_url(2), body=kit.block(old1, 2))).has_next
    run = recent_runs(conn, 1)[0]
    assert run.stats["incremental/known_pages"] == 1
    assert known_urls(conn, kit.hits_of(new), "naver", QUERY) == set(kit.hits_of(new))


# -- politeness --------------------------------------------------------------------------------
def test_a_429_with_retry_after_is_waited_out_and_the_article_stored(conn, db_url):
    page = kit.with_saved_article(kit.search_page())
    with kit.replay({SEARCH: page, kit.ARTICLE: kit.article_page()}) as server:
        server.inject("0005316196", 429, {"Retry-After": "2"}, times=1)
        done = kit.sosik(db_url, *kit.crawl_args(server, "--pages", "1"))
        asked = server.requested("0005316196")
    assert done.returncode in (0, 1), done.stderr  # the other results' articles are not saved
    assert len(asked) == 2  # the 429, then the retry
    assert known_urls(conn, [canonical_url(kit.ARTICLE)])
    run = recent_runs(conn, 1)[0]
    assert run.stats["retry/status_429"] == 1
    assert run.stats["retry/wait_seconds"] == 2.0
    assert run.stats["store/inserted"] >= 1


# -- SIGTERM -----------------------------------------------------------------------------------
def test_sigterm_lets_the_running_crawl_flush_and_the_scheduler_exit_cleanly(
    conn, db_url, tmp_path
):
    page = kit.with_saved_article(kit.search_page())
    with kit.replay({SEARCH: page, kit.ARTICLE: kit.article_page()}) as server:
        path = kit.schedule_file(
            tmp_path / "schedule.toml",
            server,
            f"""
            [[job]]
            name = "stoppable"
            portal = "naver"
            query = "{QUERY}"
            every = "10m"
            settings = {{ REPLAY_URL = "{{replay}}" }}
            """,
        )
        # The crawl is in flight (waiting out a Retry-After) when the scheduler is stopped.
        server.inject("0005316196", 429, {"Retry-After": "2"}, times=1)
        scheduler = kit.start(db_url, "schedule", "run", "--config", str(path))
        try:
            wait_for(lambda: server.requested("0005316196"), what="the crawl to reach the 429")
            scheduler.send_signal(signal.SIGTERM)
            _, err = scheduler.communicate(timeout=60)
        finally:
            if scheduler.poll() is None:
                scheduler.kill()
    assert scheduler.returncode == 0, err
    assert "stopping after the running crawl" in err
    runs = runs_of(conn, "stoppable")
    assert len(runs) == 1  # nothing started after the signal
    run = runs[0]
    assert run.finished_at is not None and run.stats.get("finish_reason") == "shutdown"
    # the hits scraped before the signal were flushed by the store on the way out
    assert run.stats["store/search_hits"] == 10
    assert known_urls(conn, kit.hits_of(page), "naver", QUERY) == set(kit.hits_of(page))


# -- metrics and progress ----------------------------------------------------------------------
def test_the_metrics_endpoint_answers_with_the_counters_after_a_replayed_crawl(conn, db_url):
    port = kit.free_port()
    seen: list[str] = []
    with kit.replay({SEARCH: kit.search_page()}) as server:
        crawl = kit.start(
            db_url,
            *kit.crawl_args(server, "--no-articles", job="metered"),
            SOSIK_METRICS_PORT=str(port),
            SOSIK_METRICS_HOLD="60",
        )

        def finished() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    text = r.read().decode()
            except OSError:
                return crawl.poll() is not None
            seen.append(text)
            return 'sosik_crawl_running{job="metered",spider="naver"} 0.0' in text

        try:
            wait_for(finished, what="the crawl's final metrics")
            _, err = crawl.communicate(timeout=60)  # the hold ends after that scrape
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert crawl.returncode == 0, err
    text = seen[-1]
    assert 'sosik_pages_total{job="metered",kind="search",spider="naver"} 1.0' in text
    assert 'sosik_search_hits_total{job="metered",spider="naver"} 10.0' in text
    assert 'sosik_responses_total{job="metered",spider="naver",status="200"} 1.0' in text
    assert 'sosik_response_latency_seconds_count{spider="naver"}' in text
    assert 'sosik_last_success_timestamp_seconds{job="metered"}' in text


def test_a_terminal_gets_a_live_progress_line(conn, db_url):
    with kit.replay({SEARCH: kit.search_page()}) as server:
        master, slave = pty.openpty()
        crawl = subprocess.Popen(
            kit.sosik_argv(
                *kit.crawl_args(server, "--no-articles", "-s", "SOSIK_PROGRESS_INTERVAL=0.05")
            ),
            env=kit.sosik_env(db_url),
            cwd=kit.REPO,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
        os.close(slave)
        chunks = []
        try:
            while True:
                ready, _, _ = select.select([master], [], [], 60)
                if not ready:
                    break
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(master)
            crawl.wait(timeout=60)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert crawl.returncode == 0, out
    assert "\r\x1b[Ksosik naver: " in out and " pages/s · " in out


# -- sosik runs --------------------------------------------------------------------------------
def test_runs_lists_recent_runs_and_shows_one_in_detail(conn, db_url):
    from db.crawl_runs import finish_run, start_run

    ok = start_run(conn, "naver", {"query": QUERY, "job": "nightly"})
    finish_run(
        conn,
        ok,
        "errors",
        {
            "downloader/response_count": 12,
            "store/inserted": 8,
            "dedupe/dropped_hash": 2,
            "fetch/error": 1,
            "alarms": [],
        },
        [{"kind": "fetch", "url": "https://example.com/gone", "reason": "HTTP 404"}],
    )
    start_run(conn, "daum", {"query": "손흥민"})
    listing = kit.sosik(db_url, "runs", "--limit", "5")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:2] == ["id", "spider/job"]
    assert "daum" in lines[1] and "running" in lines[1]
    row = lines[2].split()
    assert row[0] == str(ok) and row[1] == "naver/nightly" and "errors" in row
    assert row[-4:] == ["12", "8", "2", "1"]  # pages, stored, dropped, errors
    shown = kit.sosik(db_url, "runs", "show", str(ok))
    assert shown.returncode == 0, shown.stderr
    assert f"run {ok}: naver/nightly  errors" in shown.stdout
    assert "fetch  https://example.com/gone  HTTP 404" in shown.stdout
    missing = kit.sosik(db_url, "runs", "show", "999999")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "sosik: no crawl run 999999 (see `sosik runs`)"


@pytest.mark.parametrize("args", [["schedule", "once", "nope"], ["schedule", "list"]])
def test_schedule_errors_are_one_line(conn, db_url, tmp_path, args):
    path = tmp_path / "schedule.toml"
    path.write_text('[[job]]\nname = "a"\nportal = "naver"\nquery = "x"\nevery = "5 min"\n')
    done = kit.sosik(db_url, *args, "--config", str(path))
    assert done.returncode == 64  # EX_USAGE: the operator's file is wrong
    assert done.stderr.strip().splitlines() == [
        f'sosik: {path}: job a: every \'5 min\' is not an interval like "90s", "15m", "2h", "1d"'
    ]
