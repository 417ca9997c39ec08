"""`sosik show ID|URL` as a person runs it: a subprocess against the crawled database."""

from __future__ import annotations

import json
import subprocess

from tests.ops.opskit import sosik
from tests.web.newsdb import ADDED_SENTENCE, EDITED, NewsDb


def sosik_show(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return sosik(db_url, "show", *args)


def test_show_by_id_prints_text_addresses_versions_with_the_change_cluster_and_hits(
    news_db: NewsDb,
) -> None:
    done = sosik_show(news_db.url, str(news_db.edited_id))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"article {news_db.edited_id}  (version 2,")
    assert f"{EDITED} (canonical)" in out
    assert "  v1  captured" in out and ", current" in out
    assert f"{{+{ADDED_SENTENCE}+}}" in out.replace("\n    ", " ")
    assert "'전기버스' page 1 rank 3" in out


def test_show_finds_an_article_by_any_of_its_addresses(news_db: NewsDb) -> None:
    by_id = json.loads(sosik_show(news_db.url, str(news_db.edited_id), "--json").stdout)
    for url in by_id["urls"]:
        done = sosik_show(news_db.url, url, "--json")
        assert done.returncode == 0, (url, done.stderr)
        assert json.loads(done.stdout)["id"] == news_db.edited_id
    # the address with its tracking parameter dropped by canonicalisation still finds it
    done = sosik_show(news_db.url, EDITED + "?sid=101&utm_source=x", "--json")
    assert json.loads(done.stdout)["id"] == news_db.edited_id, done.stderr


def test_show_of_nothing_stored_is_one_line_and_exit_1(news_db: NewsDb) -> None:
    for wanted in ("999999", "https://n.news.naver.com/mnews/article/999/0000000001"):
        done = sosik_show(news_db.url, wanted)
        assert done.returncode == 1
        assert done.stderr.strip().count("\n") == 0 and "no stored article" in done.stderr
