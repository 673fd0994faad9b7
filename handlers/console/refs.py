"""How owners name a contact: ``telegram:123``, ``wechat:oXXXX``, a short id (``C12``),
or by replying to a message the bot forwarded to them.

The reply reference is a hook: a channel that knows which contact a forwarded
message was about supplies a :data:`ReplyLookup` (for example from a reply-to
field it adds to the inbound message, and a map of forwarded message ids to
contact ids it keeps). Until one is plugged in, only typed references work.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.context import Context
from bot.messages import ContactRef, InboundMessage
from storage import contacts

ReplyLookup = Callable[[InboundMessage, Context], Awaitable[str | None]]
"""The contact id a message replies to (a forwarded customer message), or None."""

_SHORT_ID = re.compile(r"^[Cc]\d+$")
_CONTACT_ID = re.compile(r"^[a-z][a-z0-9_]*:[^\s:,][^\s,]*$")


def looks_like_reference(word: str) -> bool:
    """True for ``C12`` or ``channel:id``."""
    return bool(_SHORT_ID.match(word) or _CONTACT_ID.match(word))


@dataclass(frozen=True, slots=True)
class ReferenceResolver:
    """Turns what an owner typed (or replied to) into a contact id."""

    reply_lookup: ReplyLookup | None = None

    async def resolve(self, word: str, ctx: Context) -> str | None:
        """The contact id ``word`` names (a short id must exist), or None."""
        if _SHORT_ID.match(word):
            return await contacts.resolve_short_id(ctx.redis, word)
        if _CONTACT_ID.match(word):
            return ContactRef.parse(word).id
        return None

    async def take(
        self, words: list[str], message: InboundMessage, ctx: Context
    ) -> tuple[str | None, list[str]]:
        """The contact a command is about, and the words left after its reference.

        The first word when it is a reference; otherwise the contact of the
        message being replied to (through the hook), with every word left.
        """
        if words and looks_like_reference(words[0]):
            return await self.resolve(words[0], ctx), words[1:]
        if self.reply_lookup is not None:
            replied = await self.reply_lookup(message, ctx)
            if replied:
                return replied, words
        return None, words
