"""Keyword and pattern rules over customer text, shared by the intent and word lists.

Text is compared after :func:`normalize` (NFKC, so full-width ``？１２`` become ``?12``;
lower case). A Chinese phrase matches anywhere; an English phrase matches whole words,
and a trailing ``*`` allows any ending (``return*``: returns, returned).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_LATIN_EDGE = re.compile(r"^[a-z0-9]|[a-z0-9]$")
_PUNCTUATION = re.compile(r"[\s,.!?~;:'\"()\[\]、，。！？～；：…“”‘’（）【】]+")
_NEVER = re.compile(r"(?!)")


def normalize(text: str) -> str:
    """NFKC and lower case: what every rule is matched against."""
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").lower().strip()


def bare(text: str) -> str:
    """Normalised with punctuation squeezed to single spaces: for whole-message matches."""
    return _PUNCTUATION.sub(" ", normalize(text)).strip()


def phrase_regex(phrase: str) -> str:
    """The regex source of one keyword (see the module docstring)."""
    prefix = phrase.endswith("*")
    words = normalize(phrase.removesuffix("*"))
    source = r"\s+".join(re.escape(word) for word in words.split())
    if words[:1] and _LATIN_EDGE.search(words[0]):
        source = r"(?<![a-z0-9])" + source
    if not prefix and _LATIN_EDGE.search(words[-1]):
        source += r"(?![a-z0-9])"
    return source


@dataclass(frozen=True, slots=True)
class PhraseRule:
    """Keywords and regex patterns compiled into one search."""

    regex: re.Pattern[str]

    @classmethod
    def compile(cls, keywords: Iterable[object] = (), patterns: Iterable[str] = ()) -> PhraseRule:
        """Build from config lists (keywords may be numbers in YAML: they are text here)."""
        parts = [phrase_regex(str(k)) for k in keywords if str(k).strip()]
        parts += [f"(?:{p})" for p in patterns]
        return cls(re.compile("|".join(parts)) if parts else _NEVER)

    def search(self, normalized: str) -> bool:
        """True when any keyword or pattern occurs in already-normalised text."""
        return self.regex.search(normalized) is not None


@dataclass(frozen=True, slots=True)
class WordRule:
    """A whole-message word list plus phrases that may appear anywhere."""

    exact: frozenset[str]
    contains: PhraseRule

    @classmethod
    def compile(cls, spec: dict[str, list[object]]) -> WordRule:
        """Build from ``{"exact": [...], "contains": [...]}`` (both optional)."""
        exact = frozenset(bare(str(word)) for word in spec.get("exact", ()))
        return cls(exact, PhraseRule.compile(spec.get("contains", ())))

    def matches(self, text: str) -> bool:
        """True when the whole message is a listed word, or contains a listed phrase."""
        return bare(text) in self.exact or self.contains.search(normalize(text))
