"""`sosik canary`: fetch a few live pages per portal and say, per page, whether it still reads.

    sosik canary [--pages FILE] [--portal naver] [--state FILE | --no-state] [--replay DIR]

A portal changes its markup or its paging without notice; a crawl then stores less, or
nothing, and a quiet database looks like a quiet news day. The canary fetches a small fixed
set of pages (per portal: a search page, its next block, a section or list page and its next
block, one article of each kind), through the same Scrapy settings, middlewares and parsers a
crawl uses, and prints for each page: the HTTP status, the parser that read it, how many
results or links it gave, and the share of them that carried each core field.

Exit codes: 0 every page read what it must; 2 something that read before (or that the page
set says must read) reads nothing now: stderr names the page and the field; 1 nothing could be
fetched at all (no network), or a usage error.

"Read before" is kept in a small JSON file (`$SOSIK_HOME/canary.json`, `--state`): per page,
each field that ever read something and the last time it did. A file, not a table: the canary
must still speak when the database is the thing that is down, it runs on one host, and its
state is a few hundred bytes an operator may read or delete. With `--replay` no state is read
or written unless `--state` is given.

The page set is data: DEFAULT_SET below, or a TOML file of `[[page]]` tables (`--pages`):

    [[page]]
    name = "naver-search"            # unique; used in the report and the state
    portal = "naver"                 # for --portal
    kind = "search"                  # search | list | article
    url = "https://search.naver.com/search.naver?where=news&query=%EA%B2%BD%EC%A0%9C&sort=1"
    expect = ["count", "title", "url", "publisher", "published", "next"]

    [[page]]
    name = "naver-search-more"
    portal = "naver"
    kind = "search"
    after = "naver-search"           # fetched from what that page gave:
    follow = "next"                  #   next: its next block; first: its first result/link
    xhr = true                       # sent as the browser's XHR (Referer: the parent page)
    expect = ["count", "title", "url"]

Fields: `count` (results, links; 1 for an article that parsed), `next` (the page names its next
block), and per item `title`, `url`, `publisher`, `published` (search) or `title`, `body`,
`published_at`, `publisher` (article).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.domain.dates import KST
from crawler.domain.portals import site_key
from crawler.parsers import NotAnArticle, Page, ParseError, parse_article, parse_list, parse_search
from crawler.scheduler.jobs import read_toml
from crawler.spiders.base import SosikSpider
from crawler.spiders.naver import search_url, xhr_headers
from crawler.spiders.naver_section import section_url

logger = logging.getLogger(__name__)

KINDS = ("search", "list", "article")
FIELDS = {
    "search": ("count", "title", "url", "publisher", "published", "next"),
    "list": ("count", "next"),
    "article": ("count", "title", "body", "published_at", "publisher"),
}
DEFAULT_EXPECT = {
    "search": ("count", "title", "url"),
    "list": ("count",),
    "article": ("count", "title", "body"),
}
EXIT_OK, EXIT_NOTHING, EXIT_REGRESSED = 0, 1, 2
QUERY = "경제"  # a query with news every day

# What `sosik canary` fetches when no --pages file is given (docs/sources.md says why each).
DEFAULT_SET: list[dict[str, Any]] = [
    {
        "name": "naver-search",
        "portal": "naver",
        "kind": "search",
        "url": search_url(QUERY, 1),
        "expect": ["count", "title", "url", "publisher", "published", "next"],
    },
    {
        "name": "naver-search-more",
        "portal": "naver",
        "kind": "search",
        "after": "naver-search",
        "follow": "next",
        "xhr": True,
        "expect": ["count", "title", "url", "publisher", "published"],
    },
    {
        "name": "naver-section",
        "portal": "naver",
        "kind": "list",
        "url": section_url(101),
        "expect": ["count", "next"],
    },
    {
        "name": "naver-section-more",
        "portal": "naver",
        "kind": "list",
        "after": "naver-section",
        "follow": "next",
        "xhr": True,
        "expect": ["count"],
    },
    {
        "name": "naver-article",
        "portal": "naver",
        "kind": "article",
        "after": "naver-section",
        "follow": "first",
        "expect": ["count", "title", "body", "published_at", "publisher"],
    },
    {
        "name": "naver-entertain-article",
        "portal": "naver",
        "kind": "article",
        "url": "https://m.entertain.naver.com/article/117/0003874167",
        "expect": ["count", "title"],
    },
    {
        "name": "naver-sports-article",
        "portal": "naver",
        "kind": "article",
        "url": "https://m.sports.naver.com/article/477/0000073768",
        "expect": ["count", "title"],
    },
    {
        "name": "daum-search",
        "portal": "daum",
        "kind": "search",
        "url": "https://search.daum.net/search?w=news&q=%EA%B2%BD%EC%A0%9C&sort=recency&cluster=n",
        "expect": ["count", "title", "url", "publisher", "published"],
    },
    {
        "name": "daum-search-2",
        "portal": "daum",
        "kind": "search",
        "url": "https://search.daum.net/search?w=news&q=%EA%B2%BD%EC%A0%9C&sort=recency&cluster=n&p=2",
        "expect": ["count", "title", "url"],
    },
    {
        "name": "daum-article",
        "portal": "daum",
        "kind": "article",
        "after": "daum-search",
        "follow": "first",
        "expect": ["count", "title", "body", "published_at", "publisher"],
    },
    {
        "name": "daum-list",
        "portal": "daum",
        "kind": "list",
        "url": "https://news.daum.net/economy",
        "expect": ["count"],
    },
    {
        "name": "seoul-search",
        "portal": "seoul",
        "kind": "search",
        "url": "https://search.seoul.co.kr/index.php?keyword=%EA%B2%BD%EC%A0%9C",
        "expect": ["count", "title", "url"],
    },
    {
        "name": "seoul-article",
        "portal": "seoul",
        "kind": "article",
        "after": "seoul-search",
        "follow": "first",
        "expect": ["count", "title", "body"],
    },
]


class CanaryError(ValueError):
    """The page set is wrong; one line naming the page and the key."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One page of the set: where it comes from and what must read on it."""

    name: str
    portal: str
    kind: str
    url: str | None = None
    after: str | None = None
    follow: str = "next"
    xhr: bool = False
    expect: tuple[str, ...] = ()


