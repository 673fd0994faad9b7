"""Typo correction for English query words against the knowledge base's own vocabulary.

A symmetric-delete index (the SymSpell idea): every known word and each of its one-letter
deletions point back to the word, so a misspelt query word is looked up through its own
deletions without scanning the vocabulary. Candidates are confirmed with the optimal
string alignment distance (a swap of two neighbours counts as one edit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from handlers.faq.text import stem

MIN_LENGTH = 4
"""Shorter words are left alone: one edit already turns them into other real words."""

CACHE_SIZE = 50_000
"""Corrections are remembered; the cache is emptied when it reaches this size."""


class SpellingCorrector:
    """Maps unknown words to the closest known word (1 edit, 2 for words of 8+ letters)."""

    def __init__(self, words: Iterable[str]) -> None:
        self._freq: Counter[str] = Counter(w for w in words if w.isalpha())
        self._stems = {stem(w) for w in self._freq}
        self._deletes: dict[str, list[str]] = {}
        self._cache: dict[str, str] = {}
        for word in self._freq:
            if len(word) >= MIN_LENGTH:
                for key in _deletions(word):
                    self._deletes.setdefault(key, []).append(word)

    def __call__(self, word: str) -> str:
        """The corrected word, or ``word`` itself when it is known or nothing is close."""
        if len(word) < MIN_LENGTH or word in self._freq:
            return word
        cached = self._cache.get(word)
        if cached is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            cached = self._cache[word] = self._correct(word)
        return cached

    def _correct(self, word: str) -> str:
        if stem(word) in self._stems:
            return word
        limit = 2 if len(word) >= 8 else 1
        best: tuple[int, int, str] | None = None
        for key in (word, *_deletions(word)):
            for candidate in self._deletes.get(key, ()):
                distance = osa_distance(word, candidate)
                if distance <= limit:
                    rank = (distance, -self._freq[candidate], candidate)
                    best = rank if best is None or rank < best else best
        return word if best is None else best[2]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]
