"""Satisfaction: asked after /close and after delivery; buttons and digits; low scores escalate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from followup_support import RecordingOutlet, dispatcher
from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind, Purpose, parse_command
from storage import followups, keys, satisfaction, tickets
from storage.followups import Followup

OWNER = "telegram:1"
AMY = "telegram:77"
BOB = "console:bob"


@pytest.fixture
def chat(redis, settings, make_message):
    bot = make_dispatcher(redis, settings)

    async def send(contact: str, text: str = "", **fields):
        parsed = parse_command(text)
        if parsed and "kind" not in fields:
            fields |= {"kind": MessageKind.COMMAND, "command": parsed[0], "payload": parsed[1]}
        return await bot.dispatch(make_message(text, contact=contact, **fields))

    return send


async def open_and_close_ticket(chat, contact: str = AMY) -> str:
    opened = await chat(contact, "我要退货 订单号 202611220001")
    ticket_id = next(t for t in opened.replies[0].text.split() if t.startswith("T10"))[:5]
    await chat(OWNER, "hello")
    closed = await chat(OWNER, f"/close {ticket_id}")
    [ask] = [m for m in closed.others if m.buttons]
    assert ask.recipient.id == contact
    assert [b.payload for b in ask.buttons] == [f"rate:{n}:{ticket_id}" for n in range(1, 6)]
    assert ask.buttons[0].label == "1 很不满意"
    assert ticket_id in ask.text
    return ticket_id


async def test_a_button_press_records_the_rating(chat, redis):
    ticket_id = await open_and_close_ticket(chat)
    result = await chat(AMY, "5 非常满意", kind=MessageKind.BUTTON, payload=f"rate:5:{ticket_id}")
    assert "5" in result.replies[0].text and "谢谢" in result.replies[0].text
    rating = await satisfaction.get(redis, ticket_id)
    assert (rating.contact_id, rating.score, rating.rated_at) == (AMY, 5, FIXED_NOW)
    again = await chat(AMY, "4", kind=MessageKind.BUTTON, payload=f"rate:4:{ticket_id}")
    assert "已经评过分" in again.replies[0].text
    assert (await satisfaction.get(redis, ticket_id)).score == 5


async def test_a_bare_digit_answers_a_pending_request(chat, redis):
    ticket_id = await open_and_close_ticket(chat, BOB)
    result = await chat(BOB, "4")
    assert "4" in result.replies[0].text
    assert (await satisfaction.get(redis, ticket_id)).score == 4
    assert await satisfaction.pending(redis, BOB) is None
    later = await chat(BOB, "4")
    assert "已经评过分" not in later.replies[0].text, "no request pending: not a rating"


async def test_a_digit_without_a_request_is_not_a_rating(chat, redis):
    await chat(AMY, "3")
    assert await redis.hlen(keys.ratings()) == 0


async def test_a_low_score_opens_a_ticket_and_tells_the_owners(chat, redis):
    ticket_id = await open_and_close_ticket(chat)
    result = await chat(AMY, "1")
    [new_ticket] = [t for t in await tickets.list_open(redis) if t.intent == "low_rating"]
    assert new_ticket.id in result.replies[0].text
    assert new_ticket.text == f"1/5 · {ticket_id}" and new_ticket.contact_id == AMY
    [notice] = [m for m in result.others if m.recipient.id == OWNER]
    assert "低分评价 1/5" in notice.text and new_ticket.id in notice.text


async def test_a_score_of_three_opens_no_ticket(chat, redis):
    await open_and_close_ticket(chat)
    await chat(AMY, "3")
    assert [t.intent for t in await tickets.list_open(redis)] == []


async def test_the_delivery_request_is_answered_with_a_digit(chat, redis, settings):
    await chat(AMY, "hello")
    due = FIXED_NOW - timedelta(hours=1)
    await followups.schedule(
        redis,
        Followup("order:O5:rate", AMY, due, "rate", Purpose.TRANSACTIONAL, {"order_id": "O5"}),
    )
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(due)
    [sent] = outlet.sent
    assert [b.payload for b in sent.buttons] == [f"rate:{n}:O5" for n in range(1, 6)]
    result = await chat(AMY, "２")  # a full-width digit, as Chinese keyboards type it
    assert "opened ticket T1001" in result.replies[0].text
    assert (await satisfaction.get(redis, "O5")).score == 2
    [low] = [t for t in await tickets.list_open(redis) if t.intent == "low_rating"]
    assert low.order_number == "O5"


async def test_the_delivery_request_expires(chat, redis, settings):
    await chat(AMY, "hello")
    due = FIXED_NOW - timedelta(hours=80)
    await followups.schedule(
        redis,
        Followup("order:O6:rate", AMY, due, "rate", Purpose.TRANSACTIONAL, {"order_id": "O6"}),
    )
    await dispatcher(redis, settings, RecordingOutlet()).run_due(due)
    await chat(AMY, "5")
    assert await satisfaction.get(redis, "O6") is None


async def test_a_rating_during_a_handoff_is_taken_not_relayed(chat, redis):
    ticket_id = await open_and_close_ticket(chat)
    await chat(AMY, "转人工")
    result = await chat(AMY, "5")
    assert (await satisfaction.get(redis, ticket_id)).score == 5
    assert [m.recipient.id for m in result.others] == []
    assert "谢谢" in result.replies[0].text


@pytest.mark.parametrize("payload", ["rate:9:T1001", "rate:3", "rate::T1001"])
async def test_a_malformed_rating_button_is_not_a_rating(chat, redis, payload):
    await chat(AMY, "x", kind=MessageKind.BUTTON, payload=payload)
    assert await redis.hlen(keys.ratings()) == 0
