"""FAQ answering: a bilingual knowledge base and a matcher that knows when not to guess.

Pure Python plus numpy; no Redis, no dispatcher, no platform types. Usage::

    kb = KnowledgeBase.load(default_kb_path())
    matcher = FaqMatcher(kb)                      # build once, reuse for every message
    decision = matcher.decide("东西几天能到")
    if decision.answered:
        reply = answer_for(kb[decision.faq_id], message.language)

Design choices, measured with ``bench/faq_quality.py``:

* Features: jieba words and character bigrams for Chinese; stemmed words and character
  trigrams for English; synonym groups (``config/faq/synonyms.yaml``) replace their
  members before indexing and querying; filler words are dropped; unknown English words
  are spell-corrected against the knowledge base's vocabulary.
* Weights: ``(1 + ln tf) * idf``, idf over entries; cosine similarity.
* An entry scores half by its best phrasing and half by the centroid of its phrasings
  in the question's language (about +4 points top-1 on Banking77 over best phrasing).
* Scoring is exact: an inverted index and one numpy ``bincount`` per question. Only
  character n-grams found in more than max(100, 10% of) entries are dropped, like
  stopwords (so small knowledge bases keep them all).
* :meth:`FaqMatcher.decide` answers above ``threshold`` (0.42), reports ``ambiguous``
  when the runner-up is within ``margin`` (0.04), and otherwise declines.
"""

from handlers.faq.decision import Decision, Hit
from handlers.faq.knowledge import (
    FaqButton,
    FaqEntry,
    KnowledgeBase,
    KnowledgeBaseError,
    answer_for,
    default_kb_path,
)
from handlers.faq.matcher import FaqMatcher
from handlers.faq.synonyms import Synonyms

__all__ = [
    "Decision",
    "FaqButton",
    "FaqEntry",
    "FaqMatcher",
    "Hit",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Synonyms",
    "answer_for",
    "default_kb_path",
]
