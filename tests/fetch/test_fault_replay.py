"""The fault-injecting replay: seeded plans, and every fault kind as it goes over the wire."""

from __future__ import annotations

import http.client
import socket

import pytest

from crawler.middlewares.replay import (
    FAULT_KINDS,
    FaultPlan,
    FaultRule,
    ReplayServer,
    ReplayStore,
    as_euc_kr,
    wrap,
)
from crawler.middlewares.retry import cut_reason
from crawler.parsers.page import decode_html

PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>제목</title></head><body>'
    + "<div class='a'><p>"
    + "한국어 기사 본문입니다. " * 400
    + "</p></div></body></html>"
).encode()
URLS = [f"https://news.example.com/article/{n}" for n in range(200)]


def store() -> ReplayStore:
    s = ReplayStore()
    for u in URLS:
        s.add(u, body=PAGE)
    return s


def get(server: ReplayServer, url: str, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection: (status, headers, body read until close)."""
    base = server.url.removeprefix("http://")
    host, port = base.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", wrap(server.url, url)[len(server.url) :])
        r = conn.getresponse()
        return r.status, dict(r.headers), r.read()
    finally:
        conn.close()


def test_a_plan_picks_the_same_urls_for_a_seed_and_others_for_another():
    spec = "5xx:rate=0.2,reset:rate=0.1:times=3,429:rate=0.1:after=7"
    a, b = FaultPlan.parse(spec, seed=1), FaultPlan.parse(spec, seed=1)
    c = FaultPlan.parse(spec, seed=2)
    pick = [a.rule_for(u) for u in URLS]
    assert pick == [b.rule_for(u) for u in URLS]
    assert pick != [c.rule_for(u) for u in URLS]
    counts = {k: sum(r is not None and r.kind == k for r in pick) for k in ("5xx", "reset", "429")}
    assert 25 <= counts["5xx"] <= 55 and 8 <= counts["reset"] <= 32 and 8 <= counts["429"] <= 32
    assert a.rule_for("https://news.example.com/robots.txt") is None
    assert a.rules[1].repeat == 3 and a.rules[0].repeat == FAULT_KINDS["5xx"]
    assert dict(a.rules[2].params) == {"after": "7"}


def test_match_and_skip_limit_a_rule_to_some_urls():
    plan = FaultPlan([FaultRule("5xx", 1.0, match="/article/", skip="/article/1")], seed=0)
    assert plan.rule_for("https://x.example/article/2") is not None
    assert plan.rule_for("https://x.example/article/10") is None
    assert plan.rule_for("https://x.example/list") is None


@pytest.mark.parametrize(
    "spec",
    ["nosuch", "5xx:rate=2", "5xx:times=-1", "5xx:bogus=1", "5xx:rate", "429:after=soon", "",
     "5xx:rate=0.7,reset:rate=0.7"],
)  # fmt: skip
def test_bad_specs_are_refused_with_a_reason(spec):
    with pytest.raises(ValueError):
        FaultPlan.parse(spec)


def serve(kind: str, **params: object) -> ReplayServer:
    rule = FaultRule(kind, 1.0, params=tuple((k, str(v)) for k, v in params.items()))
    return ReplayServer(store(), faults=FaultPlan([rule], seed=3))


def test_5xx_burst_then_the_page():
    with serve("5xx") as server:
        first, second, third = (get(server, URLS[0])[0] for _ in range(3))
    assert first in (500, 502, 503, 504) and second in (500, 502, 503, 504) and third == 200
    assert server.faulted[URLS[0]] == ("5xx", 2)
    assert [h.answer for h in server.hits()] == ["5xx", "5xx", "200"]


def test_429_carries_retry_after():
    with serve("429", after=7) as server:
        status, headers, _ = get(server, URLS[0])
        assert (status, headers["Retry-After"]) == (429, "7")
        assert get(server, URLS[0])[0] == 200


def test_reset_drops_the_connection_without_an_answer():
    with serve("reset") as server:
        with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
            get(server, URLS[0])
        assert get(server, URLS[0])[2] == PAGE


def test_timeout_answers_nothing_until_the_client_gives_up():
    with serve("timeout") as server:
        with pytest.raises((socket.timeout, TimeoutError)):
            get(server, URLS[0], timeout=0.5)
        assert get(server, URLS[0])[0] == 200


def test_truncate_sends_less_than_its_content_length():
    with serve("truncate") as server:
        with pytest.raises(http.client.IncompleteRead) as e:
            get(server, URLS[0])
        assert 0.3 * len(PAGE) <= len(e.value.partial) <= 0.8 * len(PAGE)
        assert get(server, URLS[0])[2] == PAGE


def test_truncate_without_length_is_a_cut_document():
    with serve("truncate-nolength") as server:
        status, headers, body = get(server, URLS[0])
    assert status == 200 and "Content-Length" not in headers
    assert len(body) < len(PAGE) and cut_reason(body)


def test_wrong_charset_labels_both_ways():
    with serve("euckr-as-utf8") as server:
        _, headers, body = get(server, URLS[0])
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == as_euc_kr(PAGE) and b'charset="euc-kr"' in body
    assert decode_html(body, "utf-8") == (
        decode_html(PAGE)[0].replace('"utf-8"', '"euc-kr"'),
        "cp949",
    )
    with serve("utf8-as-euckr") as server:
        _, headers, body = get(server, URLS[0])
    assert headers["Content-Type"] == "text/html; charset=euc-kr" and body == PAGE


def test_empty_redirect_loop_garbage_and_nesting():
    with serve("empty") as server:
        assert get(server, URLS[0])[:3:2] == (200, b"")
    with serve("redirect-loop") as server:
        status, headers, _ = get(server, URLS[0])
        assert status == 302 and headers["Location"] == URLS[0] + "?sosik_loop=1"
        status, headers, _ = get(server, headers["Location"])
        assert status == 302 and headers["Location"] == URLS[0]
    with serve("garbage", kb=4) as server:
        a = get(server, URLS[0])[2]
        assert len(a) == 4096 and a == get(server, URLS[0])[2]  # seeded: the same bytes
    with serve("nested", depth=1000) as server:
        body = get(server, URLS[0])[2]
        assert body.count(b"<div>") == 1000 and cut_reason(body) is None


def test_huge_page_declares_its_size_and_streams_it():
    with serve("huge", mb=3) as server:
        status, headers, body = get(server, URLS[0])
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    assert 3 * 1024 * 1024 - 70_000 < len(body) <= 3 * 1024 * 1024
    assert body.endswith(b"</body></html>") and cut_reason(body) is None
    with serve("huge", mb=1, nolength=1) as server:
        _, headers, body = get(server, URLS[0])
    assert "Content-Length" not in headers and len(body) > 900_000


def test_the_request_log_keeps_order_and_answers():
    with serve("429") as server:
        for u in URLS[:3]:
            get(server, u)
        get(server, URLS[0])
    log = server.hits()
    assert [h.answer for h in log] == ["429", "429", "429", "200"]
    assert [h.url for h in log] == [*URLS[:3], URLS[0]]
    assert all(a.at <= b.at for a, b in zip(log, log[1:], strict=False))
