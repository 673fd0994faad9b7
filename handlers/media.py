"""A customer's photos, voice, videos and files: kept on the open ticket or handoff, and
forwarded to the owners on their own channel.

The platform's handle (WeChat ``MediaId``, Telegram ``file_id``) is kept with the time
(:mod:`storage.media`) and travels with the owners' notice as its ``attachment``: a
channel sends it natively to an owner on the same platform (WeChat: an image message
with the same ``media_id``; Telegram: the photo itself), the terminal prints a line
naming it, and ``/contact`` lists what was kept
(:func:`handlers.console.media_section.media_section`).
"""

from __future__ import annotations

from bot.context import Context
from bot.messages import InboundMessage
from storage import media, tickets
from storage.media import KeptMedia


async def keep(message: InboundMessage, ctx: Context, *, in_handoff: bool) -> str | None:
    """Keep the message's attachment (if any) with the open ticket or handoff; its ticket id."""
    attachment = message.attachment
    if attachment is None:
        return None
    ticket = await tickets.latest_open_for_contact(ctx.redis, ctx.ref.id)
    ticket_id = ticket.id if ticket else None
    kept = KeptMedia(
        attachment.kind, attachment.channel, attachment.ref, ctx.now, ticket_id, in_handoff
    )
    await media.keep(ctx.redis, ctx.ref.id, kept)
    return ticket_id


def kind_label(ctx: Context, message: InboundMessage) -> str:
    """``图片`` / ``photo`` ... in the shop's language; the generic label without a handle."""
    kind = message.attachment.kind if message.attachment else "other"
    return ctx.templates.render(f"media_kind.{kind}", ctx.settings.language)
