"""Replay with proxy variables in the environment: the loopback server is asked directly.

Scrapy's HttpProxyMiddleware (750) gives a request the environment's proxy before the replay
middleware (950) rewrites it to the local server; the rewritten request then went to the
proxy, and every replayed crawl (and `sosik demo`) failed on a machine with `https_proxy` set.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware

from crawler.middlewares.replay import PREFIX, ReplayMiddleware

BASE = "http://127.0.0.1:8123"
PROXY = "http://user:secret@127.0.0.1:9"


def test_the_rewritten_request_goes_to_the_replay_server_not_the_proxy(monkeypatch):
    monkeypatch.setenv("https_proxy", PROXY)
    monkeypatch.setenv("http_proxy", PROXY)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    proxies, replay = HttpProxyMiddleware(), ReplayMiddleware(BASE)

    request = Request("https://n.news.naver.com/mnews/article/970/0000000101")
    assert proxies.process_request(request) is None
    assert request.meta["proxy"] and b"Proxy-Authorization" in request.headers  # as Scrapy does

    rewritten = replay.process_request(request)
    assert rewritten.url.startswith(BASE + PREFIX)
    assert proxies.process_request(rewritten) is None  # the chain runs again for it
    assert rewritten.meta["proxy"] is None
    assert b"Proxy-Authorization" not in rewritten.headers
    assert rewritten.meta["replay_original"] == request.url
