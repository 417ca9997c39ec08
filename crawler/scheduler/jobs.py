"""Schedules: which crawls run when, read from a TOML file, decided without a clock of its own.

    [[job]]
    name = "nvidia"
    portal = ["naver", "daum"]      # or "all" (naver, daum, seoul), naver_section, daum_section
    queries = ["엔비디아"]
    pages = 3                        # or a date window: days = 2 / since = "2024-08-01"
    every = "15m"                    # or cron = "*/30 * * * *"

    [[job]]
    name = "canary"
    command = "canary"               # not a crawl: `sosik canary` (optional: portal = …)
    cron = "0 7 * * *"

Everything here is pure: `load_schedule` validates the file and says in one line what is wrong
with it; `due_jobs(jobs, last_runs, now)` takes the time it is asked about, so the scheduler's
tests inject the clock instead of sleeping. `crawl_commands` turns a job into the `sosik crawl`
command lines the scheduler runs, one per portal and query (or section).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from crawler.domain.dates import KST, parse_date_arg
from crawler.domain.portals import SEARCH_SPIDERS, SECTION_SPIDERS
from crawler.errors import UsageError

JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
EVERY = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_TIMEZONE = "Asia/Seoul"
COMMANDS = ("canary",)  # jobs that run another sosik command than `crawl`
# Statuses after which a job's next window may start where this run started: the crawl
# finished and stored what it could (`errors` lists the pages it could not fetch or parse).
SUCCESS_STATUSES = ("ok", "errors")

JOB_KEYS = {
    "name",
    "command",
    "portal",
    "portals",
    "query",
    "queries",
    "section",
    "sections",
    "sub",
    "layout",
    "pages",
    "days",
    "since",
    "until",
    "sort",
    "articles",
    "cron",
    "every",
    "resume_window",
    "stop_at_known",
    "settings",
}
DEFAULT_KEYS = JOB_KEYS - {
    "name", "command", "cron", "every", "query", "queries", "section", "sections",
}  # fmt: skip


class ScheduleError(UsageError):
    """The schedule file is wrong; the message names the file, the job and the key (exit 64)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled crawl: what to fetch and when."""

    name: str
    portals: tuple[str, ...]
    queries: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    sub: str | None = None
    layout: str | None = None  # naver_section: "section" (today's feed) or "legacy" lists
    pages: int | None = None  # None: 1 without a window, every page within one
    days: int | None = None  # window: today and the days before
    since: date | None = None
    until: date | None = None
    sort: str = "recent"
    articles: bool = True
    cron: str | None = None
    every: timedelta | None = None
    resume_window: bool = True  # start where the last successful run started
    stop_at_known: bool = True  # stop paging at a result page whose hits are all stored
    settings: dict[str, str] = field(default_factory=dict)
    command: str | None = None  # not a crawl: `sosik <command>` (COMMANDS)

    @property
    def when(self) -> str:
        """When the job runs, as `sosik schedule list` shows it ("cron …" or "every …")."""
        if self.cron:
            return f"cron {self.cron}"
        assert self.every is not None
        return f"every {_format_every(self.every)}"

    @property
    def has_window(self) -> bool:
        """True when the job sets a date window (days, since or until)."""
        return self.days is not None or self.since is not None or self.until is not None


@dataclass(frozen=True, slots=True)
class Schedule:
    """The parsed schedule file: its jobs, the timezone their times are in, and where it was read."""

    jobs: tuple[Job, ...]
    timezone: tzinfo
    path: Path | None = None

    def job(self, name: str) -> Job:
        """The job with this name; ScheduleError listing the names there are."""
        for j in self.jobs:
            if j.name == name:
                return j
        names = ", ".join(j.name for j in self.jobs) or "none"
        raise ScheduleError(f"no job named {name!r} in {self.path or 'the schedule'} ({names})")


@dataclass(frozen=True, slots=True)
class Crawl:
    """One `sosik crawl` invocation of a job; `key` names it in the run records."""

    spider: str
    argv: tuple[str, ...]  # the arguments after `sosik`
    query: str | None = None
    section: str | None = None

    @property
    def key(self) -> str:
        """The crawl's key across runs: spider and query (or section)."""
        return crawl_key(self.spider, self.query, self.section)


def crawl_key(spider: str, query: str | None = None, section: str | None = None) -> str:
    """What identifies one crawl of a job across runs: spider and query (or section)."""
    return f"{spider}:{query or section or ''}"


