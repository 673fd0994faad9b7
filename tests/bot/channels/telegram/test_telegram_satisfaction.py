"""Satisfaction on Telegram: the rating question arrives as inline buttons; a press is a rating."""

from __future__ import annotations

from fakes.telegram_bot_api import TOKEN
from support import FIXED_NOW
from telegram import Update

from bot.app import open_runtime
from bot.messages import ContactRef, InboundMessage, MessageKind
from storage import satisfaction, tickets

CUSTOMER = 42


def _text(update_id: int, text: str, user: int) -> dict:
    sender = {"id": user, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"}
    chat = {"id": user, "type": "private", "first_name": "Li"}
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": chat, "from": sender}
    return {"update_id": update_id, "message": message | {"text": text}}


def _press(update_id: int, data: str, user: int) -> dict:
    query = {
        "id": f"cb-{update_id}",
        "from": {"id": user, "is_bot": False, "first_name": "Li"},
        "chat_instance": "c",
        "data": data,
        "message": {"message_id": 3, "date": 1, "chat": {"id": user, "type": "private"}},
    }
    return {"update_id": update_id, "callback_query": query}


async def test_rating_buttons_on_telegram(settings, redis, bot, fake_bot_api):
    tg_settings = settings.model_copy(
        update={"telegram_token": TOKEN, "telegram_base_url": fake_bot_api.base_url}
    )
    async with open_runtime(tg_settings, clock=lambda: FIXED_NOW) as runtime:
        channel = runtime.channels["telegram"]
        await channel.bot.initialize()  # as start() would: stop() then closes its HTTP client
        await channel.accept(
            Update.de_json(_text(1, "我要退货 订单号 202611220001", CUSTOMER), bot)
        )
        [ticket] = await tickets.list_open(redis)
        close = InboundMessage(
            id="owner-1",
            contact=ContactRef("telegram", "1"),
            chat_id="1",
            kind=MessageKind.COMMAND,
            received_at=FIXED_NOW,
            text=f"/close {ticket.id}",
            command="close",
            payload=ticket.id,
        )
        await runtime.receive(close)
        asks = [
            call
            for call in fake_bot_api.calls_to("sendMessage")
            if f"rate:1:{ticket.id}" in str(call.get("reply_markup"))
        ]
        assert len(asks) == 1 and str(asks[0]["chat_id"]) == str(CUSTOMER)
        assert "5 非常满意" in str(asks[0]["reply_markup"])

        await channel.accept(Update.de_json(_press(2, f"rate:1:{ticket.id}", CUSTOMER), bot))
        await channel.stop()

    assert (await satisfaction.get(redis, ticket.id)).score == 1
    [low] = [t for t in await tickets.list_open(redis) if t.intent == "low_rating"]
    assert any(low.id in text for text in fake_bot_api.texts_to(CUSTOMER))
    assert any("低分评价 1/5" in text for text in fake_bot_api.texts_to(1))