@dataclass(slots=True)
class Report:
    """What one page read: status, parser, count and per-field shares (0.0–1.0)."""

    name: str
    url: str | None
    status: str  # "200", "404", "error: …", "skipped: …"
    parser: str = ""
    count: int = 0
    fields: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    next_url: str | None = None  # for `follow = "next"`
    first_url: str | None = None  # for `follow = "first"`

    @property
    def fetched(self) -> bool:
        """True when the page answered (any HTTP status), False for a network error or a skipped
        page.
        """
        return self.status.isdigit()


# -- the page set ------------------------------------------------------------------------------
def parse_set(raw: list[dict[str, Any]], where: str = "page set") -> list[Entry]:
    """Validate a page set (DEFAULT_SET's shape); CanaryError names what is wrong."""
    if not isinstance(raw, list) or not raw:
        raise CanaryError(f"{where}: no pages; add [[page]] tables")
    out: list[Entry] = []
    names: set[str] = set()
    for i, d in enumerate(raw, 1):
        if not isinstance(d, dict):
            raise CanaryError(f"{where}: page {i} must be a table")
        label = f"{where}: page {d.get('name') or i}"
        unknown = set(d) - {"name", "portal", "kind", "url", "after", "follow", "xhr", "expect"}
        if unknown:
            raise CanaryError(f"{label}: unknown key(s) {', '.join(sorted(unknown))}")
        name, kind = d.get("name"), d.get("kind")
        if not isinstance(name, str) or not name or name in names:
            raise CanaryError(f"{label}: `name` is required and must be unique")
        if kind not in KINDS:
            raise CanaryError(f"{label}: kind must be one of {', '.join(KINDS)}")
        if bool(d.get("url")) == bool(d.get("after")):
            raise CanaryError(f"{label}: give exactly one of `url` or `after`")
        if d.get("after") and d["after"] not in names:
            raise CanaryError(f"{label}: after {d['after']!r} names no earlier page")
        follow = d.get("follow", "next")
        if follow not in ("next", "first"):
            raise CanaryError(f"{label}: follow must be next or first")
        expect = tuple(d.get("expect") or DEFAULT_EXPECT[kind])
        bad = set(expect) - set(FIELDS[kind])
        if bad:
            raise CanaryError(f"{label}: {kind} pages have no field(s) {', '.join(sorted(bad))}")
        names.add(name)
        out.append(
            Entry(
                name=name,
                portal=str(d.get("portal") or site_key(d.get("url") or "") or ""),
                kind=kind,
                url=d.get("url"),
                after=d.get("after"),
                follow=follow,
                xhr=bool(d.get("xhr", False)),
                expect=expect,
            )
        )
    return out


