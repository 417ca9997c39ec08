"""Replay: serve saved pages on a loopback port and crawl them through the real Scrapy engine.

A replay folder holds `urls.tsv` (url TAB file, `#` comments) and the files it names. Requests
are rewritten to the local server by `ReplayMiddleware` after every other downloader middleware
has seen the real URL, and responses come back under the real URL, so spiders, parsers and items
never know. A request matches a saved page by host and path and every query parameter the saved
URL names; other request parameters are ignored, except paging ones, which must match (absent
means page 1). Anything else gets a 404, as a real server would.

The server can misbehave on purpose, as the web does: a seeded FaultPlan gives shares of the
URLs 5xx bursts, connection resets, timeouts, 429 + Retry-After, cut bodies (with and without
Content-Length), wrong charset labels both ways, empty 200s, redirect loops, a 50 MB page,
binary garbage or 100,000 nested elements, the same URLs in every run with the same seed
(`sosik crawl --replay DIR --faults SPEC --fault-seed N`; tests/faults/network.py).
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import socket
import struct
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

logger = logging.getLogger(__name__)

# Paging parameters and their page-1 value: Naver `start`, Daum `p`, Seoul and lists `page`.
PAGING = {"start": "1", "p": "1", "page": "1"}
PREFIX = "/__replay__/"


@dataclass(slots=True)
class Fault:
    """A scripted answer for the next `times` requests that match `url_part`."""

    url_part: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    body: bytes = b""  # e.g. a 200 whose JSON says "nothing this time" ({"collection": null})
    gate: threading.Event | None = None  # answer only once the test sets it (a held request)


@dataclass(slots=True)
class Saved:
    """One saved page: the query parameters it was saved under, and its bytes (in memory or in a
    file).
    """

    params: dict[str, str]
    path: Path | None = None
    body: bytes | None = None

    def read(self) -> bytes:
        """The page's bytes, as saved (no decoding)."""
        if self.body is not None:
            return self.body
        assert self.path is not None
        return self.path.read_bytes()


def _key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.path or "/"


def _params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


