"""A weighted sparse-vector index with an inverted index for fast cosine search.

Each phrasing becomes an L2-normalised vector of ``(1 + ln tf) * idf * kind_weight``.
The idf is computed over *groups* (entries), not phrasings, so a word that every
phrasing of one FAQ uses stays distinctive. A query first gathers candidates from the
postings of its rarest features (skipping very common ones within a posting budget),
then rescoring computes the exact cosine for the best candidates only.

Phrasings can also be pooled into *clusters* (an entry's phrasings in one language);
the normalised sum of a cluster's vectors is its centroid.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_KIND_WEIGHTS: Mapping[str, float] = {"w": 1.0, "s": 1.0, "c": 0.5}
"""Relative weight of words, synonym groups and character n-grams."""


@dataclass(frozen=True, slots=True)
class Scored:
    """A phrasing (by position) and its cosine similarity to the query."""

    doc: int
    score: float


class SparseIndex:
    """Cosine search over the phrasings of a knowledge base."""

    def __init__(
        self,
        docs: Sequence[Sequence[str]],
        groups: Sequence[int],
        clusters: Sequence[int] | None = None,
        kind_weights: Mapping[str, float] = DEFAULT_KIND_WEIGHTS,
        posting_budget: int = 4000,
        rescore: int = 48,
    ) -> None:
        """Index ``docs`` (feature lists); doc ``i`` belongs to entry ``groups[i]``
        and to centroid cluster ``clusters[i]`` (default: its entry)."""
        self._kind_weights = dict(kind_weights)
        self._posting_budget = posting_budget
        self._rescore = rescore
        n_groups = len(set(groups))
        pairs = {(f, g) for doc, g in zip(docs, groups, strict=True) for f in doc}
        df = Counter(f for f, _group in pairs)
        self._unknown_idf = math.log(n_groups + 1) + 1.0
        self._idf = {f: math.log((n_groups + 1) / (d + 1)) + 1.0 for f, d in df.items()}
        self._vectors = [self._vector(doc) for doc in docs]
        self._postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc_id, vec in enumerate(self._vectors):
            for feat, weight in vec.items():
                ids, weights = self._postings.setdefault(feat, ([], []))
                ids.append(doc_id)
                weights.append(weight)
        self._centroids = _centroids(self._vectors, clusters or groups)

    def __len__(self) -> int:
        return len(self._vectors)

    def vectorise(self, features: Sequence[str]) -> dict[str, float]:
        """The normalised query vector.

        Unknown words count with the highest idf, so a question about something the
        knowledge base never mentions scores low. Unknown character n-grams are dropped:
        their word already counts as unknown, and they could never match anything.
        """
        known = self._idf
        return self._vector([f for f in features if f[0] != "c" or f in known])

    def centroid_similarity(self, query: dict[str, float], cluster: int) -> float:
        """Cosine between a query vector and the centroid of ``cluster``."""
        centroid = self._centroids.get(cluster)
        return self._dot(query, centroid) if centroid else 0.0

    def search(self, query: dict[str, float], limit: int) -> list[Scored]:
        """The best ``limit`` phrasings by cosine similarity to ``query``, best first."""
        if not query:
            return []
        candidates = self._candidates(query)
        scored = [Scored(d, self._dot(query, self._vectors[d])) for d in candidates]
        return heapq.nlargest(limit, scored, key=lambda s: (s.score, -s.doc))

    def _candidates(self, query: dict[str, float]) -> list[int]:
        known = [(f, w) for f, w in query.items() if f in self._postings]
        # Rarest features first: they are the most telling and have the shortest postings.
        known.sort(key=lambda fw: len(self._postings[fw[0]][0]))
        acc: dict[int, float] = {}
        budget = self._posting_budget
        for feat, qw in known:
            ids, weights = self._postings[feat]
            if len(ids) > budget and acc:
                continue
            budget -= len(ids)
            get = acc.get
            for doc_id, w in zip(ids, weights, strict=True):
                acc[doc_id] = get(doc_id, 0.0) + qw * w
        return heapq.nlargest(self._rescore, acc, key=acc.__getitem__)

    @staticmethod
    def _dot(query: dict[str, float], vec: dict[str, float]) -> float:
        get = vec.get
        return sum(w * get(f, 0.0) for f, w in query.items())

    def _vector(self, features: Sequence[str]) -> dict[str, float]:
        counts = Counter(features)
        vec = {
            f: (1.0 + math.log(tf)) * self._idf.get(f, self._unknown_idf) * self._kind_weights[f[0]]
            for f, tf in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in vec.values()))
        return {f: w / norm for f, w in vec.items()} if norm else {}


def _centroids(vectors: Sequence[dict[str, float]], clusters: Sequence[int]) -> dict[int, dict]:
    sums: dict[int, Counter[str]] = {}
    for vec, cluster in zip(vectors, clusters, strict=True):
        sums.setdefault(cluster, Counter()).update(vec)
    centroids = {}
    for cluster, total in sums.items():
        norm = math.sqrt(sum(w * w for w in total.values()))
        centroids[cluster] = {f: w / norm for f, w in total.items()} if norm else {}
    return centroids
