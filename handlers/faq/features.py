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


@dataclass(frozen=True)
class Analyzer:
    """Feature extraction with one synonym table; the same for indexing and querying."""

    synonyms: Synonyms

    def features(self, text: str, correct: Corrector | None = None) -> list[str]:
        """Features of ``text``; ``correct`` fixes unknown English words (queries only)."""
        out: list[str] = []
        for token in raw_tokens(self.synonyms.rewrite_phrases(normalise(text))):
            if token[0] == "§":
                out.append(f"s:{token[1:]}")
            elif token.isascii():
                self._english(token, correct, out)
            else:
                self._chinese(token, out)
        return out

    def english_words(self, text: str) -> list[str]:
        """Content English words as written (after normalisation), for spelling vocabularies."""
        return [
            t
            for t in raw_tokens(self.synonyms.rewrite_phrases(normalise(text)))
            if t.isascii() and t[0] != "§" and t not in EN_STOPWORDS
        ]

    def _english(self, word: str, correct: Corrector | None, out: list[str]) -> None:
        if word in EN_STOPWORDS:
            return
        if correct is not None and word.isalpha():
            word = correct(word)
        stemmed = stem(word)
        group = self.synonyms.group_of_word(word, stemmed)
        if group is not None:
            out.append(f"s:{group}")
            return
        out.append(f"w:{stemmed}")
        if word.isalpha():
            out.extend(f"c:{g}" for g in char_ngrams(word))

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
