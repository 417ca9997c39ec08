"""A synthetic replay site for the crawl benchmarks: real corpus pages under many distinct URLs.

Naver section list pages (the corpus's classic `list_body` page, 20 links each, one set of
pages per day) link to article URLs of every corpus article page's own shape, each with a new
article id. Every URL is served a distinct article, so nothing is a duplicate by accident:

- story: the corpus page with its Hangul words shifted through the syllable block by a per-story
  offset (words carrying dates, bylines, labels and the publisher's name are left alone, so
  every parser reads every field as on the original; checked at start-up). Different offsets
  give texts as unrelated as two stories (SimHash distance ~32), so the store's near-duplicate
  clustering and batch fast path see what a real crawl gives them.
- per URL: the page's id replaced by the new one wherever it occurs (og:url, canonical, links:
  the canonical URL differs) and a marker in the title and the first paragraph replaced by the
  item number (the content hash and the headline key differ even between two URLs of one story).

With `stories` ≥ the number of article URLs every article is its own story; with fewer (the
100k-page memory run), each story is served under several URLs that differ only by that number.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from crawler.domain.dates import KST
from crawler.domain.keys import with_keys
from crawler.domain.urls import canonical_url
from crawler.parsers import Page
from crawler.parsers.page import decode_html
from tests.corpus import corpus_dir, corpus_pages, extract_article

LIST_FILE = "naver-list/naver_list_sid100_sid2_267_2022.html"
LIST_URL = "https://news.naver.com/main/main.naver"
SID1, SID2 = 100, "267"
LINKS_PER_LIST = 20
FIRST_DAY = date(2022, 12, 1)
MARK = "QZXMARKQZX"
FETCHED = datetime(2026, 1, 1, tzinfo=KST)
_HANGUL = re.compile(r"[가-힣]+")
# Hangul runs that are left alone: they carry dates, bylines, labels a parser or the cleaning
# rules key on. A run equal to one of WHOLE, or containing one of KEEP, keeps its letters.
_KEEP = (
    "기자",
    "특파원",
    "오전",
    "오후",
    "입력",
    "수정",
    "최종",
    "등록",
    "승인",
    "송고",
    "업데이트",
    "기사",
    "사진",
    "무단",
    "배포",
    "전재",
    "저작권",
    "편집",
    "앵커",
    "제공",
    "출처",
)
_WHOLE = frozenset("년 월 일 시 분 초 전 후".split())
_ID = re.compile(r"\d{6,}")


def shift(text: str, offset: int, keep: tuple[str, ...]) -> str:
    """Every Hangul word not kept, its syllables moved `offset` places in the block."""
    return Shifter(text, keep).story(offset)


class Shifter:
    """A page cut once into kept text and the words to shift; a story per offset is then
    one str.translate over all those words at once (a few ms for a 300 KB page)."""

    def __init__(self, text: str, keep: tuple[str, ...]) -> None:
        self.literals: list[str] = []
        runs: list[str] = []
        pos = 0
        for m in _HANGUL.finditer(text):
            run = m.group(0)
            if run in _WHOLE or any(k in run for k in keep):
                continue
            self.literals.append(text[pos : m.start()])
            runs.append(run)
            pos = m.end()
        self.literals.append(text[pos:])
        self.runs = "\x00".join(runs)

    def story(self, offset: int) -> str:
        table = {c: 0xAC00 + (c - 0xAC00 + offset) % 11172 for c in range(0xAC00, 0xD7A4)}
        shifted = self.runs.translate(table).split("\x00") if self.runs else []
        out = [self.literals[0]]
        for run, lit in zip(shifted, self.literals[1:], strict=True):
            out += (run, lit)
        return "".join(out)


@dataclass
class Template:
    """One corpus article page, marked, with its stories."""

    url: str
    article_id: str  # the longest digit run of its URL: replaced per served URL
    stories: list[str]
    aliases: tuple[str, ...] = ()  # ids in the page's other URLs (publisher original, short link)

    def url_for(self, n: int) -> str:
        return self.url.replace(self.article_id, id_for(self.article_id, n))

    def page(self, story: str, n: int) -> str:
        for token in (self.article_id, *self.aliases):
            story = story.replace(token, id_for(token, n))
        return story


def id_for(token: str, n: int) -> str:
    """`token` with its last 7 characters replaced by the number `n`: a date-like prefix
    stays (Daum and Chosun ids start with one), the length too where it allows."""
    keep = max(len(token) - 7, 0)
    return token[:keep] + f"{n:07d}"[-7:]


def alias_tokens(page_text: str, urls: list[str], canonical: str) -> tuple[str, ...]:
    """The id in each of an article's other URLs: its longest run of 5+ letters and digits
    holding a digit that also occurs in the page (Naver's 기사원문 link, Daum's short alias)."""
    out = []
    for u in urls:
        if u == canonical or canonical_url(u) == canonical:
            continue
        runs = [
            r
            for r in re.findall(r"[A-Za-z0-9]{5,}", u)
            if any(c.isdigit() for c in r) and r in page_text
        ]
        if runs:
            out.append(max(runs, key=len))
    return tuple(dict.fromkeys(out))


def _mark(text: str, gold: dict) -> str:
    """The marker after the title's last two words (every copy of them, in every escaping;
    at the end, where no bracket tag can swallow it) and before the first paragraph."""
    words = gold["title"].split()
    if len(words) >= 2:
        for sep in (" ", "\xa0"):
            pair = words[-2] + sep + words[-1]
            forms = {
                pair,
                html.escape(pair, quote=True),
                pair.replace("'", "&#39;"),
                pair.replace('"', "&quot;"),
                pair.replace("'", "&#039;"),
            }
            for form in forms:
                text = text.replace(form, f"{form} {MARK}")
    for para in gold["body"].split("\n\n"):
        head = para[:12]
        if len(head) >= 8 and head in text:
            return text.replace(head, f"{MARK} {head}")
    return text


class SyntheticSite:
    """List pages and article pages; `match(url)` is what ReplayServer asks (ReplayStore's API)."""

    def __init__(self, articles: int, stories: int | None = None) -> None:
        pages = [
            p for p in corpus_pages("article") if p.path.with_suffix(".expected.json").exists()
        ]
        self.articles = articles
        per = max(1, -(-(stories or articles) // len(pages)))
        self.templates: list[Template] = []
        for p in pages:
            gold = p.expected
            text = _mark(decode_html(p.path.read_bytes())[0], gold)
            keep = (*_KEEP, gold["publisher"])
            ident = max(_ID.findall(p.url), key=len)
            shifter = Shifter(text, keep)
            stories_ = [shifter.story(101 + 389 * k) for k in range(per)]
            item = extract_article(Page(p.url, p.path.read_bytes(), fetched_at=FETCHED))
            aliases = alias_tokens(text, item.all_urls(), item.url)
            self.templates.append(Template(p.url, ident, stories_, aliases))
        self.by_key: dict[tuple[str, str, str], int] = {}
        for n in range(1, articles + 1):
            self.by_key[_key(self.article_url(n))] = n
        self.list_template = self._list_template()
        self.served = 0  # article pages served, for the memory sampler

    # -- the site's shape --------------------------------------------------------------------
    @property
    def days(self) -> int:
        return -(-self.articles // (LINKS_PER_LIST * self.pages_per_day))

    @property
    def pages_per_day(self) -> int:
        return min(500, -(-self.articles // LINKS_PER_LIST))  # the spider's MAX_PAGES is 500

    def day_range(self) -> tuple[date, date]:
        return FIRST_DAY, FIRST_DAY + timedelta(days=self.days - 1)

    def template_of(self, n: int) -> Template:
        return self.templates[n % len(self.templates)]

    def article_url(self, n: int) -> str:
        return self.template_of(n).url_for(n)

    def article(self, n: int) -> bytes:
        t = self.template_of(n)
        story = t.stories[(n // len(self.templates)) % len(t.stories)]
        return t.page(story, n).replace(MARK, str(n)).encode("utf-8")

    # -- list pages ----------------------------------------------------------------------------
    def _list_template(self) -> str:
        path = corpus_dir() / LIST_FILE
        gold = __import__("json").loads(path.with_suffix(".expected.json").read_text("utf-8"))
        text = decode_html(path.read_bytes())[0]
        for i, link in enumerate(gold["links"]):
            for form in (html.escape(link, quote=True), link):
                text = text.replace(f'"{form}"', f'"{{L{i}}}"')
        self._n_links = len(gold["links"])
        return text

    def list_page(self, day_index: int, page: int) -> bytes:
        page = min(page, self.pages_per_day)  # past the end Naver repeats the last page
        first = (day_index * self.pages_per_day + page - 1) * LINKS_PER_LIST + 1
        text = self.list_template
        for i in range(self._n_links):
            n = first + i
            url = self.article_url(n) if i < LINKS_PER_LIST and n <= self.articles else "#"
            text = text.replace(f'"{{L{i}}}"', f'"{html.escape(url, quote=True)}"')
        return text.encode("utf-8")

    # -- ReplayStore's API ---------------------------------------------------------------------
    def match(self, url: str) -> _Saved | None:
        parts = urlsplit(url)
        if parts.path == "/robots.txt":
            return None
        if f"{parts.scheme}://{parts.netloc}{parts.path}" == LIST_URL:
            q = dict(parse_qsl(parts.query))
            day = datetime.strptime(q.get("date", FIRST_DAY.strftime("%Y%m%d")), "%Y%m%d").date()
            d = (day - FIRST_DAY).days
            if not 0 <= d < self.days:
                return None
            return _Saved(self.list_page(d, int(q.get("page", 1))))
        n = self.by_key.get(_key(url))
        if n is None:
            return None
        self.served += 1
        return _Saved(self.article(n))

    def __len__(self) -> int:
        return self.articles

    def crawled_urls(self) -> list[str]:
        """Every URL a crawl of the whole site fetches, in the order the spider finds them:
        each day's list pages (one past the last, which repeats it and ends the paging) and
        the articles they link to."""
        from urllib.parse import urlencode

        out = []
        for d in range(self.days):
            day = (FIRST_DAY + timedelta(days=d)).strftime("%Y%m%d")
            for page in range(1, self.pages_per_day + 2):
                q = {"mode": "LS2D", "mid": "shm", "sid1": SID1, "sid2": SID2, "date": day}
                if page > 1:
                    q["page"] = page
                out.append(f"{LIST_URL}?{urlencode(q)}")
                if page <= self.pages_per_day:
                    first = (d * self.pages_per_day + page - 1) * LINKS_PER_LIST + 1
                    last = min(first + LINKS_PER_LIST, self.articles + 1)
                    out += [self.article_url(n) for n in range(first, last)]
        return out

    # -- checks --------------------------------------------------------------------------------
    def check(self, sample: int = 3) -> list[str]:
        """Problems found parsing a few URLs of every template (empty list: none)."""
        problems = []
        fetched = FETCHED
        owner: dict[str, int] = {}
        for i in range(len(self.templates)):
            seen_urls, seen_titles, seen_bodies = set(), set(), set()
            for k in range(sample):
                n = (k + 1) * len(self.templates) + i  # URLs of template i
                if n > self.articles:
                    break
                url = self.article_url(n)
                try:
                    item = extract_article(Page(url, self.article(n), fetched_at=fetched))
                except Exception as e:
                    problems.append(f"{url}: {e}")
                    continue
                with_keys(item)
                if str(n) not in (item.headline_key or "") or str(n) not in item.body:
                    problems.append(f"{url}: item number missing from headline key or body")
                for u in item.all_urls():
                    if owner.setdefault(u, n) != n:
                        problems.append(f"{url}: shares {u} with item {owner[u]}")
                seen_urls.add(item.url)
                seen_titles.add(item.title)
                seen_bodies.add(item.body)
            if len(seen_urls) < len(seen_bodies) or len(seen_titles) < len(seen_bodies):
                problems.append(f"template {self.templates[i].url}: URLs or titles repeat")
        return problems


@dataclass
class _Saved:
    body: bytes

    def read(self) -> bytes:
        return self.body


def _key(url: str) -> tuple[str, str, str]:
    u = canonical_url(url)
    parts = urlsplit(u)
    return (parts.hostname or "", parts.path, parts.query)


# -- running a replayed crawl ------------------------------------------------------------------
@dataclass
class CrawlRun:
    code: int
    wall: float  # seconds, process start to exit
    stats: dict[str, float]  # Scrapy's closing stats (numbers only)
    stderr: str
    samples: list[tuple[float, int, int]]  # (seconds, article pages served, RSS bytes)


_STAT = re.compile(r"'([\w/.-]+)':\s*([0-9.]+)[,}]")


def closing_stats(log: str) -> dict[str, float]:
    """The numeric entries of the last 'Dumping Scrapy stats' block of a Scrapy log."""
    i = log.rfind("Dumping Scrapy stats")
    if i < 0:
        return {}
    block = log[i : log.find("}", i) + 1]
    return {k: float(v) for k, v in _STAT.findall(block)}


def rss_of(pid: int) -> int:
    """Resident set size in bytes: psutil if installed, else /proc/PID/status VmRSS."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss
    except ImportError:
        pass
    for line in open(f"/proc/{pid}/status", encoding="ascii"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def crawl(
    site: SyntheticSite,
    db_url: str,
    *,
    sample_every: float = 0.0,
    extra: list[str] | None = None,
    timeout: float = 3600,
) -> CrawlRun:
    """`sosik crawl naver_section` over the whole site, replayed, politeness off, in a child
    process (the replay server runs in this one, as a real site would be elsewhere)."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    from crawler.middlewares.replay import ReplayServer

    first, last = site.day_range()
    with ReplayServer(site) as server:  # type: ignore[arg-type] - same match() API
        cmd = [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "naver_section",
            "--section",
            str(SID1),
            "--sub",
            SID2,
            "--layout",  # the synthetic site serves the legacy main.naver lists
            "legacy",
            "--since",
            first.isoformat(),
            "--until",
            last.isoformat(),
            "--log-level",
            "INFO",
            "-s",
            f"REPLAY_URL={server.url}",
            "-s",
            "ROBOTSTXT_OBEY=0",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
            "-s",
            "CONCURRENT_REQUESTS_PER_DOMAIN=16",
            "-s",
            "LOGSTATS_INTERVAL=600",
            *(extra or []),
        ]
        env = {**os.environ, "DATABASE_URL": db_url, "SOSIK_PROGRESS": "0"}
        samples: list[tuple[float, int, int]] = []
        with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=str(_repo())
            )
            try:
                while proc.poll() is None:
                    if sample_every:
                        try:
                            samples.append(
                                (time.perf_counter() - t0, site.served, rss_of(proc.pid))
                            )
                        except (OSError, ProcessLookupError):
                            pass
                    time.sleep(sample_every or 0.2)
                    if time.perf_counter() - t0 > timeout:
                        proc.kill()
                        break
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            wall = time.perf_counter() - t0
            err.seek(0)
            log = err.read()
    return CrawlRun(proc.returncode, wall, closing_stats(log), log, samples)


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
