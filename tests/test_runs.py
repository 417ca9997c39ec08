"""The run's status from its stats: ok, errors, failed, degraded (the layout-drift alarm)."""

from __future__ import annotations

from crawler.runrecord import assess


def healthy(n: int = 5) -> dict:
    stats = {"downloader/response_count": n + 1, "coverage/mk.v1/items": n}
    for f in ("title", "body", "published_at", "publisher"):
        stats[f"coverage/mk.v1/{f}"] = n
    return stats


def test_ok_and_errors():
    assert assess(healthy(), 0, "finished").status == "ok"
    a = assess(healthy(), 2, "finished")
    assert a.status == "errors" and a.exit_code == 1


def test_a_field_missing_too_often_is_degraded_and_named():
    stats = healthy(5)
    stats["coverage/mk.v1/published_at"] = 3  # 60% < 80%
    a = assess(stats, 0, "finished")
    assert a.status == "degraded" and a.exit_code == 2
    assert a.alarms == ["parser mk.v1: published_at present in 60% of items (threshold 80%)"]
    assert assess(stats, 0, "finished", min_share=0.5).status == "ok"


def test_too_few_items_say_nothing_yet():
    stats = healthy(2)
    stats["coverage/mk.v1/body"] = 0
    assert assess(stats, 0, "finished").status == "ok"
    assert assess(stats, 0, "finished", min_items=2).status == "degraded"


def test_empty_result_pages_are_drift():
    stats = {**healthy(), "drift/search_empty": 1}
    a = assess(stats, 0, "finished")
    assert a.status == "degraded" and "search page(s) parsed to zero results" in a.alarms[0]


def test_failed_runs_say_why_without_calling_it_drift():
    a = assess({"downloader/response_count": 0}, 1, "finished")
    assert a.status == "failed" and a.reason == "nothing could be fetched" and a.alarms == []
    a = assess(healthy(), 0, "shutdown")
    assert a.status == "failed" and "shutdown" in a.reason and a.alarms == []
