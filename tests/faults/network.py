"""Network faults, counted: the network half of `make faults`.

Every scenario is a replayed crawl of a synthetic site (bench/_replay.py: real corpus article
pages under distinct URLs, linked from Naver section list pages) through the real CLI, Scrapy
engine, pipelines and PostgreSQL, with the replay server misbehaving on a seeded share of the
article URLs (crawler/middlewares/replay.py FaultPlan). Afterwards the database and the run record are
counted into a FaultRow (tests/faults/table.py):

- affected: article URLs the server gave at least one faulty answer; retried: those asked
  again after a faulty answer (from the server's request log);
- failures: affected URLs whose fault cannot be recovered from (it outlasts the retries, or
  the page itself is unusable: too large, garbage, a redirect loop, …); named: how many of them
  the run record names with their URL;
- expected: the site's articles less those failures; stored: articles in the database whose
  text is exactly what the clean page gives (a cut or mis-decoded text does not count);
  stored twice: extra rows with one text, plus any article written twice (article_versions).

    python -m tests.faults.network [--full] [--articles N] [--seed N] [--only KIND]

prints the table (the CI-sized version, one crawl with every fault at once, is
tests/faults/test_network.py). `make faults-network` runs the full size: one crawl per fault.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from bench._replay import FETCHED, SID1, SID2, SyntheticSite
from crawler.domain.keys import with_keys
from crawler.domain.urls import canonical_url
from crawler.middlewares.replay import FaultPlan, FaultRule, ReplayServer, _strip_loop
from crawler.parsers import Page
from tests.corpus import extract_article
from tests.e2e.replaykit import crawl
from tests.faults.table import FaultRow, report

RETRY_TIMES = 3  # the crawl's RETRY_TIMES (settings.py): 4 attempts in all
LIST_PAGES = "main/main.naver"  # the site's list pages: never faulted (they hold the links)
# Kinds a page recovers from once the fault has passed; the others make the URL fail for good.
HARMLESS = ("euckr-as-utf8", "utf8-as-euckr")


@dataclass(frozen=True, slots=True)
class Scenario:
    """One row of the table: a fault rule, and whether the site is crawled clean first."""

    name: str
    rule: FaultRule
    refetch: bool = False  # crawl clean first; the fault hits the second crawl (known URLs)

    def fails_for_good(self) -> bool:
        """Whether the URLs this fault hits can never be stored."""
        if self.rule.kind in HARMLESS:
            return False
        return self.rule.repeat == 0 or self.rule.repeat > RETRY_TIMES


def rule(kind: str, rate: float, times: int | None = None, **params: Any) -> FaultRule:
    items = tuple(sorted((k, str(v)) for k, v in params.items()))
    return FaultRule(kind, rate, times, params=items, skip=LIST_PAGES)


def scenarios(full: bool) -> list[Scenario]:
    """Every network fault of issue 13, each as one scenario; rates sized for one crawl each
    (`full`) or to share one crawl (the CI version: they add up to at most 1)."""
    r = 0.2 if full else 0.06
    after = 5 if full else 2
    return [
        Scenario("5xx burst (2 per URL)", rule("5xx", r, 2)),
        Scenario("5xx for good", rule("5xx", r / 2, 0)),
        Scenario("connection reset (2 per URL)", rule("reset", r, 2)),
        Scenario("timeout (1 per URL)", rule("timeout", r, 1)),
        Scenario(f"429 + Retry-After {after}s", rule("429", r, 1, after=after)),
        Scenario("cut, Content-Length (1 per URL)", rule("truncate", r, 1)),
        Scenario("cut, no Content-Length (1)", rule("truncate-nolength", r, 1)),
        Scenario("cut for good, no Content-Length", rule("truncate-nolength", r / 2, 0)),
        Scenario("EUC-KR bytes labelled UTF-8", rule("euckr-as-utf8", r)),
        Scenario("UTF-8 bytes labelled EUC-KR", rule("utf8-as-euckr", r)),
        Scenario("empty 200 (1 per URL)", rule("empty", r, 1)),
        Scenario("empty 200 for good", rule("empty", r / 2, 0)),
        Scenario("redirect loop", rule("redirect-loop", r / 2)),
        Scenario("50 MB page", rule("huge", r / 2, mb=50)),
        Scenario("50 MB page, no Content-Length", rule("huge", r / 2, mb=50, nolength=1)),
        Scenario("binary garbage", rule("garbage", r / 2)),
        Scenario("100k nested elements", rule("nested", r / 2, depth=100_000)),
        *(
            [Scenario("cut re-fetch of stored pages", rule("truncate-nolength", r, 0), True)]
            if full
            else []
        ),
    ]


# -- the crawl ------------------------------------------------------------------------------
CRAWL_SETTINGS = {
    "DOWNLOAD_TIMEOUT": 3,  # the timeout fault holds the connection until the client gives up
    "RETRYAFTER_BACKOFF_BASE": 0.5,  # 5xx and cut pages: 0.5, 1, 2 s
    "LOGSTATS_INTERVAL": 600,
}


def crawl_site(site: SyntheticSite, db_url: str, server: ReplayServer) -> tuple[int, str]:
    """`sosik crawl naver_section` over the whole site, replayed; (exit code, stderr)."""
    first, last = site.day_range()
    args = ["naver_section", "--section", str(SID1), "--sub", SID2]
    args += ["--since", first.isoformat(), "--until", last.isoformat(), "--log-level", "INFO"]
    for k, v in CRAWL_SETTINGS.items():
        args += ["-s", f"{k}={v}"]
    done = crawl(db_url, *args, replay_url=server.url, env={"SOSIK_PROGRESS": "0"}, timeout=900)
    return done.code, done.stderr


# -- counting --------------------------------------------------------------------------------
@dataclass
class Site:
    """The synthetic site and what every article page gives when fetched whole."""

    site: SyntheticSite
    hashes: dict[str, str] = field(default_factory=dict)  # canonical URL -> clean content hash

    @classmethod
    def build(cls, articles: int) -> Site:
        site = SyntheticSite(articles)
        out = cls(site)
        for n in range(1, articles + 1):
            url = site.article_url(n)
            item = with_keys(extract_article(Page(url, site.article(n), fetched_at=FETCHED)))
            out.hashes[canonical_url(url)] = item.content_hash or ""
        return out


def run_failures(conn: psycopg.Connection[Any]) -> tuple[list[str], dict[str, str]]:
    """The runs' statuses and every failure they name, URL -> reason (the run record).

    The one place that reads the run record: `crawl_runs.errors` through db.crawl_runs.get_run,
    every page it names (crawler.runrecord.iter_errors), whatever its kind.
    """
    from crawler.runrecord import iter_errors
    from db.crawl_runs import get_run

    statuses, failed = [], {}
    for (run_id,) in conn.execute("SELECT id FROM crawl_runs ORDER BY id").fetchall():
        run = get_run(conn, run_id)
        assert run is not None
        statuses.append(run.status or "running")
        for _, url, reason in iter_errors(run.errors):
            failed[_url_key(url)] = reason
    return statuses, failed


def _url_key(url: str) -> str:
    return canonical_url(_strip_loop(url))


def stored_texts(conn: psycopg.Connection[Any]) -> tuple[dict[str, str], int]:
    """URL -> content hash of the article stored for it, and the rows stored twice."""
    rows = conn.execute(
        "SELECT u.url, a.content_hash FROM article_urls u JOIN articles a ON a.id = u.article_id"
    ).fetchall()
    twice = conn.execute(
        "SELECT (SELECT count(*) - count(DISTINCT content_hash) FROM articles)"
        " + (SELECT count(*) FROM article_versions)"
    ).fetchone()
    assert twice is not None
    return {canonical_url(u): h for u, h in rows}, int(twice[0])


def count_row(
    name: str,
    affected: set[str],
    fails: bool,
    scope: set[str],
    site: Site,
    server: Any,
    db_url: str,
) -> FaultRow:
    """The row of one fault: `affected` URLs it hit (canonical), counted on the database.

    `expected` and `stored` count the URLs in `scope`: the whole site when the crawl had this
    fault alone (collateral losses show), the fault's own URLs in a crawl shared by several.
    """
    asked: dict[str, int] = {}
    for hit in server.hits():
        asked[hit.url] = asked.get(hit.url, 0) + 1  # the exact URL: a redirect hop is another
    mine = {url: kind for url, (kind, _) in server.faulted.items() if _url_key(url) in affected}
    redirects = "redirect-loop" in mine.values()  # asked again by following, not retrying
    retried = 0 if redirects else sum(asked.get(u, 0) > 1 for u in mine)
    with psycopg.connect(db_url, autocommit=True) as conn:
        statuses, failed = run_failures(conn)
        stored_hash, twice = stored_texts(conn)
    failures = affected if fails else set()
    good = [u for u in scope if u not in failures]
    stored = sum(stored_hash.get(u) == site.hashes[u] for u in good)
    wrong = sum(u in stored_hash and stored_hash[u] != site.hashes[u] for u in scope)
    notes = []
    if wrong:
        notes.append(f"{wrong} stored with a wrong text")
    leaked = sum(u in stored_hash for u in failures)
    if leaked:
        notes.append(f"{leaked} unusable pages stored")
    reasons = sorted({re.sub(r"\d+", "N", failed[u])[:60] for u in failures if u in failed})
    if reasons:
        notes.append("; ".join(reasons))
    return FaultRow(
        fault=name,
        pages_affected=len(affected),
        retried=retried,
        expected=len(good),
        stored=stored,
        stored_twice=twice + wrong,
        failures=len(failures),
        named=sum(u in failed and u not in stored_hash for u in failures),
        notes=" | ".join(notes),
        statuses=statuses,
    )


def faulted_urls(server: Any, site: Site, rule: FaultRule | None = None) -> set[str]:
    """Canonical site URLs the server gave a faulty answer (under `rule`, if given)."""
    plan = getattr(server, "plan", None)
    return {
        _url_key(url)
        for url in server.faulted
        if rule is None or (plan is not None and plan.rule_for(url) == rule)
    } & site.hashes.keys()


# -- scenarios -------------------------------------------------------------------------------
def run_one(sc: Scenario, site: Site, db_url: str, seed: int) -> FaultRow:
    """One fault, one crawl (after a clean one for a re-fetch scenario), one row."""
    if sc.refetch:
        with ReplayServer(site.site) as clean:
            crawl_site(site.site, db_url, clean)
    plan = FaultPlan([sc.rule], seed)
    with ReplayServer(site.site, faults=plan) as server:
        code, err = crawl_site(site.site, db_url, server)
    affected = faulted_urls(server, site)
    # A re-fetch that fails leaves the first crawl's article, whole: nothing is lost.
    fails = sc.fails_for_good() and not sc.refetch
    row = count_row(sc.name, affected, fails, set(site.hashes), site, server, db_url)
    if sc.refetch:
        with psycopg.connect(db_url, autocommit=True) as conn:
            _, failed = run_failures(conn)
        row.failures, row.named = len(affected), sum(u in failed for u in affected)
        row.statuses = row.statuses[1:]
    return _with_exit(row, code, err)


def run_mixed(scs: Sequence[Scenario], site: Site, db_url: str, seed: int) -> list[FaultRow]:
    """Every fault in one crawl (each URL gets at most one), a row per fault, and a last row
    for the URLs no fault touched (the CI size). Rows share the crawl's statuses and its
    stored-twice count."""
    plan = FaultPlan([sc.rule for sc in scs], seed)
    with ReplayServer(site.site, faults=plan) as server:
        code, err = crawl_site(site.site, db_url, server)
    rows = []
    for sc in scs:
        mine = faulted_urls(server, site, sc.rule)
        row = count_row(sc.name, mine, sc.fails_for_good(), mine, site, server, db_url)
        rows.append(_with_exit(row, code, err))
    untouched = set(site.hashes) - faulted_urls(server, site)
    rows.append(count_row("(no fault)", set(), False, untouched, site, server, db_url))
    return rows


def _with_exit(row: FaultRow, code: int, err: str) -> FaultRow:
    if code not in (0, 1, 2):
        tail = err.strip().splitlines()[-1:] or ["?"]
        return replace(row, notes=f"crawl exit {code}: {tail[0][:80]}; {row.notes}")
    return row


# -- the runner ------------------------------------------------------------------------------
@contextmanager
def scratch_databases() -> Iterator[Any]:
    """A function giving fresh migrated databases on the test server, all dropped at the end."""
    import os

    from db import migrate
    from db.connection import start_embedded, with_dbname
    from tests.dbfixtures import ENV_TEST_URL, drop_database, new_database, pgdata_for_tests

    server = os.environ.get(ENV_TEST_URL)
    if not server:
        pgdata_for_tests().parent.mkdir(parents=True, exist_ok=True)
        server = start_embedded(pgdata_for_tests())
    template = new_database(server, "sosik_faults_tpl")
    if template is None:
        raise SystemExit("the test database role cannot create databases")
    made = [template]
    migrate.upgrade(with_dbname(server, template))

    def fresh() -> str:
        name = new_database(server, "sosik_faults", template=template)
        assert name is not None
        made.append(name)
        return with_dbname(server, name)

    try:
        yield fresh
    finally:
        for name in reversed(made):
            drop_database(server, name)


def rows(
    full: bool = True, articles: int | None = None, seed: int = 7, only: str | None = None
) -> list[FaultRow]:
    """The network fault rows: one crawl per fault (`full`), or one crawl with every fault."""
    scs = [s for s in scenarios(full) if not only or s.rule.kind == only]
    articles = articles or (300 if full else 100)
    site = Site.build(articles)
    print(
        f"# network faults: {articles} distinct articles per crawl, seed {seed}, "
        f"{'one crawl per fault' if full else 'one crawl, every fault'}",
        flush=True,
    )
    with scratch_databases() as fresh:
        if not full:
            return run_mixed(scs, site, fresh(), seed)
        out = []
        for sc in scs:
            out.append(run_one(sc, site, fresh(), seed))
            print(f"#   {sc.name}: done", file=sys.stderr, flush=True)
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="one crawl per fault (else one for all)")
    ap.add_argument("--articles", type=int, default=None, help="site size (300 full, 100 mixed)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", help="the scenarios whose fault kind is this")
    args = ap.parse_args(argv)
    table = rows(args.full, args.articles, args.seed, args.only)
    ok = report(table, sys.stdout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
