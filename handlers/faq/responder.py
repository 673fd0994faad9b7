"""The FAQ responder: answers when confident, asks "did you mean" when torn, else passes.

Passing (returning False) lets the fallback record the question as unanswered
and offer a person: the bot never guesses.
"""

from __future__ import annotations

import asyncio

from bot import payloads
from bot.context import Context
from bot.messages import Button, InboundMessage, MessageKind
from config.i18n import detect_language
from config.membership import membership_from
from handlers.faq.knowledge import FaqEntry, answer_for, text_for
from handlers.faq.store import KnowledgeStore
from handlers.membership_answers import MEMBERSHIP_FAQ, overview
from handlers.tagging import tag_from_faq

SUGGESTIONS = 3


class FaqResponder:
    """Answers from the shop's knowledge base."""

    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store

    async def __call__(self, message: InboundMessage, ctx: Context) -> bool:
        match message.kind, payloads.parse(message.payload):
            case MessageKind.BUTTON, payloads.FaqPayload(entry_id):
                kb, _ = await self.store.current()
                entry = kb.get(entry_id)
                if entry is None:
                    return False
                await _answer(entry, ctx)
                return True
            case MessageKind.TEXT, _:
                return await self._match(message.text, ctx)
            case _:
                return False

    async def _match(self, text: str, ctx: Context) -> bool:
        kb, matcher = await self.store.current()
        # A semantic matcher embeds the question (tens of ms of CPU): off the event loop.
        decision = await asyncio.to_thread(matcher.decide, text)
        if decision.answered and decision.faq_id is not None:
            await _answer(kb[decision.faq_id], ctx)
            return True
        if decision.ambiguous:
            entries = [kb[hit.faq_id] for hit in decision.alternatives[:SUGGESTIONS]]
            buttons = tuple(
                Button(question_in(entry, ctx.language), payloads.faq(entry.id))
                for entry in entries
            )
            ctx.reply(ctx.render("faq_did_you_mean"), buttons=buttons)
            return True
        return False


async def _answer(entry: FaqEntry, ctx: Context) -> None:
    buttons = tuple(Button(text_for(b.label, ctx.language), b.payload) for b in entry.buttons)
    ctx.reply(_text_of(entry, ctx), buttons=buttons)
    await tag_from_faq(ctx, entry.tags)


def _text_of(entry: FaqEntry, ctx: Context) -> str:
    """The entry's answer; the membership answer is generated from ``membership.yaml``."""
    if entry.id == MEMBERSHIP_FAQ:
        rules = membership_from(ctx.settings.membership_file)
        return overview(rules, ctx.templates, ctx.language, ctx.settings.shop_name)
    return answer_for(entry, ctx.language)


def question_in(entry: FaqEntry, language: str) -> str:
    """The entry's first phrasing in ``language`` (a button label), else its first."""
    return next((q for q in entry.questions if detect_language(q) == language), entry.questions[0])
