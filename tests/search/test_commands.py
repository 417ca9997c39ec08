"""`sosik articles` and `sosik export` on a real database, through the `sosik` entry point."""

from __future__ import annotations

import csv
import io
import json
import shlex
from pathlib import Path
from typing import Any

import psycopg
import pytest

from crawler.cli import main
from crawler.commands.articles import cut
from crawler.commands.demo import width
from db.search import stream
from tests.db.factories import article
from tests.search.corpus import corpus_articles, item, store_and_index


@pytest.fixture
def stored(
    conn: psycopg.Connection[Any], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The corpus articles, stored and indexed; DATABASE_URL points at them."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    golds = corpus_articles()
    ids = store_and_index(conn, [item(g) for g in golds], db_url)
    return [{**g, "id": i} for i, g in zip(ids, golds, strict=True)]


def sosik(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def ids_of(table: str) -> list[int]:
    return [int(line.split()[0]) for line in table.splitlines()[1:] if line[:1] in " 0123456789"]


def test_articles_lists_the_newest_and_pages_on(stored, capsys) -> None:
    code, out, _ = sosik(capsys, "articles", "--limit", "5")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "published", "(KST)", "publisher", "section", "title"]
    newest = sorted((a["id"] for a in stored), reverse=True)
    assert ids_of("\n".join(lines[:-1])) == newest[:5]
    assert lines[-1].startswith(f"5 of {len(stored)} articles; next: sosik articles")
    # the printed command gives the next page
    nxt = shlex.split(lines[-1].split("next: sosik ", 1)[1])
    code, out, _ = sosik(capsys, *nxt)
    assert ids_of("\n".join(out.splitlines()[:-1])) == newest[5:10]


def test_articles_searches_with_filters(stored, capsys) -> None:
    code, out, _ = sosik(capsys, "articles", "--query", "대통령", "--publisher", "매일경제")
    assert code == 0
    want = {
        a["id"] for a in stored
        if a["publisher"] == "매일경제" and "대통령" in a["title"] + a["body"]
    }  # fmt: skip
    assert want and set(ids_of("\n".join(out.splitlines()[:-1]))) == want
    assert out.splitlines()[-1] == f"{len(want)} of {len(want)} matches"
    code, out, _ = sosik(capsys, "articles", "-q", "대통령", "--since", "2030-01-01")
    assert out.splitlines()[-1] == "0 of 0 matches"


def test_articles_refuses_bad_flags_in_one_line(stored, capsys) -> None:
    code, _, err = sosik(capsys, "articles", "--limit", "500")
    assert code == 64 and err.strip() == "sosik: --limit 500: at most 200"
    code, _, err = sosik(capsys, "articles", "--since", "yesterday")
    assert code != 0 and "--since" in err and "'yesterday' is not a date" in err


def test_titles_are_cut_to_the_terminal_by_columns_not_characters() -> None:
    title = "한빛시 전기버스 300대 도입…충전소도 40곳 늘린다"
    assert cut(title, 100) == title
    short = cut(title, 20)
    assert short.endswith("…") and width(short) <= 20 and title.startswith(short[:-1])


def test_export_jsonl_csv_parquet_hold_the_same_rows(stored, capsys, tmp_path: Path) -> None:
    want = {a["id"]: a for a in stored if "대통령" in a["title"] + a["body"]}
    files = {}
    for fmt in ("jsonl", "csv", "parquet"):
        path = tmp_path / f"out.{fmt}"
        code, _, err = sosik(capsys, "export", "--format", fmt, "-q", "대통령", "-o", str(path))
        assert code == 0
        assert err.strip() == f"exported {len(want)} articles to {path}"  # no progress bar
        files[fmt] = path
    rows = [json.loads(line) for line in files["jsonl"].read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == sorted(want)
    for r in rows:
        assert r["title"] == want[r["id"]]["title"] and r["body"] == want[r["id"]]["body"]
        assert r["published_at"] is None or r["published_at"].endswith("+09:00")  # KST
    raw = files["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark: spreadsheets read Hangul
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in table] == sorted(want)
    assert [r["urls"].split("\n") for r in table] == [r["urls"] for r in rows]
    assert [r["body"] for r in table] == [r["body"] for r in rows]
    pq = pytest.importorskip("pyarrow.parquet")
    parquet = pq.read_table(files["parquet"]).to_pylist()
    assert [r["id"] for r in parquet] == sorted(want)
    assert [r["authors"] for r in parquet] == [r["authors"] for r in rows]
    assert all(p["published_at"].isoformat()[:19] != "" for p in parquet)


def test_export_everything_to_stdout_with_limits_and_filters(stored, capsys) -> None:
    code, out, _ = sosik(capsys, "export", "-f", "jsonl", "-o", "-")
    assert [json.loads(x)["id"] for x in out.splitlines()] == sorted(a["id"] for a in stored)
    code, out, _ = sosik(capsys, "export", "-f", "jsonl", "-o", "-", "-n", "3")
    assert len(out.splitlines()) == 3
    code, out, _ = sosik(capsys, "export", "-f", "jsonl", "-o", "-", "--section", "정치")
    politics = sorted(a["id"] for a in stored if a.get("section") == "정치")
    assert politics and [json.loads(x)["id"] for x in out.splitlines()] == politics
    code, _, err = sosik(capsys, "export", "-f", "parquet", "-o", "-")
    assert code == 64 and "parquet needs a file" in err


def test_stream_reads_in_batches_through_a_server_side_cursor(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    ids = store_and_index(conn, [article(n, title=f"수출 {n}") for n in range(1, 26)], db_url)
    got = stream(conn, "수출", batch=4)
    first = next(got)
    # the cursor is open on the server while rows are read, 4 at a time
    cursors = conn.execute("SELECT name, statement FROM pg_cursors").fetchall()
    assert len(cursors) == 1 and "article_search s JOIN" in cursors[0][1]
    assert [first["id"], *(r["id"] for r in got)] == ids
    assert conn.execute("SELECT count(*) FROM pg_cursors").fetchone()[0] == 0
