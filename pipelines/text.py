"""Body and title cleaning rules, as pure functions (GOLD.md defines the body).

Parsers remove what their site's markup marks as non-text (captions, boxes, widgets); these rules
remove what only the words give away, on any site: a paragraph that is only a byline or an
e-mail, copyright and "기사제공" lines, promo and related-article lines, photo credits, and a
byline glued to the end of the last paragraph.
"""

from __future__ import annotations

import re

from crawler.domain.text import norm  # one whitespace/NFC rule for parsers and cleaning

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_NAME = r"[가-힣]{2,4}"


# One or more names, each after the first behind a separator or a space. Written so that a run of
# Hangul can be cut into names in one way only: "(?:NAME\s*[·,]?\s*)+" tries every split of a
# long word and took 0.4 s on one ordinary paragraph (catastrophic backtracking).
def _names(seps: str) -> str:
    return rf"{_NAME}(?:\s*[{seps}]\s*{_NAME}|\s+{_NAME})*"


_ROLE = r"(?:선임|수석|객원|전문|편집|논설|기획|인턴|사진|영상|취재)?\s*(?:기자|특파원|논설위원|위원|에디터|PD|앵커|통신원|리포터|대기자|기자단)"

# Whole paragraphs that are not article text.
_DROP_PARAGRAPH = [
    re.compile(p)
    for p in (
        rf"^{_EMAIL}$",  # lkh2011@newsis.com
        rf"^[\[\(<]?\s*{_names('·,/')}\s*{_ROLE}?\s*[\]\)>]?\s*[\(<\[]?\s*{_EMAIL}\s*[\)>\]]?$",
        rf"^[\[\(<]?\s*(?:[\w가-힣·&]+\s*=\s*)?{_names('·,')}\s*{_ROLE}\s*[\]\)>]?\s*(?:{_EMAIL})?$",
        r"^[\[\(]\s*[^\]\)]{1,20}(?:방송|뉴스쇼|라디오)\s*[^\]\)]{0,10}[\]\)]$",  # [OO방송 뉴스쇼]
        r"(?:무단\s*전재|무단\s*복제|재배포\s*금지|All rights reserved|저작권자\s*[ⓒ©(]|Copyright\s*[ⓒ©(])",
        r"^<\s*저작권자",
        r"^ⓒ\s",
        r"^기사\s*제공\s",
        r"^[▶▷☞►➤👉]",
        r"^▲\s*[^\n]{0,120}$",  # related-article and promo links
        r"^(?:사진|그래픽|영상|자료)\s*(?:=|출처|제공)",
        r"^\[\s*(?:사진|그래픽|자료)\s*(?:출처)?\s*[=:]?[^\]]*\]$",
        r"^\[(?:연합뉴스|연합|뉴시스|뉴스1|게티이미지|AP|AFP|로이터|EPA|신화)[^\]]{0,20}\]$",
        r"^사진\s*확대$",
        r"^(?:관련\s*기사|관련기사|함께\s*보면\s*좋은\s*기사|많이\s*본\s*뉴스|추천\s*기사)\s*$",
        r"클릭!\)?$",
        r"^(?:구독|좋아요|공유하기|기사\s*공유|글자\s*크기|프린트|스크랩)\s*$",
        r"^(?:기사\s*읽어주기|다시듣기|글씨\s*크기\s*조절|이미지\s*확대)$",
        r"^\d{4}-\d{2}-\d{2}\s+\d+면$",  # print position marker "2024-06-28 1면"
    )
]

# A byline or e-mail glued to the end of the last paragraph ("... 말했다. 홍길동 기자 hong@x.com").
_TRAILING_BYLINE = re.compile(
    rf"(?<=[.!?”\"'’)\]다])\s*[\[\(<]?\s*(?:[\w가-힣]+\s*=\s*)?{_names('·,')}\s*{_ROLE}\s*"
    rf"(?:[\(<\[]?\s*{_EMAIL}\s*[\)>\]]?)?\s*[\]\)>]?\s*$"
)
_TRAILING_EMAIL = re.compile(rf"(?<=[.!?”\"'’)\]다])\s*[\(<\[]?\s*{_EMAIL}\s*[\)>\]]?\s*$")


def is_junk_paragraph(p: str) -> bool:
    """True when the paragraph is a byline, e-mail, copyright, promo or photo-credit line."""
    return any(rx.search(p) for rx in _DROP_PARAGRAPH)


def split_paragraphs(body: str) -> list[str]:
    """Paragraphs of a body: split on blank lines and single newlines, each collapsed."""
    return [q for q in (norm(x) for x in re.split(r"\n", body or "")) if q]


def clean_paragraphs(paras: list[str]) -> list[str]:
    """Drop junk paragraphs and cut a byline glued to the end of the last one."""
    kept = [p for p in (norm(x) for x in paras) if p and not is_junk_paragraph(p)]
    if kept:
        last = _TRAILING_EMAIL.sub("", kept[-1])
        last = _TRAILING_BYLINE.sub("", last).strip()
        if last:
            kept[-1] = last
        else:
            kept.pop()
    return kept


def clean_body(body: str) -> str:
    """The body as GOLD.md wants it: cleaned paragraphs joined by exactly one blank line."""
    return "\n\n".join(clean_paragraphs(split_paragraphs(body)))


_TITLE_SUFFIX = re.compile(
    r"\s*(?:[-|:ㅣ]\s*)(?:[가-힣A-Za-z]+\s*ㅣ\s*)?(?:매일경제|한국일보|조선일보|조선닷컴|중앙일보|동아일보|"
    r"서울신문|연합뉴스|네이버\s*뉴스|다음뉴스|대전일보|경향신문|한겨레|머니투데이|이데일리|뉴시스|뉴스1)\s*$"
)


def clean_title(title: str | None) -> str:
    """The headline collapsed, without a trailing " - 매일경제"-style site suffix."""
    t = norm(title)
    return _TITLE_SUFFIX.sub("", t).strip() or t


def clean_authors(names: list[str]) -> list[str]:
    """Reporter names without 기자/특파원, e-mails, outlet prefixes; unique, in order."""
    out: list[str] = []
    for raw in names:
        n = norm(raw)
        n = re.sub(_EMAIL, "", n)
        n = re.sub(r"^[^=]{1,20}=\s*", "", n)  # 스포츠조선=선수민
        n = re.sub(rf"\s*{_ROLE}\s*.*$", "", n)
        n = re.sub(r"[\[\]\(\)<>]", "", n).strip(" ,·/")
        if n and n not in out and len(n) <= 30:
            out.append(n)
    return out
