"""Turn a question into the sparse features the index weighs.

Feature namespaces (the prefix keeps them apart):

* ``w:`` a Chinese word (jieba) or a stemmed English word;
* ``s:`` a synonym group, replacing every member of the group;
* ``c:`` a Chinese character bigram or an English character trigram, which keeps
  typos, segmentation differences and unseen inflections partly matching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handlers.faq.synonyms import Synonyms
from handlers.faq.text import (
    EN_STOPWORDS,
    ZH_STOPWORDS,
    char_bigrams,
    char_ngrams,
    normalise,
    raw_tokens,
    segment,
    stem,
)

Corrector = Callable[[str], str]
"""Maps an English word to the word the index knows (identity when none is close)."""


_WORD_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Analysis:
    """The features of a text, and its content English words (for spelling vocabularies)."""

    features: list[str]
    english_words: list[str]


class Analyzer:
    """Feature extraction with one synonym table; the same for indexing and querying."""

    def __init__(self, synonyms: Synonyms) -> None:
        """Analyse with ``synonyms``; per-word results are cached."""
        self.synonyms = synonyms
        self._word_cache: dict[str, tuple[str, ...]] = {}

    def features(self, text: str, correct: Corrector | None = None) -> list[str]:
        """Features of ``text``; ``correct`` fixes unknown English words (queries only)."""
        return self.analyse(text, correct).features

    def analyse(self, text: str, correct: Corrector | None = None) -> Analysis:
        """Features and content English words of ``text`` in one pass."""
        features: list[str] = []
        words: list[str] = []
        for token in raw_tokens(self.synonyms.rewrite_phrases(normalise(text))):
            if token[0] == "§":
                features.append(f"s:{token[1:]}")
            elif token.isascii():
                if token in EN_STOPWORDS:
                    continue
                words.append(token)
                if correct is not None and token.isalpha():
                    token = correct(token)
                features.extend(self._english(token))
            else:
                self._chinese(token, features)
        return Analysis(features, words)

    def _english(self, word: str) -> tuple[str, ...]:
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        stemmed = stem(word)
        group = self.synonyms.group_of_word(word, stemmed)
        if group is not None:
            result: tuple[str, ...] = (f"s:{group}",)
        elif word.isalpha():
            result = (f"w:{stemmed}", *(f"c:{g}" for g in char_ngrams(word)))
        else:
            result = (f"w:{stemmed}",)
        if len(self._word_cache) >= _WORD_CACHE_SIZE:
            self._word_cache.clear()
        self._word_cache[word] = result
        return result

    def _chinese(self, run: str, out: list[str]) -> None:
        stretch: list[str] = []
        for word in segment(run):
            if word in ZH_STOPWORDS:
                out.extend(f"c:{g}" for g in char_bigrams("".join(stretch)))
                stretch = []
                continue
            group = self.synonyms.group_of_word(word)
            out.append(f"s:{group}" if group is not None else f"w:{word}")
            stretch.append(word)
        out.extend(f"c:{g}" for g in char_bigrams("".join(stretch)))
