"""Small talk: thanks, okay and goodbye get a short friendly answer, never "unanswered".

The first farewell of a contact also invites them to follow the account or save the
shop (引导关注); the invitation is given once per contact.
"""

from __future__ import annotations

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from handlers.words import small_talk as small_talk_kind
from storage import contacts

FAREWELL = "farewell"


async def small_talk(message: InboundMessage, ctx: Context) -> bool:
    """Claim a message made only of thanks, acknowledgements or goodbyes."""
    if message.kind is not MessageKind.TEXT:
        return False
    kind = small_talk_kind(message.text)
    if kind is None:
        return False
    text = ctx.render(f"small_talk_{kind}")
    if kind == FAREWELL and await contacts.first_follow_invitation(ctx.redis, ctx.ref.id):
        text = f"{text}\n{ctx.render('follow_invite')}"
    ctx.reply(text)
    return True
