"""The progress line: figures from stats, the terminal form and the plain form."""

from __future__ import annotations

import io
import logging

from crawler.extensions.progress import CLEAR, Board, figures, format_line

STATS = {
    "downloader/response_count": 42,
    "store/inserted": 30,
    "store/updated": 2,
    "dedupe/dropped_url": 3,
    "validate/dropped_no_body": 1,
    "fetch/error": 1,
    "parse/error": 2,
    "start_time": "not a number",
}


class Source:
    def __init__(self, name: str, stats: dict) -> None:
        self.name = name
        self._stats = stats

    def stats(self) -> dict:
        return self._stats


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_figures_count_stored_dropped_and_errors():
    assert figures(STATS) == {"pages": 42, "stored": 32, "dropped": 4, "errors": 3}


def test_terminal_line_is_redrawn_in_place():
    out, clock = io.StringIO(), Clock()
    board = Board(out, tty=True, interval=0.5, clock=clock)
    board.sources.append(Source("naver", STATS))
    clock.t += 10
    board.tick()
    board.tick()
    text = out.getvalue()
    assert text.count(CLEAR) == 2 and "\n" not in text
    assert text.endswith(
        "sosik naver: 42 pages · 32 stored · 4 dropped · 3 errors · 4.2 pages/s · 10s"
    )
    board.clear()
    assert out.getvalue().endswith(CLEAR) and not board.shown


def test_plain_lines_when_not_a_terminal_and_crawlers_share_one_line():
    out, clock = io.StringIO(), Clock()
    board = Board(out, tty=False, interval=60, clock=clock)
    board.sources += [Source("naver", STATS), Source("daum", {"downloader/response_count": 8})]
    clock.t += 25
    board.tick()
    line = out.getvalue()
    assert line.endswith("\n") and "\r" not in line
    assert "sosik progress naver+daum: pages=50 stored=32 dropped=4 errors=3 rate=2.0/s" in line


def test_a_log_record_clears_the_line_first():
    out = io.StringIO()
    board = Board(out, tty=True, interval=0.5)
    board.sources.append(Source("naver", STATS))
    handler = logging.StreamHandler(out)
    handler.addFilter(board._filter)
    log = logging.getLogger("test.progress")
    log.addHandler(handler)
    try:
        board.tick()
        log.warning("a warning")
    finally:
        log.removeHandler(handler)
    assert out.getvalue().endswith(CLEAR + "a warning\n")


def test_format_line_at_time_zero_has_no_rate():
    line = format_line([], {"pages": 0, "stored": 0, "dropped": 0, "errors": 0}, 0.0, tty=True)
    assert line.startswith("sosik crawl: 0 pages") and "0.0 pages/s" in line
