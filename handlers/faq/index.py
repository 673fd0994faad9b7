"""A weighted sparse-vector index: inverted postings, exact cosine scores per entry.

Each phrasing becomes an L2-normalised vector of ``(1 + ln tf) * idf * kind_weight``.
The idf is computed over *groups* (entries), not phrasings, so a word that every
phrasing of one FAQ uses stays distinctive.

Each group's phrasings are also pooled per *slot* (the matcher uses one slot per
language); the normalised sum of a slot's vectors is its centroid. A group scores
``(1 - w) * best phrasing cosine + w * best centroid cosine``, ``w`` the centroid weight.

A query touches only the postings of its own features: one ``bincount`` adds them into
the scores of the phrasings and centroids that contain them. The per-group best
phrasing is then read from the top ``M`` phrasings only, which is exact for every group
with a phrasing among them; any other group is bounded by the ``M``-th phrasing score,
and is computed exactly only if that bound would reach the top results.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

DEFAULT_KIND_WEIGHTS: Mapping[str, float] = {"w": 1.0, "s": 1.0, "c": 0.5}
"""Relative weight of words, synonym groups and character n-grams."""

COMMON_NGRAM_SHARE = 0.1
COMMON_NGRAM_MIN_GROUPS = 100
"""Character n-grams found in more than this share of groups (and more than the minimum
number) are dropped, like stopwords: in a large knowledge base they carry almost no
weight but have the longest postings. Small knowledge bases keep every n-gram."""

TOP_PHRASINGS = 64
"""How many best phrasings are read per query before bounding the rest."""


class SparseIndex:
    """Cosine search over phrasings, ranked per group (entry)."""

    def __init__(
        self,
        docs: Sequence[Sequence[str]],
        groups: Sequence[int],
        slots: Sequence[int] | None = None,
        centroid_weight: float = 0.5,
        kind_weights: Mapping[str, float] = DEFAULT_KIND_WEIGHTS,
    ) -> None:
        """Index ``docs`` (feature lists).

        Doc ``i`` belongs to group ``groups[i]``; groups are numbered ``0..n-1`` in
        non-decreasing order, so each group's docs are contiguous. ``slots[i]`` (a small
        int, default 0) picks which of its group's centroids the doc is pooled into.
        """
        _check_groups(groups)
        slots = list(slots) if slots is not None else [0] * len(docs)
        self._kind_weights = dict(kind_weights)
        self._centroid_weight = centroid_weight
        self.n_groups = groups[-1] + 1 if groups else 0
        self.n_slots = max(slots, default=0) + 1
        pairs = {(f, g) for doc, g in zip(docs, groups, strict=True) for f in doc}
        df = Counter(f for f, _group in pairs)
        limit = max(COMMON_NGRAM_MIN_GROUPS, COMMON_NGRAM_SHARE * (groups[-1] + 1 if groups else 0))
        self._common = {f for f, d in df.items() if f[0] == "c" and d > limit}
        df = Counter({f: d for f, d in df.items() if f not in self._common})
        self._unknown_idf = math.log(self.n_groups + 1) + 1.0
        self._idf = {f: math.log((self.n_groups + 1) / (d + 1)) + 1.0 for f, d in df.items()}
        self._fid = {f: i for i, f in enumerate(self._idf)}
        vectors = [self._doc_vector(doc) for doc in docs]
        centroids = _centroids(vectors, groups, slots, self.n_groups, self.n_slots)
        self.n_docs = len(vectors)
        self._doc_group = np.asarray(groups, dtype=np.int64)
        bounds = np.searchsorted(self._doc_group, np.arange(self.n_groups + 1))
        self._group_bounds = bounds.tolist()
        # One id space: phrasings first, then centroids, so a query is one bincount.
        self._postings = self._build_postings([*vectors, *centroids])

    def vectorise(self, features: Sequence[str]) -> dict[str, float]:
        """The normalised query vector.

        Unknown words count with the highest idf, so a question about something the
        knowledge base never mentions scores low. Unknown character n-grams are dropped:
        their word already counts as unknown, and they could never match anything.
        """
        known = self._idf
        return self._vector([f for f in features if f[0] != "c" or f in known])

    def _doc_vector(self, features: Sequence[str]) -> dict[str, float]:
        common = self._common
        return self._vector([f for f in features if f not in common])

    def search(self, features: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """The best ``limit`` groups as ``(group, score)``, best first, scores above 0."""
        query = [(self._fid[f], w) for f, w in self.vectorise(features).items() if f in self._fid]
        if not query or self.n_groups == 0 or limit <= 0:
            return []
        doc_scores, centroid_best = self._raw_scores(query)
        scores, top = self._top_groups(doc_scores, centroid_best, min(limit, self.n_groups))
        ranked = sorted(((float(scores[g]), int(g)) for g in top), key=lambda sg: (-sg[0], sg[1]))
        return [(g, min(s, 1.0)) for s, g in ranked if s > 1e-9]

    def _raw_scores(self, query: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Cosine of every phrasing, and of every group's best centroid."""
        postings = [self._postings[fid] for fid, _weight in query]
        ids = np.concatenate([p[0] for p in postings])
        values = np.concatenate([p[1] for p in postings])
        weights = np.repeat(
            np.asarray([w for _fid, w in query], dtype=np.float32), [len(p[0]) for p in postings]
        )
        size = self.n_docs + self.n_groups * self.n_slots
        scores = np.bincount(ids, weights=values * weights, minlength=size)
        centroids = scores[self.n_docs :]
        best = centroids[0 :: self.n_slots]
        for slot in range(1, self.n_slots):
            best = np.maximum(best, centroids[slot :: self.n_slots])
        return scores[: self.n_docs], best

    def _top_groups(
        self, doc_scores: np.ndarray, centroid_best: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Blended group scores, exact for every group that can reach the top ``k``,
        and the ids of that top ``k`` (unordered)."""
        w = self._centroid_weight
        m = min(TOP_PHRASINGS, self.n_docs)
        # Select on negated scores: numpy's introselect is far slower when the k-th
        # position sits among many equal values at the high end.
        top_docs = np.argpartition(-doc_scores, m - 1)[:m]
        top_values = doc_scores[top_docs]
        top_groups = self._doc_group[top_docs]
        # Groups without a phrasing in the top m score at most this on the phrasing side.
        scores = w * centroid_best + (1 - w) * float(top_values.min())
        best_doc = np.zeros(self.n_groups)
        np.maximum.at(best_doc, top_groups, top_values)
        scores[top_groups] = (1 - w) * best_doc[top_groups] + w * centroid_best[top_groups]
        exact = set(top_groups.tolist())
        while True:
            top = np.argpartition(-scores, k - 1)[:k]
            pending = [g for g in top.tolist() if g not in exact]
            if not pending:
                return scores, top
            for group in pending:
                start, end = self._group_bounds[group], self._group_bounds[group + 1]
                best = float(doc_scores[start:end].max()) if end > start else 0.0
                scores[group] = (1 - w) * best + w * centroid_best[group]
                exact.add(group)

    def _vector(self, features: Sequence[str]) -> dict[str, float]:
        counts = Counter(features)
        idf, unknown, kinds = self._idf, self._unknown_idf, self._kind_weights
        vec = {
            f: (1.0 + math.log(tf)) * idf.get(f, unknown) * kinds[f[0]] for f, tf in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in vec.values()))
        return {f: w / norm for f, w in vec.items()} if norm else {}

    def _build_postings(
        self, vectors: Sequence[Mapping[str, float]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per feature id: the ids of the vectors containing it and its weights there."""
        fids, ids, values = [], [], []
        for i, vec in enumerate(vectors):
            for f, w in vec.items():
                fids.append(self._fid[f])
                ids.append(i)
                values.append(w)
        fid_array = np.asarray(fids, dtype=np.int64)
        order = np.argsort(fid_array, kind="stable")
        id_array = np.asarray(ids, dtype=np.int32)[order]
        value_array = np.asarray(values, dtype=np.float32)[order]
        counts = np.bincount(fid_array, minlength=len(self._fid))
        bounds = np.concatenate(([0], np.cumsum(counts))).tolist()
        return [
            (id_array[bounds[i] : bounds[i + 1]], value_array[bounds[i] : bounds[i + 1]])
            for i in range(len(self._fid))
        ]


def _check_groups(groups: Sequence[int]) -> None:
    steps_ok = all(b - a in (0, 1) for a, b in itertools.pairwise(groups))
    if not steps_ok or (groups and groups[0] != 0):
        raise ValueError("groups must be numbered 0..n-1 in non-decreasing order")


def _centroids(
    vectors: Sequence[dict[str, float]],
    groups: Sequence[int],
    slots: Sequence[int],
    n_groups: int,
    n_slots: int,
) -> list[dict[str, float]]:
    """Normalised centroid per ``(group, slot)``, laid out as ``group * n_slots + slot``."""
    sums: list[Counter[str]] = [Counter() for _ in range(n_groups * n_slots)]
    for vec, group, slot in zip(vectors, groups, slots, strict=True):
        sums[group * n_slots + slot].update(vec)
    centroids = []
    for total in sums:
        norm = math.sqrt(sum(w * w for w in total.values()))
        centroids.append({f: w / norm for f, w in total.items()} if norm else {})
    return centroids
