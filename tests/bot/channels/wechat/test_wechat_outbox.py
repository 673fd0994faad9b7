"""Issue 14: WeChat replies that go through the customer-service API are durable.

The passive answer is never kept; the others are kept in the round trip that
commits the message, and leave the outbox once sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from fakes.wechat_api import CUSTOM_SEND
from fakes.wechat_messages import TOKEN, signed_params, text_xml

from storage import keys


async def _post(app, msg_id: int):
    body = text_xml("oGus", "hi", msg_id)
    return await app.http.post("/wechat", params=signed_params(TOKEN), content=body)


async def _eventually(condition: Callable[[], bool], deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.02)  # the fake API works in another thread


async def _kept(redis) -> list[str]:
    return sorted(id.split("\x1f")[1] for id in await redis.hkeys(keys.outbox()))


async def test_the_passive_answer_is_not_kept_and_later_replies_leave_once_sent(
    make_wechat_app, wechat_settings, redis
):
    async def three_replies(message, ctx) -> bool:
        for text in ("first", "second", "third"):
            ctx.reply(text)
        return True

    app = make_wechat_app(wechat_settings, responders=(three_replies,))
    app.api.hold(CUSTOM_SEND)  # the API replies are in flight

    response = await _post(app, 901)
    await _eventually(lambda: len(app.api.requests(CUSTOM_SEND)) == 1)
    in_flight = await _kept(redis)  # what a crash at this moment would leave
    app.api.release()
    await app.channel.stop()

    assert response.status_code == 200 and "first" in response.text
    assert in_flight == ["msg:wechat:901:1", "msg:wechat:901:2"]
    sent = [r.body["text"]["content"] for r in app.api.requests(CUSTOM_SEND)]
    assert sent == ["second", "third"]
    assert await _kept(redis) == []


async def test_a_reply_past_the_budget_is_kept_until_sent(make_wechat_app, wechat_settings, redis):
    gate = asyncio.Event()

    async def slow(message, ctx) -> bool:
        await gate.wait()
        ctx.reply("sorry for the wait")
        return True

    settings = wechat_settings.model_copy(update={"wechat_reply_budget_ms": 100})
    app = make_wechat_app(settings, responders=(slow,))
    app.api.hold(CUSTOM_SEND)

    response = await _post(app, 902)
    gate.set()
    await _eventually(lambda: len(app.api.requests(CUSTOM_SEND)) == 1)
    in_flight = await _kept(redis)
    app.api.release()
    await app.channel.stop()

    assert response.text == "success"
    assert in_flight == ["msg:wechat:902:0"]
    assert await _kept(redis) == []
