"""A live progress line for `sosik crawl`: pages, items stored, dropped, errors, rate.

On a terminal the line is redrawn in place on stderr (carriage return) about twice a second,
and cleared before any log record is written so warnings never land in the middle of it. When
stderr is not a terminal (systemd, cron, a pipe) the same figures are written as a plain line
every SOSIK_PROGRESS_INTERVAL seconds (default 60), which reads well in a journal. Several
crawlers in one process (`sosik crawl all`) share one line. SOSIK_PROGRESS=0 turns it off.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

TTY_INTERVAL = 0.5
PLAIN_INTERVAL = 60.0
CLEAR = "\r\x1b[K"


def pages_fetched(stats: dict[str, Any]) -> int:
    """Pages the crawl fetched: Scrapy's responses less the robots.txt files (pure)."""
    responses = int(stats.get("downloader/response_count", 0))
    return max(0, responses - int(stats.get("robotstxt/response_count", 0)))


def figures(stats: dict[str, Any]) -> dict[str, int]:
    """The counters an operator watches, from Scrapy stats (pure)."""
    return {
        "pages": pages_fetched(stats),
        "stored": int(stats.get("store/inserted", 0)) + int(stats.get("store/updated", 0)),
        "dropped": sum(
            int(v) for k, v in stats.items() if "/dropped_" in k and isinstance(v, (int, float))
        ),
        "errors": int(stats.get("fetch/error", 0)) + int(stats.get("parse/error", 0)),
    }


def format_line(names: list[str], totals: dict[str, int], elapsed: float, tty: bool) -> str:
    """One progress line (pure): the TTY form is compact, the plain one key=value."""
    rate = totals["pages"] / elapsed if elapsed > 0 else 0.0
    who = "+".join(names) or "crawl"
    if tty:
        return (
            f"sosik {who}: {totals['pages']} pages · {totals['stored']} stored · "
            f"{totals['dropped']} dropped · {totals['errors']} errors · "
            f"{rate:.1f} pages/s · {int(elapsed)}s"
        )
    return (
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S} sosik progress {who}: "
        f"pages={totals['pages']} stored={totals['stored']} dropped={totals['dropped']} "
        f"errors={totals['errors']} rate={rate:.1f}/s elapsed={int(elapsed)}s"
    )


class _ClearLine(logging.Filter):
    """Clears the progress line before a log record is written to the same terminal."""

    def __init__(self, board: Board) -> None:
        super().__init__()
        self.board = board

    def filter(self, record: logging.LogRecord) -> bool:
        self.board.clear()
        return True


class Board:
    """The one progress line of a process, fed by every crawler's Progress extension."""

    def __init__(
        self,
        stream: TextIO,
        tty: bool,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = tty
        self.interval = interval
        self.clock = clock
        self.sources: list[Progress] = []
        self.started = clock()
        self.shown = False  # a TTY line is on screen, not yet ended by a newline
        self.loop: Any = None
        self._filter = _ClearLine(self)
        self._handlers: list[logging.Handler] = []

    def add(self, source: Progress) -> None:
        """Adds a crawl to the line; the first one (re)starts the clock and the ticking."""
        if not self.sources:
            self.started = self.clock()
            self._start()
        self.sources.append(source)

    def remove(self, source: Progress) -> None:
        """Takes a crawl off the line; the last one stops the ticking."""
        if source in self.sources:
            self.sources.remove(source)
        if not self.sources:
            self._stop()

    def line(self) -> str:
        """The progress text: spider names, summed pages/stored/dropped/errors, elapsed time."""
        totals = {"pages": 0, "stored": 0, "dropped": 0, "errors": 0}
        names = []
        for s in self.sources:
            names.append(s.name)
            for k, v in figures(s.stats()).items():
                totals[k] += v
        return format_line(names, totals, self.clock() - self.started, self.tty)

    def tick(self) -> None:
        """Writes the line (overwritten in place on a TTY, one line per tick otherwise); stops
        quietly if the stream is closed.
        """
        if not self.sources:
            return
        text = self.line()
        try:
            if self.tty:
                self.stream.write(CLEAR + text)
                self.shown = True
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed under us: progress is not worth a crash
            self._stop()

    def clear(self) -> None:
        """Erases a TTY line still on screen so a log line starts clean."""
        if self.shown:
            try:
                self.stream.write(CLEAR)
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self.shown = False

    def _start(self) -> None:
        from twisted.internet import task

        if self.tty:
            for h in logging.getLogger().handlers:
                if getattr(h, "stream", None) is self.stream:
                    h.addFilter(self._filter)
                    self._handlers.append(h)
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def _stop(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.loop = None
        self.clear()
        for h in self._handlers:
            h.removeFilter(self._filter)
        self._handlers = []


_boards: dict[int, Board] = {}


def board_for(stream: TextIO, tty: bool, interval: float) -> Board:
    """The process's one Board for this stream, made anew when the TTY mode changes: parallel crawls
    share one line.
    """
    b = _boards.get(id(stream))
    if b is None or b.tty != tty:
        b = _boards[id(stream)] = Board(stream, tty, interval)
    return b


class Progress:
    """Scrapy extension: registers the crawler's stats with the process's progress line."""

    def __init__(self, crawler: Any, board: Board) -> None:
        self.crawler = crawler
        self.board = board
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        """Off (NotConfigured) when SOSIK_PROGRESS is false; SOSIK_PROGRESS_TTY and
        SOSIK_PROGRESS_INTERVAL (seconds) override what stderr suggests.
        """
        s = crawler.settings
        if not s.getbool("SOSIK_PROGRESS", True):
            raise NotConfigured  # switched off; nothing to log
        stream = sys.stderr
        tty = s.getbool("SOSIK_PROGRESS_TTY", _isatty(stream))
        default = TTY_INTERVAL if tty else PLAIN_INTERVAL
        interval = s.getfloat("SOSIK_PROGRESS_INTERVAL", default) or default
        return cls(crawler, board_for(stream, tty, interval))

    @property
    def name(self) -> str:
        """The spider's name on the line; "crawl" before there is a spider."""
        spider = getattr(self.crawler, "spider", None)
        return spider.name if spider is not None else "crawl"

    def stats(self) -> dict[str, Any]:
        """A snapshot of the crawler's stats."""
        return dict(self.crawler.stats.get_stats())

    def spider_opened(self, spider: Any) -> None:
        """Puts this crawl on the shared progress line."""
        self.board.add(self)

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Takes this crawl off the shared progress line."""
        self.board.remove(self)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
