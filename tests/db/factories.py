"""Small builders of items for the database tests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from crawler.domain.items import ArticleItem, SearchHit
from crawler.domain.keys import with_keys

KST = timezone(timedelta(hours=9))
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=KST)

BODY = (
    "서울 아파트값이 6주 연속 상승세를 이어갔다. 한국부동산원이 21일 발표한 11월 셋째 주 "
    "전국 주간 아파트 가격 동향에 따르면 서울 아파트값은 전주 대비 0.08% 올랐다. 상승 폭은 "
    "지난주와 같았다. 강남 3구와 용산구 등 주요 지역에서 신고가 거래가 이어지면서 오름세를 "
    '이끌었다. 부동산원 관계자는 "재건축 추진 단지와 대단지 위주로 매수 문의가 늘었다"며 '
    '"다만 대출 규제 영향으로 거래량은 제한적"이라고 말했다. 경기도는 0.03% 올랐고 인천은 '
    "보합을 기록했다. 지방 아파트값은 0.02% 내려 하락세가 이어졌다. 전세 시장도 서울을 "
    "중심으로 상승세가 계속됐다. 서울 아파트 전셋값은 0.05% 올라 30주 연속 상승했다."
)
OTHER_BODY = (
    "정부가 내년도 예산안을 국회에 제출했다. 기획재정부는 총지출 규모를 올해보다 3.2% 늘린 "
    "677조원으로 편성했다고 밝혔다. 복지 분야 예산이 가장 큰 비중을 차지했으며 연구개발 "
    "예산은 소폭 증가했다. 야당은 민생 예산이 부족하다며 대폭 수정을 예고했다. 국회 "
    "예산결산특별위원회는 다음 달부터 본격적인 심사에 들어간다."
)


def random_text(seed: int, words: int = 120) -> str:
    """A text of Hangul words of its own: unrelated to any other seed's."""
    rnd = random.Random(seed)
    return " ".join(
        "".join(chr(0xAC00 + rnd.randrange(11172)) for _ in range(rnd.randint(1, 4)))
        for _ in range(words)
    )


def naver_url(n: int) -> str:
    return f"https://n.news.naver.com/mnews/article/001/{n:010d}"


def daum_url(n: int) -> str:
    return f"https://v.daum.net/v/2026112412{n:011d}"


def original_url(n: int) -> str:
    return f"https://www.yna.co.kr/view/AKR2026112400{n:04d}"


def article(n: int, **kw: Any) -> ArticleItem:
    """Article number n: its own URL, title and text unless told otherwise, with the identity
    keys the dedupe pipeline gives it (the store takes them as data)."""
    fields: dict[str, Any] = {
        "url": naver_url(n),
        "portal": "naver",
        "title": f"기사 제목 {n}번",
        "body": random_text(n),
        "publisher": "연합뉴스",
        "published_at": NOON,
        "authors": ["홍길동"],
        "parser": "test/1",
    }
    fields.update(kw)
    return with_keys(ArticleItem(**fields))


def hit(query: str, rank: int, url: str, **kw: Any) -> SearchHit:
    fields: dict[str, Any] = {
        "portal": "naver",
        "query": query,
        "page": 1,
        "rank": rank,
        "title": f"{query} {rank}",
        "url": url,
    }
    fields.update(kw)
    return SearchHit(**fields)