# -- loading -----------------------------------------------------------------------------------
def load_schedule(path: str | Path) -> Schedule:
    """Read and validate a schedule file; ScheduleError (one line) when anything is wrong."""
    path = Path(path)
    return parse_schedule(read_toml(path, ScheduleError, "schedule file"), path)


def read_toml(path: Path, error: type[ValueError], what: str) -> dict[str, Any]:
    """A TOML file as a dict; `error` (one line naming the file) when missing or malformed."""
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: not valid TOML: {e}") from None


def parse_schedule(raw: dict[str, Any], path: Path | None = None) -> Schedule:
    """The schedule from a parsed TOML table (`[[job]]`, `[defaults]`, `timezone`, by default
    Asia/Seoul); ScheduleError names the file, job and key of any mistake.
    """
    where = str(path or "schedule")
    unknown = set(raw) - {"job", "defaults", "timezone"}
    if unknown:
        raise ScheduleError(
            f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
            "expected [[job]], [defaults], timezone"
        )
    tz_name = raw.get("timezone", DEFAULT_TIMEZONE)
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{where}: unknown timezone {tz_name!r}") from None
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ScheduleError(f"{where}: [defaults] must be a table")
    bad = set(defaults) - DEFAULT_KEYS
    if bad:
        raise ScheduleError(f"{where}: [defaults] cannot set {', '.join(sorted(bad))}")
    entries = raw.get("job", [])
    if not isinstance(entries, list) or not entries:
        raise ScheduleError(f"{where}: no jobs; add at least one [[job]] table")
    jobs: list[Job] = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ScheduleError(f"{where}: job {i} must be a table ([[job]])")
        label = f"{where}: job {entry.get('name') or i}"
        job = _parse_job({**defaults, **entry}, label)
        if any(j.name == job.name for j in jobs):
            raise ScheduleError(f"{label}: the name is used twice")
        jobs.append(job)
    return Schedule(tuple(jobs), tz, path)


