"""The terminal chat session: buttons by number, commands, and Redis outages."""

from __future__ import annotations

import asyncio
import io

from support import FIXED_NOW, make_dispatcher

from bot.channels.terminal import ChatSession
from bot.messages import Button, ContactRef, MessageKind
from storage.redis import EmbeddedRedis, create_client


async def test_a_redis_outage_is_reported_and_the_chat_goes_on(tmp_path, settings, capsys):
    server = EmbeddedRedis(tmp_path / "outage", persistent=False)
    client = create_client(server.start())
    out = io.StringIO()
    try:
        dispatcher = make_dispatcher(client, settings)
        session = ChatSession(
            ContactRef("console", "eve"), dispatcher.dispatch, client, out, lambda: FIXED_NOW
        )
        await asyncio.to_thread(server.stop)
        await session.say("hello")
        assert "Redis is unreachable" in capsys.readouterr().err
        assert out.getvalue() == ""

        await asyncio.to_thread(server.start)
        await session.say("hello")
        assert out.getvalue().startswith("Hello")
    finally:
        await client.aclose()
        server.stop()


async def test_a_number_presses_the_last_buttons_and_slash_is_a_command(redis, settings):
    seen = []

    async def record(message, ctx):
        seen.append((message.kind, message.payload, message.command))
        ctx.reply("pick", buttons=(Button("A", "pay:a"), Button("B", "pay:b")))
        return True

    dispatcher = make_dispatcher(redis, settings, responders=[record])
    out = io.StringIO()
    session = ChatSession(
        ContactRef("console", "zed"), dispatcher.dispatch, redis, out, lambda: FIXED_NOW
    )
    await session.say("hi")
    await session.say("2")
    await session.say("/order 5")
    assert seen[1] == (MessageKind.BUTTON, "pay:b", None)
    assert seen[2] == (MessageKind.COMMAND, "5", "order")
    assert "  [2] B" in out.getvalue()
