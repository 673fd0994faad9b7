"""FAQ matcher quality and speed: the default (hybrid), semantic and lexical matchers.

Quality: on Banking77 (``bench/data/``, CC-BY-4.0) build one knowledge base from the
first 5 training questions of each intent plus the shop's default entries, ask every
test question (``--quick``: every 5th) and report top-1 accuracy of each matcher beside
a baseline computed in the same run: TF-IDF over character 2-4-grams inside words (the
scikit-learn ``char_wb`` recipe: raw tf, smoothed idf, L2 norm), nearest phrasing by
cosine. At the shipped policy: the answered and wrong rates of the default matcher,
the share of out-of-scope questions it declines (``bench/data/oos_*.txt``: small talk,
other trades, nonsense, in Chinese and English), and of Banking77 test questions whose
intents were left out of a second knowledge base (``heldout_rejected``).

``--calibrate`` instead searches the hybrid weight and each policy on a dev split only
(Banking77 training questions 6-15 of each intent, and ``bench/data/oos_dev.txt``), and
compares the ``query: `` and ``passage: `` prefixes for phrasings.

Speed: p50/p99 latency of ``decide()`` with a 5,000-entry knowledge base (Banking77
training questions two per entry, the shop's default entries, and word-dropped
variants), queried with Banking77 test questions and Chinese questions; the first build
(every phrasing embedded) and the load from the embedding cache.

Query vectors of the quality part are kept in ``bench/.cache/`` between runs (the
speed part always embeds). Run from the project root:
``python bench/faq_quality.py [--quick] [--part quality|speed|all] [--calibrate]``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.faq.choice import build_matcher, resolve_kind  # noqa: E402
from handlers.faq.decision import Decision, Hit, Matcher, Policy, decide  # noqa: E402
from handlers.faq.embedding import Embedder, EmbeddingCache  # noqa: E402
from handlers.faq.knowledge import FaqEntry, KnowledgeBase  # noqa: E402
from handlers.faq.matcher import FaqMatcher  # noqa: E402
from handlers.faq.semantic import SemanticMatcher  # noqa: E402

DATA = ROOT / "bench" / "data"
CACHE = ROOT / "bench" / ".cache"
DEFAULT_KB = ROOT / "config" / "faq" / "default.yaml"
SHOTS = 5
DEV_SHOTS = 10
HELD_OUT_EVERY = 8
"""Every 8th intent (by name) is left out of the held-out knowledge base: 10 of 77."""
ZH_QUERIES = [
    "东西几天能到",
    "你们发什么快递",
    "可以开发票吗",
    "支持货到付款吗",
    "七天无理由退货怎么弄",
    "会员有什么好处",
    "怎么查物流",
    "尺码偏大还是偏小",
]


_SCRATCH = tempfile.TemporaryDirectory(prefix="faq-bench-")
"""Embedding caches of this run, removed when it ends."""


def scratch() -> Path:
    """A new empty folder inside this run's scratch folder."""
    return Path(tempfile.mkdtemp(dir=_SCRATCH.name))


def read_csv(path: Path) -> list[tuple[str, str]]:
    """Rows of ``(text, category)``."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [(row["text"], row["category"]) for row in csv.DictReader(fh)]


def few_shot(train: list[tuple[str, str]], shots: int, skip: int = 0) -> dict[str, list[str]]:
    """Training questions ``skip..skip+shots`` of each intent, in file order."""
    per_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in train:
        per_intent[intent].append(text)
    return {intent: texts[skip : skip + shots] for intent, texts in per_intent.items()}


def read_lines(path: Path) -> list[str]:
    """Non-empty lines that are not ``#`` comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


