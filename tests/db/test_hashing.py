"""Keys and hashes of crawler/domain/keys.py (pure; here because the database relies on them)."""

from __future__ import annotations

import pytest

from crawler.domain.keys import content_hash, hamming, headline_key, simhash64
from tests.db.factories import BODY, OTHER_BODY, random_text


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("[속보] '반도체' 수출, 3개월 연속↑", "반도체수출3개월연속"),
        ("【단독】 “반도체” 수출 3개월 연속…", "반도체수출3개월연속"),
        ("[포토][영상] Samsung·LG 'AI TV' 공개", "samsunglgaitv공개"),
        ("반도체 수출 (종합)", "반도체수출종합"),
        ("[속보]", None),
        ("", None),
        (None, None),
    ],
)
def test_headline_key(title: str | None, key: str | None) -> None:
    assert headline_key(title) == key


def test_headline_key_is_nfc() -> None:
    decomposed = "\u1100\u1161\u11a8 기사"  # 각 in conjoining jamo
    assert headline_key(decomposed) == headline_key("각 기사") == "각기사"


def test_content_hash_ignores_whitespace_layout_only() -> None:
    assert content_hash(" 가 나\n\n다\t") == content_hash("가 나 다")
    assert content_hash("가 나 다") != content_hash("가나다")
    assert len(content_hash(BODY)) == 64


def test_simhash_is_a_stable_signed_64_bit_int() -> None:
    values = [simhash64(random_text(i)) for i in range(50)]
    assert all(-(2**63) <= v < 2**63 for v in values)
    assert any(v < 0 for v in values)
    assert simhash64(BODY) == simhash64(BODY)
    assert simhash64("") == simhash64("... !") == 0


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("상승세를", "오름세를"),  # one word
        lambda t: t.replace("0.08%", "0.09%"),  # one number
        lambda t: t.replace(". ", ".\n\n"),  # re-wrapped
        lambda t: t.replace('"', "'").replace(". ", "… "),  # re-punctuated
        lambda t: "[서울=연합뉴스] " + t,  # dateline
        lambda t: t + " 홍길동 기자",  # byline
    ],
)
def test_lightly_edited_copies_are_within_3_bits(edit) -> None:
    assert hamming(simhash64(BODY), simhash64(edit(BODY))) <= 3


def test_unrelated_texts_are_far_apart() -> None:
    texts = [BODY, OTHER_BODY] + [random_text(i) for i in range(20)]
    hashes = [simhash64(t) for t in texts]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > 10


def test_hamming() -> None:
    assert hamming(0, 0) == 0
    assert hamming(-1, 0) == 64
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(-(2**63), 2**63) == 0  # signed and unsigned views of one hash