def load_set(path: str | Path) -> list[Entry]:
    """The page set in a TOML file (`[[page]]` tables); CanaryError when it is unreadable or
    malformed.
    """
    raw = read_toml(Path(path), CanaryError, "page set")
    return parse_set(raw.get("page", []), str(path))


def only_portals(entries: list[Entry], portals: list[str] | None) -> list[Entry]:
    """The entries of some portals, with what they follow from kept in."""
    if not portals:
        return entries
    keep = {e.name for e in entries if e.portal in portals}
    by_name = {e.name: e for e in entries}
    for name in list(keep):
        after = by_name[name].after
        while after:
            keep.add(after)
            after = by_name[after].after
    return [e for e in entries if e.name in keep]


# -- reading one page --------------------------------------------------------------------------
def _share(items: list[Any], get: Any) -> float:
    return sum(1 for x in items if get(x)) / len(items) if items else 0.0


def evaluate(entry: Entry, status: int, page: Page) -> Report:
    """What the crawl's own parser reads on a fetched page, as counts and field shares."""
    report = Report(entry.name, page.url, str(status))
    site = site_key(page.url) or "generic"
    json_answer = page.body.lstrip()[:1] == b"{"
    try:
        if entry.kind == "search":
            result = parse_search(page)
            hits = result.hits
            report.parser = f"{site}.search" + ("/json" if json_answer else "")
            report.count = len(hits)
            for f in ("title", "url", "publisher", "published"):
                report.fields[f] = _share(hits, lambda h, f=f: getattr(h, f))
            report.next_url = result.next_url
            report.fields["next"] = 1.0 if (result.next_url or result.has_next) else 0.0
            report.notes += result.drift
            if hits:
                report.first_url = hits[0].portal_url or hits[0].url
        elif entry.kind == "list":
            listed = parse_list(page)
            report.parser = f"{site}.list" + ("/json" if json_answer else "")
            report.count = len(listed.links)
            report.fields["next"] = 1.0 if listed.next_url else 0.0
            report.next_url = listed.next_url
            report.first_url = listed.links[0] if listed.links else None
        else:
            item = parse_article(page)
            report.parser = item.parser
            report.count = 1
            for f in ("title", "body", "published_at", "publisher"):
                report.fields[f] = 1.0 if getattr(item, f) else 0.0
    except NotAnArticle as e:
        report.notes.append(f"not an article: {e.reason}")
    except ParseError as e:
        report.notes.append(f"does not parse: {e.reason}")
    report.fields["count"] = 1.0 if report.count else 0.0
    return report


