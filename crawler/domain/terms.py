"""Search terms of Korean text: what the search index holds and what a query asks for.

One function pair, used on both sides, so an article and a query are cut the same way:

- `document_vector(title, subtitle, body)`: the `tsvector` literal stored in
  `article_search.terms` (cast with `::tsvector`, never parsed by a text-search configuration).
- `query_expression(q)`: the `tsquery` literal for a user's query (`::tsquery`), and
  `highlight_terms(q)`: the strings a reader should see highlighted.

Index terms of a text (normalised first: NFKC, whitespace runs made one space):
- kiwipiepy's nouns, proper nouns, dependent nouns, foreign words, numbers and hanja (NNG,
  NNP, NNB, SL, SN, SH), lower-cased: the words a reader searches for, without their
  particles (삼성전자가 → 삼성전자);
- every pair of adjacent Hangul syllables (bigrams) inside a run of touching noun-like tokens:
  the recall net for compounds and for what the analyser gets wrong (삼성 is found inside
  삼성전자, 엔비디아 inside an 엔비디아가 taken for one noun). Particles and verb endings
  give no bigrams: they would double the index and match nothing a reader asks for;
- every run of ASCII letters and digits (HBM3E, SK of SK하이닉스).

Besides, one term without position per filter value (`portal:naver`, `publisher:매일경제`,
`section:경제`): a filtered search ANDs them into its query, so the GIN index answers it without
reading any vector.

Each term sits at its character offset (1-based) in the text, so a phrase is a chain of terms
at their distances. Weights: A for a word of the title or subtitle, B for a title bigram, C for
a word of the body, D for a body bigram (`ts_rank_cd`'s default weights 1.0, 0.4, 0.2, 0.1):
an article whose title has the word ranks above one whose body only contains it inside
another word. PostgreSQL keeps positions up to 16,383 and 256 per term: terms further into
a long article are still found, but phrases are matched only within that reach.

kiwipiepy's model ships in its wheel (no download at run time); loading it takes ~1 s and
~500 MB, so it is loaded once per process, on first use. It costs ~15 ms of CPU per article
and holds the GIL while it works: articles are indexed in a process of their own
(crawler.extensions.indexer), never on the crawl's reactor.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# The version of these rules: stored beside each vector, so a change of rules (or of the
# analyser) re-indexes every article (`sosik db reindex`) while the old vectors keep serving.
TOKENIZER = "kiwi-bigram/3 kiwipiepy-{kiwi}"

WORD_TAGS = frozenset({"NNG", "NNP", "NNB", "SL", "SN", "SH"})
# tokens whose Hangul is cut into bigrams (nouns, counters, numerals, roots, foreign words)
SPAN_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "XR", "SL", "SN", "SH"})
MAX_POSITION = 16383  # PostgreSQL's last tsvector position
MAX_POSITIONS = 256  # positions PostgreSQL keeps per term
SEGMENT_GAP = 8  # positions between title, subtitle and paragraphs: no phrase spans them
MAX_BODY = 60_000  # characters of a body indexed (a tsvector holds at most 1 MB)

_SPACE = re.compile(r"\s+")
_HANGUL_RUN = re.compile(r"[가-힣]+")
_ALNUM_RUN = re.compile(r"[a-z0-9]+")
_QUOTED = re.compile(r'"([^"]*)"?')

_kiwi: Any = None
_warm = False
_load_lock = threading.Lock()
_use_lock = threading.Lock()  # one tokenisation at a time per process (a server's threads)


def _analyser() -> Any:
    global _kiwi
    with _load_lock:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            with warnings.catch_warnings():  # 0 = work in the calling thread (it warns that
                warnings.simplefilter("ignore", DeprecationWarning)  # 0 meant "all cores" once)
                _kiwi = Kiwi(num_workers=0)
        return _kiwi


def warm_up() -> None:
    """Load the analyser and run it once now (its first call takes about a second more than
    the next ones), not inside the first measured call."""
    global _warm
    if not _warm:
        kiwi = _analyser()
        with _use_lock:
            kiwi.tokenize("분석기를 한 번 돌려 둔다.")
        _warm = True


def tokenizer_version() -> str:
    """`TOKENIZER` with the installed kiwipiepy's version (its model comes with it)."""
    from importlib.metadata import version

    return TOKENIZER.format(kiwi=version("kiwipiepy"))