def _parse_job(d: dict[str, Any], label: str) -> Job:
    unknown = set(d) - JOB_KEYS
    if unknown:
        raise ScheduleError(
            f"{label}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(JOB_KEYS))}"
        )
    name = d.get("name")
    if not isinstance(name, str) or not JOB_NAME.match(name):
        raise ScheduleError(
            f"{label}: `name` is required: letters, digits, '.', '_' or '-', up to 63 characters"
        )
    if d.get("command") is not None:
        return _command_job(d, name, label)
    portals = _portals(_strings(d, "portal", "portals", label), label)
    queries = _strings(d, "query", "queries", label)
    sections = _strings(d, "section", "sections", label)
    section_portals = [p for p in portals if p in SECTION_SPIDERS]
    if section_portals:
        portal = section_portals[0]
        if len(portals) > 1:
            raise ScheduleError(f"{label}: {portal} cannot share a job with other portals")
        if not sections:
            raise ScheduleError(
                f"{label}: {portal} needs `section` (naver_section: 100..105 or 정치, 경제, …; "
                "daum_section: a Daum list URL or 영화, 사회, 야구, …)"
            )
        if queries:
            raise ScheduleError(f"{label}: {portal} takes sections, not queries")
    else:
        if not queries:
            raise ScheduleError(f"{label}: {', '.join(portals)} needs `query` or `queries`")
        if sections:
            raise ScheduleError(f"{label}: `section` is only for {', '.join(SECTION_SPIDERS)}")
    cron, interval = _when(d, label)
    pages = d.get("pages")
    if pages is not None and (not isinstance(pages, int) or isinstance(pages, bool) or pages < 0):
        raise ScheduleError(f"{label}: pages must be a whole number >= 0 (0 = every page)")
    days = d.get("days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        raise ScheduleError(f"{label}: days must be a whole number >= 1")
    since, until = _date(d.get("since"), "since", label), _date(d.get("until"), "until", label)
    if days is not None and since is not None:
        raise ScheduleError(f"{label}: give `days` or `since`, not both")
    if since and until and since > until:
        raise ScheduleError(f"{label}: since {since} is after until {until}")
    layout = d.get("layout")
    if layout is not None and (
        layout not in ("section", "legacy") or "naver_section" not in portals
    ):
        raise ScheduleError(f'{label}: layout is "section" or "legacy", for naver_section only')
    sort = d.get("sort", "recent")
    if sort not in ("recent", "relevance"):
        raise ScheduleError(f"{label}: sort must be recent or relevance, not {sort!r}")
    return Job(
        name=name,
        portals=portals,
        queries=queries,
        sections=sections,
        sub=str(d["sub"]) if d.get("sub") is not None else None,
        layout=layout,
        pages=pages,
        days=days,
        since=since,
        until=until,
        sort=sort,
        articles=_flag(d, "articles", True, label),
        cron=cron,
        every=interval,
        resume_window=_flag(d, "resume_window", True, label),
        stop_at_known=_flag(d, "stop_at_known", True, label),
        settings=_settings(d, label),
    )


def _command_job(d: dict[str, Any], name: str, label: str) -> Job:
    """A job that runs `sosik <command>` (the canary) instead of a crawl."""
    command = d["command"]
    if command not in COMMANDS:
        raise ScheduleError(f"{label}: command must be one of {', '.join(COMMANDS)}")
    wrong = {"query", "queries", "section", "sections"} & set(d)
    if wrong:
        raise ScheduleError(f"{label}: command {command} takes no {', '.join(sorted(wrong))}")
    portals = _strings(d, "portal", "portals", label)
    bad = set(portals) - set(SEARCH_SPIDERS)
    if bad:
        raise ScheduleError(f"{label}: unknown portal(s) {', '.join(sorted(bad))} for {command}")
    cron, every = _when(d, label)
    return Job(
        name=name,
        portals=portals,
        cron=cron,
        every=every,
        settings=_settings(d, label),
        command=command,
    )


def _when(d: dict[str, Any], label: str) -> tuple[str | None, timedelta | None]:
    """(cron, every) of a job: exactly one of them, checked."""
    cron, every = d.get("cron"), d.get("every")
    if (cron is None) == (every is None):
        raise ScheduleError(f'{label}: give exactly one of cron = "*/30 * * * *" or every = "15m"')
    if cron is not None:
        if not isinstance(cron, str) or not croniter.is_valid(cron) or len(cron.split()) != 5:
            raise ScheduleError(f"{label}: cron {cron!r} is not a five-field cron expression")
    return cron, _every(every, label) if every is not None else None


def _settings(d: dict[str, Any], label: str) -> dict[str, str]:
    settings = d.get("settings", {})
    if not isinstance(settings, dict):
        raise ScheduleError(f"{label}: settings must be a table of NAME = value")
    return {str(k): _setting(v) for k, v in settings.items()}


def _strings(d: dict[str, Any], one: str, many: str, label: str) -> tuple[str, ...]:
    if one in d and many in d:
        raise ScheduleError(f"{label}: give `{one}` or `{many}`, not both")
    v = d.get(one, d.get(many))
    if v is None:
        return ()
    items = [v] if isinstance(v, (str, int)) and not isinstance(v, bool) else v
    if not isinstance(items, list) or not all(
        isinstance(x, (str, int)) and not isinstance(x, bool) and str(x).strip() for x in items
    ):
        raise ScheduleError(f"{label}: `{one}` must be a string or a list of strings")
    return tuple(str(x).strip() for x in items)


# What a job's `portal` may name: the portals table's search and section spiders, and "all".
_PORTAL_NAMES = (*SEARCH_SPIDERS, "all", *SECTION_SPIDERS)


def _portals(names: tuple[str, ...], label: str) -> tuple[str, ...]:
    if not names:
        raise ScheduleError(f"{label}: `portal` is required ({', '.join(_PORTAL_NAMES)})")
    out: list[str] = []
    for n in names:
        expanded = SEARCH_SPIDERS if n == "all" else (n,)
        for p in expanded:
            if p not in (*SEARCH_SPIDERS, *SECTION_SPIDERS):
                raise ScheduleError(
                    f"{label}: unknown portal {p!r}; one of {', '.join(_PORTAL_NAMES)}"
                )
            if p not in out:
                out.append(p)
    return tuple(out)


def _every(v: Any, label: str) -> timedelta:
    m = EVERY.match(str(v)) if isinstance(v, str) else None
    if not m or int(m.group(1)) == 0:
        raise ScheduleError(
            f'{label}: every {v!r} is not an interval like "90s", "15m", "2h", "1d"'
        )
    seconds = int(m.group(1)) * UNITS[m.group(2)]
    if seconds < 60:
        raise ScheduleError(f"{label}: every {v!r} is shorter than a minute")
    return timedelta(seconds=seconds)


def _format_every(td: timedelta) -> str:
    s = int(td.total_seconds())
    for unit in ("d", "h", "m"):
        if s % UNITS[unit] == 0:
            return f"{s // UNITS[unit]}{unit}"
    return f"{s}s"


def _date(v: Any, key: str, label: str) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return parse_date_arg(str(v))
    except ValueError:
        raise ScheduleError(f"{label}: {key} {v!r} is not a date (YYYY-MM-DD)") from None


def _flag(d: dict[str, Any], key: str, default: bool, label: str) -> bool:
    v = d.get(key, default)
    if not isinstance(v, bool):
        raise ScheduleError(f"{label}: {key} must be true or false")
    return v


def _setting(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


# -- when --------------------------------------------------------------------------------------
def next_due(job: Job, last: datetime | None, start: datetime, tz: tzinfo) -> datetime:
    """When `job` is next due, given its last run (None: never) and the scheduler's start.

    An `every` job that never ran is due at once; a cron job waits for its next tick after the
    scheduler started, so a restart at 14:00 does not fire the 03:00 job.
    """
    if job.every is not None:
        return start if last is None else last + job.every
    assert job.cron is not None
    base = (last or start).astimezone(tz)
    nxt = croniter(job.cron, base).get_next(datetime)
    if last is None and _on_tick(job.cron, base):
        return base  # started exactly on a tick: that tick counts
    return nxt


def _on_tick(expr: str, t: datetime) -> bool:
    return t.second == 0 and t.microsecond == 0 and croniter.match(expr, t)


def due_jobs(
    jobs: tuple[Job, ...] | list[Job],
    last_runs: dict[str, datetime],
    now: datetime,
    *,
    start: datetime | None = None,
    tz: tzinfo | None = None,
) -> list[Job]:
    """The jobs due at `now`, in schedule order; `last_runs` maps job name to its last start."""
    tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
    start = start or now
    return [j for j in jobs if next_due(j, last_runs.get(j.name), start, tz) <= now]


# -- what --------------------------------------------------------------------------------------
def crawl_window(
    job: Job, today: date, last_success: datetime | None
) -> tuple[date | None, date | None]:
    """The since/until of a job's next crawl.

    The job's own window (`days`, `since`, `until`) bounds it; with `resume_window`, it starts
    no earlier than the day the last successful run of the same crawl started (its start, not
    its end: a result published while that crawl ran may not have been listed yet). Days are
    Korean days, as the portals' dates are.
    """
    since = job.since
    if job.days is not None:
        since = today - timedelta(days=job.days - 1)
    if job.resume_window and last_success is not None:
        resumed = last_success.astimezone(KST).date()
        since = resumed if since is None else max(since, resumed)
    until = job.until
    if since and until and since > until:
        since = until
    return since, until


def crawl_commands(
    job: Job, today: date, last_success: dict[str, datetime] | None = None
) -> list[Crawl]:
    """The `sosik crawl` command lines of one run of `job`, one per portal and query/section.

    `today` is the Korean date; `last_success` maps a Crawl.key to the start of its last
    successful run. `stop_at_known` applies to search portals (a section list already stops
    where it brings no new link).
    """
    if job.command:
        argv = [job.command, *(a for p in job.portals for a in ("--portal", p))]
        for k, v in job.settings.items():
            argv += ["-s", f"{k}={v}"]
        return [Crawl(job.command, tuple(argv))]
    last_success = last_success or {}
    out: list[Crawl] = []
    targets: list[tuple[str, str | None, str | None]] = []
    for portal in job.portals:
        if portal in SECTION_SPIDERS:
            targets += [(portal, None, s) for s in job.sections]
        else:
            targets += [(portal, q, None) for q in job.queries]
    for spider, query, section in targets:
        probe = Crawl(spider, (), query, section)
        since, until = crawl_window(job, today, last_success.get(probe.key))
        argv: list[str] = ["crawl", spider]
        if query is not None:
            argv += ["--query", query, "--sort", job.sort]
        if section is not None:
            argv += ["--section", section]
            if job.sub:
                argv += ["--sub", job.sub]
            if job.layout and spider == "naver_section":
                argv += ["--layout", job.layout]
        pages = job.pages if job.pages is not None else (0 if (since or until) else 1)
        argv += ["--pages", str(pages)]
        if since:
            argv += ["--since", since.isoformat()]
        if until:
            argv += ["--until", until.isoformat()]
        if not job.articles:
            argv.append("--no-articles")
        if job.stop_at_known and query is not None:
            argv.append("--incremental")
        argv += ["-s", f"SOSIK_JOB={job.name}"]
        for k, v in job.settings.items():
            argv += ["-s", f"{k}={v}"]
        out.append(Crawl(spider, tuple(argv), query, section))
    return out
