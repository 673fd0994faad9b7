"""The phrasing-vector cache: reused across processes, only new texts embedded, bad files redone."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import PROJECT_ROOT, PYTHON, bot_env

from handlers.faq.choice import build_matcher
from handlers.faq.embedding import Embedder, EmbeddingCache, shared_embedder
from handlers.faq.knowledge import FaqEntry, KnowledgeBase
from handlers.faq.semantic import SemanticMatcher

ENTRIES = [
    {"id": "sofa", "questions": ["do you clean sofas", "沙发能清洗吗"], "answer": "Yes."},
    {"id": "hours", "questions": ["when are you open", "几点开门"], "answer": "9-18."},
]


class CountingEmbedder(Embedder):
    """The session's model, recording every text it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    @property
    def model_id(self) -> str:
        return shared_embedder().model_id

    def token_count(self, text: str) -> int:
        return shared_embedder().token_count(text)

    def embed(self, texts: Sequence[str], as_query: bool = True) -> np.ndarray:
        self.texts.extend(texts)
        return shared_embedder().embed(texts, as_query)


@pytest.fixture
def kb() -> KnowledgeBase:
    return KnowledgeBase.from_data(ENTRIES)


def test_a_second_build_embeds_nothing(tmp_path: Path, kb: KnowledgeBase) -> None:
    first, second = CountingEmbedder(), CountingEmbedder()
    SemanticMatcher(kb, EmbeddingCache(tmp_path, first))
    SemanticMatcher(kb, EmbeddingCache(tmp_path, second))
    assert sorted(first.texts) == sorted(q for e in kb for q in e.questions)
    assert second.texts == []


def test_an_added_entry_embeds_only_its_phrasings(tmp_path: Path, kb: KnowledgeBase) -> None:
    SemanticMatcher(kb, EmbeddingCache(tmp_path, CountingEmbedder()))
    added = kb.with_entry(FaqEntry("gift", ("can you wrap it as a gift", "能包装成礼物吗"), "Yes."))
    counting = CountingEmbedder()
    matcher = SemanticMatcher(added, EmbeddingCache(tmp_path, counting))
    assert sorted(counting.texts) == ["can you wrap it as a gift", "能包装成礼物吗"]
    assert matcher.search("gift wrapping please", limit=1)[0].faq_id == "gift"


def test_the_cache_keeps_only_the_current_phrasings(tmp_path: Path, kb: KnowledgeBase) -> None:
    cache = EmbeddingCache(tmp_path, CountingEmbedder())
    SemanticMatcher(kb, cache)
    smaller = kb.without_entry("hours")
    SemanticMatcher(smaller.with_entry(FaqEntry("x", ("anything else",), "y")), cache)
    with np.load(cache.path) as data:
        assert data["keys"].shape == (3, 16) and data["vectors"].shape[0] == 3


def test_an_unreadable_cache_is_rebuilt(tmp_path: Path, kb: KnowledgeBase) -> None:
    cache = EmbeddingCache(tmp_path, CountingEmbedder())
    tmp_path.mkdir(exist_ok=True)
    cache.path.write_bytes(b"not a numpy file")
    matcher = SemanticMatcher(kb, cache)
    assert matcher.decide("do you clean sofas").faq_id == "sofa"
    counting = CountingEmbedder()
    SemanticMatcher(kb, EmbeddingCache(tmp_path, counting))
    assert counting.texts == []


def test_another_process_loads_the_cache_without_the_model(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    kb_file = tmp_path / "kb.yaml"
    kb_file.write_text(yaml.safe_dump(ENTRIES, allow_unicode=True), encoding="utf-8")
    build_matcher(kb, "semantic", tmp_path, CountingEmbedder())
    [cache_file] = tmp_path.glob("faq-embeddings-*.npz")
    before = cache_file.stat().st_mtime_ns
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from handlers.faq.choice import build_matcher
        from handlers.faq.embedding import shared_embedder
        from handlers.faq.knowledge import KnowledgeBase
        kb = KnowledgeBase.load({str(kb_file)!r})
        build_matcher(kb, "hybrid", Path({str(tmp_path)!r}))
        print("model loaded:", shared_embedder().loaded)
        """
    )
    done = subprocess.run(
        [PYTHON, "-c", script],
        cwd=PROJECT_ROOT,
        env=bot_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "model loaded: False"
    assert cache_file.stat().st_mtime_ns == before


def test_a_truncated_cache_is_rebuilt(tmp_path: Path, kb: KnowledgeBase) -> None:
    cache = EmbeddingCache(tmp_path, CountingEmbedder())
    SemanticMatcher(kb, cache)
    cache.path.write_bytes(cache.path.read_bytes()[:200])
    counting = CountingEmbedder()
    matcher = SemanticMatcher(kb, EmbeddingCache(tmp_path, counting))
    assert len(counting.texts) == 4
    assert matcher.decide("几点开门").faq_id == "hours"