def normalise(text: str | None) -> str:
    """NFKC (full-width Latin becomes ASCII), lower case, one space for each whitespace run."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().lower()


@dataclass(frozen=True, slots=True)
class Term:
    """One search term of a segment: its normalised text, where it starts, and whether the analyser
    found it as a word.
    """

    text: str
    start: int  # character offset in the normalised segment
    word: bool  # an analyser word (True) or a bigram / letter-digit run (False)


@lru_cache(maxsize=8192)
def _tokens(segment: str) -> tuple[tuple[str, str, int, int], ...]:
    """The analyser's tokens of one normalised segment (a title, a paragraph, a query word):
    (form, tag, start, length). Cached: wire copies and new versions repeat most paragraphs."""
    if not segment:
        return ()
    kiwi = _analyser()
    with _use_lock:
        tokens = kiwi.tokenize(segment)
    return tuple((t.form.lower(), t.tag, t.start, t.len) for t in tokens if t.form)


def _words(segment: str) -> list[tuple[str, int]]:
    """The index words of a segment: (form, start)."""
    return [(f, s) for f, tag, s, _ in _tokens(segment) if tag in WORD_TAGS]


def noun_spans(segment: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of touching noun-like tokens (a compound, a name the analyser
    mistook, a number with its counter): where bigrams are taken. Particles and endings are
    left out, so 반도체를 gives the bigrams of 반도체 only."""
    start = end = -1
    for _, tag, s, n in _tokens(segment):
        if tag not in SPAN_TAGS:
            continue
        if s == end:  # touching the span so far
            end = s + n
            continue
        if end > start:
            yield start, end
        start, end = s, s + n
    if end > start:
        yield start, end


def bigrams(run: str, start: int = 0) -> Iterator[Term]:
    """The adjacent syllable pairs of a Hangul run, at their offsets."""
    for i in range(len(run) - 1):
        yield Term(run[i : i + 2], start + i, False)


def span_bigrams(segment: str) -> Iterator[Term]:
    """The bigrams of the Hangul inside the noun spans of a segment, at their offsets."""
    for start, end in noun_spans(segment):
        for m in _HANGUL_RUN.finditer(segment, start, end):
            yield from bigrams(m.group(), m.start())


@lru_cache(maxsize=8192)
def segment_terms(segment: str) -> tuple[tuple[str, int, bool], ...]:
    """Every index term of one normalised segment: (term, offset, is an analyser word)."""
    terms = [(form, start, True) for form, start in _words(segment)]
    terms.extend((b.text, b.start, False) for b in span_bigrams(segment))
    terms.extend((m.group(), m.start(), False) for m in _ALNUM_RUN.finditer(segment))
    return tuple(terms)


def _segments(title: str, subtitle: str | None, body: str) -> Iterator[tuple[str, bool]]:
    yield normalise(title), True
    if subtitle:
        yield normalise(subtitle), True
    for paragraph in re.split(r"\n\s*\n", (body or "")[:MAX_BODY]):
        p = normalise(paragraph)
        if p:
            yield p, False


def document_terms(title: str, subtitle: str | None, body: str) -> dict[str, dict[int, str]]:
    """term → {position: weight} for an article (positions 1-based, capped as PostgreSQL does)."""
    out: dict[str, dict[int, str]] = {}
    base = 1
    for segment, heading in _segments(title, subtitle, body):
        word_weight, bigram_weight = ("A", "B") if heading else ("C", "D")
        for text, start, word in segment_terms(segment):
            pos = min(base + start, MAX_POSITION)
            weight = word_weight if word else bigram_weight
            positions = out.setdefault(text, {})
            if pos in positions:
                positions[pos] = min(positions[pos], weight)  # A beats B beats C beats D
            elif len(positions) < MAX_POSITIONS:
                positions[pos] = weight
        base += len(segment) + SEGMENT_GAP
    return out


def quote(term: str) -> str:
    """A term as a quoted tsvector/tsquery lexeme."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


FACETS = ("portal", "publisher", "section")


def facet(name: str, value: str) -> str:
    """The term standing for a filter value (`publisher:매일경제`): no text term has a colon."""
    return f"{name}:{value}"


def document_vector(
    title: str, subtitle: str | None, body: str, facets: dict[str, str | None] | None = None
) -> str:
    """The `tsvector` literal of an article (see the module docstring), with a term without
    position for each of its `facets` (portal, publisher, section), so a filtered search is
    answered by the GIN index alone."""
    parts = [quote(facet(k, v)) for k, v in (facets or {}).items() if v]
    for term, positions in document_terms(title, subtitle, body).items():
        plist = ",".join(
            f"{p}{'' if w == 'D' else w}" for p, w in sorted(positions.items())
        )  # D is PostgreSQL's default weight, written without a letter
        parts.append(f"{quote(term)}:{plist}")
    return " ".join(parts)


# -- queries ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A search box's text as bare words and "quoted phrases", both normalised (see parse_query)."""

    words: tuple[str, ...]  # bare words, normalised
    phrases: tuple[str, ...]  # quoted phrases, normalised


