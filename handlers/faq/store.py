"""The shop's working knowledge base: one YAML file and the matcher built from it.

The file is the source of truth: it is read on start (seeded from the shipped
``config/faq/default.yaml`` the first time), rewritten atomically when an owner
edits an entry from chat, and re-read by every process when its modification
time changes, so several bot processes answer from the same entries. The matcher is
built in a worker thread; a semantic one embeds only phrasings its cache lacks.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from config.settings import Settings
from handlers.faq.choice import MatcherKind, build_matcher, resolve_kind
from handlers.faq.decision import Matcher
from handlers.faq.embedding import Embedder
from handlers.faq.knowledge import KnowledgeBase, default_kb_path


def working_kb_path(settings: Settings) -> Path:
    """``SHOPBOT_FAQ_FILE``, else ``faq.yaml`` in the data folder."""
    return settings.faq_file or settings.data_dir / "faq.yaml"


def knowledge_store(settings: Settings) -> KnowledgeStore:
    """The store of ``settings``: its file, ``SHOPBOT_FAQ_MATCHER`` and embedding cache."""
    return KnowledgeStore(
        working_kb_path(settings),
        kind=resolve_kind(settings.faq_matcher),
        cache_folder=settings.faq_cache_dir or settings.data_dir,
    )


class KnowledgeStore:
    """Loads, caches, reloads and saves the knowledge base and its matcher."""

    def __init__(
        self,
        path: Path,
        seed: Path | None = None,
        kind: MatcherKind = "lexical",
        cache_folder: Path | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        """Keep the knowledge base in ``path`` (seeded from ``seed``), matched by ``kind``;
        a semantic matcher caches phrasing vectors in ``cache_folder`` (default: beside
        ``path``) and embeds with ``embedder`` (default: the process's one)."""
        self.path = path
        self.kind = kind
        self._embedder = embedder
        self._cache_folder = cache_folder or path.parent
        self._seed = seed or default_kb_path()
        self._lock = asyncio.Lock()
        self._loaded_mtime: int | None = None
        self._loaded: tuple[KnowledgeBase, Matcher] | None = None

    async def current(self) -> tuple[KnowledgeBase, Matcher]:
        """The knowledge base and its matcher, rebuilt if the file changed."""
        async with self._lock:
            mtime = self._mtime()
            if mtime is None:
                mtime = await asyncio.to_thread(self._seed_file)
            if self._loaded is None or mtime != self._loaded_mtime:
                kb = await asyncio.to_thread(KnowledgeBase.load, self.path)
                return await self._use(kb, mtime)
            return self._loaded

    async def save(self, kb: KnowledgeBase) -> None:
        """Write ``kb`` to the file (atomically) and answer from it from now on."""
        async with self._lock:
            mtime = await asyncio.to_thread(self._write, kb)
            await self._use(kb, mtime)

    async def _use(self, kb: KnowledgeBase, mtime: int) -> tuple[KnowledgeBase, Matcher]:
        matcher = await asyncio.to_thread(
            build_matcher, kb, self.kind, self._cache_folder, self._embedder
        )
        self._loaded, self._loaded_mtime = (kb, matcher), mtime
        return kb, matcher

    def _mtime(self) -> int | None:
        # A stat on every question: cheaper inline than a hop to a worker thread.
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _seed_file(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._seed, self.path)
        return self.path.stat().st_mtime_ns

    def _write(self, kb: KnowledgeBase) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".yaml.tmp")
        kb.dump(partial)
        os.replace(partial, self.path)
        return self.path.stat().st_mtime_ns
