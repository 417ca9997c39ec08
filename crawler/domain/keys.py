"""Keys and hashes that decide whether two articles are the same story.

Pure functions (no Scrapy, no database). `with_keys` fills an article's three keys; the
database layer takes them as data (db.batch) and never computes them:

- `headline_key`: the title reduced to what a copy-editor cannot change without changing the
  story: bracket tags (`[속보]`, `[단독]`, `[포토]`), quotes, punctuation and spaces dropped,
  NFC, Latin lower-cased, at most MAX_HEADLINE_KEY characters. Same key from the same publisher
  on the same KST day = duplicate.
- `content_hash`: SHA-256 of the NFC body with whitespace collapsed; equal hashes = the same
  text, whatever URL it came from.
- `simhash64`: a 64-bit SimHash over character shingles, for near-duplicates (a copy with a
  word changed, a byline added); compare with `hamming`. Signed, so it fits a `bigint`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from crawler.domain.items import ArticleItem

__all__ = [
    "SHINGLE",
    "content_hash",
    "digest64",
    "hamming",
    "headline_key",
    "simhash64",
    "story_simhash",
    "with_keys",
]

# Tags in square-family brackets anywhere in a title: [속보], 【단독】, 〔포토〕, ［영상］.
# Kept short so that a bracketed phrase that is the headline itself is not mistaken for a tag.
_BRACKET_TAG = re.compile(r"[\[【〔［〖][^\]】〕］〗]{0,20}[\]】〕］〗]")
# Everything that is not a letter or a digit in any script (Hangul and Hanja are letters).
_NON_WORD = re.compile(r"[\W_]+")
_WS = re.compile(r"\s+")

# Characters of a headline key at most: 200 characters are at most 800 bytes of UTF-8, with the
# publisher (at most 100 characters) far below a btree entry's 2,704-byte limit.
MAX_HEADLINE_KEY = 200
SHINGLE = 3  # characters per SimHash feature: ~1 Korean word; a one-letter edit moves 3 features
_MASK64 = (1 << 64) - 1
# For each bit of a byte, most significant first: the byte values that do not have it.
_WITHOUT_BIT = tuple(bytes(v for v in range(256) if not v & (0x80 >> k)) for k in range(8))


def headline_key(title: str | None) -> str | None:
    """The title as a duplicate key, or None when nothing is left of it.

    Only letters and digits survive: "[속보] '반도체' 수출, 3개월 연속↑" and "반도체 수출 3개월
    연속" give the same key, because portals and publishers re-punctuate the same headline.
    """
    if not title:
        return None
    text = unicodedata.normalize("NFC", title)
    text = _BRACKET_TAG.sub(" ", text)
    key = _NON_WORD.sub("", text).lower()
    if len(key) > MAX_HEADLINE_KEY:
        # Bounded, so the headline index can never overflow whatever a page holds: the start
        # of the key and a digest of all of it (two long keys still compare as equal or not).
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        key = f"{key[: MAX_HEADLINE_KEY - 33]}~{digest}"
    return key or None


def content_hash(body: str) -> str:
    """SHA-256 hex of the NFC body with every run of whitespace made one space.

    Whitespace is collapsed because the same text re-wrapped by another template is the same text.
    """
    text = _WS.sub(" ", unicodedata.normalize("NFC", body)).strip()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def simhash64(body: str, *, shingle: int = SHINGLE) -> int:
    """64-bit SimHash of the text's character shingles, as a signed int64.

    Features are the distinct `shingle`-character windows of the text with spaces and
    punctuation removed (so re-spacing and re-punctuating change nothing), each hashed with
    blake2b to 64 bits. A bit of the result is 1 when more than half of the features have it.
    Returns 0 for a text with no letters or digits.
    """
    text = _NON_WORD.sub("", unicodedata.normalize("NFC", body)).lower()
    if not text:
        return 0
    if len(text) <= shingle:
        features = {text}
    else:
        features = {text[i : i + shingle] for i in range(len(text) - shingle + 1)}
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(f.encode("utf-8"), digest_size=8).digest() for f in features])
    n = len(features)
    # Bit b of a 64-bit row (0 = most significant) is bit 7 - b % 8 of its byte b // 8: byte
    # column j of every row is digests[j::8], and deleting the byte values without the bit
    # leaves as many bytes as rows that have it.
    value = 0
    for j in range(8):
        column = digests[j::8]
        for without in _WITHOUT_BIT:
            value = (value << 1) | (2 * len(column.translate(None, without)) > n)
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & _MASK64).bit_count()


def story_simhash(body: str) -> int:
    """The SimHash that near-duplicate clustering compares: the body without its lead paragraph.

    Wire copies of one story differ where each publisher touches it: the credit and dateline
    in the lead ("[뉴스1=…]", "(서울=연합뉴스) …"), a reworded first sentence, the sign-off (which
    the cleaning already drops). Leaving the lead out makes such copies hash alike; measured on
    the corpus, a copy with a new lead and byline went from 1-8 bits away to 0, while the
    closest two different stories stayed 21 bits apart. Bodies of fewer than three paragraphs
    are hashed whole: there the lead is most of the story.
    """
    paras = [p for p in body.split("\n\n") if p.strip()]
    core = "\n\n".join(paras[1:]) if len(paras) >= 3 else body
    return simhash64(core)


def digest64(*parts: str) -> int:
    """A stable 64-bit digest of some strings, for "seen" sets that last a whole crawl.

    A set of these ints holds about half the memory of a set of the URLs or tuples they stand
    for (a 100k-page crawl keeps one per page); a false "seen" needs a 64-bit collision.
    """
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return int.from_bytes(h.digest(), "little")


def with_keys(item: ArticleItem) -> ArticleItem:
    """The item with its identity keys filled in (in place): headline key, content hash, SimHash."""
    item.headline_key = headline_key(item.title)
    item.content_hash = content_hash(item.body)
    item.simhash = story_simhash(item.body)
    return item
