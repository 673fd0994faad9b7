"""Issue 14: any Redis error on the message path is a 503, so WeChat redelivers.

None becomes an apology and a lost message: the dedupe claim is released, and the
redelivered copy is handled once Redis accepts writes again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import xmltodict
from fakes.wechat_messages import TOKEN, payload, signed_params, text_xml
from redis.exceptions import NoScriptError, ReadOnlyError

from bot.context import Context
from bot.messages import InboundMessage
from storage import keys


@pytest.fixture
async def out_of_memory(redis) -> AsyncIterator[None]:
    """The real server refuses writes (OOM) until the test ends or lifts it."""
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", "1")
    yield
    await redis.config_set("maxmemory", "0")


async def _post(app, msg_id: int):
    body = text_xml("oAlice", "hello", msg_id)
    return await app.http.post("/wechat", params=signed_params(TOKEN), content=body)


async def test_out_of_memory_is_503_and_the_redelivery_is_answered(
    make_wechat_app, wechat_settings, redis, out_of_memory
):
    handled: list[str] = []

    async def answer(message: InboundMessage, ctx: Context) -> bool:
        handled.append(message.id)
        ctx.reply("hi there")
        return True

    app = make_wechat_app(wechat_settings, responders=[answer])

    refused = await _post(app, 501)
    await redis.config_set("maxmemory", "0")
    redelivered = await _post(app, 501)

    assert refused.status_code == 503 and refused.text != "success"
    assert redelivered.status_code == 200
    assert xmltodict.parse(redelivered.text)["xml"]["Content"] == "hi there"
    assert handled == ["501"]


@pytest.mark.parametrize(
    "error",
    [ReadOnlyError("You can't write against a read only replica."), NoScriptError("NOSCRIPT")],
)
async def test_a_redis_error_inside_a_handler_is_503_not_an_apology(
    make_wechat_app, wechat_settings, redis, error
):
    calls: list[str] = []

    async def flaky(message: InboundMessage, ctx: Context) -> bool:
        calls.append(message.id)
        if len(calls) == 1:
            raise error  # what the server answers a write on a replica, or a lost script
        ctx.reply("hi there")
        return True

    app = make_wechat_app(wechat_settings, responders=[flaky])

    refused = await _post(app, 502)
    assert await redis.exists(keys.seen_message("wechat", "502")) == 0
    redelivered = await _post(app, 502)

    assert refused.status_code == 503
    assert xmltodict.parse(redelivered.text)["xml"]["Content"] == "hi there"
    assert calls == ["502", "502"]


async def test_a_redis_error_recording_an_unfollow_is_503_and_the_redelivery_is_recorded(
    wechat_app, redis
):
    contact_key = keys.contact("wechat:FromUser")
    await redis.set(contact_key, "not a hash")  # the real server refuses HSET: WRONGTYPE
    body = payload("unsubscribe_event.xml")

    refused = await wechat_app.http.post("/wechat", params=signed_params(TOKEN), content=body)
    await redis.delete(contact_key)
    redelivered = await wechat_app.http.post("/wechat", params=signed_params(TOKEN), content=body)

    assert refused.status_code == 503
    assert (redelivered.status_code, redelivered.text) == (200, "success")
    assert await redis.hget(contact_key, "unreachable") == "unsubscribed"
