"""Synonym groups that map customer words to one canonical form before matching.

``config/faq/synonyms.yaml`` holds ``groups:``, each a list of terms whose first term is
the canonical form. Chinese terms of two or more characters and multi-word English terms
are replaced in the text (longest first). Single words are matched as tokens: a
one-character Chinese term only when jieba segments it as a word of its own (so 退 does
not touch 退款), and an English word as written or, for words longer than three letters,
after stemming, so "shipped" finds the group of "ship" while "codes" does not become "cod".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import yaml

import config
from handlers.faq.text import is_cjk, normalise, stem

DEFAULT_SYNONYMS_PATH = Path(config.__file__).parent / "faq" / "synonyms.yaml"
"""The synonym list shipped in the ``config`` package."""

_Trie: TypeAlias = dict[str, "_Trie"]
"""One character per edge; the empty key marks the end of a term."""


@dataclass(frozen=True)
class Synonyms:
    """Compiled synonym groups: a phrase rewriter and a word-to-canonical map."""

    canonical: tuple[str, ...]
    phrase_pattern: re.Pattern[str] | None
    phrase_group: dict[str, int]
    word_group: dict[str, int]
    stem_group: dict[str, int]

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> Synonyms:
        """Compile groups of terms; the first term of each group is its canonical form."""
        canonical: list[str] = []
        phrase_group: dict[str, int] = {}
        word_group: dict[str, int] = {}
        stem_group: dict[str, int] = {}
        for terms in groups:
            cleaned = [normalise(str(t)).strip() for t in terms if t and str(t).strip()]
            if len(cleaned) < 2:
                continue
            index = len(canonical)
            canonical.append(cleaned[0])
            for term in cleaned:
                if " " in term or (is_cjk(term) and len(term) > 1):
                    phrase_group.setdefault(term, index)
                    continue
                word_group.setdefault(term, index)
                if len(term) > 3:
                    stem_group.setdefault(stem(term), index)
        pattern = _phrase_pattern(phrase_group)
        return cls(tuple(canonical), pattern, phrase_group, word_group, stem_group)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_SYNONYMS_PATH) -> Synonyms:
        """Read ``groups:`` (or a bare list of groups) from a YAML file."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        groups = data.get("groups", []) if isinstance(data, dict) else data
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise ValueError(f"{path}: 'groups' must be a list of lists of terms")
        return cls.from_groups(groups)

    @classmethod
    def empty(cls) -> Synonyms:
        """No synonyms at all."""
        return cls.from_groups([])

    def rewrite_phrases(self, text: str) -> str:
        """Replace multi-word and Chinese terms in normalised text with ``§n`` markers."""
        if self.phrase_pattern is None:
            return text
        return self.phrase_pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        term = match.group(0)
        start, end, text = match.start(), match.end(), match.string
        # English phrases must sit on word boundaries; Chinese has none to respect.
        if term.isascii() and (
            (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())
        ):
            return term
        return f" §{self.phrase_group[term]} "

    def english_words(self) -> list[str]:
        """Every single-word English term, e.g. as spelling targets."""
        return [w for w in self.word_group if w.isascii() and w.isalpha()]

    def group_of_word(self, word: str, stemmed: str | None = None) -> int | None:
        """The group of a single word, tried as written, then by its stem if given."""
        group = self.word_group.get(word)
        if group is None and stemmed is not None and len(stemmed) > 3:
            group = self.stem_group.get(stemmed)
        return group


def _phrase_pattern(phrases: dict[str, int]) -> re.Pattern[str] | None:
    """One regex for all phrases, shaped as a trie so matching stays fast.

    A flat alternation of hundreds of terms is tried term by term at every position; the
    trie shares prefixes and lets ``re`` skip positions by the set of first characters.
    """
    if not phrases:
        return None
    trie: _Trie = {}
    for term in phrases:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(_trie_regex(trie))


def _trie_regex(node: _Trie) -> str:
    branches = [
        re.escape(char) + _trie_regex(child) for char, child in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # Regex alternation is ordered, so the optional end makes longer terms win.
    return f"(?:{body})?" if "" in node else body
