"""Korean date strings into Asia/Seoul-aware datetimes.

Portals print dates in many forms: "2024.08.29. 오전 7:45", "입력 2024-08-29 07:45",
"기사입력 2017.05.12. 오후 02:09", "2010. 01. 01. 09:21", "3시간 전", "5일 전", "어제",
ISO strings with or without an offset ("+0900" too), Daum's "20100101092104" and Yonhap's
"12-01 23:26" without a year. Everything naive is Korean time. Pure functions: the crawl time
comes in as an argument, never from the clock.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")

# "입력", "기사입력", "수정", "최종수정", "등록", "승인", "Updated" and friends that precede a date.
_LABEL = re.compile(
    r"^\s*(?:기사\s*)?(?:입력|수정|최종\s*수정|등록|승인|발행|업데이트|송고|게재|"
    r"published|updated|posted|modified)\s*[:：]?\s*",
    re.I,
)
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?"
)
# 2024.08.29. 오전 7:45 / 2010. 01. 01. 09:21 / 2026.01.29 18:40 / 2024/08/29 07:45 / 2024년 8월 29일 오후 3시 5분
_YMD = re.compile(
    r"(\d{4})\s*[.\-/년]\s*(\d{1,2})\s*[.\-/월]\s*(\d{1,2})\s*[.일]?\s*"
    r"(?:\([월화수목금토일]\)\s*)?"
    r"(?:(오전|오후|AM|PM|am|pm)?\s*(\d{1,2})\s*[:시]\s*(\d{1,2})?\s*분?(?::(\d{2}))?\s*(오전|오후|AM|PM|am|pm)?)?"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-./](\d{1,2})\.?\s+(\d{1,2}):(\d{2})$")
_RELATIVE = re.compile(r"(\d+)\s*(초|분|시간|일|주|개월|달|년)\s*전")
_RELATIVE_UNIT = {
    "초": timedelta(seconds=1),
    "분": timedelta(minutes=1),
    "시간": timedelta(hours=1),
    "일": timedelta(days=1),
    "주": timedelta(weeks=1),
}


def to_kst(dt: datetime) -> datetime:
    """An aware datetime in KST; a naive one is taken to be KST already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=KST)
    return dt.astimezone(KST)


def _hour(h: int, ampm: str | None) -> int:
    if not ampm:
        return h
    pm = ampm in ("오후", "PM", "pm")
    if pm and h < 12:
        return h + 12
    if not pm and h == 12:
        return 0
    return h


def _months_ago(now: datetime, n: int) -> datetime:
    y, m = divmod(now.year * 12 + now.month - 1 - n, 12)
    day = min(now.day, 28)
    return now.replace(year=y, month=m + 1, day=day)


def parse_datetime(text: str | None, now: datetime | None = None) -> datetime | None:
    """Parse one date string as a portal prints it; None when it holds no date.

    `now` resolves relative forms ("3시간 전", "어제", a month-day without a year); without it
    those return None rather than guess from the clock. A string of the right shape whose
    fields are out of range (month 13, hour 25, "99999년 전") holds no date either.
    """
    try:
        return _parse_datetime(text, now)
    except (ValueError, OverflowError):
        return None


def _parse_datetime(text: str | None, now: datetime | None) -> datetime | None:
    if not text:
        return None
    s = " ".join(text.split())
    s = _LABEL.sub("", s)
    if not s:
        return None
    m = _ISO.search(s)
    if m:
        y, mo, d, h, mi, sec, tz = m.groups()
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0))
        if tz:
            if tz == "Z":
                return dt.replace(tzinfo=UTC).astimezone(KST)
            tz = tz.replace(":", "")
            sign = 1 if tz[0] == "+" else -1
            off = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
            return (dt - off).replace(tzinfo=UTC).astimezone(KST)
        return dt.replace(tzinfo=KST)
    m = _COMPACT.match(s)
    if m:
        y, mo, d, h, mi, sec = (int(g or 0) for g in m.groups())
        return datetime(y, mo, d, h, mi, sec, tzinfo=KST)
    m = _YMD.search(s)
    if m:
        y, mo, d, ampm, h, mi, sec, ampm2 = m.groups()
        if h is None:
            return datetime(int(y), int(mo), int(d), tzinfo=KST)
        hour = _hour(int(h), ampm or ampm2)
        return datetime(int(y), int(mo), int(d), hour, int(mi or 0), int(sec or 0), tzinfo=KST)
    if now is None:
        return None
    now = to_kst(now)
    if s.startswith("방금"):
        return now
    m = _RELATIVE.search(s)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if unit in ("개월", "달"):
            return _months_ago(now, n)
        if unit == "년":
            return _months_ago(now, 12 * n)
        return now - _RELATIVE_UNIT[unit] * n
    if s.startswith("어제"):
        return now - timedelta(days=1)
    if s.startswith("그제") or s.startswith("그저께"):
        return now - timedelta(days=2)
    m = _MONTH_DAY.match(s)
    if m:
        mo, d, h, mi = (int(g) for g in m.groups())
        dt = datetime(now.year, mo, d, h, mi, tzinfo=KST)
        # a list page shows the newest items first; a month ahead of now is last year's
        if dt - now > timedelta(days=31):
            dt = dt.replace(year=now.year - 1)
        return dt
    return None


def parse_date_arg(text: str) -> date:
    """A command-line date: YYYY-MM-DD or YYYYMMDD or YYYY.MM.DD."""
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) != 8:
        raise ValueError(f"not a date (want YYYY-MM-DD): {text!r}")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
