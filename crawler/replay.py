"""Replay: serve saved pages on a loopback port and crawl them through the real Scrapy engine.

A replay folder holds `urls.tsv` (url TAB file, `#` comments) and the files it names. Requests
are rewritten to the local server by `ReplayMiddleware` after every other downloader middleware
has seen the real URL, and responses come back under the real URL, so spiders, parsers and items
never know. A request matches a saved page by host and path and every query parameter the saved
URL names; other request parameters are ignored, except paging ones, which must match (absent
means page 1). Anything else gets a 404, as a real server would.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

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


@dataclass(slots=True)
class Saved:
    params: dict[str, str]
    path: Path | None = None
    body: bytes | None = None

    def read(self) -> bytes:
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
        self._pages[_key(url)].append(Saved(_params(url), path, body))

    def __len__(self) -> int:
        return sum(len(v) for v in self._pages.values())

    def match(self, url: str) -> Saved | None:
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


class ReplayServer:
    """A loopback HTTP server over a ReplayStore; counts requests and can inject faults."""

    def __init__(self, store: ReplayStore, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = store
        self.requests: list[str] = []  # original URLs asked for, in order
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                original = unwrap(self.path)
                status, headers, body = server.answer(original)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                logger.debug("replay: " + format, *args)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
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
    ) -> None:
        with self._lock:
            self.faults.append(Fault(url_part, status, headers or {}, times, body))

    def requested(self, url_part: str = "") -> list[str]:
        with self._lock:
            return [u for u in self.requests if url_part in u]

    def answer(self, original: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(original)
            for fault in self.faults:
                if fault.times > 0 and fault.url_part in original:
                    fault.times -= 1
                    return fault.status, fault.headers, fault.body
        if original.endswith("/robots.txt"):
            saved = self.store.match(original)
            if saved is None:
                return 404, {"Content-Type": "text/plain"}, b"not found"
        saved = self.store.match(original)
        if saved is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"
        # No charset: a saved page's own bytes decide (UTF-8 first, then CP949), as for a
        # server that sends none.
        return 200, {"Content-Type": "text/html"}, saved.read()


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
    def from_crawler(cls, crawler):  # noqa: ANN001, ANN206 - Scrapy's factory
        return cls(crawler.settings.get("REPLAY_URL"))

    def process_request(self, request, spider=None):  # noqa: ANN001, ANN201
        if not self.base or "replay_original" in request.meta:
            return None
        meta = {**request.meta, "replay_original": request.url}
        return request.replace(url=wrap(self.base, request.url), meta=meta, dont_filter=True)

    def process_response(self, request, response, spider=None):  # noqa: ANN001, ANN201
        original = request.meta.get("replay_original")
        if original:
            return response.replace(url=original)
        return response


def load_replay(dirs: Iterable[str | Path]) -> ReplayStore:
    store = ReplayStore()
    for d in dirs:
        for k, saved in ReplayStore.from_dir(d)._pages.items():
            store._pages[k].extend(saved)
    return store
