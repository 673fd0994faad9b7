"""The last responder: what nothing else claimed gets an honest answer, never a guess."""

from __future__ import annotations

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from storage import unanswered


async def fallback(message: InboundMessage, ctx: Context) -> bool:
    """Record an unanswered question and promise a person; acknowledge media politely."""
    match message.kind:
        case MessageKind.TEXT | MessageKind.COMMAND:
            await unanswered.record(ctx.redis, ctx.ref.id, message.text, ctx.now)
            ctx.reply(ctx.render("fallback"))
        case MessageKind.MEDIA:
            ctx.reply(ctx.render("media_received"))
        case _:
            pass  # Events and stale buttons need no answer.
    return True
