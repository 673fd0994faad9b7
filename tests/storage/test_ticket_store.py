"""Ticket storage: ids, lifecycle with a timestamp per status, listings, the owner-console API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW

from bot.messages import ContactRef, Purpose
from config.i18n import default_templates
from handlers.ticket_actions import answer_ticket, close_ticket
from storage import keys, tickets
from storage.tickets import TicketClosed, TicketNotFound, TicketStatus

pytestmark = pytest.mark.cluster

LATER = FIXED_NOW + timedelta(hours=1)
MUCH_LATER = FIXED_NOW + timedelta(hours=2)


async def open_one(redis, contact_id="telegram:5", *, number="202611220001", at=FIXED_NOW):
    return await tickets.create(
        redis,
        contact_id=contact_id,
        intent="return",
        text="我要退货",
        language="zh-CN",
        now=at,
        order_number=number,
    )


async def test_created_ticket_reads_back_with_a_short_id(redis):
    created = await open_one(redis)
    assert created.id == "T1001" and created.status is TicketStatus.OPEN
    assert await tickets.get(redis, "t1001") == created
    assert created.created_at == FIXED_NOW and created.answered_at is None
    assert (await open_one(redis, number=None)).order_number is None
    assert await tickets.get(redis, "T9999") is None
    assert await tickets.get(redis, "all") is None  # not a ticket id, never an index key


async def test_answer_then_close_records_each_status_time(redis):
    await open_one(redis)
    answered = await tickets.answer(redis, "T1001", "已同意退货", LATER, by="telegram:1")
    closed, closed_now = await tickets.close(
        redis, "T1001", MUCH_LATER, by="telegram:1", reason="done"
    )

    assert (answered.status, answered.answered_at, answered.answer) == (
        TicketStatus.ANSWERED,
        LATER,
        "已同意退货",
    )
    assert closed_now and closed.status is TicketStatus.CLOSED
    assert (closed.created_at, closed.answered_at, closed.closed_at) == (
        FIXED_NOW,
        LATER,
        MUCH_LATER,
    )
    assert (closed.answered_by, closed.closed_by, closed.close_reason) == (
        "telegram:1",
        "telegram:1",
        "done",
    )


async def test_closing_twice_closes_once_and_closed_tickets_take_no_answer(redis):
    await open_one(redis)
    _, first = await tickets.close(redis, "T1001", LATER, by="telegram:1")
    again, second = await tickets.close(redis, "T1001", MUCH_LATER, by="telegram:2")
    assert (first, second) == (True, False)
    assert again.closed_at == LATER and again.closed_by == "telegram:1"
    with pytest.raises(TicketClosed):
        await tickets.answer(redis, "T1001", "late", MUCH_LATER, by="telegram:1")
    with pytest.raises(TicketNotFound):
        await tickets.close(redis, "T4040", LATER, by="telegram:1")


async def test_listings_are_newest_first_and_follow_the_status(redis):
    for minute in range(4):
        await open_one(redis, f"telegram:{minute % 2}", at=FIXED_NOW + timedelta(minutes=minute))
    await tickets.answer(redis, "T1002", "ok", LATER, by="telegram:1")
    await tickets.close(redis, "T1003", LATER, by="telegram:1")

    ids = lambda found: [t.id for t in found]  # noqa: E731
    assert ids(await tickets.list_all(redis)) == ["T1004", "T1003", "T1002", "T1001"]
    assert ids(await tickets.list_open(redis)) == ["T1004", "T1002", "T1001"]
    assert ids(await tickets.list_open(redis, limit=2)) == ["T1004", "T1002"]
    assert ids(await tickets.list_by_status(redis, TicketStatus.ANSWERED)) == ["T1002"]
    assert ids(await tickets.list_by_status(redis, TicketStatus.CLOSED)) == ["T1003"]
    assert ids(await tickets.for_contact(redis, "telegram:0")) == ["T1003", "T1001"]
    latest = await tickets.latest_open_for_contact(redis, "telegram:0")
    assert latest is not None and latest.id == "T1001"


async def test_ticket_keys(redis):
    await open_one(redis)
    assert sorted(await redis.keys("*")) == sorted(
        [
            keys.ticket_sequence(),
            keys.ticket("T1001"),
            keys.tickets_all(),
            keys.tickets_with_status("open"),
            keys.contact_tickets("telegram:5"),
        ]
    )


async def test_owner_answer_and_close_tell_the_customer_in_their_language(redis):
    await open_one(redis)
    await tickets.create(
        redis,
        contact_id="console:tom",
        intent="refund",
        text="refund",
        language="en",
        now=FIXED_NOW,
    )
    templates = default_templates()

    ticket, message = await answer_ticket(
        redis, "T1001", "已同意，请寄回", LATER, by="console:owner", templates=templates
    )
    assert ticket.status is TicketStatus.ANSWERED
    assert message.recipient == ContactRef("telegram", "5")
    assert message.text == "【客服回复｜工单 T1001】已同意，请寄回"
    assert message.purpose is Purpose.TRANSACTIONAL

    _, closing = await close_ticket(redis, "T1002", LATER, by="console:owner", templates=templates)
    _, repeat = await close_ticket(redis, "T1002", LATER, by="console:owner", templates=templates)
    assert closing is not None and closing.text.startswith("Your ticket T1002 has been resolved")
    assert repeat is None
