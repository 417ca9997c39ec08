"""`sosik serve` as an operator runs it: a subprocess, a reader login, then stopped."""

from __future__ import annotations

import uuid

import httpx
from psycopg import sql
from psycopg.conninfo import make_conninfo

from db.connection import connect
from tests.ops.opskit import free_port, sosik, start
from tests.web.newsdb import NewsDb, wait_ready


def test_serve_answers_as_the_reader_login_and_stops_on_sigterm(
    news_db: NewsDb, reader_url: str
) -> None:
    port = free_port()
    proc = start(news_db.url, "serve", "--port", str(port), SOSIK_READER_URL=reader_url)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        r = httpx.get(f"{base}/articles/{news_db.edited_id}", timeout=30)
        assert r.status_code == 200 and r.json()["version"] == 2
        page = httpx.get(f"{base}/ui/articles/{news_db.edited_id}", timeout=30)
        assert page.status_code == 200 and 'class="added"' in page.text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    # uvicorn shuts down cleanly on SIGTERM, then ends by the signal it caught
    assert proc.returncode in (0, -15), err
    assert "Traceback" not in err, err


def test_serve_with_a_login_outside_the_reader_role_is_one_line_and_exit_1(
    news_db: NewsDb,
) -> None:
    role = f"sosik_other_{uuid.uuid4().hex[:8]}"
    with connect(news_db.url) as c:
        c.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        url = make_conninfo(news_db.url, user=role)
        done = sosik(news_db.url, "serve", "--port", str(free_port()), "--database-url", url)
    finally:
        with connect(news_db.url) as c:
            c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "may not act as sosik_reader" in done.stderr