class CharNgramBaseline:
    """Nearest training question by cosine over char_wb 2-4-gram TF-IDF vectors."""

    def __init__(self, questions: list[tuple[str, str]]) -> None:
        docs = [Counter(self._grams(q)) for q, _ in questions]
        df = Counter(g for d in docs for g in d)
        n = len(docs)
        self._idf = {g: math.log((1 + n) / (1 + c)) + 1 for g, c in df.items()}
        self._labels = [label for _, label in questions]
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, doc in enumerate(docs):
            for g, w in self._vector(doc).items():
                self._postings[g].append((i, w))

    @staticmethod
    def _grams(text: str) -> list[str]:
        out = []
        for word in text.lower().split():
            padded = f" {word} "
            for n in (2, 3, 4):
                out.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
        return out

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        vec = {g: tf * self._idf[g] for g, tf in counts.items() if g in self._idf}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {g: v / norm for g, v in vec.items()}

    def predict(self, text: str) -> str | None:
        """The label of the most similar training question."""
        scores: dict[int, float] = defaultdict(float)
        for g, qw in self._vector(Counter(self._grams(text))).items():
            for i, w in self._postings[g]:
                scores[i] += qw * w
        if not scores:
            return None
        return self._labels[max(scores, key=scores.__getitem__)]


class MemoEmbedder(Embedder):
    """The real model, with every vector it made kept in ``bench/.cache/`` for the next run."""

    def __init__(self, phrasing_prefix_query: bool = True) -> None:
        super().__init__()
        self._as_query = phrasing_prefix_query
        self._path = CACHE / f"vectors-{self.model_id.rsplit('-', 1)[0]}.npz"
        self._memo: dict[bytes, np.ndarray] = {}
        if self._path.exists():
            with np.load(self._path) as data:
                rows = data["keys"]
                self._memo = dict(zip((r.tobytes() for r in rows), data["vectors"], strict=True))
        self._dirty = False

    def embed(self, texts: Sequence[str], as_query: bool = True) -> np.ndarray:
        keys = [_memo_key(t, as_query) for t in texts]
        missing = list(
            dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._memo)
        )
        for chunk in range(0, len(missing), 64):
            part = missing[chunk : chunk + 64]
            for text, vector in zip(part, super().embed(part, as_query), strict=True):
                self._memo[_memo_key(text, as_query)] = vector
            self._dirty = True
            if len(missing) > 64:
                print(f"  embedded {chunk + len(part)}/{len(missing)}", flush=True)
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._memo[k] for k in keys])

    def embed_phrasings(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts, as_query=self._as_query)

    def save(self) -> None:
        """Write the vectors for the next run."""
        if not self._dirty:
            return
        CACHE.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(self._memo), dtype=np.uint8).reshape(len(self._memo), 16)
        np.savez(self._path, keys=keys, vectors=np.stack(list(self._memo.values())))


def _memo_key(text: str, as_query: bool) -> bytes:
    return hashlib.sha256(f"{int(as_query)}:{text}".encode()).digest()[:16]


class Data:
    """The knowledge bases and question sets of the quality part."""

    def __init__(self, quick: bool) -> None:
        train = read_csv(DATA / "banking77_train.csv")
        self.test = read_csv(DATA / "banking77_test.csv")[:: 5 if quick else 1]
        shots = few_shot(train, SHOTS)
        self.dev = [(q, i) for i, qs in few_shot(train, DEV_SHOTS, skip=SHOTS).items() for q in qs]
        shop = list(KnowledgeBase.load(DEFAULT_KB))
        banking = [FaqEntry(id=i, questions=tuple(qs), answer=i) for i, qs in shots.items()]
        self.kb = KnowledgeBase((*shop, *banking))
        self.held_out = set(sorted(shots)[::HELD_OUT_EVERY])
        self.kb_held = KnowledgeBase(tuple(e for e in self.kb if e.id not in self.held_out))
        self.oos = {lang: read_lines(DATA / f"oos_{lang}.txt") for lang in ("zh", "en")}
        self.oos_dev = read_lines(DATA / "oos_dev.txt")
        self.phrasings = [(q, e.id) for e in self.kb for q in e.questions]

    def texts(self) -> list[str]:
        """Every text the quality part embeds."""
        oos = [q for qs in self.oos.values() for q in qs]
        return [
            *(q for q, _ in self.phrasings),
            *(q for q, _ in self.test + self.dev),
            *oos,
            *self.oos_dev,
        ]


