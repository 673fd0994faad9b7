"""The terminal shows a message's picture as ``[chart: path]``, live or from the mailbox."""

from __future__ import annotations

import io

from support import FIXED_NOW

from bot.channels.terminal import ChatSession, ConsoleChannel
from bot.messages import ContactRef, OutboundMessage

OWNER = ContactRef("console", "owner")


async def test_a_mailed_picture_is_shown_by_its_path(redis):
    channel = ConsoleChannel(redis)
    await channel.send(OutboundMessage(OWNER, "📈 chart", image="/data/charts/a.png"))
    await channel.send(OutboundMessage(OWNER, "plain"))
    out = io.StringIO()

    async def receive(message):  # never called: only the mailbox is shown
        raise AssertionError(message)

    await ChatSession(OWNER, receive, redis, out, lambda: FIXED_NOW).show_mailbox()
    assert out.getvalue() == "📈 chart\n[chart: /data/charts/a.png]\nplain\n"
