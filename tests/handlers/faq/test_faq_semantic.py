"""The default (hybrid) matcher: paraphrases the lexical one misses, chat it declines."""

from __future__ import annotations

import numpy as np
import pytest

from handlers.faq import embedding
from handlers.faq.decision import Matcher
from handlers.faq.embedding import QUERY_TOKENS, Embedder, shared_embedder
from handlers.faq.knowledge import KnowledgeBase, default_kb_path
from handlers.faq.matcher import FaqMatcher
from handlers.faq.semantic import SemanticMatcher
from handlers.faq.text import normalise

# Written for these tests; none is a question of the knowledge base, and the lexical
# matcher does not answer any of them with the right entry.
PARAPHRASES = [
    ("包裹什么时候能送到我家", "shipping_time"),
    ("怎么知道我的包裹现在在哪", "tracking"),
    ("快递一般走哪家", "carriers"),
    ("能不能到了再给钱", "cash_on_delivery"),
    ("衣服尺寸怎么挑", "size_guide"),
    ("i want to speak with someone", "human_agent"),
    ("how do i see where my package is", "tracking"),
    ("what sizes should i pick", "size_guide"),
]

CHAT = [
    "你好",
    "谢谢",
    "今天天气怎么样",
    "我想吃火锅",
    "帮我写一首诗",
    "给我讲个笑话",
    "hello",
    "how are you today",
    "what's the capital of France",
    "tell me a joke",
    "asdfgh",
    "1234567",
    "",
]


@pytest.fixture(scope="module")
def lexical() -> FaqMatcher:
    return FaqMatcher(KnowledgeBase.load(default_kb_path()))


def test_the_default_is_the_hybrid_matcher(default_faq_matcher: Matcher) -> None:
    assert isinstance(default_faq_matcher, SemanticMatcher)
    assert default_faq_matcher.lexical is not None


def test_paraphrases_are_new_to_the_knowledge_base() -> None:
    known = {normalise(q) for e in KnowledgeBase.load(default_kb_path()) for q in e.questions}
    assert not [q for q, _ in PARAPHRASES if normalise(q) in known]
    assert any(q.isascii() for q, _ in PARAPHRASES) and not all(q.isascii() for q, _ in PARAPHRASES)


@pytest.mark.parametrize(("question", "faq_id"), PARAPHRASES)
def test_paraphrases_the_lexical_matcher_misses_are_answered(
    default_faq_matcher: Matcher, lexical: FaqMatcher, question: str, faq_id: str
) -> None:
    missed = lexical.decide(question)
    assert (missed.answered, missed.faq_id) != (True, faq_id)
    decision = default_faq_matcher.decide(question)
    assert (decision.answered, decision.faq_id) == (True, faq_id), decision
    assert decision.score >= default_faq_matcher.policy.threshold  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", CHAT)
def test_chat_is_declined(default_faq_matcher: Matcher, text: str) -> None:
    decision = default_faq_matcher.decide(text)
    assert (decision.answered, decision.faq_id) == (False, None), decision


def test_scores_are_ranked_fractions(default_faq_matcher: Matcher) -> None:
    hits = default_faq_matcher.search("退货运费谁出", limit=3)
    assert len({h.faq_id for h in hits}) == len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(0.0 < h.score <= 1.0 for h in hits)


def test_a_long_message_is_ranked_by_its_question_at_the_end(
    default_faq_matcher: Matcher,
) -> None:
    story = (
        "hi there, I bought a jacket from you last month and my sister liked it so much "
        "that she wants one too, we are planning to order together next week, but first: "
    )
    message = story + "what sizes should i pick"
    assert shared_embedder().token_count(message) > QUERY_TOKENS
    assert default_faq_matcher.search(message, limit=1)[0].faq_id == "size_guide"


def test_a_repeated_question_reuses_its_vector_read_only() -> None:
    embedder = shared_embedder()
    first = embedder.embed_question("衣服尺寸怎么挑")
    again = embedder.embed_question("衣服尺寸怎么挑")

    assert again is first, "the model is not run again for the same text"
    assert not again.flags.writeable, "a kept vector cannot be changed by a caller"
    assert np.allclose(first, embedder.embed(["衣服尺寸怎么挑"])[0])


def test_the_least_recently_asked_question_is_forgotten_past_the_limit(monkeypatch) -> None:
    monkeypatch.setattr(embedding, "QUESTIONS_KEPT", 2)
    embedder = Embedder()
    carriers = embedder.embed_question("快递一般走哪家")
    cash = embedder.embed_question("能不能到了再给钱")
    embedder.embed_question("快递一般走哪家")  # asked again: now the most recent
    sizes = embedder.embed_question("what sizes should i pick")  # one too many: cash goes

    assert embedder.embed_question("快递一般走哪家") is carriers
    assert embedder.embed_question("what sizes should i pick") is sizes
    assert embedder.embed_question("能不能到了再给钱") is not cash, "embedded anew"
