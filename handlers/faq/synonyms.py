"""Synonym groups that map customer words to one canonical form before matching.

``config/faq/synonyms.yaml`` holds ``groups:``, each a list of terms whose first term is
the canonical form. Terms that are Chinese or contain spaces are replaced in the text
(longest first); single English words are matched after stemming, so "shipped" finds
the group of "ship".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

import config
from handlers.faq.text import is_cjk, normalise, stem

DEFAULT_SYNONYMS_PATH = Path(config.__file__).parent / "faq" / "synonyms.yaml"
"""The synonym list shipped in the ``config`` package."""


@dataclass(frozen=True)
class Synonyms:
    """Compiled synonym groups: a phrase rewriter and a word-to-canonical map."""

    canonical: tuple[str, ...]
    phrase_pattern: re.Pattern[str] | None
    phrase_group: dict[str, int]
    word_group: dict[str, int]

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> Synonyms:
        """Compile groups of terms; the first term of each group is its canonical form."""
        canonical: list[str] = []
        phrase_group: dict[str, int] = {}
        word_group: dict[str, int] = {}
        for terms in groups:
            cleaned = [normalise(t).strip() for t in terms if t and t.strip()]
            if len(cleaned) < 2:
                continue
            index = len(canonical)
            canonical.append(cleaned[0])
            for term in cleaned:
                if is_cjk(term) or " " in term:
                    phrase_group.setdefault(term, index)
                else:
                    word_group.setdefault(term, index)
                    word_group.setdefault(stem(term), index)
        return cls(tuple(canonical), _phrase_pattern(phrase_group), phrase_group, word_group)

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
        return self.phrase_pattern.sub(lambda m: f" §{self.phrase_group[m.group(0)]} ", text)

    def group_of_word(self, word: str, stemmed: str) -> int | None:
        """The group of an English word (tried as written, then stemmed)."""
        group = self.word_group.get(word)
        return group if group is not None else self.word_group.get(stemmed)


def _phrase_pattern(phrases: dict[str, int]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    parts = []
    for term in sorted(phrases, key=len, reverse=True):
        escaped = re.escape(term)
        # English phrases must sit on word boundaries; Chinese has none to respect.
        parts.append(escaped if is_cjk(term) else rf"\b{escaped}\b")
    return re.compile("|".join(parts))
