"""The sender against a fake Bot API that enforces Telegram's flood limits."""

from __future__ import annotations

import asyncio

import pytest
from fakes.telegram_bot_api import TOKEN
from fakes.virtual_time import VirtualTimer
from prometheus_client import REGISTRY
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.telegram.limiter import FloodLimiter, Timer
from bot.channels.telegram.sender import Blocked, TelegramSender
from bot.messages import Button, ContactRef, DeliveryError, OutboundMessage
from storage import keys, send_claims


def _to(chat: int | str, text: str, **fields) -> OutboundMessage:
    return OutboundMessage(ContactRef("telegram", str(chat)), text, **fields)


def _virtual_sender(bot, redis) -> tuple[TelegramSender, VirtualTimer]:
    timer = VirtualTimer()
    limiter = FloodLimiter(timer=Timer(timer.clock, timer.sleep))
    return TelegramSender(bot, redis, limiter=limiter), timer


async def test_many_chats_get_their_messages_in_order_without_a_single_429(
    bot, redis, fake_bot_api
):
    sender = TelegramSender(bot, redis)
    chats = range(500, 520)
    messages = [_to(chat, f"{chat}:{seq}") for seq in range(3) for chat in chats]

    await asyncio.gather(*(sender.enqueue(m) for m in messages))

    assert fake_bot_api.http_429s == 0
    for chat in chats:
        assert fake_bot_api.texts_to(chat) == [f"{chat}:0", f"{chat}:1", f"{chat}:2"]


async def test_a_long_text_arrives_in_parts_with_the_buttons_on_the_last(bot, redis, fake_bot_api):
    sender = TelegramSender(bot, redis)
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(100))

    await sender.send(_to(600, text, buttons=(Button("Track", "track:A1"),)))

    parts = fake_bot_api.texts_to(600)
    assert len(parts) == 3 and "\n".join(parts) == text
    markups = [d.reply_markup for d in fake_bot_api.delivered]
    assert markups[:2] == [None, None]
    assert markups[2] == {"inline_keyboard": [[{"text": "Track", "callback_data": "track:A1"}]]}


async def test_a_429_pauses_as_told_and_the_message_goes_out_once(bot, redis, fake_bot_api):
    sender, timer = _virtual_sender(bot, redis)
    fake_bot_api.fail_next(429, retry_after=3)
    limited = REGISTRY.get_sample_value("shopbot_telegram_rate_limited_total") or 0
    retries = REGISTRY.get_sample_value("shopbot_telegram_retries_total") or 0

    await sender.send(_to(601, "您的订单已发货", idempotency_key="order:A1:shipped"))

    assert fake_bot_api.texts_to(601) == ["您的订单已发货"]
    assert fake_bot_api.http_429s == 1
    assert REGISTRY.get_sample_value("shopbot_telegram_rate_limited_total") == limited + 1
    assert REGISTRY.get_sample_value("shopbot_telegram_retries_total") == retries + 1
    assert max(timer.sleeps) == pytest.approx(3, abs=0.01)
    key = keys.sent_message("telegram:601", "order:A1:shipped")
    assert await redis.get(key) == "sent" and await redis.ttl(key) > 86_400


async def test_network_errors_are_retried_with_growing_backoff(bot, redis, fake_bot_api):
    sender, timer = _virtual_sender(bot, redis)
    fake_bot_api.fail_next(502, times=2)

    await sender.send(_to(602, "hello"))

    assert fake_bot_api.texts_to(602) == ["hello"]
    assert timer.sleeps == [0.5, 1.0]


async def test_giving_up_releases_the_idempotency_key_for_a_later_retry(bot, redis, fake_bot_api):
    sender, _ = _virtual_sender(bot, redis)
    fake_bot_api.fail_next(502, times=5)

    with pytest.raises(DeliveryError, match="network error"):
        await sender.send(_to(603, "hello", idempotency_key="k1"))

    assert await redis.exists(keys.sent_message("telegram:603", "k1")) == 0
    await sender.send(_to(603, "hello", idempotency_key="k1"))
    assert fake_bot_api.texts_to(603) == ["hello"]


async def test_the_same_idempotency_key_is_sent_once(bot, redis, fake_bot_api):
    sender = TelegramSender(bot, redis)
    message = _to(604, "复购提醒", idempotency_key="repurchase:604:tea")

    await asyncio.gather(sender.send(message), sender.send(message))
    await sender.send(message)

    assert fake_bot_api.texts_to(604) == ["复购提醒"]


async def test_a_blocked_user_is_reported_and_not_retried(bot, redis, fake_bot_api):
    blocked: list[tuple[str, str]] = []

    async def on_blocked(message: OutboundMessage, reason: str) -> None:
        blocked.append((message.recipient.id, reason))

    sender = TelegramSender(bot, redis, on_blocked=on_blocked)
    fake_bot_api.blocked.add("605")

    with pytest.raises(Blocked):
        await sender.send(_to(605, "hi"))

    assert blocked == [("telegram:605", "Forbidden: bot was blocked by the user")]
    assert len(fake_bot_api.calls_to("sendMessage")) == 1


async def test_a_refused_message_fails_at_once_and_the_next_one_still_goes(
    bot, redis, fake_bot_api
):
    sender = TelegramSender(bot, redis)
    fake_bot_api.fail_next(400)

    first = sender.enqueue(_to(606, "bad"))
    second = sender.enqueue(_to(606, "good"))

    with pytest.raises(DeliveryError, match="refused"):
        await first
    await second
    assert fake_bot_api.texts_to(606) == ["good"]


async def test_close_waits_for_queued_messages(bot, redis, fake_bot_api):
    sender = TelegramSender(bot, redis)
    pending = [sender.enqueue(_to(607, f"m{n}")) for n in range(3)]

    await sender.close(grace_s=10)

    assert all(done.done() for done in pending)
    assert fake_bot_api.texts_to(607) == ["m0", "m1", "m2"]


async def test_an_image_is_uploaded_as_a_photo_after_its_text(bot, redis, fake_bot_api, tmp_path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n fake chart")
    sender = TelegramSender(bot, redis)

    await sender.send(_to(605, "近 30 天走势", image=str(chart)))

    assert fake_bot_api.texts_to(605) == ["近 30 天走势"]
    assert fake_bot_api.photos == [("605", chart.read_bytes())]


async def test_a_send_telegram_does_not_answer_in_time_ends_uncertain_and_is_not_repeated(
    redis, fake_bot_api
):
    """Issue 14: the message may have arrived, so it is neither retried nor counted as sent."""
    impatient = Bot(TOKEN, base_url=fake_bot_api.base_url, request=HTTPXRequest(read_timeout=0.3))
    await impatient.initialize()
    sender = TelegramSender(impatient, redis)
    message = _to(610, "您的订单已发货", idempotency_key="order:A9:shipped")
    fake_bot_api.hold_answers()
    try:
        with pytest.raises(send_claims.Uncertain):
            await sender.send(message)
    finally:
        fake_bot_api.release_answers()
    with pytest.raises(send_claims.Uncertain):
        await sender.send(message)
    await impatient.shutdown()

    assert fake_bot_api.texts_to(610) == ["您的订单已发货"]
    assert await redis.get(keys.sent_message("telegram:610", "order:A9:shipped")) == "uncertain"