class ReplayStore:
    """The saved pages of a replay folder, matched against request URLs."""

    def __init__(self) -> None:
        self._pages: dict[tuple[str, str], list[Saved]] = defaultdict(list)

    @classmethod
    def from_dir(cls, root: str | Path) -> ReplayStore:
        """The pages listed in `root`/urls.tsv (URL, tab, file name per line; # comments);
        FileNotFoundError without it.
        """
        root = Path(root)
        index = root / "urls.tsv"
        if not index.exists():
            raise FileNotFoundError(f"replay folder has no urls.tsv: {root}")
        store = cls()
        for line in index.read_text("utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            url, _, name = line.partition("\t")
            store.add(url.strip(), path=root / name.strip())
        return store

    def add(self, url: str, *, path: Path | None = None, body: bytes | None = None) -> None:
        """Saves a page for `url`, from a file or from bytes."""
        self._pages[_key(url)].append(Saved(_params(url), path, body))

    def __len__(self) -> int:
        return sum(len(v) for v in self._pages.values())

    def match(self, url: str) -> Saved | None:
        """The saved page for a URL: same host and path, every saved parameter matching (paging ones
        default to page 1), the most specific first; None when nothing fits.
        """
        asked = _params(url)
        best: Saved | None = None
        for saved in self._pages.get(_key(url), ()):
            if any(asked.get(k) != v for k, v in saved.params.items() if k not in PAGING):
                continue
            if any(asked.get(k, one) != saved.params.get(k, one) for k, one in PAGING.items()):
                continue
            if best is None or len(saved.params) > len(best.params):
                best = saved
        return best


# -- faults ------------------------------------------------------------------------------------
# kind -> faulty answers a URL gets before its real page (0: every answer is faulty)
FAULT_KINDS: dict[str, int] = {
    "5xx": 2,  # a burst of 500/502/503/504 answers (status=N to pick one)
    "reset": 1,  # the connection reset (RST) before any answer
    "timeout": 1,  # no answer: the connection held until the client gives up (hold=S max)
    "429": 1,  # 429 Too Many Requests with Retry-After: after=S (default 2)
    "truncate": 1,  # the body cut, after a Content-Length of the whole (the client sees data loss)
    "truncate-nolength": 1,  # the body cut, no Content-Length, the connection closed
    "euckr-as-utf8": 0,  # the page in EUC-KR bytes, labelled charset=utf-8
    "utf8-as-euckr": 0,  # the page in UTF-8 bytes, labelled charset=euc-kr
    "empty": 1,  # 200 with an empty body
    "redirect-loop": 0,  # 302 to itself with a marker parameter and back, forever
    "huge": 0,  # a page of mb=N megabytes (default 50), nolength=1 to send no Content-Length
    "garbage": 0,  # binary garbage (kb=N, default 64) served as text/html
    "nested": 0,  # a page of depth=N nested elements (default 100,000)
}
LOOP_PARAM = "sosik_loop"
_RULE_KEYS = {
    "rate",
    "times",
    "match",
    "skip",
    "status",
    "after",
    "hold",
    "mb",
    "nolength",
    "kb",
    "depth",
}


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One kind of fault, given to a seeded share (`rate`) of the URLs containing `match`."""

    kind: str
    rate: float = 1.0
    times: int | None = None  # faulty answers before the real page; None: the kind's default
    match: str = ""  # only URLs containing this
    params: tuple[tuple[str, str], ...] = ()  # the kind's own: status, after, hold, mb, …
    skip: str = ""  # never URLs containing this

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if not 0 <= self.rate <= 1:
            raise ValueError(f"fault {self.kind}: rate must be within 0..1, not {self.rate}")
        if self.times is not None and self.times < 0:
            raise ValueError(f"fault {self.kind}: times must be >= 0, not {self.times}")

    @property
    def repeat(self) -> int:
        """Faulty answers per URL before the real page; 0 means always."""
        return FAULT_KINDS[self.kind] if self.times is None else self.times

    def param(self, name: str, default: float) -> float:
        """The kind's own numeric parameter (e.g. status, after), or `default`."""
        return float(dict(self.params).get(name, default))


class FaultPlan:
    """Which URL gets which fault: seeded, reproducible, independent of request order.

    Each URL draws one number from a hash of the seed and the URL; the rules eligible for it
    (their `match` is in the URL) share the unit interval in order, each its `rate`, so a URL
    has at most one fault, and the same seed picks the same URLs in every run. URLs that are
    never faulted: robots.txt and anything the replay has no page for.

    The spec (`sosik crawl --faults SPEC --fault-seed N`) is comma-separated rules,
    `KIND[:key=value]...`, keys rate, times, match, skip and the kind's own (status, after, hold,
    mb, nolength, kb, depth), e.g. `5xx:rate=0.2:times=3,429:rate=0.1:after=5,huge:match=/big/`.
    """

    def __init__(self, rules: Iterable[FaultRule], seed: int = 0) -> None:
        self.rules = list(rules)
        self.seed = seed
        total = sum(r.rate for r in self.rules)
        if total > 1 + 1e-9 and len({r.match for r in self.rules}) == 1:
            raise ValueError(f"fault rates add up to {total:g}, more than every URL")

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> FaultPlan:
        """Reads a --faults spec (see the class); ValueError names a malformed rule."""
        rules = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, *pairs = part.split(":")
            values: dict[str, str] = {}
            for pair in pairs:
                key, sep, value = pair.partition("=")
                if not sep or key not in _RULE_KEYS:
                    raise ValueError(
                        f"fault {kind}: {pair!r} is not key=value with a key among "
                        f"{', '.join(sorted(_RULE_KEYS))}"
                    )
                values[key] = value
            try:
                rate = float(values.pop("rate", 1.0))
                times = int(values.pop("times")) if "times" in values else None
                for key in ("status", "after", "hold", "mb", "nolength", "kb", "depth"):
                    if key in values:
                        float(values[key])
            except ValueError:
                raise ValueError(f"fault {kind}: a number is expected in {part!r}") from None
            match, skip = values.pop("match", ""), values.pop("skip", "")
            params = tuple(sorted(values.items()))
            rules.append(FaultRule(kind.strip(), rate, times, match, params, skip))
        if not rules:
            raise ValueError("no fault in the spec")
        return cls(rules, seed)

    def draw(self, url: str) -> float:
        """The URL's number in [0, 1): the same for a seed and URL in every run."""
        digest = hashlib.sha256(f"{self.seed}\0{url}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def rule_for(self, url: str) -> FaultRule | None:
        """The fault rule this URL draws under the seed, or None (robots.txt is never faulted)."""
        if urlsplit(url).path == "/robots.txt":
            return None
        u, low = self.draw(url), 0.0
        for rule in self.rules:
            if (rule.match and rule.match not in url) or (rule.skip and rule.skip in url):
                continue
            if low <= u < low + rule.rate:
                return rule
            low += rule.rate
        return None

    def describe(self) -> str:
        """The plan as a spec again, every default spelled out, with its seed (for logs and run
        records).
        """
        parts = []
        for r in self.rules:
            bits = [r.kind, f"rate={r.rate:g}", f"times={r.repeat}"]
            bits += [f"match={r.match}"] if r.match else []
            bits += [f"skip={r.skip}"] if r.skip else []
            bits += [f"{k}={v}" for k, v in r.params]
            parts.append(":".join(bits))
        return f"{','.join(parts)} (seed {self.seed})"


@dataclass(slots=True)
class Reply:
    """What the server does with one request: an answer, possibly cut, or none at all."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    length: int | None = -1  # Content-Length sent: -1 the body's, None none (then close)
    cut: int | None = None  # write this many bytes of the body, then close the connection
    action: str = "send"  # send | reset | hold | stream
    chunks: Iterable[bytes] = ()  # for "stream": the body, written piece by piece
    hold: float = 0.0


@dataclass(slots=True)
class Hit:
    """One request the server answered, for the request log."""

    at: float  # time.monotonic() when the request came in
    url: str  # the original URL asked for
    answer: str  # "200", "404", or the fault served ("429", "reset", "truncate", …)


def _rng(plan: FaultPlan, url: str, salt: str) -> random.Random:
    return random.Random(f"{plan.seed}\0{salt}\0{_strip_loop(url)}")


def _strip_loop(url: str) -> str:
    parts = urlsplit(url)
    if LOOP_PARAM not in parts.query:
        return url
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, True) if k != LOOP_PARAM])
    return urlunsplit(parts._replace(query=query))


def _toggle_loop(url: str) -> str:
    if url != _strip_loop(url):
        return _strip_loop(url)
    sep = "&" if urlsplit(url).query else "?"
    return f"{url}{sep}{LOOP_PARAM}=1"


_META_CHARSET = re.compile(rb"(<meta[^>]*charset\s*=\s*[\"']?)([\w-]+)", re.I)


def as_euc_kr(page: bytes) -> bytes:
    """A UTF-8 page re-encoded as EUC-KR (CP949) bytes, its meta charset saying so; what
    CP949 cannot write becomes a numeric character reference, as an EUC-KR site writes it."""
    text = page.decode("utf-8", errors="replace")
    out = text.encode("cp949", errors="xmlcharrefreplace")
    return _META_CHARSET.sub(rb"\1euc-kr", out)


def nested_page(depth: int) -> bytes:
    """A page of `depth` nested elements around one sentence."""
    return (
        b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>nested</title></head><body>"
        + b"<div>" * depth
        + "깊이 중첩된 문서입니다.".encode()
        + b"</div>" * depth
        + b"</body></html>"
    )


def huge_chunks(page: bytes, size: int) -> tuple[int, Iterable[bytes]]:
    """(length, pieces) of a page padded to `size` bytes with paragraphs before its </body>."""
    at = page.lower().rfind(b"</body")
    at = at if at >= 0 else len(page)
    head, tail = page[:at], page[at:]
    para = ("<p>" + "뉴스 본문과 무관한 채움 문단입니다. " * 20 + "</p>\n").encode()
    block = para * max(1, 65536 // len(para))
    n = max(0, (size - len(head) - len(tail)) // len(block))

    def pieces() -> Iterator[bytes]:
        yield head
        for _ in range(n):
            yield block
        yield tail

    return len(head) + n * len(block) + len(tail), pieces()


def fault_reply(plan: FaultPlan, rule: FaultRule, url: str, page: bytes) -> Reply:
    """The faulty answer `rule` gives `url` (whose real page is `page`)."""
    html = {"Content-Type": "text/html"}
    kind = rule.kind
    if kind == "5xx":
        status = int(rule.param("status", 0)) or _rng(plan, url, kind).choice((500, 502, 503, 504))
        return Reply(status, html, b"<html><body>server error</body></html>")
    if kind == "429":
        after = f"{rule.param('after', 2):g}"
        return Reply(429, {**html, "Retry-After": after}, b"<html><body>slow down</body></html>")
    if kind == "reset":
        return Reply(0, action="reset")
    if kind == "timeout":
        return Reply(0, action="hold", hold=rule.param("hold", 120))
    if kind in ("truncate", "truncate-nolength"):
        cut = int(len(page) * _rng(plan, url, kind).uniform(0.3, 0.8))
        if kind == "truncate":
            return Reply(200, html, page, length=len(page), cut=cut)
        return Reply(200, {**html, "Connection": "close"}, page[:cut], length=None)
    if kind == "euckr-as-utf8":
        return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, as_euc_kr(page))
    if kind == "utf8-as-euckr":
        return Reply(200, {"Content-Type": "text/html; charset=euc-kr"}, page)
    if kind == "empty":
        return Reply(200, html, b"")
    if kind == "redirect-loop":
        return Reply(302, {"Location": _toggle_loop(url)}, b"")
    if kind == "huge":
        length, chunks = huge_chunks(page, int(rule.param("mb", 50) * 1024 * 1024))
        nolength = rule.param("nolength", 0)
        headers = {**html, "Connection": "close"} if nolength else html
        return Reply(
            200, headers, length=None if nolength else length, action="stream", chunks=chunks
        )
    if kind == "garbage":
        rng = _rng(plan, url, kind)
        return Reply(200, html, rng.randbytes(int(rule.param("kb", 64) * 1024)))
    if kind == "nested":
        return Reply(200, html, nested_page(int(rule.param("depth", 100_000))))
    raise AssertionError(kind)


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up (a cancelled download, a timeout) is no server error."""

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            logger.debug("replay: %s hung up: %s", client_address, exc)
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class ReplayServer:
    """A loopback HTTP server over a ReplayStore; logs requests and can inject faults.

    Faults come two ways: `inject()` scripts the next answers for URLs containing a string (a
    test's precise fault), and a FaultPlan (`faults=`) gives seeded shares of the URLs one
    kind of fault each (a fault suite's, reproducible run to run). `log` holds every request
    with its arrival time and what it was answered; `faulted` counts the faulty answers served
    per URL.
    """

    def __init__(
        self,
        store: ReplayStore,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
    ) -> None:
        self.store = store
        self.plan = faults
        self.requests: list[str] = []  # original URLs asked for, in order
        self.log: list[Hit] = []
        self.faults: list[Fault] = []
        self.faulted: dict[str, tuple[str, int]] = {}  # url -> (fault kind, answers served)
        self._asked: dict[str, int] = defaultdict(int)  # plan-faultable url -> requests so far
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                reply = server.reply(unwrap(self.path))
                try:
                    server.send(self, reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (too large, timeout)

            def log_message(self, format: str, *args: object) -> None:
                logger.debug("replay: " + format, *args)

        self._httpd = _QuietServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server's base address, http://host:port (the port chosen when 0 was asked)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        """Starts serving in a daemon thread; returns the server, for chaining."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shuts the server down and closes its socket."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(
        self,
        url_part: str,
        status: int,
        headers: dict[str, str] | None = None,
        times: int = 1,
        body: bytes = b"",
        gate: threading.Event | None = None,
    ) -> None:
        """Answer the next `times` requests matching `url_part` with this status, headers and
        body; with `gate`, hold each of them until the gate is set (at most 120 s)."""
        with self._lock:
            self.faults.append(Fault(url_part, status, headers or {}, times, body, gate))

    def requested(self, url_part: str = "") -> list[str]:
        """The original URLs requested so far, in order, those containing `url_part`."""
        with self._lock:
            return [u for u in self.requests if url_part in u]

    def hits(self, url_part: str = "") -> list[Hit]:
        """What was answered so far (time, URL, status or fault kind), for the URLs containing
        `url_part`.
        """
        with self._lock:
            return [h for h in self.log if url_part in h.url]

    def answer(self, original: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for a URL (faults included; a dropped one answers 0)."""
        reply = self.reply(original)
        return reply.status, reply.headers, reply.body

    def reply(self, original: str) -> Reply:
        """The answer to one request: an injected fault first, then 404 for an unknown page, then
        the plan's fault for the URL, else the saved page (200, no charset).
        """
        at = time.monotonic()
        scripted = None
        with self._lock:
            self.requests.append(original)
            for fault in self.faults:
                if fault.times > 0 and fault.url_part in original:
                    fault.times -= 1
                    self.log.append(Hit(at, original, str(fault.status)))
                    scripted = fault
                    break
        if scripted is not None:
            if scripted.gate is not None:
                scripted.gate.wait(120)
            return Reply(scripted.status, scripted.headers, scripted.body)
        base = _strip_loop(original)
        saved = self.store.match(base)
        if saved is None:
            with self._lock:
                self.log.append(Hit(at, original, "404"))
            if original.endswith("/robots.txt"):
                return Reply(404, {"Content-Type": "text/plain"}, b"not found")
            return Reply(404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>")
        rule = self.plan.rule_for(base) if self.plan else None
        if rule is not None:
            with self._lock:
                n = self._asked[base]
                self._asked[base] = n + 1
                faulty = rule.repeat == 0 or n < rule.repeat
                if faulty:
                    served = self.faulted.get(base, (rule.kind, 0))[1]
                    self.faulted[base] = (rule.kind, served + 1)
                    self.log.append(Hit(at, original, rule.kind))
            if faulty:
                assert self.plan is not None
                return fault_reply(self.plan, rule, original, saved.read())
        with self._lock:
            self.log.append(Hit(at, original, "200"))
        # No charset: a saved page's own bytes decide (UTF-8 first, then CP949), as for a
        # server that sends none.
        return Reply(200, {"Content-Type": "text/html"}, saved.read())

    def send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        """Write a reply on the handler's connection, faults and all."""
        sock = handler.connection
        if reply.action == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST, no answer
            handler.close_connection = True
            return
        if reply.action == "hold":
            self._hold(sock, reply.hold)
            handler.close_connection = True
            return
        handler.send_response(reply.status)
        for k, v in reply.headers.items():
            handler.send_header(k, v)
        length = len(reply.body) if reply.length == -1 else reply.length
        if length is not None:
            handler.send_header("Content-Length", str(length))
        else:
            handler.close_connection = True  # the body ends when the connection does
        handler.end_headers()
        if reply.action == "stream":
            for piece in reply.chunks:
                if self._stopping.is_set():
                    break
                handler.wfile.write(piece)
        elif reply.cut is not None:
            handler.wfile.write(reply.body[: reply.cut])
            handler.close_connection = True
        else:
            handler.wfile.write(reply.body)

    def _hold(self, sock: socket.socket, seconds: float) -> None:
        """Answer nothing until the client hangs up, the server stops or `seconds` pass."""
        deadline = time.monotonic() + seconds
        sock.settimeout(0.2)
        while time.monotonic() < deadline and not self._stopping.is_set():
            try:
                if not sock.recv(4096):
                    return
            except TimeoutError:
                continue
            except OSError:
                return


def wrap(base: str, url: str) -> str:
    """The local server's address for a real URL."""
    parts = urlsplit(url)
    rest = parts.path or "/"
    if parts.query:
        rest += "?" + parts.query
    return f"{base}{PREFIX}{parts.scheme}/{parts.netloc}{quote(rest, safe='/?&=%:+,;@!$*~()')}"


def unwrap(path: str) -> str:
    """The real URL back out of a local server path."""
    if not path.startswith(PREFIX):
        return path
    scheme, _, rest = path[len(PREFIX) :].partition("/")
    return f"{scheme}://{rest}"


class ReplayMiddleware:
    """Downloader middleware: send requests to the replay server, hand back real URLs."""

    def __init__(self, base: str | None) -> None:
        self.base = base.rstrip("/") if base else None

    @classmethod
    def from_crawler(cls, crawler):
        """Reads REPLAY_URL; without it the middleware sends every request as it is."""
        return cls(crawler.settings.get("REPLAY_URL"))

    def process_request(self, request, spider=None):
        """Rewrites the request to the replay server's address for its URL (never through a proxy);
        None for one already rewritten.
        """
        # A request already sent here passes; a redirect's (real URL, old meta) goes round again.
        if not self.base or request.url.startswith(self.base + PREFIX):
            return None
        # The replay server is on loopback: never through a proxy (http_proxy in the
        # environment had Scrapy send the rewritten request to it, and every page failed).
        meta = {**request.meta, "replay_original": request.url, "proxy": None}
        meta.pop("_auth_proxy", None)
        headers = request.headers.copy()
        headers.pop(b"Proxy-Authorization", None)
        return request.replace(
            url=wrap(self.base, request.url), meta=meta, headers=headers, dont_filter=True
        )

    def process_response(self, request, response, spider=None):
        """Gives the response the original URL back, so spiders see the real addresses."""
        original = request.meta.get("replay_original")
        if original:
            return response.replace(url=original)
        return response


def load_replay(dirs: Iterable[str | Path]) -> ReplayStore:
    """One store holding the saved pages of every replay folder given (each with a urls.tsv)."""
    store = ReplayStore()
    for d in dirs:
        for k, saved in ReplayStore.from_dir(d)._pages.items():
            store._pages[k].extend(saved)
    return store
