"""The sparse index returns exactly what brute-force cosine scoring would."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from handlers.faq import index as index_module
from handlers.faq.index import SparseIndex

VOCAB = [
    f"w:{w}"
    for w in ["ship", "track", "size", "refund", "invoice", "coupon", "member", "pay", "box", "fit"]
] + [f"c:{g}" for g in ("ab", "bc", "cd", "de", "ef")]


def brute_force(
    index: SparseIndex, docs, groups, slots, features, weight
) -> list[tuple[int, float]]:
    query = index.vectorise(features)
    vectors = [index._doc_vector(d) for d in docs]

    def cos(a: dict, b: dict) -> float:
        return sum(w * b.get(f, 0.0) for f, w in a.items())

    scores = []
    for group in range(groups[-1] + 1):
        members = [i for i, g in enumerate(groups) if g == group]
        best_doc = max(cos(query, vectors[i]) for i in members)
        best_centroid = 0.0
        for slot in set(slots[i] for i in members):
            total: Counter = Counter()
            for i in members:
                if slots[i] == slot:
                    total.update(vectors[i])
            norm = math.sqrt(sum(v * v for v in total.values()))
            if norm:
                best_centroid = max(
                    best_centroid, cos(query, {f: v / norm for f, v in total.items()})
                )
        scores.append((group, (1 - weight) * best_doc + weight * best_centroid))
    return sorted(scores, key=lambda gs: (-gs[1], gs[0]))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("top_phrasings", [1, 3, 64])
def test_search_matches_brute_force(
    seed: int, top_phrasings: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "TOP_PHRASINGS", top_phrasings)
    rng = random.Random(seed)
    groups = sorted(rng.randrange(12) for _ in range(40))
    groups = [sorted(set(groups)).index(g) for g in groups]  # renumber 0..n-1
    docs = [rng.sample(VOCAB, rng.randint(1, 5)) for _ in groups]
    slots = [rng.randrange(2) for _ in groups]
    index = SparseIndex(docs, groups, slots, centroid_weight=0.4)
    for _ in range(10):
        features = [*rng.sample(VOCAB, rng.randint(1, 4)), "w:unknown"]
        expected = [
            gs for gs in brute_force(index, docs, groups, slots, features, 0.4) if gs[1] > 0
        ]
        got = index.search(features, limit=3)
        assert [round(s, 4) for _, s in got] == [round(s, 4) for _, s in expected[:3]]
        for (group, score), (_, expected_score) in zip(got, expected, strict=False):
            assert math.isclose(score, dict(expected)[group], abs_tol=1e-4)
            assert math.isclose(score, expected_score, abs_tol=1e-4)


def test_groups_must_be_contiguous_and_numbered() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        SparseIndex([["w:a"], ["w:b"]], [1, 0])
    with pytest.raises(ValueError, match="non-decreasing"):
        SparseIndex([["w:a"], ["w:b"]], [0, 2])


def test_unknown_words_lower_the_score_but_unknown_ngrams_do_not() -> None:
    index = SparseIndex([["w:ship", "w:time"], ["w:refund"]], [0, 1])
    ((_, plain),) = index.search(["w:ship", "w:time"], limit=1)
    ((_, with_word),) = index.search(["w:ship", "w:time", "w:mars"], limit=1)
    ((_, with_gram),) = index.search(["w:ship", "w:time", "c:zz"], limit=1)
    assert plain == pytest.approx(1.0)
    assert with_word < plain
    assert with_gram == pytest.approx(plain)


def test_nothing_known_finds_nothing() -> None:
    index = SparseIndex([["w:ship"]], [0])
    assert index.search(["w:mars"], limit=3) == []
    assert index.search([], limit=3) == []
    assert SparseIndex([], []).search(["w:ship"], limit=3) == []
