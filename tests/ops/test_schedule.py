"""schedule.toml: loading, validation errors, which jobs are due when, and their commands."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from crawler.domain.dates import KST
from crawler.scheduler.jobs import (
    ScheduleError,
    crawl_commands,
    due_jobs,
    load_schedule,
    next_due,
    parse_schedule,
)

ROOT = Path(__file__).resolve().parents[2]


def sched(text: str, tmp_path: Path):
    p = tmp_path / "schedule.toml"
    p.write_text(text, "utf-8")
    return load_schedule(p)


def at(h: int, m: int, s: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 8, day, h, m, s, tzinfo=KST)


def test_the_example_at_the_repo_root_is_valid():
    s = load_schedule(ROOT / "schedule.toml")
    assert s.jobs and all(j.when for j in s.jobs)
    for job in s.jobs:
        for crawl in crawl_commands(job, date(2024, 8, 1)):
            assert crawl.argv[0] == (job.command or "crawl")
    assert [c.argv for c in crawl_commands(s.job("canary"), date(2024, 8, 1))] == [("canary",)]


def test_a_canary_job_runs_the_canary_not_a_crawl(tmp_path):
    s = sched(
        """
        [defaults]
        pages = 3

        [[job]]
        name = "watch"
        command = "canary"
        portal = ["naver", "daum"]
        cron = "0 7 * * *"

        [job.settings]
        DOWNLOAD_DELAY = 2
        """,
        tmp_path,
    )
    job = s.job("watch")
    assert job.command == "canary" and job.when == "cron 0 7 * * *"
    (only,) = crawl_commands(job, date(2024, 8, 1))
    assert only.argv == (
        "canary",
        "--portal",
        "naver",
        "--portal",
        "daum",
        "-s",
        "DOWNLOAD_DELAY=2",
    )
    for bad, message in (
        ('command = "dance"', "command must be one of canary"),
        ('command = "canary"\nquery = "x"', "takes no query"),
        ('command = "canary"\nportal = "nate"', "unknown portal(s) nate"),
    ):
        with pytest.raises(ScheduleError, match=message.replace("(", r"\(").replace(")", r"\)")):
            sched(f'[[job]]\nname = "c"\n{bad}\ncron = "0 7 * * *"\n', tmp_path)


def test_two_jobs_each_run_at_its_own_time(tmp_path):
    s = sched(
        """
        [[job]]
        name = "quarter"
        portal = "naver"
        query = "엔비디아"
        every = "15m"

        [[job]]
        name = "half-hour"
        portal = "all"
        queries = ["손흥민", "반도체"]
        cron = "*/30 * * * *"
        """,
        tmp_path,
    )
    start = at(10, 7)
    last: dict[str, datetime] = {}

    def tick(now: datetime) -> list[str]:
        due = due_jobs(s.jobs, last, now, start=start, tz=s.timezone)
        for j in due:
            last[j.name] = now
        return [j.name for j in due]

    assert tick(at(10, 7)) == ["quarter"]  # every: at once; cron: waits for its tick
    assert tick(at(10, 20)) == []
    assert tick(at(10, 22)) == ["quarter"]
    assert tick(at(10, 30)) == ["half-hour"]
    assert tick(at(10, 37)) == ["quarter"]
    assert tick(at(10, 51, 59)) == []
    assert tick(at(10, 52)) == ["quarter"]
    assert tick(at(11, 0, 5)) == ["half-hour"]  # a little late still counts
    # a scheduler that was down for an hour runs each job once, not once per missed tick
    assert tick(at(12, 10)) == ["quarter", "half-hour"]
    assert tick(at(12, 11)) == []


def test_last_runs_survive_a_restart(tmp_path):
    s = sched('[[job]]\nname = "a"\nportal = "daum"\nquery = "x"\nevery = "1h"\n', tmp_path)
    job = s.jobs[0]
    assert next_due(job, at(9, 0), start=at(9, 30), tz=s.timezone) == at(10, 0)
    assert due_jobs(s.jobs, {"a": at(9, 0)}, at(9, 30), start=at(9, 30)) == []


def test_cron_in_the_schedule_timezone(tmp_path):
    s = sched(
        'timezone = "UTC"\n[[job]]\nname = "a"\nportal = "naver"\nquery = "x"\n'
        'cron = "0 3 * * *"\n',
        tmp_path,
    )
    nxt = next_due(s.jobs[0], None, start=at(10, 0), tz=s.timezone)
    assert nxt == datetime(2024, 8, 1, 12, 0, tzinfo=KST)  # 03:00 UTC is noon in Seoul


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[job]]\nname='a'\nportal='naver'\nquery='x'\n", "exactly one of cron"),
        (
            "[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\ncron='* * * * *'\n",
            "exactly one",
        ),
        ("[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='soon'\n", "not an interval"),
        ("[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='30s'\n", "shorter than a minute"),
        ("[[job]]\nname='a'\nportal='naver'\nquery='x'\ncron='61 * * * *'\n", "five-field cron"),
        ("[[job]]\nname='a'\nportal='bing'\nquery='x'\nevery='5m'\n", "unknown portal 'bing'"),
        ("[[job]]\nname='a'\nportal='naver'\nevery='5m'\n", "needs `query`"),
        ("[[job]]\nname='a'\nportal='naver_section'\nevery='5m'\n", "needs `section`"),
        ("[[job]]\nportal='naver'\nquery='x'\nevery='5m'\n", "`name` is required"),
        ("[[job]]\nname='a b'\nportal='naver'\nquery='x'\nevery='5m'\n", "`name` is required"),
        (
            "[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\npage=3\n",
            "unknown key(s) page",
        ),
        ("[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\npages=-1\n", "pages must"),
        (
            "[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\nsince='2024-13-01'\n",
            "not a date",
        ),
        (
            "[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\ndays=2\nsince='2024-01-01'\n",
            "not both",
        ),
        (
            "[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\nstop_at_known='yes'\n",
            "true or false",
        ),
        ("[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\n" * 2, "used twice"),
        (
            "timezone='Mars/Base'\n[[job]]\nname='a'\nportal='naver'\nquery='x'\nevery='5m'\n",
            "unknown timezone",
        ),
        ("jobs=1\n", "unknown top-level"),
        ("", "no jobs"),
        ("[[job]\n", "not valid TOML"),
    ],
)
def test_errors_are_one_clear_line(tmp_path, text, message):
    with pytest.raises(ScheduleError) as e:
        sched(text, tmp_path)
    assert message in str(e.value)
    assert "\n" not in str(e.value)
    assert "schedule.toml" in str(e.value)


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ScheduleError, match="schedule file not found"):
        load_schedule(tmp_path / "nope.toml")


def test_commands_one_per_portal_and_query_with_job_and_incremental():
    s = parse_schedule(
        {
            "defaults": {"pages": 2},
            "job": [
                {
                    "name": "chips",
                    "portal": "all",
                    "queries": ["반도체", "HBM"],
                    "every": "30m",
                    "settings": {"DOWNLOAD_DELAY": 2},
                }
            ],
        }
    )
    cmds = crawl_commands(s.jobs[0], date(2024, 8, 1))
    assert [c.key for c in cmds] == [
        f"{p}:{q}" for p in ("naver", "daum", "seoul") for q in ("반도체", "HBM")
    ]
    argv = cmds[0].argv
    assert argv[:4] == ("crawl", "naver", "--query", "반도체")
    assert "--incremental" in argv and "SOSIK_JOB=chips" in argv and "DOWNLOAD_DELAY=2" in argv
    assert argv[argv.index("--pages") + 1] == "2"
    assert "--since" not in argv


def test_window_resumes_where_the_last_successful_run_started():
    s = parse_schedule(
        {"job": [{"name": "w", "portal": "naver", "query": "x", "days": 7, "every": "1h"}]}
    )
    job = s.jobs[0]
    today = date(2024, 8, 10)
    first = crawl_commands(job, today)[0].argv
    assert first[first.index("--since") + 1] == "2024-08-04"
    assert first[first.index("--pages") + 1] == "0"  # a window: every page within it
    last = {"naver:x": datetime(2024, 8, 9, 23, 50, tzinfo=KST)}
    again = crawl_commands(job, today, last)[0].argv
    assert again[again.index("--since") + 1] == "2024-08-09"
    # the job's own window still bounds it
    old = {"naver:x": datetime(2024, 7, 1, tzinfo=KST)}
    bounded = crawl_commands(job, today, old)[0].argv
    assert bounded[bounded.index("--since") + 1] == "2024-08-04"


def test_both_incremental_behaviours_can_be_turned_off():
    s = parse_schedule(
        {
            "job": [
                {
                    "name": "full",
                    "portal": "naver_section",
                    "section": "경제",
                    "since": "2024-08-01",
                    "resume_window": False,
                    "stop_at_known": False,
                    "cron": "0 4 * * *",
                }
            ]
        }
    )
    last = {"naver_section:경제": datetime(2024, 8, 9, tzinfo=KST)}
    argv = crawl_commands(s.jobs[0], date(2024, 8, 10), last)[0].argv
    assert argv[:4] == ("crawl", "naver_section", "--section", "경제")
    assert argv[argv.index("--since") + 1] == "2024-08-01"
    assert "--incremental" not in argv


def test_daum_section_job_runs_one_crawl_per_section_and_stands_alone():
    job = {"name": "film", "portal": "daum_section", "sections": ["영화", "야구"], "days": 1,
           "cron": "*/30 * * * *"}  # fmt: skip
    s = parse_schedule({"job": [job]})
    assert s.jobs[0].name == "film"  # a section job keeps its own name
    crawls = crawl_commands(s.jobs[0], date(2025, 12, 17))
    assert "SOSIK_JOB=film" in crawls[0].argv
    assert [c.argv[:4] for c in crawls] == [
        ("crawl", "daum_section", "--section", "영화"),
        ("crawl", "daum_section", "--section", "야구"),
    ]
    assert crawls[0].argv[crawls[0].argv.index("--since") + 1] == "2025-12-17"
    with pytest.raises(ScheduleError, match="cannot share a job"):
        parse_schedule({"job": [{**job, "portal": ["daum_section", "daum"]}]})
    with pytest.raises(ScheduleError, match="needs `section`"):
        parse_schedule({"job": [{k: v for k, v in job.items() if k != "sections"}]})


def test_every_interval_forms():
    for text, seconds in (("90s", None), ("15m", 900), ("2h", 7200), ("1d", 86400)):
        raw = {"job": [{"name": "a", "portal": "naver", "query": "x", "every": text}]}
        if seconds is None:
            parse_schedule(raw)  # 90 s is over a minute: fine
            continue
        assert parse_schedule(raw).jobs[0].every == timedelta(seconds=seconds)


def test_naver_section_job_layout():
    job = {"name": "econ", "portal": "naver_section", "section": "경제", "layout": "legacy",
           "every": "1h"}  # fmt: skip
    crawls = crawl_commands(parse_schedule({"job": [job]}).jobs[0], date(2025, 12, 17))
    argv = crawls[0].argv
    assert argv[argv.index("--layout") + 1] == "legacy"
    with pytest.raises(ScheduleError, match="layout"):
        parse_schedule({"job": [{**job, "layout": "new"}]})
    with pytest.raises(ScheduleError, match="layout"):
        parse_schedule({"job": [{**job, "portal": "daum_section", "section": "영화"}]})
