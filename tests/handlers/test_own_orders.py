"""Order-aware answers (售中): 查件, cancel and return without an order number, from the
customer's own orders, through the dispatcher (the terminal chat's path)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from followup_support import RecordingOutlet, dispatcher
from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind
from config.catalog import default_catalog
from config.followup_rules import rules_from
from handlers.orders import OrderEvents, record_order
from handlers.pipeline import default_pipeline
from schedules.order_care import OrderCare
from storage import followups, orders, tickets
from storage.followups import State
from storage.orders import OrderStatus

AMY = "console:amy"


@pytest.fixture
def events(redis):
    events = OrderEvents()
    events.subscribe(OrderCare(redis, rules_from(None), default_catalog()))
    return events


@pytest.fixture
def chat(redis, settings, make_message, events):
    bot = make_dispatcher(redis, settings, responders=default_pipeline(settings, events).responders)

    async def send(text: str, **fields):
        return await bot.dispatch(make_message(text, contact=AMY, **fields))

    return send


@pytest.fixture
def record(redis, settings, events):
    async def record(order_id, status, at=FIXED_NOW, **fields):
        body = {"id": order_id, "contact": AMY, "items": [{"sku": "tea-250g", "qty": 1}]}
        return await record_order(
            redis,
            body | {"status": status} | fields,
            now=at,
            catalog=default_catalog(),
            language="zh-CN",
            tz=settings.tz,
            source="api",
            listeners=events,
        )

    return record


SHIP = {"carrier": "顺丰", "tracking_no": "SF777"}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("我的快递到哪了", "亲，订单 O10000001 已于 11-23 18:00 发货：顺丰 运单号 SF777"),
        ("查件", "亲，订单 O10000001 已于 11-23 18:00 发货：顺丰 运单号 SF777"),
        ("物流到哪了", "亲，订单 O10000001 已于 11-23 18:00 发货：顺丰 运单号 SF777"),
        (
            "where is my order",
            "Order O10000001 shipped on 11-23 18:00: 顺丰, tracking number SF777.",
        ),
        (
            "where's my parcel?",
            "Order O10000001 shipped on 11-23 18:00: 顺丰, tracking number SF777.",
        ),
    ],
)
async def test_one_open_order_is_answered_without_asking_the_number(
    chat, record, redis, question, expected
):
    await record("O10000001", "shipped", **SHIP)
    await record("O10000000", "completed", FIXED_NOW - timedelta(days=40))
    result = await chat(question)
    [reply] = result.replies
    assert reply.text.startswith(expected)
    assert await tickets.for_contact(redis, AMY) == []


async def test_several_open_orders_are_offered_as_buttons(chat, record, redis):
    await record("O10000001", "shipped", **SHIP)
    await record("O10000002", "paid", FIXED_NOW + timedelta(minutes=1))
    result = await chat("我的快递到哪了")
    [reply] = result.replies
    assert "2 个订单" in reply.text
    assert [b.payload for b in reply.buttons] == [
        "order:where_is_order:O10000002",
        "order:where_is_order:O10000001",
    ]
    assert reply.buttons[1].label.startswith("O10000001 西湖龙井")

    pressed = await chat(
        reply.buttons[1].label, kind=MessageKind.BUTTON, payload=reply.buttons[1].payload
    )
    assert "SF777" in pressed.replies[0].text
    assert await tickets.for_contact(redis, AMY) == []


async def test_typing_the_number_after_the_buttons_also_answers(chat, record):
    await record("O10000001", "shipped", **SHIP)
    await record("O10000002", "paid")
    await chat("我的快递到哪了")
    result = await chat("订单 O10000002")
    assert result.replies[0].text.startswith("亲，订单 O10000002 已付款")


async def test_right_after_a_shipped_notice_the_noticed_order_answers(
    chat, record, redis, settings
):
    await record("O10000002", "paid", FIXED_NOW - timedelta(hours=2))
    await record("O10000001", "shipped", FIXED_NOW - timedelta(hours=1), **SHIP)
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(FIXED_NOW - timedelta(hours=1))
    assert "order:O10000001:shipped" in [m.idempotency_key for m in outlet.sent]

    result = await chat("到哪了")
    assert "SF777" in result.replies[0].text and not result.replies[0].buttons


async def test_without_orders_the_number_is_still_asked(chat, redis):
    result = await chat("我的快递到哪了")
    assert "订单号" in result.replies[0].text


async def test_cancel_of_an_unpaid_order_cancels_it_and_its_reminder(chat, record, redis):
    await record("O10000001", "unpaid")
    result = await chat("帮我取消订单")

    order = await orders.get(redis, "O10000001")
    assert order.status is OrderStatus.CANCELLED
    [reminder] = await followups.records(redis, ["order:O10000001:unpaid_reminder"])
    assert reminder.state is State.CANCELLED
    assert result.replies[0].text.startswith("好的，订单 O10000001 还未付款，已为您取消")
    [notice, *_] = result.others
    assert "客户自行取消了未付款订单 O10000001（59.00 元）" in notice.text
    assert await tickets.for_contact(redis, AMY) == []


async def test_cancel_in_english_with_the_number(chat, record, redis):
    await record("O10000001", "unpaid")
    await record("O10000002", "unpaid")
    result = await chat("please cancel my order O10000002")
    assert result.replies[0].text.startswith("Done: order O10000002 was not paid yet")
    assert (await orders.get(redis, "O10000001")).status is OrderStatus.UNPAID


async def test_cancel_of_a_paid_order_opens_a_ticket(chat, record, redis):
    await record("O10000001", "paid")
    result = await chat("我不想要了，取消订单")
    [ticket] = await tickets.for_contact(redis, AMY)
    assert (ticket.intent, ticket.order_number) == ("cancel", "O10000001")
    assert ticket.id in result.replies[0].text
    assert (await orders.get(redis, "O10000001")).status is OrderStatus.PAID


async def test_cancel_of_someone_elses_unpaid_order_does_not_cancel_it(chat, redis, settings):
    body = {"id": "O10000009", "contact": "console:bob", "items": [{"sku": "tea-250g", "qty": 1}]}
    await record_order(
        redis, body, now=FIXED_NOW, catalog=default_catalog(), language="zh-CN",
        tz=settings.tz, source="api",
    )  # fmt: skip
    await chat("取消订单 O10000009")
    assert (await orders.get(redis, "O10000009")).status is OrderStatus.UNPAID


@pytest.mark.parametrize(
    ("delivered_days_ago", "expected"),
    [
        (3, "订单 O10000001 于 2026-11-20 签收，仍在7天无理由退货期内（至 2026-11-27）"),
        (10, "订单 O10000001 于 2026-11-13 签收，已超过7天无理由退货期（2026-11-20 截止）"),
    ],
)
async def test_return_says_whether_it_is_inside_the_no_reason_window(
    chat, record, redis, delivered_days_ago, expected
):
    delivered_at = FIXED_NOW - timedelta(days=delivered_days_ago)
    await record("O10000001", "shipped", delivered_at - timedelta(days=2), **SHIP)
    await record("O10000001", "delivered", delivered_at)
    result = await chat("我要退货")
    [ticket] = await tickets.for_contact(redis, AMY)
    assert (ticket.intent, ticket.order_number) == ("return", "O10000001")
    assert [r.text for r in result.replies][1].startswith(expected)


async def test_return_in_english_inside_the_window(chat, record):
    await record("O10000001", "delivered", FIXED_NOW - timedelta(days=1))
    result = await chat("I want to return my order O10000001")
    assert "inside the 7-day no-reason return window (until 2026-11-29)" in result.replies[1].text


async def test_return_of_an_undelivered_order_says_the_window_starts_on_delivery(chat, record):
    await record("O10000001", "shipped", **SHIP)
    result = await chat("我要退货 O10000001")
    assert "还没有签收记录" in result.replies[1].text
