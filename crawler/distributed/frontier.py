"""The reliable queue: scrapy-redis's queue interface over leased, per-site Redis queues.

scrapy-redis pops a request by deleting it, so a worker that dies loses what it held. Here a
pop (one Lua script, crawler/distributed/scripts.py) moves the request into the in-flight set
with a lease and the popping worker's name; the worker renews its leases while it works and
acknowledges a request once Scrapy is done with it and the store has made its items durable.
A lease that runs out (the worker died or froze) puts the request back into its queue on the
next pop by anyone. That is at-least-once delivery: a request can be fetched twice (a worker
died after storing but before acknowledging), never lost; PostgreSQL's unique constraints make
the second store of an article a no-op, so articles are stored exactly once.

Pending requests wait in one sorted set per site (priority, then arrival), and a pop only
takes from a site whose politeness slot comes within `DISTRIBUTED_LOOKAHEAD`, reserving that
slot in the same script: one site's budget never holds up requests to other sites.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy_redis.queue import Base

from crawler.distributed import codec, scripts
from crawler.distributed.config import Keys
from crawler.distributed.redisconn import Guard

META_TOKEN = "sosik_lease"  # the frontier id of the request a request continues
META_SLOT = "sosik_slot"  # (seconds to the site's slot at pop time, local monotonic pop time)
OWN_META = (META_TOKEN, META_SLOT)


def site_of(request: Any) -> str:
    """The site (host) a request is for: its real URL's host, also when replayed."""
    url = request.meta.get("replay_original") or request.url
    return (urlsplit(url).hostname or "").lower() or "-"


@dataclass(slots=True)
class Entry:
    """One popped request: its id, its JSON, and when its site's slot comes."""

    id: str
    payload: str
    delay: float
    site: str
    deliveries: int


class Frontier:
    """The Redis side of one frontier (one spider of one job)."""

    def __init__(
        self,
        guard: Guard,
        keys: Keys,
        base: str,
        worker: str,
        *,
        lease: float = 120.0,
        lookahead: float = 0.25,
        default_rate: float = 1.0,
        max_deliveries: int = 5,
        fingerprint_ttl: float = 3 * 86400,
    ) -> None:
        self.guard = guard
        self.keys = keys
        self.base = base
        self.worker = worker
        self.lease = lease
        self.lookahead = lookahead
        self.default_rate = default_rate
        self.max_deliveries = max_deliveries
        self.fingerprint_ttl = fingerprint_ttl
        r = guard.redis
        self._push = r.register_script(scripts.PUSH)
        self._pop = r.register_script(scripts.POP)
        self._ack = r.register_script(scripts.ACK)
        self._renew = r.register_script(scripts.RENEW)
        self._release = r.register_script(scripts.RELEASE)
        self._fail = r.register_script(scripts.FAIL)
        self._seen = r.register_script(scripts.SEEN)

    # -- writing -----------------------------------------------------------------------------
    def push_args(
        self, payload: str, url: str, site: str, priority: int, fingerprint: bytes | None
    ) -> list[Any]:
        """The PUSH script's arguments for one request (a duplicate fingerprint makes it a no-op);
        for push and push_many.
        """
        return [
            self.base,
            fingerprint or b"",
            self.fingerprint_ttl,
            site,
            priority,
            payload,
            url,
        ]

    def push(
        self, payload: str, url: str, site: str, priority: int = 0, fingerprint: bytes | None = None
    ) -> int:
        """Queue one request; its id, or 0 when its fingerprint was seen (a duplicate)."""
        args = self.push_args(payload, url, site, priority, fingerprint)
        return int(self.guard.call(self._push, args=args))

    def push_many(self, entries: Iterable[list[Any]]) -> list[int]:
        """Queue several (push_args lists) in one round trip; ids, 0 for duplicates."""
        pipe = self.guard.redis.pipeline(transaction=False)
        n = 0
        for args in entries:
            self._push(args=args, client=pipe)
            n += 1
        if not n:
            return []
        return [int(x) for x in self.guard.call(pipe.execute)]

    def seen(self, fingerprint: bytes) -> bool:
        """Whether a fingerprint was seen (and remember it)."""
        args = [self.base, fingerprint, self.fingerprint_ttl]
        return bool(int(self.guard.call(self._seen, args=args)))

    # -- taking and giving back ----------------------------------------------------------------
    def pop_many(self, count: int) -> list[Entry] | float | None:
        """Up to `count` requests whose sites may be served, leased to this worker (each
        holding its site's slot); else how many seconds until one may be (a float), or None
        when nothing is pending at all."""
        args = [
            self.base,
            self.keys.site_prefix,
            self.keys.rates,
            self.worker,
            self.lease,
            self.lookahead,
            self.default_rate,
            self.max_deliveries,
            max(1, count),
        ]
        out = self.guard.call(self._pop, args=args)
        n = int(out[0])
        if not n:
            wait = float(_text(out[1]))
            return None if wait < 0 else wait
        entries = []
        for i in range(n):
            ident, payload, delay, site, deliveries = out[1 + 5 * i : 6 + 5 * i]
            entries.append(
                Entry(
                    _text(ident), _text(payload), float(_text(delay)), _text(site), int(deliveries)
                )
            )
        return entries

    def pop(self) -> Entry | float | None:
        """One request (see pop_many)."""
        got = self.pop_many(1)
        return got[0] if isinstance(got, list) else got

    def ack(self, ids: list[str], client: Any = None) -> Any:
        """Acknowledge finished requests: {acknowledged, late} (late: the lease had expired)."""
        return self._ack(args=[self.base, self.worker, *ids], client=client)

    def renew(self, ids: list[str]) -> list[str]:
        """Extend this worker's leases; the ids it no longer holds."""
        if not ids:
            return []
        lost = self.guard.call(self._renew, args=[self.base, self.worker, self.lease, *ids])
        return [_text(x) for x in lost]

    def release(self, ids: list[str]) -> int:
        """Give requests back to the queue now (a stopping worker), not counted as deliveries."""
        if not ids:
            return 0
        return int(self.guard.call(self._release, args=[self.base, self.worker, *ids]))

    def fail(self, ident: str, reason: str) -> None:
        """A request that cannot be read or run: out of the queue, into failed, for good."""
        self.guard.call(self._fail, args=[self.base, self.worker, ident, reason])

    # -- looking -----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """The frontier's counters (pending, done, failed, reclaimed, …) as stored in Redis."""
        raw = self.guard.call(self.guard.redis.hgetall, f"{self.base}:counts")
        return {_text(k): int(v) for k, v in raw.items()}

    def in_flight(self) -> list[tuple[str, str, float]]:
        """(id, worker, leased at) of every leased request (Redis time)."""
        raw = self.guard.call(self.guard.redis.hgetall, f"{self.base}:owner")
        out = []
        for k, v in raw.items():
            worker, _, at = _text(v).partition("\t")
            out.append((_text(k), worker, float(at or 0)))
        return out

    def failed(self) -> list[dict[str, Any]]:
        """The entries moved to failed (JSON: url, reason, …), in id order."""
        raw = self.guard.call(self.guard.redis.hgetall, f"{self.base}:failed")
        return [json.loads(_text(v)) for _, v in sorted(raw.items(), key=lambda kv: int(kv[0]))]

    def busy(self) -> bool:
        """Whether anything is pending or in flight (by any worker)."""
        pipe = self.guard.redis.pipeline(transaction=False)
        pipe.hget(f"{self.base}:counts", "pending")
        pipe.zcard(f"{self.base}:lease")
        pending, leased = self.guard.call(pipe.execute)
        return int(pending or 0) > 0 or int(leased) > 0