def matchers(data: Data, kb: KnowledgeBase, embedder: Embedder) -> dict[str, Matcher]:
    """The three matchers on ``kb``, with ``default`` naming the shipped choice."""
    folder = scratch()
    built: dict[str, Matcher] = {
        kind: build_matcher(kb, kind, folder, embedder)
        for kind in ("lexical", "semantic", "hybrid")
    }
    built["default"] = built[resolve_kind(None)]
    return built


def ranked(matcher: Matcher, questions: Sequence[str]) -> list[list[Hit]]:
    """The top 3 hits of every question."""
    return [matcher.search(q, limit=3) for q in questions]


def rates(decisions: Sequence[Decision], labels: Sequence[str]) -> tuple[float, float]:
    """Answered and wrongly answered shares."""
    answered = sum(d.answered for d in decisions)
    wrong = sum(
        d.answered and d.faq_id != label for d, label in zip(decisions, labels, strict=True)
    )
    return answered / len(decisions), wrong / len(decisions)


def top1(hits: Sequence[Sequence[Hit]], labels: Sequence[str]) -> float:
    """Share of questions whose best entry is right."""
    return sum(
        bool(h) and h[0].faq_id == label for h, label in zip(hits, labels, strict=True)
    ) / len(labels)


def declined(matcher: Matcher, questions: Sequence[str]) -> float:
    """Share of ``questions`` not answered."""
    return sum(not matcher.decide(q).answered for q in questions) / len(questions)


def quality(quick: bool) -> dict[str, float]:
    """Top-1 of every matcher and the baseline; the default's rates at its policy."""
    data = Data(quick)
    embedder = MemoEmbedder()
    embedder.embed(data.texts())
    embedder.save()
    built = matchers(data, data.kb, embedder)
    baseline = CharNgramBaseline(data.phrasings)
    questions, labels = [q for q, _ in data.test], [i for _, i in data.test]
    figures = {f"{kind}_top1": top1(ranked(m, questions), labels) for kind, m in built.items()}
    figures["baseline_top1"] = sum(baseline.predict(q) == i for q, i in data.test) / len(labels)
    default = built["default"]
    decisions = [default.decide(q) for q in questions]
    figures["answered_rate"], figures["wrong_rate"] = rates(decisions, labels)
    lexical_decisions = [built["lexical"].decide(q) for q in questions]
    figures["lexical_answered_rate"], figures["lexical_wrong_rate"] = rates(
        lexical_decisions, labels
    )
    for lang, oos in data.oos.items():
        figures[f"oos_rejected_{lang}"] = declined(default, oos)
    figures["oos_rejected"] = declined(default, [q for qs in data.oos.values() for q in qs])
    held = [(q, i) for q, i in data.test if i in data.held_out]
    default_held = matchers(data, data.kb_held, embedder)["default"]
    figures["heldout_rejected"] = declined(default_held, [q for q, _ in held])
    oos_n = sum(len(v) for v in data.oos.values())
    print(
        f"banking77: {len(data.kb)} entries ({len(data.kb) - 77} the shop's), {len(labels)} test"
        f" questions; {oos_n} out-of-scope; {len(held)} held-out questions;"
        f" default matcher: {resolve_kind(None)}"
    )
    return figures


