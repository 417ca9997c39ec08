"""Text normalisation shared by the parsers and the cleaning: one whitespace/NFC rule."""

from __future__ import annotations

import unicodedata


def norm(s: str | None) -> str:
    """NFC and every run of whitespace (NBSP, U+3000 too) as one space, trimmed.

    str.split() splits on exactly the characters a regex `\\s` matches (str.isspace, checked
    over every code point), three times faster than a regex substitution on Korean text.
    """
    return " ".join(unicodedata.normalize("NFC", s).split()) if s else ""
