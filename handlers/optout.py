"""Opt-out (TD / 退订 / STOP / unsubscribe) and back in (订阅 / START / subscribe).

Runs first, so it works even while a person handles the contact (handoff). An
opt-out covers every marketing category (:data:`storage.optouts.ALL_CATEGORIES`);
order-status messages are transactional and never blocked by it. Only plain text
counts: Telegram's ``/start`` command is the greeting, the word START re-subscribes.
"""

from __future__ import annotations

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from handlers.text_rules import bare
from handlers.words import wants_optin, wants_optout
from storage import optouts

CHINESE_WORDS = frozenset({"td"})
"""Latin-letter words that are a Chinese convention (回复TD退订): confirmed in Chinese."""


async def optout(message: InboundMessage, ctx: Context) -> bool:
    """Record an opt-out or opt-in and confirm it; other messages pass."""
    if message.kind is not MessageKind.TEXT:
        return False
    if wants_optout(message.text):
        await optouts.opt_out(ctx.redis, ctx.ref.id, ctx.now)
        language = "zh-CN" if bare(message.text) in CHINESE_WORDS else ctx.language
        ctx.reply(ctx.templates.render("optout_confirmed", language))
        return True
    if wants_optin(message.text):
        await optouts.opt_in(ctx.redis, ctx.ref.id)
        ctx.reply(ctx.render("optin_confirmed"))
        return True
    return False