class CanarySpider(SosikSpider):
    """Fetches the set in order of dependence; no item leaves it, nothing is stored."""

    name = "canary"

    def __init__(self, entries: list[Entry], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entries = entries
        self.reports: dict[str, Report] = {}

    async def start(self) -> Any:
        """The set's pages that have a URL of their own; the others follow their parent page."""
        for e in self.entries:
            if e.url:
                yield self.request(e, e.url, None)

    def request(self, entry: Entry, url: str, parent: str | None) -> scrapy.Request:
        """The request for a page of the set, every HTTP status handed to `read`; a page followed
        from another gets it as Referer (and the XHR headers when the entry says xhr).
        """
        headers = xhr_headers(parent) if entry.xhr and parent else None
        if headers is None and parent:
            headers = {"Referer": parent}
        return scrapy.Request(
            url,
            callback=self.read,
            errback=self.failed,
            headers=headers,
            dont_filter=True,
            meta={"handle_httpstatus_all": True},
            cb_kwargs={"entry": entry},
        )

    def read(self, response: Response, entry: Entry) -> Any:
        """Reports what the page read (a non-2xx answer: its status only), then requests the pages
        that follow from it.
        """
        page = self.page_of(response)
        if 200 <= response.status < 300:
            report = evaluate(entry, response.status, page)
        else:
            report = Report(entry.name, response.url, str(response.status))
        self.reports[entry.name] = report
        yield from self.children(entry, report, response.url)

    def failed(self, failure: Any) -> Any:
        """Reports a page that could not be fetched, with the error; its followers are skipped."""
        entry = failure.request.cb_kwargs["entry"]
        url = failure.request.meta.get("replay_original", failure.request.url)
        report = Report(entry.name, url, f"error: {failure.getErrorMessage() or 'failed'}")
        self.reports[entry.name] = report
        yield from self.children(entry, report, url)

    def children(self, parent: Entry, report: Report, url: str) -> Any:
        """Requests for the pages that follow `parent` (its next or first link); a missing link
        marks them skipped, with the reason.
        """
        for e in self.entries:
            if e.after != parent.name:
                continue
            nxt = report.next_url if e.follow == "next" else report.first_url
            if nxt:
                yield self.request(e, nxt, url)
            else:
                why = f"{parent.name} gave no {e.follow} URL"
                self.reports[e.name] = Report(e.name, None, f"skipped: {why}")
                yield from self.children(e, self.reports[e.name], url)


# -- judging the run ---------------------------------------------------------------------------
def regressions(entries: list[Entry], reports: dict[str, Report], state: dict) -> list[str]:
    """Every (page, field) that must read, or read before, and reads nothing now."""
    out = []
    for e in entries:
        r = reports.get(e.name) or Report(e.name, e.url, "skipped: never asked")
        before = state.get("pages", {}).get(e.name, {}).get("fields", {})
        must = list(e.expect) + [f for f in before if f not in e.expect]
        if not r.fetched:
            out.append(f"{e.name}: not read ({r.status}) {r.url or ''}".rstrip())
            continue
        for f in must:
            if r.fields.get(f, 0.0) > 0:
                continue
            was = before.get(f)
            why = f"read {was['share']:.0%} on {was['at'][:10]}" if was else "the set expects it"
            out.append(f"{e.name}: {f} reads nothing ({why}) at {r.url}")
    return out


def updated_state(state: dict, reports: dict[str, Report], now: datetime) -> dict:
    """The state with what read now; fields that read nothing keep their last good reading."""
    pages = dict(state.get("pages", {}))
    for name, r in reports.items():
        if not r.fetched:
            continue
        old = dict(pages.get(name, {}).get("fields", {}))
        for f, share in r.fields.items():
            if share > 0:
                old[f] = {"share": round(share, 3), "at": now.isoformat(timespec="seconds")}
        pages[name] = {"url": r.url, "parser": r.parser, "fields": old}
    return {"updated": now.isoformat(timespec="seconds"), "pages": pages}


def read_state(path: Path | None) -> dict:
    """What the last canary run read per page; {} without a state file or when it is not JSON
    (logged).
    """
    if path is None or not path.exists():
        return {}
    try:
        return json.loads(path.read_text("utf-8"))
    except ValueError:
        logger.warning("canary state %s is not JSON; starting afresh", path)
        return {}


def write_state(path: Path, state: dict) -> None:
    """Writes the state atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), "utf-8")
    tmp.replace(path)


def print_table(entries: list[Entry], reports: dict[str, Report], out: Any) -> None:
    """One line per page: status, parser, count and field shares, up to three notes, and why a page
    was not fetched.
    """
    out.write(f"{'page':<26} {'status':<7} {'parser':<22} {'count':>5}  fields\n")
    for e in entries:
        r = reports.get(e.name) or Report(e.name, e.url, "skipped")
        shares = " ".join(
            f"{f} {r.fields[f]:.0%}" for f in FIELDS[e.kind] if f != "count" and f in r.fields
        )
        status = r.status if r.fetched else r.status.split(":", 1)[0]
        out.write(f"{e.name:<26} {status:<7} {r.parser or '-':<22} {r.count:>5}  {shares}\n")
        for note in r.notes[:3]:
            out.write(f"{'':<26} note: {note}\n")
        if not r.fetched:
            out.write(f"{'':<26} {r.status} {r.url or ''}\n")


# -- the command -------------------------------------------------------------------------------
def default_state() -> Path:
    """Where the canary keeps what it read: $SOSIK_HOME (default .sosik)/canary.json."""
    return Path(os.environ.get("SOSIK_HOME") or ".sosik").expanduser() / "canary.json"


def run_canary(args: argparse.Namespace) -> int:
    """Fetches the page set (or the saved pages with --replay) and compares with the last state; the
    exit code says ok, nothing fetched, or a page reading less than before.
    """
    from crawler.commands.crawl import crawl_settings
    from crawler.errors import UsageError

    try:
        entries = load_set(args.pages) if args.pages else parse_set(DEFAULT_SET, "DEFAULT_SET")
    except CanaryError as e:
        raise UsageError(str(e)) from None
    entries = only_portals(entries, args.portal)
    if not entries:
        raise UsageError(f"no page of portal(s) {', '.join(args.portal)} in the set")
    state_path = None if args.no_state else (Path(args.state) if args.state else None)
    if state_path is None and not args.no_state and not args.replay:
        state_path = default_state()
    server = None
    if args.replay:
        from crawler.middlewares.replay import ReplayServer, load_replay

        try:
            server = ReplayServer(load_replay(args.replay)).start()
        except FileNotFoundError as e:
            raise UsageError(str(e)) from None
        args.set = [*(args.set or []), f"REPLAY_URL={server.url}"]
    settings = crawl_settings(args)
    # Nothing is stored and no run is recorded: no pipelines, no sosik extensions.
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    settings.set("EXTENSIONS", {}, priority="cmdline")
    try:
        reports = _fetch(settings, entries)
    finally:
        if server:
            server.stop()
    print_table(entries, reports, sys.stdout)
    if not any(r.fetched for r in reports.values()):
        first = next(iter(reports.values()), None)
        why = f"{first.url}: {first.status}" if first else "nothing was asked"
        print(f"sosik canary: could not fetch any page ({why})", file=sys.stderr)
        return EXIT_NOTHING
    state = read_state(state_path)
    problems = regressions(entries, reports, state)
    if state_path is not None:
        write_state(state_path, updated_state(state, reports, datetime.now(KST)))
    if problems:
        print(f"sosik canary: {len(problems)} regression(s):", file=sys.stderr)
        for p in problems:
            print(f"  CHANGED: {p}", file=sys.stderr)
        return EXIT_REGRESSED
    return EXIT_OK


def _fetch(settings: Any, entries: list[Entry]) -> dict[str, Report]:
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(CanarySpider)
    process.crawl(crawler, entries=entries)
    process.start()
    return crawler.spider.reports if crawler.spider else {}


def add_parser(sub: Any) -> None:
    """`sosik canary`'s arguments."""
    c = sub.add_parser(
        "canary",
        help="fetch a few live pages per portal; exit 2 when one reads nothing it read before",
    )
    c.add_argument("--pages", metavar="FILE", help="the page set ([[page]] tables, TOML)")
    c.add_argument(
        "--portal", action="append", help="only this portal's pages (naver, daum, seoul)"
    )
    c.add_argument(
        "--state", metavar="FILE", help="what read before (default $SOSIK_HOME/canary.json)"
    )
    c.add_argument("--no-state", action="store_true", help="read and write no state")
    c.add_argument(
        "--replay", action="append", metavar="DIR", help="serve saved pages from DIR instead"
    )
    c.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy/sosik setting"
    )
    c.add_argument("--log-level", default=os.environ.get("SOSIK_LOG_LEVEL", "WARNING"))
    c.set_defaults(func=run_canary)
