"""URL canonicalisation: one key per article, whatever address it was reached by.

Naver serves one article under many shapes (`/mnews/article/OID/AID`, `/article/OID/AID`,
`read.naver?oid=&aid=`, sports and entertainment hosts); they all become
`https://n.news.naver.com/mnews/article/OID/AID`. Daum's copies become
`https://v.daum.net/v/<17 digits>`; Seoul Shinmun's mirrors and mobile hosts become
`https://www.seoul.co.kr/news/.../ID`. Any other URL keeps its identity but loses the
fragment, tracking parameters and a default port, and its host is lower-cased.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from; never part of an article's identity.
TRACKING_PARAMS = frozenset(
    {
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
        "fbclid", "gclid", "ref", "ref_src", "from", "cp", "wlog_tag3", "wlog_tag1", "outurl",
        "influxdiv", "sid", "sid1", "sid2", "mode", "mid", "lfrom", "rc", "ntype",
        "RIGHT_COMMENT_TOT", "m_view", "oid_section", "section",
    }
)  # fmt: skip

_NAVER_PATH = re.compile(r"/(?:mnews/)?(?:article|hotissue/article)/(\d{3})/(\d{10})\b")
_NAVER_HOSTS = re.compile(r"(^|\.)naver\.com$")
_DAUM_ID = re.compile(r"/v/(\d{17})\b")
_SEOUL_ARTICLE = re.compile(r"^/news/((?:[A-Za-z0-9_-]+/){1,3})(\d{4})/(\d{2})/(\d{2})/(\d{14})")


def naver_ids(url: str) -> tuple[str, str] | None:
    """(oid, aid) of any Naver article URL shape, or None when it is not one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not _NAVER_HOSTS.search(host):
        return None
    m = _NAVER_PATH.search(parts.path)
    if m:
        return m.group(1), m.group(2)
    q = dict(parse_qsl(parts.query))
    oid, aid = q.get("oid") or q.get("office_id"), q.get("aid") or q.get("article_id")
    if oid and aid and oid.isdigit() and aid.isdigit():
        return oid.zfill(3), aid.zfill(10)
    return None


def naver_article_url(oid: str, aid: str) -> str:
    """Naver News's own address of an article (n.news.naver.com), from its press (oid) and article
    (aid) ids.
    """
    return f"https://n.news.naver.com/mnews/article/{oid}/{aid}"


def daum_id(url: str) -> str | None:
    """The 17-digit article id in a Daum news URL (`/v/<id>`); None for another host or path."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not (host.endswith("daum.net")):
        return None
    m = _DAUM_ID.search(parts.path)
    return m.group(1) if m else None


def is_url(url: str) -> bool:
    """Whether `url` reads as an address: a host, and a numeric port if it names one."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for "host:02<"
    except ValueError:
        return False
    return bool(parts.hostname)


def canonical_url(url: str) -> str:
    """The one key under which an article is stored (see module docstring).

    A string urlsplit cannot read as a URL (a bad port, a broken IPv6 host) is returned as it
    is: there is nothing to canonicalise.
    """
    url = url.strip()
    try:
        return _canonical(url)
    except ValueError:
        return url


def _canonical(url: str) -> str:
    ids = naver_ids(url)
    if ids:
        return naver_article_url(*ids)
    did = daum_id(url)
    if did:
        return f"https://v.daum.net/v/{did}"
    parts = urlsplit(url)
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "").lower()
    if host.endswith("seoul.co.kr") and not host.startswith(("go.", "m.go.", "en.")):
        m = _SEOUL_ARTICLE.match(parts.path)
        if m:
            return f"https://www.seoul.co.kr/news/{m.group(1)}{m.group(2)}/{m.group(3)}/{m.group(4)}/{m.group(5)}"
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in TRACKING_PARAMS and not k.startswith("utm_")
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def with_params(url: str, **params: object) -> str:
    """`url` with these query parameters set (the others kept, in order; None drops one)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def host_of(url: str) -> str:
    """The URL's host name, lower-cased; "" when it has none."""
    return (urlsplit(url).hostname or "").lower()


_LIST_PATHS = ("/main/main.naver", "/main/home.naver", "/main/list.naver", "/main/list.nhn")


def page_kind(url: str) -> str:
    """`search`, `list` or `article`, from a URL's shape (for extract and reparse)."""
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path
    if host.startswith("search.") or path.rsplit("/", 1)[-1].startswith("search"):
        return "search"
    if host.endswith("search.naver.com") and "/api/" in path:  # the search page's loader
        return "search"
    if path in _LIST_PATHS and "aid=" not in parts.query:
        return "list"
    if host.endswith("yna.co.kr") and not path.startswith("/view/"):
        return "list"
    if host.endswith("daum.net") and "/v/" not in path:
        return "list"  # news.daum.net sections, entertain/sports lists, the list API
    if path.startswith(("/newsList/", "/section/", "/breakingnews")) or path in ("", "/"):
        return "list"
    return "article"
