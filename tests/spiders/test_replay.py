"""The replay server's matching rules, over real HTTP on loopback."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from crawler.middlewares.replay import ReplayServer, ReplayStore, unwrap, wrap


def fetch(server: ReplayServer, url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(wrap(server.url, url), timeout=5) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


@pytest.fixture
def server():
    store = ReplayStore()
    store.add("https://search.naver.com/search.naver?where=news&query=페이히어", body=b"page1")
    store.add(
        "https://search.naver.com/search.naver?where=news&query=페이히어&start=11", body=b"page2"
    )
    store.add("https://n.news.naver.com/mnews/article/018/0005316196", body=b"plain")
    store.add("https://n.news.naver.com/mnews/article/018/0005316196?sid=100", body=b"sid")
    with ReplayServer(store) as s:
        yield s


def test_named_parameters_must_match_others_are_ignored(server):
    q = "https://search.naver.com/search.naver?where=news&query=%ED%8E%98%EC%9D%B4%ED%9E%88%EC%96%B4"
    assert fetch(server, q + "&sort=1&nso=so:dd")[1] == b"page1"
    assert fetch(server, q.replace("where=news", "where=blog"))[0] == 404
    assert fetch(server, q.replace("%ED%8E%98", "%EA%B0%80"))[0] == 404


def test_paging_parameters_must_match_absent_is_page_one(server):
    q = "https://search.naver.com/search.naver?where=news&query=%ED%8E%98%EC%9D%B4%ED%9E%88%EC%96%B4"
    assert fetch(server, q + "&start=1")[1] == b"page1"
    assert fetch(server, q + "&start=11")[1] == b"page2"
    assert fetch(server, q + "&start=21")[0] == 404


def test_most_specific_saved_page_wins_and_scheme_is_ignored(server):
    assert fetch(server, "http://n.news.naver.com/mnews/article/018/0005316196")[1] == b"plain"
    assert (
        fetch(server, "https://n.news.naver.com/mnews/article/018/0005316196?sid=100")[1] == b"sid"
    )


def test_unknown_pages_are_404_and_every_request_is_logged(server):
    assert fetch(server, "https://n.news.naver.com/robots.txt")[0] == 404
    assert fetch(server, "https://elsewhere.example/x")[0] == 404
    assert server.requested("robots.txt") == ["https://n.news.naver.com/robots.txt"]


def test_injected_fault_is_served_then_the_page(server):
    server.inject("0005316196", 429, {"Retry-After": "2"}, times=1)
    status, _, headers = fetch(server, "https://n.news.naver.com/mnews/article/018/0005316196")
    assert status == 429 and headers["Retry-After"] == "2"
    assert fetch(server, "https://n.news.naver.com/mnews/article/018/0005316196")[1] == b"plain"


def test_wrap_round_trip():
    url = "https://search.daum.net/search?w=news&q=%EC%86%90&sort=recency&p=2"
    local = wrap("http://127.0.0.1:9", url)
    assert unwrap(local[len("http://127.0.0.1:9") :]) == url


def test_replay_folder_needs_an_index(tmp_path):
    with pytest.raises(FileNotFoundError):
        ReplayStore.from_dir(tmp_path)