def calibrate() -> None:
    """Search the hybrid weight and each policy on the dev split; compare prefixes."""
    data = Data(quick=False)
    dev_q, dev_l = [q for q, _ in data.dev], [i for _, i in data.dev]
    for as_query in (True, False):
        embedder = MemoEmbedder(phrasing_prefix_query=as_query)
        embedder.embed(data.texts())
        embedder.embed([q for q, _ in data.phrasings], as_query=as_query)
        embedder.save()
        folder = scratch()
        semantic = build_matcher(data.kb, "semantic", folder, embedder)
        side = "query" if as_query else "passage"
        print(f"phrasings as {side}: semantic dev top1 {top1(ranked(semantic, dev_q), dev_l):.4f}")
    embedder = MemoEmbedder()
    lexical = FaqMatcher(data.kb)
    lex_hits = ranked(lexical, dev_q)
    print(f"lexical: dev top1 {top1(lex_hits, dev_l):.4f}")
    print(f"  best policy {best_policy(lex_hits, dev_l, ranked(lexical, data.oos_dev))}")
    cache = EmbeddingCache(scratch(), embedder)
    for centroid in (0.3, 0.5, 0.7):
        for weight in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3):
            matcher = SemanticMatcher(
                data.kb,
                cache,
                lexical=lexical if weight else None,
                lexical_weight=weight,
                centroid_weight=centroid,
            )
            dev_hits, oos_hits = ranked(matcher, dev_q), ranked(matcher, data.oos_dev)
            print(f"centroid {centroid} lexical {weight}: dev top1 {top1(dev_hits, dev_l):.4f}")
            print(f"  best policy {best_policy(dev_hits, dev_l, oos_hits)}")


def best_policy(
    dev_hits: list[list[Hit]],
    labels: list[str],
    oos_hits: list[list[Hit]],
    max_wrong: float = 0.04,
    min_oos: float = 0.975,
) -> tuple[float, float, float, float, float] | None:
    """(threshold, margin, answered, wrong, oos declined) answering most within the limits."""
    best = None
    for threshold in np.arange(0.30, 0.95, 0.01):
        for margin in (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12):
            policy = Policy(float(threshold), margin, 0.0)
            answered, wrong = rates([decide(h, policy) for h in dev_hits], labels)
            oos = sum(not decide(h, policy).answered for h in oos_hits) / len(oos_hits)
            if wrong <= max_wrong and oos >= min_oos and (best is None or answered > best[2]):
                best = (round(float(threshold), 2), margin, answered, wrong, oos)
    return best


def synthetic_kb(size: int, seed: int = 7) -> KnowledgeBase:
    """A ``size``-entry knowledge base from real questions plus word-dropped variants."""
    rng = random.Random(seed)
    shop = list(KnowledgeBase.load(DEFAULT_KB))
    texts = [t for t, _ in read_csv(DATA / "banking77_train.csv")]
    entries = list(shop)
    i = 0
    while len(entries) < size:
        pair = texts[(2 * i) % len(texts) : (2 * i) % len(texts) + 2]
        variants = [_drop_word(t, rng) for t in pair]
        entries.append(FaqEntry(id=f"syn{i}", questions=(*pair, *variants), answer="x"))
        i += 1
    return KnowledgeBase(tuple(entries[:size]))


def _drop_word(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) > 3:
        del words[rng.randrange(len(words))]
    return " ".join(words)