def parse_query(q: str | None) -> ParsedQuery:
    """Bare words and "quoted phrases" (an unclosed quote runs to the end)."""
    text = unicodedata.normalize("NFKC", q or "")
    phrases = tuple(p for p in (normalise(m.group(1)) for m in _QUOTED.finditer(text)) if p)
    rest = normalise(_QUOTED.sub(" ", text))
    return ParsedQuery(tuple(w for w in rest.split(" ") if w), phrases)


def _chain(items: Iterable[tuple[str, int]]) -> str | None:
    """`a <d1> b <d2> c`: terms at their offsets, in order (None when there is none)."""
    out, last = [], None
    for text, start in sorted(items, key=lambda x: x[1]):
        if last is None:
            out.append(quote(text))
        elif start == last:
            continue  # two terms at one offset: the first stands for both
        else:
            out.append(f"<{start - last}> {quote(text)}")
        last = start
    if not out:
        return None
    return out[0] if len(out) == 1 else "(" + " ".join(out) + ")"


def _word_alternatives(form: str) -> str:
    """A word of the query: the word itself, or (3+ syllables) its bigrams in a row."""
    if _HANGUL_RUN.fullmatch(form) and len(form) >= 3:
        return f"({quote(form)} | {_chain((b.text, b.start) for b in bigrams(form))})"
    return quote(form)


def _word_expression(word: str) -> str | None:
    """All that one bare query word asks for, AND-ed; None when nothing in it is searchable."""
    parts: list[str] = []
    seen: set[str] = set()

    def add(expr: str | None) -> None:
        if expr and expr not in seen:
            seen.add(expr)
            parts.append(expr)

    for m in _HANGUL_RUN.finditer(word):
        run = m.group()
        nouns = [(f, s) for f, s in _words(run) if _HANGUL_RUN.fullmatch(f)]
        if len(nouns) == 1:
            add(_word_alternatives(nouns[0][0]))
        elif nouns:  # a compound (양자컴퓨터): its nouns in a row, or its syllables in a row
            span = run[nouns[0][1] : nouns[-1][1] + len(nouns[-1][0])]
            add(f"({_chain(nouns)} | {_chain((b.text, b.start) for b in bigrams(span))})")
        # a run without a noun (a verb, an adverb) asks for nothing: only nouns are indexed
    for m in _ALNUM_RUN.finditer(word):
        run = m.group()
        pieces = [f for f, _ in _words(run)]
        if len(pieces) > 1:  # hbm3e: the run, or the analyser's pieces of it
            add("(" + quote(run) + " | (" + " & ".join(map(quote, pieces)) + "))")
        else:
            add(quote(run))
    for form in (f for f, _ in _words(word) if _other(f)):  # hanja and the like
        add(quote(form))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"


def _other(form: str) -> bool:
    """A word with neither Hangul nor ASCII letters or digits (hanja): indexed as itself only."""
    return not _HANGUL_RUN.search(form) and not _ALNUM_RUN.search(form)


def _phrase_expression(phrase: str) -> str | None:
    """A quoted phrase: the bigrams of its nouns, its one-syllable nouns, letter-digit runs and
    other words, each at its offset, so the nouns must stand in the article as in the phrase
    (whatever the analyser made of them there), with as many characters between them."""
    items = [(b.text, b.start) for b in span_bigrams(phrase)]
    covered = {s for _, s in items}
    items.extend((f, s) for f, s in _words(phrase) if s not in covered)  # one-syllable nouns
    items.extend((m.group(), m.start()) for m in _ALNUM_RUN.finditer(phrase))
    return _chain(items)


def query_expression(q: str | None) -> str | None:
    """The `tsquery` literal for `q`: every bare word and every phrase must match (AND).

    None when `q` holds nothing searchable (empty, particles or punctuation only)."""
    parsed = parse_query(q)
    parts = [e for e in (_word_expression(w) for w in parsed.words) if e]
    parts += [e for e in (_phrase_expression(p) for p in parsed.phrases) if e]
    if not parts:
        return None
    return " & ".join(parts)


def highlight_terms(q: str | None) -> list[str]:
    """What to highlight in a hit for `q` (lower case; match it case-insensitively): its
    phrases as written, the nouns of its words, their letter-digit runs as written, and any
    word the analyser found no noun in. Longest first, no repeats."""
    parsed = parse_query(q)
    out: list[str] = list(parsed.phrases)
    for word in parsed.words:
        found = [f for f, _ in _words(word) if _HANGUL_RUN.fullmatch(f) or _other(f)]
        found += [m.group() for m in _ALNUM_RUN.finditer(word)]
        out.extend(found or [word])
    seen: set[str] = set()
    unique = [t for t in out if not (t in seen or seen.add(t))]
    return sorted(unique, key=len, reverse=True)
