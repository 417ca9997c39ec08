"""The frontier's pieces against a real Redis: JSON requests, leases, acknowledgements,
rotation of fingerprints, the per-site budget and the job's single finisher."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date, datetime
from typing import Any

import pytest
import scrapy
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from crawler.distributed import codec, scripts
from crawler.distributed.budget import SiteBudget
from crawler.distributed.config import Keys
from crawler.distributed.frontier import Entry, Frontier
from crawler.distributed.jobs import JobBoard
from crawler.distributed.redisconn import Guard, RedisDown, client
from crawler.domain.dates import KST
from crawler.spiders.naver import NaverSpider
from crawler.spiders.naver_section import NaverSectionSpider


# -- the codec ---------------------------------------------------------------------------------
def start_requests(spider: Any) -> list[scrapy.Request]:
    async def collect() -> list[scrapy.Request]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def test_spider_requests_survive_json_with_dates_bytes_and_headers() -> None:
    crawler = get_crawler(NaverSpider)
    spider = NaverSpider.from_crawler(
        crawler, query="엔비디아", since="2024-08-01", until="2024-08-31"
    )
    request = start_requests(spider)[0].replace(
        headers={"Referer": "https://search.naver.com/"}, body=b"\x00\xff"
    )
    request.meta["seen_at"] = datetime(2024, 8, 2, 9, 30, tzinfo=KST)
    request.meta["pair"] = ("a", 1)
    request.meta["$weird"] = {"$b": "not a tag"}
    text = codec.dumps(request.to_dict(spider=spider))
    assert json.loads(text)["v"] == codec.VERSION  # plain JSON text, never a pickle
    back = request_from_dict(codec.loads(text), spider=spider)
    assert back.url == request.url and back.body == b"\x00\xff"
    assert back.callback == spider.parse_search and back.errback == spider.errback
    assert back.cb_kwargs == {"page": 1, "since": date(2024, 8, 1), "until": date(2024, 8, 31)}
    assert back.headers["Referer"] == b"https://search.naver.com/"
    assert back.meta["seen_at"] == request.meta["seen_at"]
    assert back.meta["pair"] == ("a", 1) and back.meta["$weird"] == {"$b": "not a tag"}


def test_unknown_values_are_refused_and_unknown_versions_unreadable() -> None:
    with pytest.raises(TypeError, match="set"):
        codec.dumps({"meta": {"s": {1, 2}}})
    with pytest.raises(ValueError, match="format version 99"):
        codec.loads('{"v": 99, "r": {}}')


# -- a frontier --------------------------------------------------------------------------------
@pytest.fixture
def guard(redis_url: tuple[str, str]) -> Any:
    url, _ = redis_url
    g = Guard(client(url))
    yield g
    g.redis.close()


@pytest.fixture
def keys(redis_url: tuple[str, str]) -> Keys:
    return Keys(redis_url[1])


def frontier(guard: Guard, keys: Keys, worker: str = "w1", **kw: Any) -> Frontier:
    options = {"lease": 60.0, "default_rate": 0.0, **kw}
    return Frontier(guard, keys, keys.frontier("1", "naver"), worker, **options)


def push(f: Frontier, url: str, priority: int = 0, fp: bytes | None = None) -> int:
    return f.push(json.dumps({"url": url}), url, "example.kr", priority, fp)


def pop_url(f: Frontier) -> str | None:
    e = f.pop()
    return json.loads(e.payload)["url"] if isinstance(e, Entry) else None


def test_priority_then_arrival_and_duplicates_filtered(guard: Guard, keys: Keys) -> None:
    f = frontier(guard, keys)
    assert push(f, "https://a/list", 0, b"fp-list") > 0
    assert push(f, "https://a/1", 10, b"fp-1") > 0
    assert push(f, "https://a/2", 10, b"fp-2") > 0
    assert push(f, "https://a/1", 10, b"fp-1") == 0  # seen
    assert push(f, "https://a/again", 0, None) > 0 and push(f, "https://a/again", 0, None) > 0
    got = [pop_url(f) for _ in range(6)]
    assert got == ["https://a/1", "https://a/2", "https://a/list", "https://a/again",
                   "https://a/again", None]  # fmt: skip
    c = f.counts()
    assert c["pushed"] == 5 and c["filtered"] == 1 and c["pending"] == 0


def test_ack_release_and_an_expired_lease_returning_to_the_queue(guard: Guard, keys: Keys) -> None:
    f = frontier(guard, keys, lease=0.3)
    other = frontier(guard, keys, worker="w2", lease=60.0)
    for i in range(3):
        push(f, f"https://a/{i}")
    e0, e1, e2 = f.pop(), f.pop(), f.pop()
    assert [w for _, w, _ in f.in_flight()] == ["w1", "w1", "w1"]
    assert f.ack([e0.id]) == [1, 0]
    assert f.release([e1.id]) == 1  # back at once, not counted as a delivery
    assert f.renew([e2.id]) == []
    # e2's lease runs out: the next pop by anyone puts it back and may hand it out again
    deadline = time.monotonic() + 5
    seen = set()
    while time.monotonic() < deadline and len(seen) < 2:
        e = other.pop()
        if isinstance(e, Entry):
            seen.add(json.loads(e.payload)["url"])
            assert e.deliveries == (2 if e.id == e2.id else 1)
        time.sleep(0.05)
    assert seen == {"https://a/1", "https://a/2"}
    assert f.renew([e2.id]) == [e2.id]  # w1 lost it
    assert f.ack([e2.id]) == [0, 1]  # a late acknowledgement: w2 holds it now
    c = f.counts()
    assert c["done"] == 1 and c["reclaimed"] == 1 and c["released"] == 1 and c["late"] == 1


def test_a_late_ack_takes_a_requeued_request_out_and_poison_goes_to_failed(
    guard: Guard, keys: Keys
) -> None:
    f = frontier(guard, keys, lease=0.2, max_deliveries=2)
    push(f, "https://a/late")
    e = f.pop()
    time.sleep(0.3)  # the lease runs out; a pop by anyone requeues it
    assert f.pop().id == e.id  # handed out a second time (and leased again)
    time.sleep(0.3)
    assert f.pop() is None  # second expiry: two deliveries without an ack is the limit
    assert f.failed() == [
        {"url": "https://a/late", "deliveries": 2, "reason": "lease expired (2 deliveries)"}
    ]
    # a lease runs out and the request waits in the queue again (its site is held, so the
    # sweep puts it back without handing it out); the old holder's late ack still counts
    held = frontier(guard, keys, worker="w2", lease=0.2, default_rate=1.0)
    push(held, "https://a/back")
    e2 = held.pop()
    SiteBudget(guard, keys, 1.0, {}).hold("example.kr", 60)
    time.sleep(0.3)
    assert isinstance(held.pop(), float)  # swept back into the queue, not due for a minute
    assert held.ack([e2.id]) == [1, 1]  # done after all: taken out of the queue
    assert f.counts()["pending"] == 0 and not f.busy()


def test_fingerprints_rotate_so_at_most_two_generations_exist(guard: Guard, keys: Keys) -> None:
    f = frontier(guard, keys, fingerprint_ttl=1)
    assert push(f, "https://a/x", fp=b"x") > 0
    assert push(f, "https://a/x", fp=b"x") == 0
    start = int(guard.redis.time()[0])
    while int(guard.redis.time()[0]) < start + 2.2:  # two generations later
        time.sleep(0.1)
    assert push(f, "https://a/x", fp=b"x") > 0  # forgotten: fetched again, never lost
    generations = list(guard.redis.scan_iter(match=f"{f.base}:fp:*"))
    assert 1 <= len(generations) <= 2
    assert all(0 < guard.redis.ttl(g) <= 2 * 1 + 60 for g in generations)


# -- the budget --------------------------------------------------------------------------------
def test_slots_are_one_over_the_rate_apart_and_retry_after_holds_everyone(
    guard: Guard, keys: Keys
) -> None:
    budget = SiteBudget(guard, keys, 5.0, {"slow.kr": 1.0})
    budget.publish()
    delays = [budget.reserve("fast.kr") for _ in range(5)]
    assert delays[0] == pytest.approx(0, abs=0.02)
    assert [round(b - a, 2) for a, b in zip(delays, delays[1:], strict=False)] == [0.2] * 4
    assert budget.reserve("slow.kr") == pytest.approx(0, abs=0.02)
    assert budget.reserve("slow.kr") == pytest.approx(1.0, abs=0.02)
    other = SiteBudget(guard, keys, 5.0, {})  # another worker: same budget from Redis
    other.hold("fast.kr", 3.0)
    assert budget.reserve("fast.kr") == pytest.approx(3.0, abs=0.05)


def test_a_site_waiting_for_its_slot_does_not_hold_back_other_sites(
    guard: Guard, keys: Keys
) -> None:
    SiteBudget(guard, keys, 1.0, {}).publish()
    f = frontier(guard, keys, default_rate=1.0, lookahead=0.25)
    f.push(json.dumps({"url": "a1"}), "https://a/1", "a.kr", 10)
    f.push(json.dumps({"url": "a2"}), "https://a/2", "a.kr", 10)
    f.push(json.dumps({"url": "b1"}), "https://b/1", "b.kr", 0)
    first = f.pop()
    assert first.site == "a.kr" and first.delay == pytest.approx(0, abs=0.02)
    second = f.pop()  # a.kr's next slot is a second away: b.kr goes first despite priority
    assert second.site == "b.kr"
    wait = f.pop()
    assert isinstance(wait, float) and 0.5 < wait <= 1.0  # a.kr due in ~0.75 s (lookahead)


# -- jobs --------------------------------------------------------------------------------------
def test_exactly_one_worker_moves_a_finished_job_on(guard: Guard, keys: Keys) -> None:
    board = JobBoard(guard, keys)
    job = board.create(7, "naver", {"naver": {"query": "q"}}, {})
    board.activate(job)
    f = Frontier(guard, keys, keys.frontier(job.id, "naver"), "w1", default_rate=0.0)
    push(f, "https://a/1")
    finish = guard.redis.register_script(scripts.FINISH)
    args = [keys.job(job.id), "active", "finishing", *board.bases(job)]
    assert finish(args=args) == 0  # pending
    e = f.pop()
    assert finish(args=args) == 0  # in flight
    f.ack([e.id])
    assert [finish(args=args), finish(args=args)] == [1, 0]
    assert board.get(job.id).state == "finishing"


def test_redis_away_fails_fast_and_is_counted(redis_url: tuple[str, str]) -> None:
    events = []
    g = Guard(client("redis://127.0.0.1:1/0"), on_change=lambda what, s: events.append(what))
    t = time.monotonic()
    for _ in range(20):
        with pytest.raises(RedisDown):
            g.call(g.redis.ping)
    assert time.monotonic() - t < 2.0  # backing off, not reconnecting twenty times
    assert g.outages == 1 and events == ["down"]
    g.redis = client(redis_url[0])
    g.retry_at = 0
    assert g.call(g.redis.ping)
    assert events == ["down", "up"] and g.down_since is None
    g.redis.close()


def test_section_spider_start_requests_queue_and_come_back(guard: Guard, keys: Keys) -> None:
    from crawler.distributed.frontier import ReliableQueue

    crawler = get_crawler(NaverSectionSpider)
    spider = NaverSectionSpider.from_crawler(
        crawler, section="100", since="2022-12-29", until="2022-12-30"
    )
    f = frontier(guard, keys)
    q = ReliableQueue(guard.redis, spider, f.base, f)
    for r in start_requests(spider):
        q.push(r, crawler.request_fingerprinter.fingerprint(r)[:16])
    assert len(q) == 2
    got = [q.pop(), q.pop(), q.pop()]
    assert got[2] is None and q.wait_hint is None
    assert [r.cb_kwargs["day"] for r in got[:2]] == [date(2022, 12, 29), date(2022, 12, 30)]
    assert all(r.callback == spider.parse_list and r.meta["sosik_lease"] for r in got[:2])
