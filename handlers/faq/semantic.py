"""The semantic and hybrid matchers: e5 embeddings, optionally blended with the lexical score.

An entry's semantic similarity blends, like the lexical one, its best phrasing and
the centroid of its phrasings in the question's language (``CENTROID_WEIGHT``). e5
cosines are crowded into the top of the range (unrelated questions still score about
0.75), so the cosine is stretched from ``COSINE_FLOOR..1`` onto ``0..1`` first.

The hybrid score is ``(1 - a) * semantic + a * lexical`` with ``a`` =
``LEXICAL_WEIGHT``: the lexical side lifts exact and near-exact wording, typos and the
shop's synonyms; the semantic side carries paraphrases that share no words. Both
matchers then apply one :class:`Policy`, calibrated on a Banking77 dev split (training
questions outside the knowledge base, never the test split) and a dev set of
out-of-scope questions by ``bench/faq_quality.py --calibrate``: the threshold and
margin that answer the most dev questions while wrong answers stay at most 4 % of them
and at least 97.5 % of the out-of-scope ones are declined. The hybrid weight was chosen the
same way (dev top-1: lexical 0.627, semantic 0.720, hybrid at 0.15 0.746; weights from
0.1 to 0.3 and centroid weights 0.3 to 0.7 all within 1.5 points of it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from handlers.faq.decision import Decision, Hit, Policy, decide
from handlers.faq.embedding import Embedder, EmbeddingCache
from handlers.faq.knowledge import KnowledgeBase
from handlers.faq.matcher import FaqMatcher
from handlers.faq.text import is_cjk

CENTROID_WEIGHT = 0.5
"""Share of the semantic similarity that comes from the language centroid."""

COSINE_FLOOR = 0.7
"""e5 cosine mapped to 0; nothing in a shop's chat scores much below it."""

LEXICAL_WEIGHT = 0.15
"""Share of the hybrid score that is the lexical matcher's (calibrated on dev)."""

LEXICAL_CANDIDATES = 10
"""Lexical scores are read for this many best lexical entries; the rest count as 0."""

SEMANTIC_POLICY = Policy(threshold=0.60, margin=0.06, suggest_floor=0.45)
"""The semantic matcher's policy. On dev: 47 % answered, 3.1 % wrong, 97.5 % of
out-of-scope declined. Suggestions start 0.15 below the threshold."""

HYBRID_POLICY = Policy(threshold=0.68, margin=0.06, suggest_floor=0.53)
"""The hybrid (default) matcher's policy. On dev: 53 % answered, 3.9 % wrong, every
out-of-scope question declined. Suggestions start 0.15 below the threshold."""


class SemanticIndex:
    """Phrasing vectors and per-language centroids of each entry, scored by cosine."""

    def __init__(
        self,
        vectors: np.ndarray,
        groups: Sequence[int],
        slots: Sequence[int],
        centroid_weight: float = CENTROID_WEIGHT,
    ) -> None:
        """Row ``i`` of ``vectors`` is a phrasing of group ``groups[i]`` (0..n-1, in
        non-decreasing order) in language slot ``slots[i]`` (0 or 1)."""
        self._centroid_weight = centroid_weight
        self.n_groups = groups[-1] + 1 if len(groups) else 0
        self._vectors = vectors
        self._groups = np.asarray(groups, dtype=np.int64)
        self._starts = np.searchsorted(self._groups, np.arange(self.n_groups))
        sums = np.zeros((self.n_groups * 2, vectors.shape[1] if len(groups) else 1), np.float32)
        np.add.at(sums, self._groups * 2 + np.asarray(slots, dtype=np.int64), vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        self._centroids = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Every group's similarity to ``query`` (a normalised vector), stretched to 0..1."""
        if self.n_groups == 0:
            return np.zeros(0)
        best = np.maximum.reduceat(self._vectors @ query, self._starts)
        centroid = (self._centroids @ query).reshape(self.n_groups, 2).max(axis=1)
        w = self._centroid_weight
        cosine = (1 - w) * best + w * centroid
        stretched: np.ndarray = np.clip((cosine - COSINE_FLOOR) / (1 - COSINE_FLOOR), 0.0, 1.0)
        return stretched


class SemanticMatcher:
    """Ranks entries by meaning, blended with ``lexical`` when one is given (hybrid)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        cache: EmbeddingCache,
        lexical: FaqMatcher | None = None,
        policy: Policy | None = None,
        lexical_weight: float = LEXICAL_WEIGHT,
        centroid_weight: float = CENTROID_WEIGHT,
    ) -> None:
        """Embed ``kb``'s phrasings (through ``cache``: only new texts reach the model).

        ``policy`` defaults to the calibrated one of the kind (hybrid when ``lexical``
        is given); the weights to :data:`LEXICAL_WEIGHT` and :data:`CENTROID_WEIGHT`.

        Blocking: build it in a worker thread.
        """
        self.kb = kb
        self.lexical = lexical
        self.policy = policy or (HYBRID_POLICY if lexical is not None else SEMANTIC_POLICY)
        self._lexical_weight = lexical_weight if lexical is not None else 0.0
        self._embedder: Embedder = cache.embedder
        entries = [e for e in kb if e.questions]
        self._ids = [e.id for e in entries]
        self._position = {faq_id: i for i, faq_id in enumerate(self._ids)}
        texts = [q for e in entries for q in e.questions]
        groups = [g for g, e in enumerate(entries) for _ in e.questions]
        slots = [int(is_cjk(q)) for q in texts]
        self._index = SemanticIndex(cache.vectors(texts), groups, slots, centroid_weight)

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        """The best ``limit`` distinct entries for ``text``, best first. Blocking."""
        if not text.strip() or not self._ids or limit <= 0:
            return []
        query = self._embedder.embed_question(text)
        scores = (1 - self._lexical_weight) * self._index.scores(query)
        if self.lexical is not None:
            scores += self._lexical_weight * self._lexical_scores(self.lexical, text)
        top = np.argsort(-scores, kind="stable")[:limit]
        return [Hit(self._ids[g], round(float(scores[g]), 4)) for g in top if scores[g] > 1e-9]

    def decide(self, text: str) -> Decision:
        """Answer, ask "did you mean", or decline, by :attr:`policy`. Blocking."""
        return decide(self.search(text, limit=3), self.policy)

    def _lexical_scores(self, lexical: FaqMatcher, text: str) -> np.ndarray:
        scores = np.zeros(len(self._ids))
        for hit in lexical.search(text, limit=LEXICAL_CANDIDATES):
            scores[self._position[hit.faq_id]] = hit.score
        return scores
