"""What Korean news pages share, whatever the site: reporter names, datelines, outlet names, dates.

base.py reads pages (decoding, DOM, meta, JSON-LD); this module knows how Korean newsrooms
write: "홍길동 기자" bylines, the wire dateline "(포항=연합뉴스) 임상현 기자 =" that Yonhap made
standard and portals and papers carry, the web brands papers go by ("조선닷컴") and hang on
their titles ("… - 매일경제"), and which of a page's declared dates count. Every parser takes
these from here, never from another parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml import etree

from crawler.domain.dates import parse_datetime
from crawler.domain.text import norm
from crawler.parsers.dom import first, first_meta, ld_persons, meta, text_of
from crawler.parsers.page import Page

# Ad slots a Korean CMS (Hankook Ilbo's) leaves in article HTML it ships as JSON ("$$ARTICLEAD$$").
AD_SLOT = re.compile(r"\$\$[A-Z0-9_]+\$\$")


# --- names and bylines ------------------------------------------------------------------------

NAME = r"[가-힣]{2,4}"  # a Korean personal name: two to four syllables
EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"

# Two readers of reporter names, on purpose not one: `byline_names` reads a byline element, where
# anything but names means "no author" (GOLD.md); `reporter_names` finds "홍길동 기자" anywhere in
# free text, where other words around the names are normal. Their role words differ with them:
# the byline reader strips what may follow a name in a byline box, the text reader needs a role
# to know a name is one (and so has the longer list, and a stop list of words that stand before
# "기자" without being names).

_ROLE_WORDS = r"(?:선임|수석|전문|객원|인턴|사진|영상)?\s*(?:기자|특파원)|대기자"
_BYLINE_ROLE = re.compile(rf"\s*(?:{_ROLE_WORDS})\b.*$")
_PERSON = re.compile(rf"^{NAME}$")
_EMAIL = re.compile(EMAIL)
_NAME_SPLIT = re.compile(r"[\s·,]+")


def byline_names(text: str) -> list[str]:
    """Person names out of a byline element's text ("이근홍", "임형섭·고동욱 기자").

    A byline that holds anything but Korean names (a programme title such as "CBS 김현정의
    뉴스쇼", an outlet) gives [], as GOLD.md wants, rather than a made-up author.
    """
    s = _EMAIL.sub(" ", norm(text))
    s = re.sub(r"\s*외\s*\d+\s*명.*$", "", s)  # "박준석 기자 외 1명": the visible list abbreviates
    s = re.sub(r"^[^=]{1,20}=\s*", "", s)  # "스포츠조선=선수민 기자"
    s = _BYLINE_ROLE.sub("", s).strip(" ,·/()[]")
    names = [n for n in _NAME_SPLIT.split(s) if n]
    if names and all(_PERSON.match(n) for n in names):
        return names
    return []


_ROLE = r"(?:선임|수석|객원|전문|인턴|편집)?\s*(?:기자|특파원|논설위원|기자단)(?![가-힣])"
# words that stand before "기자" without being a name ("해당 기자의", "구독 많은 기자")
_NOT_NAMES = frozenset({"해당", "많은", "담당", "다른", "전체", "모든", "현장", "취재", "사진", "영상",
                        "수습", "구독", "관련", "주요", "이번", "우리", "소속", "출입", "일선", "본지",
                        "동료", "선배", "후배", "전직", "기자", "추천", "인기", "응원"})  # fmt: skip
_REPORTER = re.compile(rf"(?<![가-힣])({NAME})\s*{_ROLE}")


def reporter_names(text: str | None) -> list[str]:
    """Names written as "홍길동 기자" in a byline text."""
    found = (n for n in _REPORTER.findall(norm(text)) if n not in _NOT_NAMES)
    return list(dict.fromkeys(found))


def ld_person_names(ld: dict[str, Any] | None, outlet_words: tuple[str, ...]) -> list[str]:
    """JSON-LD author names that are people: organisations and the outlet itself dropped."""
    if not ld:
        return []
    out = []
    for name in ld_persons(ld.get("author")):
        if any(w in name for w in outlet_words):
            continue
        out.extend(byline_names(name))
    return out


# --- datelines --------------------------------------------------------------------------------

# Two dateline readers as well, each tuned on its own pages. `dateline_authors` (portal copies of
# wire stories) wants the wire format exactly, with "=" or a closing bracket after the role, and
# gives every name of a shared dateline. `dateline_reporter` (the generic parser, any site) also
# takes a credit with no "=" after it ("(서울=뉴스1) 홍길동 기자 정부는") but gives one name only.

# (포항=연합뉴스) 임상현 기자 = / 【서울=뉴시스】이근홍 기자 = / (서울=연합뉴스) 임형섭 고동욱 기자 =
_DATELINE_OPEN = re.compile(
    r"^\s*[(\[【<]\s*[^()\[\]【】<>=]{1,20}=\s*[^()\[\]【】<>]{1,20}[)\]】>]\s*"
    rf"((?:[가-힣]{{2,4}}\s*[·,]?\s*)+?)\s*(?:{_ROLE_WORDS})\s*="
)
# [헤럴드경제=한지숙 기자] / [스포티비뉴스=유현태 기자]
_DATELINE_BRACKET = re.compile(
    r"^\s*[\[【(]\s*[^()\[\]【】=]{1,20}=\s*"
    rf"((?:[가-힣]{{2,4}}\s*[·,]?\s*)+?)\s*(?:{_ROLE_WORDS})\s*[\]】)]"
)


def dateline_authors(first_paragraph: str) -> list[str]:
    """Reporter names from a dateline opening the text; [] when it opens otherwise.

    GOLD.md takes the authors from the dateline when a page has no byline element (both
    Yonhap stories on Daum). Only the very start of the first paragraph is read, so a
    reporter quoted later in the text is never taken for the author.
    """
    head = first_paragraph[:80]
    m = _DATELINE_OPEN.match(head) or _DATELINE_BRACKET.match(head)
    if not m:
        return []
    return [n for n in _NAME_SPLIT.split(m.group(1)) if n]


# the dateline credit that opens a wire story: "(포항=연합뉴스) 임상현 기자 =", "[헤럴드경제=한지숙 기자]"
_DATELINE_LOOSE = re.compile(
    rf"^\s*[\[(【]?[^\])】=]{{1,20}}=\s*(?:[^\])】\s]{{1,12}}\s*)?[\])】]?\s*({NAME})\s*{_ROLE}"
)


def dateline_reporter(first_paragraph: str) -> list[str]:
    """The one reporter a dateline credit opening the text names; [] when none."""
    m = _DATELINE_LOOSE.match(first_paragraph)
    if m and m.group(1) not in _NOT_NAMES:
        return [m.group(1)]
    return []


# --- outlets ----------------------------------------------------------------------------------

# Web brands and English names -> the newspaper's Korean name, as GOLD.md wants the publisher.
# Keys are lower-case without spaces (see brand_key).
PUBLISHER_NAMES: dict[str, str] = {
    "조선닷컴": "조선일보", "chosun": "조선일보", "chosun.com": "조선일보", "chosunilbo": "조선일보",
    "동아닷컴": "동아일보", "donga": "동아일보", "donga.com": "동아일보",
    "joongang": "중앙일보", "joongangilbo": "중앙일보", "joins": "중앙일보",
    "한경닷컴": "한국경제", "hankyung": "한국경제", "hankyung.com": "한국경제",
    "kbsworld": "KBS", "kbsworldradio": "KBS", "kbs뉴스": "KBS", "kbsnews": "KBS",
    "mbc뉴스": "MBC", "imbc": "MBC", "mbcnews": "MBC", "sbs뉴스": "SBS", "sbsnews": "SBS",
    "jtbc뉴스": "JTBC", "jtbcnews": "JTBC", "ytn": "YTN",
    "yonhapnews": "연합뉴스", "yna": "연합뉴스", "hankookilbo": "한국일보", "hankookilbo.com": "한국일보",
    "매경": "매일경제", "mk": "매일경제", "maeilbusinessnewspaper": "매일경제",
    "hani": "한겨레", "한겨레신문": "한겨레", "khan": "경향신문", "seoulshinmun": "서울신문",
}  # fmt: skip


def brand_key(name: str) -> str:
    """A brand name as PUBLISHER_NAMES keys it: no spaces, lower-case, no leading '@'."""
    return re.sub(r"\s+", "", name).lower().lstrip("@")


def korean_publisher(name: str | None) -> str | None:
    """The newspaper's own Korean name for a site or brand name (조선닷컴 -> 조선일보)."""
    name = norm(name)
    if not name:
        return None
    return PUBLISHER_NAMES.get(brand_key(name), name)


# --- headlines --------------------------------------------------------------------------------

# Headline candidates: headings, and the title-ish boxes some sites use instead of <h1>. A scan of
# the whole body: the generic parser's way, and the last resort of a site parser whose own
# headline selector found nothing.
_HEADINGS = etree.XPath(
    "//body//*[self::h1 or self::h2 or self::h3 or self::h4 or contains(@class,'title') "
    "or contains(@class,'headline') or contains(@class,'tit') or contains(@id,'title')]"
)


def strip_site_name(title: str, names: list[str]) -> str:
    """Drop a site name from either end of a declared title ("… - 매일경제", "대전일보 모바일 :: …")."""
    t = norm(title)
    for n in {norm(x) for x in names if x}:
        if not n or n == t:
            continue
        e = re.escape(n)
        t = re.sub(
            rf"\s*(?:[-|:ㅣ·]+|::)\s*(?:[^-|:ㅣ]{{1,12}}\s*[ㅣ|>]\s*)?{e}(?:\s*[-|>:].{{0,30}})?\s*$",
            "",
            t,
        )
        t = re.sub(rf"^\s*{e}[^:|ㅣ\-]{{0,12}}(?:::|[|ㅣ:\-])\s*", "", t)
    return t.strip() or norm(title)


def title_of(page: Page, metas: dict[str, str], ld: dict[str, Any], names: list[str]) -> str:
    """The headline as displayed: the longest heading that the declared title contains."""
    declared = [
        norm(x)
        for x in (
            first_meta(metas, "og:title"),
            ld.get("headline") if isinstance(ld.get("headline"), str) else None,
            first_meta(metas, "twitter:title", "title", "headline"),
            text_of(first(page.tree.iter("title"))),
        )
        if x
    ]
    stripped = [strip_site_name(d, names) for d in declared]
    best = ""
    for h in _HEADINGS(page.tree):
        text = text_of(h)
        if len(text) < 4 or len(text) <= len(best) or len(text) > 300:
            continue
        for d, s in zip(declared, stripped, strict=True):
            if text in d and len(text) >= 0.6 * len(s):
                best = text
                break
    return best or (stripped[0] if stripped else "")


# --- dates ------------------------------------------------------------------------------------


def first_date(*values: Any, now: datetime | None = None) -> datetime | None:
    """The first of `values` (meta contents, JSON-LD or script fields) that reads as a date.

    Anything but a string (a missing key, a number, an object) is passed over; `now` resolves
    relative forms, as in crawler.domain.dates.parse_datetime.
    """
    for value in values:
        if isinstance(value, str):
            dt = parse_datetime(value, now)
            if dt is not None:
                return dt
    return None


def labelled_dates(
    pairs: Iterable[tuple[str, str]], now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(published, updated) from the (label, date text) pairs of a page's "입력 …/수정 …" stamps.

    A "수정" label marks the update (the first one that parses); the first other stamp that
    parses is the publication. Naver's and Daum's info lines both read this way.
    """
    published = updated = None
    for label, text in pairs:
        dt = parse_datetime(text, now)
        if dt is None:
            continue
        if "수정" in label:
            updated = updated or dt
        elif published is None:
            published = dt
    return published, updated


def real_update(published: datetime | None, updated: datetime | None) -> datetime | None:
    """`updated`, unless it only repeats `published`.

    GOLD.md counts metadata that repeats the publication time as no update. A visible "수정"
    line is another matter (Seoul Shinmun keeps it), so parsers apply this to metadata only.
    """
    return None if updated == published else updated


def metadata_dates(tree: Any, ld: dict[str, Any] | None) -> tuple[datetime | None, datetime | None]:
    """(published, updated) from JSON-LD, else `article:published_time`/`modified_time`."""
    ld = ld or {}
    # meta is read only when JSON-LD has no date: each look-up is an XPath run
    published = first_date(ld.get("datePublished")) or first_date(
        meta(tree, "article:published_time")
    )
    updated = first_date(ld.get("dateModified")) or first_date(meta(tree, "article:modified_time"))
    return published, real_update(published, updated)


# --- list pages -------------------------------------------------------------------------------

# Boxes of a list page that are not its main list, by what they are rather than by one site's
# class names: the aside and navigation (tags and ARIA roles), and boxes named for a sidebar,
# rankings ("많이 본 뉴스"), popular or promoted series.
_SIDE_TAGS = frozenset({"aside", "nav", "header", "footer"})
_SIDE_ROLES = frozenset({"complementary", "navigation", "banner", "contentinfo"})
_SIDE_NAMES = re.compile(r"aside|sidebar|rank|popular|series|banner|footer", re.I)


def in_side_box(el: Any, stop: Any = None) -> bool:
    """Whether a list page's element sits in a box that is not the main list (below `stop`)."""
    for anc in el.iterancestors():
        if anc is stop:
            return False
        if anc.tag in _SIDE_TAGS or anc.get("role") in _SIDE_ROLES:
            return True
        names = f"{anc.get('id') or ''} {anc.get('class') or ''}"
        if names.strip() and _SIDE_NAMES.search(names):
            return True
    return False


_PAGE_LINKS = etree.XPath("descendant::a[contains(@href, 'page=')]")


def page_param(url: str) -> int | None:
    """The `page=N` of a URL, or None."""
    v = (parse_qs(urlsplit(url).query).get("page") or [""])[0]
    return int(v) if v.isdigit() else None


def pager_next(page: Page, root: Any, current: int) -> tuple[str | None, bool]:
    """(the pager's link to page `current + 1`, absolute; whether `root` has a pager at all).

    A pager is read by what its links do (`page=N` in the href, relative ones resolved against
    the page), not by its classes; the second value lets a caller tell "last page" (a pager
    without a next link) from "no pager" (a "more"-button page).
    """
    pager = False
    for a in _PAGE_LINKS(root):
        href = urljoin(page.url, (a.get("href") or "").strip())
        n = page_param(href)
        if n is None:
            continue
        pager = True
        if n == current + 1:
            return href, True
    return None, pager
