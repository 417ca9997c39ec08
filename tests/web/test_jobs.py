"""The health page's job table: the schedule's jobs with their newest run, next due, late."""

from __future__ import annotations

from datetime import datetime, timedelta

from crawler.domain.dates import KST
from crawler.scheduler.jobs import parse_schedule
from crawler.web.app import job_table

NOW = datetime(2026, 11, 30, 22, 0, tzinfo=KST)
SCHEDULE = parse_schedule(
    {
        "job": [
            {"name": "fresh", "portal": "naver", "query": "반도체", "every": "15m"},
            {"name": "stalled", "portal": "naver", "query": "HBM", "every": "15m"},
            {"name": "new", "portal": "naver", "query": "AI", "cron": "30 6 * * *"},
        ]
    }
)


def run(job: str, minutes_ago: int, status: str = "ok") -> dict:
    started = NOW - timedelta(minutes=minutes_ago)
    return {"job": job, "id": minutes_ago, "spider": "naver", "started_at": started,
            "finished_at": started + timedelta(minutes=2), "status": status, "alarms": 0}  # fmt: skip


def test_every_job_of_the_schedule_its_next_run_and_whether_it_is_late() -> None:
    runs = [run("fresh", 20), run("stalled", 60), run("retired", 600, "errors")]
    table = {j["job"]: j for j in job_table(runs, SCHEDULE, NOW)}
    assert list(table) == ["fresh", "stalled", "new", "retired"]
    # due 5 minutes ago: not late yet (a scheduler polls, a crawl before it may run long)
    assert table["fresh"]["next_due"] == NOW - timedelta(minutes=5)
    assert not table["fresh"]["late"]
    assert table["stalled"]["late"] and table["stalled"]["status"] == "ok"
    # never run: no run fields, due at its next tick, not late
    assert table["new"]["status"] is None and table["new"]["id"] is None
    assert table["new"]["next_due"] == datetime(2026, 12, 1, 6, 30, tzinfo=KST)
    assert not table["new"]["late"] and table["new"]["when"] == "cron 30 6 * * *"
    # a job with runs that the schedule no longer names
    assert not table["retired"]["scheduled"] and table["retired"]["next_due"] is None


def test_a_running_job_is_not_late_and_without_a_schedule_only_runs_show() -> None:
    table = job_table([run("stalled", 60, "running")], SCHEDULE, NOW)
    assert not next(j for j in table if j["job"] == "stalled")["late"]
    assert [j["job"] for j in job_table([run("fresh", 20)], None, NOW)] == ["fresh"]
