"""Issue 14: a redis-py retry of a claim that already ran finds its own token.

The client talks to the real test Redis through a proxy that lets one claim run and
then loses its reply with the connection, so redis-py retries the claim for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakes.redis_proxy import ReplyDroppingProxy
from support import FIXED_NOW, make_dispatcher

from bot.context import Context
from bot.messages import InboundMessage
from storage import keys, send_claims
from storage.redis import create_client

ALICE = "console:alice"


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[ReplyDroppingProxy]:
    """A proxy in front of the session's Redis."""
    proxy = await ReplyDroppingProxy(redis_url).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def lossy(proxy: ReplyDroppingProxy, redis) -> AsyncIterator:
    """A client (retrying as the bot's does) through the proxy."""
    client = create_client(proxy.url)
    yield client
    await client.aclose()


async def test_a_send_claim_retried_after_it_ran_is_still_its_own(proxy, lossy, redis):
    await send_claims.claim(lossy, "console:bob", "warm", "t0", now=FIXED_NOW)  # loads the script
    key = keys.sent_message(ALICE, "order:9:shipped")
    proxy.drop_reply_to(key)

    assert await send_claims.claim(lossy, ALICE, "order:9:shipped", "mine", now=FIXED_NOW)

    assert proxy.dropped == 1
    assert (await redis.get(key)).startswith("sending|mine|")


async def test_an_inbound_message_whose_claim_reply_was_lost_is_handled(
    proxy, lossy, redis, settings, make_message
):
    handled: list[str] = []

    async def answer(message: InboundMessage, ctx: Context) -> bool:
        handled.append(message.id)
        ctx.reply("got it")
        return True

    dispatcher = make_dispatcher(lossy, settings, responders=[answer])
    proxy.drop_reply_to(keys.seen_message("console", "m1"))

    result = await dispatcher.dispatch(make_message("hello", message_id="m1"))

    assert proxy.dropped == 1
    assert not result.duplicate
    assert handled == ["m1"]
    assert [reply.text for reply in result.replies] == ["got it"]
    again = await dispatcher.dispatch(make_message("hello", message_id="m1"))
    assert again.duplicate
