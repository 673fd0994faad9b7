"""The last responder: what nothing else claimed gets an honest answer, never a guess.

The answer promises a person's reply (true to the business hours, :mod:`handlers.promises`),
so the owners are told: a question with the profile line, media forwarded as it is and
kept with the open ticket (:mod:`handlers.media`).
"""

from __future__ import annotations

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from handlers import media
from handlers.owner_notice import notify_owners, ticket_note
from handlers.promises import promise
from storage import unanswered


async def fallback(message: InboundMessage, ctx: Context) -> bool:
    """Record an unanswered question, tell the owners and promise a person; acknowledge media."""
    match message.kind:
        case MessageKind.TEXT | MessageKind.COMMAND:
            await unanswered.record(ctx.redis, ctx.ref.id, message.text, ctx.now)
            ctx.reply(ctx.render("fallback", promise=promise(ctx)))
            if not ctx.is_owner:  # an owner's stray line is no customer's question
                notify_owners(
                    ctx, "owner_unanswered", text=message.text, short_id=ctx.contact.short_id
                )
        case MessageKind.MEDIA:
            ticket_id = await media.keep(message, ctx, in_handoff=False)
            ctx.reply(ctx.render("media_received", promise=promise(ctx)))
            notify_owners(
                ctx,
                "owner_media_received",
                attachment=message.attachment,
                kind=media.kind_label(ctx, message),
                ticket_note=ticket_note(ctx, ticket_id),
                text=message.text or "-",
                short_id=ctx.contact.short_id,
            )
        case _:
            pass  # Events and stale buttons need no answer.
    return True
