"""Database and process faults, CI size: every case 0 lost, 0 stored twice, the record true.

The scenarios (tests/faults/database.py) run at full size in `bench/faults_db.py` (≥ 1,000
articles, 15 s outages, 10 races); here a site of 300 articles and shorter outages. Each test
starts its own PostgreSQL servers in a temp dir (never the shared ones) and stops them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.domain.outcomes import is_failure
from crawler.domain.urls import canonical_url
from crawler.runrecord import iter_errors
from tests.conftest import require_corpus
from tests.faults import database as faults
from tests.faults.table import print_table

ARTICLES = 300
STORIES = 34  # two texts per corpus template: the site builds in a second

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    require_corpus()
    with faults.temp_root() as path:
        yield path


@pytest.fixture(scope="module")
def embedded(root: Path) -> Iterator[faults.EmbeddedServer]:
    server = faults.EmbeddedServer(root / "embedded")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def local(root: Path) -> Iterator[faults.LocalServer]:
    if not faults.local_server_available():
        pytest.skip("no initdb/pg_ctl on PATH")
    server = faults.LocalServer(root / "local")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def replay() -> Iterator[faults.Replay]:
    with faults.replay_site(ARTICLES, stories=STORIES) as site:
        yield site


def home(root: Path, name: str) -> Path:
    return root / "homes" / name


def show(row) -> None:
    print_table([row], sys.stdout)


@pytest.mark.parametrize("which", ["embedded", "pg_ctl"])
def test_the_database_stopped_mid_crawl_loses_nothing(
    which: str, request: pytest.FixtureRequest, replay: faults.Replay, root: Path
) -> None:
    server = request.getfixturevalue("embedded" if which == "embedded" else "local")
    row = faults.outage(server, replay, home(root, f"outage-{which}"), down=6)
    show(row)
    assert row.passed, row
    assert (row.stored, row.stored_twice) == (ARTICLES, 0)
    assert row.statuses == ["ok"]  # nothing was lost: the store waited and wrote it all
    assert row.retried >= 1  # and the record says the store met the outage


def test_the_stores_sessions_terminated_lose_nothing(
    embedded: faults.EmbeddedServer, replay: faults.Replay, root: Path
) -> None:
    row = faults.killed_sessions(embedded, replay, home(root, "terminate"))
    show(row)
    assert row.pages_affected >= 1
    assert row.passed and row.statuses == ["ok"], row
    assert (row.stored, row.stored_twice) == (ARTICLES, 0)


@pytest.mark.parametrize("then", ["flush-spill", "next run"])
def test_the_database_down_to_the_end_spills_and_is_written_back(
    then: str, embedded: faults.EmbeddedServer, replay: faults.Replay, root: Path
) -> None:
    row, seen = faults.down_to_end(embedded, replay, home(root, f"down-{then}"), then=then)
    show(row)
    # The crawl could not store everything: it says so, and keeps the rest on disk.
    assert seen["exit"] == 1, seen["stderr"][-2000:]
    assert "NOT STORED YET" in seen["stderr"]
    assert seen["spill_files"], "nothing was spilled"
    assert seen["not_yet"], "the outage did not keep anything out of the database"
    # The database could not be told how the run ended; the spill file holds it.
    assert seen["first_before"].status == "running"
    assert seen["recovery"].returncode == 0, seen["recovery"].stderr[-2000:]
    first = seen["first_after"]
    assert first.status == "errors"  # the run lost items when it ended: never ok
    named = {
        canonical_url(url)
        for kind, url, reason in iter_errors(first.errors)
        if is_failure(kind) and "database unavailable" in reason
    }
    assert named == seen["not_yet"]  # exactly the URLs that were not stored, each named
    assert first.stats["spill/written_back"] >= len(seen["not_yet"])
    assert row.passed, row
    assert (row.stored, row.stored_twice) == (ARTICLES, 0)
    if then == "flush-spill":
        assert "recorded as errors" in seen["recovery"].stderr


def test_sigkill_then_the_same_command_resumes(
    embedded: faults.EmbeddedServer, replay: faults.Replay, root: Path
) -> None:
    row, seen = faults.sigkill_then_again(embedded, replay, home(root, "sigkill"))
    show(row)
    assert seen["again"].returncode == 0, seen["again"].stderr[-2000:]
    killed, resumed = seen["runs"]
    assert killed.status == "killed" and "is gone" in killed.stats["failure"]
    assert killed.stats["pages/article"] >= 1  # what its last heartbeat said it had done
    assert killed.finished_at == killed.heartbeat_at
    assert resumed.status == "ok" and resumed.resumed_from == killed.id
    # exactly the rest: what the killed run stored is not fetched again
    assert resumed.stats["resume/skipped"] == seen["at_kill"]
    assert resumed.stats["pages/article"] == ARTICLES - seen["at_kill"]
    assert row.passed, row
    assert (row.stored, row.stored_twice) == (ARTICLES, 0)


def test_sigkill_then_the_schedulers_job(
    embedded: faults.EmbeddedServer, replay: faults.Replay, root: Path
) -> None:
    row, seen = faults.sigkill_then_scheduler(embedded, replay, home(root, "scheduler"))
    show(row)
    assert seen["killed"] >= 1
    assert seen["again"].returncode == 0, seen["again"].stderr[-2000:]
    first, second = seen["runs"]
    assert first.status == "killed" and first.args["job"] == "sections"
    assert second.status == "ok" and second.resumed_from == first.id
    assert row.passed, row
    assert (row.stored, row.stored_twice) == (ARTICLES, 0)


def test_bad_items_are_rejected_alone_and_named(
    embedded: faults.EmbeddedServer, root: Path
) -> None:
    row, seen = faults.bad_items(embedded, home(root, "bad"))
    show(row)
    assert seen["done"].returncode == 1, seen["done"].stderr[-2000:]
    (run,) = seen["runs"]
    assert run.status == "errors"
    reasons = {url: reason for kind, url, reason in iter_errors(run.errors) if kind == "rejected"}
    assert set(reasons) == seen["bad_urls"]
    assert sorted(reasons.values()) == [
        "body holds a NUL character (at character 11)",
        "title too long (1,000 characters; at most 300)",
        "title too long (1,050,000 characters; at most 300)",
    ]
    assert row.passed, row
    assert (row.stored, row.stored_twice, row.named) == (20, 0, 3)


def test_two_crawls_on_a_fresh_database_both_succeed(
    embedded: faults.EmbeddedServer, root: Path
) -> None:
    with faults.replay_site(40, stories=17) as small:
        row, problems = faults.fresh_database_race(
            embedded, small, home(root, "race"), rounds=2, embedded_rounds=1
        )
    show(row)
    assert problems == []
    assert row.passed and (row.stored, row.stored_twice) == (2 * 40, 0), row


def test_scenario_script_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, "bench/faults_db.py", "--help"],
        cwd=faults.REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--articles" in done.stdout, done.stderr
