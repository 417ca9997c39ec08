"""The HTTP API and the web pages of `sosik serve`, on one FastAPI application.

JSON (documented at /docs, schema at /openapi.json):
  GET /articles          newest first; filters since, until (KST days), portal, publisher,
                         section; id cursor `before_id` (pass the page's `next_before_id`)
  GET /articles/{id}     one article: its feed row, every address, versions, cluster, hits
  GET /search?q=…        Korean full-text search (db.search), ranked, with snippets
  GET /clusters/{id}     the articles of one story
  GET /runs, /runs/{id}  run records, newest first (id cursor)
  GET /health            last run per job, drift alarms, lag, per-day figures, failing URLs
Pages: / (search), /ui/articles/{id}, /ui/clusters/{id}, /ui/health.

Reading only: each request takes a pooled connection and runs one transaction that is READ
ONLY, as role `sosik_reader` (SET LOCAL ROLE: the views of the reader contract and nothing
else), under a statement timeout. A query that runs past it is cancelled by the server and
answered 503; a page size above MAX_LIMIT or a malformed parameter is answered 422 naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlencode

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from crawler.domain.dates import KST
from crawler.web import text
from db import readers

if TYPE_CHECKING:
    from crawler.scheduler.jobs import Schedule

HERE = Path(__file__).resolve().parent
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
NEVER_RUN = dict.fromkeys(("id", "spider", "started_at", "finished_at", "status", "alarms"))
LATE_AFTER = timedelta(minutes=15)  # a scheduled job this long past due is shown as late
POOL_WAIT = 5.0  # seconds a request waits for a free connection before it is answered 503

Conn = psycopg.Connection[Any]


class Unavailable(Exception):
    """The database did not answer in time (statement timeout, no free connection)."""


def create_app(
    url: str,
    *,
    statement_timeout_ms: int = readers.STATEMENT_TIMEOUT_MS,
    pool_size: int = 4,
    schedule: Schedule | None = None,
) -> FastAPI:
    """The application reading the database at `url` (any role that may SET ROLE sosik_reader:
    a login in that role, or the owner)."""
    from db.connection import open_pool

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        pool = open_pool(url, max_size=pool_size, name="sosik-web")
        app.state.pool = pool
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="sosik",
        summary="Read-only access to the Korean news sosik collected, and to its crawl health.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's docs page loads its scripts from a CDN; ours is offline
        redoc_url=None,
    )
    app.state.timeout_ms = statement_timeout_ms
    app.state.schedule = schedule
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _routes(app)
    _errors(app)
    return app


def reader(request: Request) -> Iterator[Conn]:
    """A connection inside a read-only transaction as sosik_reader, for one request."""
    from psycopg_pool import PoolTimeout

    app = request.app
    try:
        with (
            app.state.pool.connection(timeout=POOL_WAIT) as conn,
            readers.reading(conn, app.state.timeout_ms),
        ):
            yield conn
    except PoolTimeout as e:
        raise Unavailable("no database connection free in time") from e
    except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as e:
        raise Unavailable(
            f"the query ran past the statement timeout ({app.state.timeout_ms} ms)"
        ) from e
    except psycopg.OperationalError as e:
        raise Unavailable(f"database unavailable: {str(e).splitlines()[0]}") from e


Reader = Annotated[Conn, Depends(reader)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")]
BeforeId = Annotated[
    int | None, Query(ge=1, description="id cursor: the `next_before_id` of the previous page")
]
Since = Annotated[date | None, Query(description="first KST day, YYYY-MM-DD")]
Until = Annotated[date | None, Query(description="last KST day, YYYY-MM-DD")]
Filter = Annotated[str | None, Query(max_length=200)]
Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
Days = Annotated[int, Query(ge=1, le=366, description="the window, in days")]
Offset = Annotated[
    int, Query(ge=0, le=10_000, description="search cursor: the `next_offset` of the previous page")
]
Order = Annotated[Literal["relevance", "newest"], Query(description="best first, or newest first")]


class _Filters:
    """The filters and the cursor shared by /articles and /search."""

    def __init__(
        self, since: Since = None, until: Until = None, portal: Filter = None,
        publisher: Filter = None, section: Filter = None, before_id: BeforeId = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> None:  # fmt: skip
        self.since, self.until, self.before_id, self.limit = since, until, before_id, limit
        self.portal, self.publisher, self.section = portal, publisher, section


Filters = Annotated[_Filters, Depends()]


def _find(conn: Conn, q: str | None, **options: Any) -> dict[str, Any]:
    from db.search import find

    page = find(conn, q, **options)
    return {
        "q": q,
        "terms": page.terms,
        "estimated_total": page.estimated_total,
        "total_exact": page.total_exact,
        "next_before_id": page.next_before_id,
        "next_offset": page.next_offset,
        "items": page.hits,
    }


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: want a day as YYYY-MM-DD, not {value!r}") from None


def _article(conn: Conn, article_id: int) -> dict[str, Any]:
    row = readers.article(conn, article_id)
    if row is None:
        raise HTTPException(404, f"no article {article_id}")
    return row


def _cluster(conn: Conn, cluster_id: int) -> list[dict[str, Any]]:
    rows = readers.cluster(conn, cluster_id, limit=MAX_LIMIT)
    if not rows:
        raise HTTPException(404, f"no cluster {cluster_id}")
    return rows


def _health(conn: Conn, days: int, schedule: Schedule | None) -> dict[str, Any]:
    from crawler.domain.outcomes import NOTE_KINDS

    h = readers.health(conn, days=days, notes=NOTE_KINDS)
    h["jobs"] = job_table(h["jobs"], schedule, datetime.now(KST))
    h["scheduled"] = schedule is not None
    return h


def job_table(
    last_runs: list[dict[str, Any]], schedule: Schedule | None, now: datetime
) -> list[dict[str, Any]]:
    """Every job of the schedule with its newest run (or none), when it is next due and whether
    it is `late` (due more than LATE_AFTER ago: its scheduler is stopped or stuck); then the
    jobs that have runs but are not in the schedule (`scheduled` false). Pure."""
    from crawler.scheduler.jobs import next_due

    runs = {r["job"]: r for r in last_runs}
    out = []
    for job in schedule.jobs if schedule else ():
        run = runs.pop(job.name, None)
        due = next_due(job, run["started_at"] if run else None, now, schedule.timezone)
        late = run is not None and run["status"] != "running" and now - due > LATE_AFTER
        out.append(
            {"job": job.name, "when": job.when, "scheduled": True, "next_due": due,
             "late": late, **(run or NEVER_RUN)}
        )  # fmt: skip
    for _, run in sorted(runs.items()):
        out.append({**run, "when": None, "scheduled": False, "next_due": None, "late": False})
    return out


def _routes(app: FastAPI) -> None:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["kst"] = text.kst
    templates.env.globals.update(
        highlight=text.highlight, compare=text.compare, paragraphs=text.paragraphs,
        changed=text.changed, readable_url=text.readable_url, duration=text.duration,
    )  # fmt: skip

    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context)

    # -- JSON ----------------------------------------------------------------------------------
    @app.get("/articles", tags=["articles"])
    def articles(conn: Reader, f: Filters) -> dict[str, Any]:
        """Articles newest first, each an `articles_feed` row. Page on with `before_id`."""
        found = _find(conn, None, **vars(f))
        return {k: found[k] for k in ("items", "next_before_id", "estimated_total")}

    @app.get("/articles/{article_id}", tags=["articles"])
    def article(conn: Reader, article_id: Id) -> dict[str, Any]:
        """One article: its `articles_feed` row with `addresses` (every URL), `versions`
        (every text it had, oldest first), `cluster` (the other articles of its story) and
        `hits` (the portal search results that led to it)."""
        return _article(conn, article_id)

    @app.get("/search", tags=["articles"])
    def search(
        conn: Reader, q: Annotated[str, Query(min_length=1, max_length=200)], f: Filters,
        offset: Offset = 0, order: Order = "relevance",
    ) -> dict[str, Any]:  # fmt: skip
        """Full-text search (Korean words, "phrases in quotes"; every one must match):
        `articles_feed` rows with `rank` and `snippet`, best first (or newest first); `terms`
        are the strings to highlight. Page on with `before_id` and `offset` (the page's
        `next_before_id` and `next_offset`)."""
        return _find(conn, q, offset=offset, order=order, **vars(f))

    @app.get("/clusters/{cluster_id}", tags=["articles"])
    def cluster(conn: Reader, cluster_id: Id) -> dict[str, Any]:
        """The articles of one story (near-duplicates, wire copies), first stored first."""
        return {"id": cluster_id, "items": _cluster(conn, cluster_id)}

    @app.get("/runs", tags=["crawl"])
    def runs(
        conn: Reader, status: Filter = None, job: Filter = None, before_id: BeforeId = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> dict[str, Any]:  # fmt: skip
        """Crawl runs newest first (id cursor), optionally of one status or scheduled job."""
        items = readers.runs(conn, before_id=before_id, status=status, job=job, limit=limit)
        nxt = items[-1]["id"] if len(items) == limit else None
        return {"items": items, "next_before_id": nxt}

    @app.get("/runs/{run_id}", tags=["crawl"])
    def run(conn: Reader, run_id: Id) -> dict[str, Any]:
        """One run record with the pages it named (`errors`: kind, reason, URLs)."""
        row = readers.run(conn, run_id)
        if row is None:
            raise HTTPException(404, f"no run {run_id}")
        return row

    @app.get("/health", tags=["crawl"])
    def health(conn: Reader, days: Days = 30) -> dict[str, Any]:
        """The newest run of each scheduled job, runs with layout-drift alarms, the feed's lag,
        articles per KST day and portal, runs per day and status, the top failing URLs."""
        return _health(conn, days, app.state.schedule)

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return page(request, "docs.html", api=app.openapi())

    # -- pages ---------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def home(
        request: Request, conn: Reader, q: Annotated[str | None, Query(max_length=200)] = None,
        since: Filter = None, until: Filter = None, portal: Filter = None,
        publisher: Filter = None, before_id: BeforeId = None, offset: Offset = 0,
        order: Order = "relevance",
    ) -> HTMLResponse:  # fmt: skip
        # A form sends its empty fields as empty strings: they mean "no filter".
        form = {"q": (q or "").strip(), "portal": portal or "", "publisher": publisher or "",
                "since": _day(since, "since"), "until": _day(until, "until"),
                "order": order if order != "relevance" else ""}  # fmt: skip
        found = _find(
            conn, form["q"] or None, since=form["since"], until=form["until"],
            portal=form["portal"] or None, publisher=form["publisher"] or None,
            before_id=before_id, offset=offset, order=order, limit=DEFAULT_LIMIT,
        )  # fmt: skip
        more = None
        if found["next_before_id"]:
            kept = {k: v for k, v in form.items() if v}
            cursor = {"before_id": found["next_before_id"], "offset": found["next_offset"]}
            more = "/?" + urlencode({**kept, **cursor})
        return page(request, "search.html", found=found, form=form, more=more)

    @app.get("/ui", include_in_schema=False)
    def ui() -> RedirectResponse:
        return RedirectResponse("/")

    @app.get("/ui/articles/{article_id}", include_in_schema=False)
    def article_page(request: Request, conn: Reader, article_id: Id) -> HTMLResponse:
        return page(request, "article.html", a=_article(conn, article_id))

    @app.get("/ui/clusters/{cluster_id}", include_in_schema=False)
    def cluster_page(request: Request, conn: Reader, cluster_id: Id) -> HTMLResponse:
        return page(request, "cluster.html", id=cluster_id, items=_cluster(conn, cluster_id))

    @app.get("/ui/health", include_in_schema=False)
    def health_page(request: Request, conn: Reader, days: Days = 30) -> HTMLResponse:
        h = _health(conn, days, app.state.schedule)
        charts = json.dumps(
            jsonable_encoder(
                {
                    "days": days,
                    "today": datetime.now(KST).date(),
                    "articles": h["articles_per_day"],
                    "runs": h["runs_per_day"],
                }
            ),  # fmt: skip
            ensure_ascii=False,
        ).replace("</", "<\\/")  # inside a <script> element
        return page(request, "health.html", h=h, charts=charts)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
            for e in exc.errors()
        ]
        return JSONResponse(
            {"detail": jsonable_encoder(exc.errors()), "message": "; ".join(problems)},
            status_code=422,
        )


def check_reader(url: str) -> None:
    """Raise a one-line error unless `url` can read as sosik_reader and the reader views exist
    (migration 0007): what `sosik serve` checks before it listens."""
    from crawler.commands import CommandError
    from db.connection import connect, describe

    with connect(url) as conn:
        try:
            with readers.reading(conn):
                readers.probe(conn)
        except psycopg.errors.InsufficientPrivilege as e:
            raise CommandError(
                f"{describe(url)} may not act as {readers.READER_ROLE}: log in as a member "
                f"(CREATE ROLE web LOGIN IN ROLE {readers.READER_ROLE}) and give that URL "
                f"({str(e).splitlines()[0]})"
            ) from None
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedObject) as e:
            raise CommandError(
                f"{describe(url)} lacks the reader views ({str(e).splitlines()[0]}): "
                "run `sosik db upgrade`"
            ) from None
