"""Sending rules: the customer-service window, template messages, and why each decision."""

from __future__ import annotations

import pytest
from fakes.wechat_api import CUSTOM_SEND, TEMPLATE_SEND
from fakes.wechat_messages import TOKEN, payload, signed_params, text_xml

from bot.channels.wechat.client import ShopbotWeChatClient, WeChatApi
from bot.messages import ContactRef, DeliveryError, OutboundMessage, Purpose
from storage import contacts, keys, send_decisions, wechat_window

ALICE = ContactRef("wechat", "oAlice")

TEMPLATES_YAML = """
templates:
  transactional:
    template_id: "TPL-ORDER"
    url: "https://shop.example/orders"
    fields:
      first: "{shop_name}"
      keyword1: "{text}"
      keyword2: "{date}"
"""


@pytest.fixture
def template_settings(wechat_settings, tmp_path):
    path = tmp_path / "wechat_templates.yaml"
    path.write_text(TEMPLATES_YAML, encoding="utf-8")
    return wechat_settings.model_copy(update={"wechat_templates_file": path})


def _out(text: str, purpose: Purpose = Purpose.TRANSACTIONAL, **extra) -> OutboundMessage:
    return OutboundMessage(recipient=ALICE, text=text, purpose=purpose, **extra)


async def _user_writes(app, msg_id: int = 1) -> None:
    response = await app.http.post(
        "/wechat", params=signed_params(TOKEN), content=text_xml("oAlice", "hello", msg_id)
    )
    assert response.status_code == 200


async def test_inside_the_window_sends_customer_service_messages(wechat_app, redis):
    await _user_writes(wechat_app)
    check = await wechat_app.channel.check(_out("your parcel left", Purpose.MARKETING))
    assert (check.allowed, check.via) == (True, "custom")
    await wechat_app.runtime.delivery.send(_out("your parcel left"))
    [sent] = wechat_app.api.requests(CUSTOM_SEND)
    assert sent.body == {
        "touser": "oAlice",
        "msgtype": "text",
        "text": {"content": "your parcel left"},
    }
    [decision] = await send_decisions.recent(redis, ALICE.id)
    assert (decision.allowed, decision.via, decision.purpose) == (True, "custom", "transactional")


async def test_five_messages_per_user_message(wechat_app, redis):
    await _user_writes(wechat_app)
    for n in range(5):
        await wechat_app.channel.send(_out(f"update {n}", Purpose.MARKETING))
    with pytest.raises(DeliveryError, match="marketing is not sent"):
        await wechat_app.channel.send(_out("one too many", Purpose.MARKETING))
    assert len(wechat_app.api.requests(CUSTOM_SEND)) == 5
    await _user_writes(wechat_app, msg_id=2)  # the user writes again: five more
    assert (await wechat_app.channel.check(_out("x", Purpose.MARKETING))).allowed


async def test_window_closes_after_48_hours(wechat_app):
    await _user_writes(wechat_app)
    wechat_app.clock.advance(hours=47, minutes=59)
    assert (await wechat_app.channel.check(_out("x"))).via == "custom"
    wechat_app.clock.advance(minutes=2)
    check = await wechat_app.channel.check(_out("x", Purpose.MARKETING))
    assert not check.allowed and "outside the customer-service window" in check.reason


async def test_follow_opens_a_one_minute_window_for_three(wechat_app):
    await wechat_app.http.post(
        "/wechat", params=signed_params(TOKEN), content=payload("subscribe_event.xml")
    )
    follower = ContactRef("wechat", "FromUser")
    message = OutboundMessage(recipient=follower, text="coupon", purpose=Purpose.MARKETING)
    for _ in range(3):
        await wechat_app.channel.send(message)
    assert not (await wechat_app.channel.check(message)).allowed
    wechat_app.clock.advance(seconds=61)
    assert not (await wechat_app.channel.check(message)).allowed


async def test_outside_the_window_marketing_is_not_sent_and_recorded(wechat_app, redis):
    with pytest.raises(DeliveryError):
        await wechat_app.channel.send(_out("big sale", Purpose.MARKETING))
    assert wechat_app.api.requests() == []
    [decision] = await send_decisions.recent(redis, ALICE.id)
    assert not decision.allowed and decision.purpose == "marketing"
    assert "marketing is not sent" in decision.reason


async def test_outside_the_window_transactional_needs_a_template(wechat_app, redis):
    check = await wechat_app.channel.check(_out("shipped"))
    assert not check.allowed and "no template message configured" in check.reason
    with pytest.raises(DeliveryError):
        await wechat_app.channel.send(_out("shipped"))
    assert (await send_decisions.recent(redis, ALICE.id))[0].reason == check.reason


