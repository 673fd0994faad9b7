"""Retries and the 5-second rule: handled once, answered alike, never cancelled."""

from __future__ import annotations

import asyncio

import xmltodict
from fakes.wechat_api import CUSTOM_SEND
from fakes.wechat_messages import TOKEN, signed_params, text_xml
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.messages import Purpose
from config.i18n import default_templates
from storage import contacts


async def _post(app, body: str, **params: str):
    return await app.http.post("/wechat", params=signed_params(TOKEN, **params), content=body)


def _content(response) -> str:
    return xmltodict.parse(response.text)["xml"]["Content"]


async def test_same_msgid_three_times_concurrently_is_handled_once(wechat_app, redis):
    body = text_xml("oCarol", "你好", 777)
    responses = await asyncio.gather(*(_post(wechat_app, body) for _ in range(3)))
    greeting = default_templates().render("greeting", "zh-CN", shop_name="Shopbot")
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [_content(r) for r in responses] == [greeting] * 3
    assert (await contacts.get(redis, "wechat:oCarol")).message_count == 1
    await wechat_app.channel.stop()
    assert wechat_app.api.requests(CUSTOM_SEND) == []


async def test_a_later_retry_gets_the_same_reply(wechat_app, redis):
    body = text_xml("oDan", "hello", 778)
    first = await _post(wechat_app, body)
    retry = await _post(wechat_app, body, nonce="other")
    assert _content(first) == _content(retry)
    assert (await contacts.get(redis, "wechat:oDan")).message_count == 1


class _Gate:
    """A handler that waits until the test opens the gate, then replies twice."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.calls = 0

    async def __call__(self, message, ctx) -> bool:
        self.calls += 1
        await self.open.wait()
        ctx.reply(f"slow answer to {message.text}")
        ctx.reply("and one more thing")
        return True


async def test_slow_handler_answers_success_then_sends_through_the_api(
    make_wechat_app, wechat_settings
):
    gate = _Gate()
    settings = wechat_settings.model_copy(update={"wechat_reply_budget_ms": 100})
    app = make_wechat_app(settings, responders=(gate,))
    missed = REGISTRY.get_sample_value("shopbot_wechat_reply_budget_missed_total") or 0
    response = await _post(app, text_xml("oEve", "where is my parcel", 779))
    assert (response.status_code, response.text) == (200, "success")
    assert REGISTRY.get_sample_value("shopbot_wechat_reply_budget_missed_total") == missed + 1
    assert gate.calls == 1 and not gate.open.is_set()  # answered while the handler still ran
    assert app.api.requests(CUSTOM_SEND) == []

    retry = await _post(app, text_xml("oEve", "where is my parcel", 779), nonce="retry")
    assert retry.text == "success" and gate.calls == 1

    gate.open.set()
    await app.channel.stop()
    sent = [r.body for r in app.api.requests(CUSTOM_SEND)]
    assert sent == [
        {"touser": "oEve", "msgtype": "text", "text": {"content": text}}
        for text in ("slow answer to where is my parcel", "and one more thing")
    ]


async def test_second_reply_in_time_goes_through_the_api(make_wechat_app, wechat_settings, redis):
    async def two_replies(message, ctx) -> bool:
        ctx.reply("first")
        ctx.reply("second", purpose=Purpose.REPLY)
        return True

    app = make_wechat_app(wechat_settings, responders=(two_replies,))
    response = await _post(app, text_xml("oFay", "hi", 780))
    assert _content(response) == "first"
    await app.channel.stop()
    sent = app.api.requests(CUSTOM_SEND)
    assert [r.body["text"]["content"] for r in sent] == ["second"]


async def test_redis_down_is_503_so_wechat_retries(make_wechat_app, wechat_settings, tmp_path):
    unreachable = Redis.from_url(
        f"unix://{tmp_path / 'none.sock'}", decode_responses=True, retry=Retry(NoBackoff(), 0)
    )
    app = make_wechat_app(wechat_settings, redis=unreachable)
    response = await _post(app, text_xml("oGus", "hi", 781))
    await unreachable.aclose()
    assert response.status_code == 503 and response.text != "success"