def speed(quick: bool, size: int = 5000) -> dict[str, float]:
    """Latency of the default matcher's ``decide()``, its first build and cached load."""
    kb = synthetic_kb(size)
    kind = resolve_kind(None)
    FaqMatcher(KnowledgeBase.load(DEFAULT_KB))  # warm jieba's dictionary outside the timing
    figures: dict[str, float] = {}
    start = time.perf_counter()
    lexical = FaqMatcher(kb)
    figures["lexical_build_s_5000"] = time.perf_counter() - start
    folder = scratch()
    start = time.perf_counter()
    matcher = build_matcher(kb, kind, folder, Embedder())  # every phrasing embedded
    figures["build_s_5000"] = time.perf_counter() - start
    figures["load_s_5000"] = run_in_new_process(LOAD_SCRIPT, size=size, kind=kind, folder=folder)
    figures["model_rss_mb"] = run_in_new_process(RSS_SCRIPT)
    queries = [t for t, _ in read_csv(DATA / "banking77_test.csv")] + ZH_QUERIES * 40
    queries = queries[:: 12 if quick else 3]
    gc.collect()
    for name, timed in (("", matcher), ("lexical_", lexical)):
        times, cpu = _latencies(timed, queries)
        figures[f"{name}p50_ms_5000"] = _pct(times, 50)
        figures[f"{name}p50_cpu_ms_5000"] = _pct(cpu, 50)
        figures[f"{name}p99_ms_5000"] = _pct(times, 99)
        figures[f"{name}p99_cpu_ms_5000"] = _pct(cpu, 99)
    phrasings = sum(len(e.questions) for e in kb)
    print(
        f"speed: {kind} matcher, {len(kb)} entries, {phrasings} phrasings, {len(queries)} queries"
    )
    print(f"load average after timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return figures


LOAD_SCRIPT = """
import sys, time
from pathlib import Path
sys.path.insert(0, {bench!r})
from faq_quality import DEFAULT_KB, synthetic_kb
from handlers.faq.choice import build_matcher
from handlers.faq.embedding import shared_embedder
from handlers.faq.knowledge import KnowledgeBase
from handlers.faq.matcher import FaqMatcher
kb = synthetic_kb({size})
FaqMatcher(KnowledgeBase.load(DEFAULT_KB))  # jieba's dictionary, outside the timing
start = time.perf_counter()
build_matcher(kb, {kind!r}, Path({folder!r}))
assert not shared_embedder().loaded, "the cache should have spared the model"
print(time.perf_counter() - start)
"""
"""A restarted process building the matcher from the embedding cache: seconds."""

RSS_SCRIPT = """
import sys
sys.path.insert(0, {bench!r})
from faq_quality import DATA, ZH_QUERIES, _rss_mb, read_csv
from handlers.faq.embedding import shared_embedder
texts = [t for t, _ in read_csv(DATA / "banking77_test.csv")][::10] + ZH_QUERIES
before = _rss_mb()
for text in texts:
    shared_embedder().embed([text])
print(_rss_mb() - before)
"""
"""Resident memory the model adds to a process that has embedded 316 varied questions
one by one, like a running bot (MB; the weights are a memory-mapped file, paged in as
used)."""


def run_in_new_process(script: str, **fields: object) -> float:
    """Run ``script`` (formatted with ``fields``) in a fresh interpreter; its printed number."""
    code = script.format(bench=str(ROOT / "bench"), **{k: str(v) for k, v in fields.items()})
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def _latencies(matcher: Matcher, queries: Sequence[str]) -> tuple[list[float], list[float]]:
    """Wall and thread-CPU milliseconds of ``decide()`` per query."""
    times, cpu = [], []
    for text in queries:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        matcher.decide(text)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        cpu.append((time.thread_time_ns() - c0) / 1e6)
    return times, cpu


def _rss_mb() -> float:
    """Resident memory of this process now, from ``/proc``."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * pct // 100)]


def main() -> int:
    """Print the figures, one ``name: value`` line each at the end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every 5th test question")
    parser.add_argument("--part", choices=("quality", "speed", "all"), default="all")
    parser.add_argument("--calibrate", action="store_true", help="search the policy on dev")
    args = parser.parse_args()
    if args.calibrate:
        calibrate()
        return 0
    figures: dict[str, float] = {}
    if args.part in ("quality", "all"):
        figures.update(quality(args.quick))
        figures["banking77_top1"] = figures["default_top1"]
        figures["gain_over_baseline_points"] = 100 * (
            figures["default_top1"] - figures["baseline_top1"]
        )
        figures["gain_over_lexical_points"] = 100 * (
            figures["default_top1"] - figures["lexical_top1"]
        )
        figures["top1_gain_points"] = figures["gain_over_baseline_points"]
    if args.part in ("speed", "all"):
        figures.update(speed(args.quick))
    print("accuracies and rates are fractions (0-1); gains are in percentage points")
    for name, value in figures.items():
        print(f"{name}: {value:.4f}" if abs(value) < 10 else f"{name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