class ReliableQueue(Base):
    """scrapy-redis's queue interface (push, pop, len, clear) on a Frontier.

    `pop()` returns the request with its frontier id in `meta["sosik_lease"]` and its site's
    slot in `meta["sosik_slot"]`; the scheduler acknowledges or releases it by that id.
    Requests are JSON (crawler/distributed/codec.py), never pickled.
    """

    def __init__(self, server: Any, spider: Any, key: str, frontier: Frontier) -> None:
        super().__init__(server, spider, key, serializer=codec)
        self.frontier = frontier
        self.wait_hint: float | None = None
        self.unreadable = 0  # entries moved to failed because they could not be decoded

    def __len__(self) -> int:
        return self.frontier.counts().get("pending", 0)

    def encode(self, request: Any) -> str:
        """The request as JSON for the frontier, without this worker's own meta (lease, slot)."""
        data = dict(request.to_dict(spider=self.spider))
        data["meta"] = {k: v for k, v in data["meta"].items() if k not in OWN_META}
        return self.serializer.dumps(data)

    def push(self, request: Any, fingerprint: bytes | None = None) -> int:
        """Queues the request; its frontier id, or 0 when its fingerprint was seen."""
        return self.frontier.push(
            self.encode(request), request.url, site_of(request), request.priority, fingerprint
        )

    def pop(self, timeout: int = 0) -> Any:
        """The next request leased to this worker, or None (scrapy-redis's interface)."""
        got = self.pop_many(1)
        return got[0] if got else None

    def pop_many(self, count: int) -> list[Any]:
        """Up to `count` requests leased to this worker; none: then `wait_hint` says for how
        long nothing is due (seconds, or None when nothing is pending at all)."""
        while True:
            entries = self.frontier.pop_many(count)
            if not isinstance(entries, list):
                self.wait_hint = entries
                return []
            requests = []
            for entry in entries:
                try:
                    request = self._decode_request(entry.payload)
                except Exception as e:  # an unreadable entry fails alone, named
                    self.frontier.fail(entry.id, f"unreadable request: {e}")
                    self.unreadable += 1
                    continue
                request.meta[META_TOKEN] = entry.id
                request.meta[META_SLOT] = (entry.delay, time.monotonic())
                if entry.deliveries > 1:
                    request.meta["sosik_redelivered"] = entry.deliveries
                requests.append(request)
            if requests:
                return requests

    def clear(self) -> None:
        """Delete the frontier (only `sosik queue --purge`; workers never clear it)."""
        r = self.frontier.guard.redis
        for key in r.scan_iter(match=f"{self.frontier.base}:*"):
            r.delete(key)


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)