async def test_outside_the_window_transactional_goes_as_template(
    make_wechat_app, template_settings
):
    app = make_wechat_app(template_settings)
    check = await app.channel.check(_out("order 42 shipped"))
    assert (check.allowed, check.via) == (True, "template")
    await app.channel.send(_out("order 42 shipped"))
    [sent] = app.api.requests(TEMPLATE_SEND)
    assert sent.body == {
        "touser": "oAlice",
        "template_id": "TPL-ORDER",
        "url": "https://shop.example/orders",
        "data": {
            "first": {"value": "Shopbot"},
            "keyword1": {"value": "order 42 shipped"},
            "keyword2": {"value": "2026-11-23 18:00"},  # FIXED_NOW in Asia/Shanghai
        },
    }
    assert app.api.requests(CUSTOM_SEND) == []


async def test_45015_closes_the_window_and_falls_back_to_template(
    make_wechat_app, template_settings, redis
):
    app = make_wechat_app(template_settings)
    await _user_writes(app)
    app.api.fail_next(CUSTOM_SEND, 45015)
    await app.channel.send(_out("shipped"))
    assert len(app.api.requests(CUSTOM_SEND)) == 1  # no blind retry
    assert len(app.api.requests(TEMPLATE_SEND)) == 1
    assert not (await wechat_window.get(redis, ALICE.id)).is_open(app.clock())
    [decision] = await send_decisions.recent(redis, ALICE.id)
    assert decision.via == "template" and "45015" in decision.reason


async def test_45047_spends_the_quota_and_marketing_stops(wechat_app, redis):
    await _user_writes(wechat_app)
    wechat_app.api.fail_next(CUSTOM_SEND, 45047)
    with pytest.raises(DeliveryError, match="45047"):
        await wechat_app.channel.send(_out("sale", Purpose.MARKETING))
    window = await wechat_window.get(redis, ALICE.id)
    assert window.remaining == 0 and window.expires_at > wechat_app.clock()
    assert not (await wechat_app.channel.check(_out("sale", Purpose.MARKETING))).allowed
    assert len(wechat_app.api.requests(CUSTOM_SEND)) == 1


async def test_other_errors_refund_the_quota(wechat_app, redis):
    await _user_writes(wechat_app)
    wechat_app.api.fail_next(CUSTOM_SEND, 40003)
    with pytest.raises(DeliveryError, match="40003"):
        await wechat_app.channel.send(_out("x"))
    assert (await wechat_window.get(redis, ALICE.id)).remaining == 5
    assert not (await send_decisions.recent(redis, ALICE.id))[0].allowed


async def test_unsubscribed_contact_is_not_sent_to(wechat_app, redis):
    await _user_writes(wechat_app)
    await contacts.mark_unreachable(redis, ALICE.id, "unsubscribed")
    check = await wechat_app.channel.check(_out("x"))
    assert not check.allowed and "unsubscribed" in check.reason


async def test_idempotency_key_sends_once(wechat_app, redis):
    await _user_writes(wechat_app)
    message = _out("shipped", idempotency_key="order:42:shipped")
    await wechat_app.channel.send(message)
    await wechat_app.channel.send(message)
    assert len(wechat_app.api.requests(CUSTOM_SEND)) == 1
    assert await redis.get(keys.sent_message(ALICE.id, "order:42:shipped")) == "sent"


async def test_failed_send_can_be_retried_with_the_same_key(wechat_app):
    await _user_writes(wechat_app)
    message = _out("shipped", idempotency_key="order:43:shipped")
    wechat_app.api.fail_next(CUSTOM_SEND, 40003)
    with pytest.raises(DeliveryError):
        await wechat_app.channel.send(message)
    await wechat_app.channel.send(message)
    assert len(wechat_app.api.requests(CUSTOM_SEND)) == 2


async def test_access_token_is_shared_through_redis(wechat_settings, wechat_api, redis):
    def process() -> WeChatApi:
        client = ShopbotWeChatClient("wxshop", "secret", wechat_settings.wechat_api_base_url)
        return WeChatApi(client, redis)

    first, second = process(), process()
    await first.send_text("oA", "one")
    await second.send_text("oA", "two")
    assert wechat_api.tokens_issued == 1
    assert {r.params["access_token"] for r in wechat_api.requests(CUSTOM_SEND)} == {"TOKEN1"}


async def test_rejected_token_is_refreshed_once(wechat_settings, wechat_api, redis):
    client = ShopbotWeChatClient("wxshop", "secret", wechat_settings.wechat_api_base_url)
    api = WeChatApi(client, redis)
    await api.send_text("oA", "one")
    wechat_api.revoke_tokens()
    await api.send_text("oA", "two")
    assert wechat_api.tokens_issued == 2
    assert [r.params["access_token"] for r in wechat_api.requests(CUSTOM_SEND)] == [
        "TOKEN1",
        "TOKEN1",
        "TOKEN2",
    ]
