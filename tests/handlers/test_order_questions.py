"""Order questions through the dispatcher: tickets, asking for the order number, owners told."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from support import FIXED_NOW, make_dispatcher

from bot.messages import ContactRef, Purpose
from config.catalog import default_catalog
from handlers.orders import record_order
from storage import contacts, keys, tickets, unanswered
from storage.tickets import TicketStatus

# intent -> (Chinese request, English request, a phrase of the Chinese next step)
INTENTS = {
    "where_is_order": ("我的快递到哪了", "where is my order", "物流进度"),
    "return": ("我要退货", "I want to return my order", "退货地址"),
    "exchange": ("我想换个尺码", "I need to exchange my jacket", "确认有货"),
    "refund": ("我要退款", "I want a refund", "原路返回"),
    "cancel": ("帮我取消订单", "please cancel my order", "全额退款"),
    "wrong_item": (
        "收到的衣服发错货了",
        "I received the wrong item",
        "退货退款，或者换成正确的商品",
    ),
    "missing_item": ("我的包裹少发了一件", "an item is missing from my parcel", "补发"),
    "address_change": ("我要改地址", "I need to change my delivery address", "新的收货信息"),
    "cash_on_delivery": (
        "帮我确认一下货到付款",
        "please confirm my cash on delivery order",
        "快递员",
    ),
}
NUMBER = "202611220001"


@pytest.fixture
def dispatcher(redis, settings):
    return make_dispatcher(redis, settings)


@pytest.mark.parametrize("intent", sorted(INTENTS))
async def test_chinese_request_with_order_number_opens_a_ticket(
    dispatcher, redis, make_message, intent
):
    zh, _, next_step = INTENTS[intent]
    result = await dispatcher.dispatch(make_message(f"{zh} 订单号{NUMBER}", contact="console:zh"))

    [ticket] = await tickets.for_contact(redis, "console:zh")
    assert (ticket.intent, ticket.order_number, ticket.status) == (
        intent,
        NUMBER,
        TicketStatus.OPEN,
    )
    assert ticket.language == "zh-CN" and ticket.text.startswith(zh)
    [reply] = result.replies
    assert reply.text.startswith("亲，已为您登记")
    assert ticket.id in reply.text and NUMBER in reply.text and next_step in reply.text


@pytest.mark.parametrize("intent", sorted(INTENTS))
async def test_english_request_with_order_number_opens_a_ticket(
    dispatcher, redis, make_message, intent
):
    _, en, _ = INTENTS[intent]
    result = await dispatcher.dispatch(make_message(f"{en}, order {NUMBER}", contact="console:en"))

    [ticket] = await tickets.for_contact(redis, "console:en")
    assert (ticket.intent, ticket.order_number, ticket.language) == (intent, NUMBER, "en")
    [reply] = result.replies
    assert reply.text.startswith("Got it: I've recorded your")
    assert f"ticket {ticket.id} (order {NUMBER})" in reply.text


@pytest.mark.parametrize("intent", sorted(INTENTS))
@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_missing_order_number_is_asked_for_then_completed(
    dispatcher, redis, make_message, intent, language
):
    zh, en, _ = INTENTS[intent]
    text = zh if language == "zh-CN" else en
    asked = await dispatcher.dispatch(make_message(text))

    assert await tickets.list_all(redis) == []
    expected = "麻烦发一下您的订单号" if language == "zh-CN" else "send me your order number"
    assert expected in asked.replies[0].text
    assert await redis.exists(keys.pending_order_question("console:alice"))

    done = await dispatcher.dispatch(make_message(f"订单号 {NUMBER}"))

    [ticket] = await tickets.list_all(redis)
    assert (ticket.intent, ticket.order_number) == (intent, NUMBER)
    assert ticket.text == f"{text}\n订单号 {NUMBER}"
    assert ticket.id in done.replies[0].text
    assert not await redis.exists(keys.pending_order_question("console:alice"))


async def test_pending_question_expires_with_the_configured_ttl(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings.model_copy(update={"pending_question_ttl_s": 120}))
    await dispatcher.dispatch(make_message("我要退货"))
    assert 0 < await redis.ttl(keys.pending_order_question("console:alice")) <= 120

    await redis.delete(keys.pending_order_question("console:alice"))  # as if the TTL ran out
    late = await dispatcher.dispatch(make_message(NUMBER))

    assert await tickets.list_all(redis) == []
    assert late.replies[0].text.startswith("亲，这个问题小助手暂时答不上来")


async def test_a_newer_request_replaces_the_pending_one(dispatcher, redis, make_message):
    await dispatcher.dispatch(make_message("我要退货"))
    await dispatcher.dispatch(make_message("算了，我要换货"))
    await dispatcher.dispatch(make_message(NUMBER))
    [ticket] = await tickets.list_all(redis)
    assert ticket.intent == "exchange"


async def test_a_policy_question_meanwhile_keeps_the_pending_one(dispatcher, redis, make_message):
    await dispatcher.dispatch(make_message("我要退货"))
    await dispatcher.dispatch(make_message("退货运费谁出？"))
    await dispatcher.dispatch(make_message(NUMBER))
    [ticket] = await tickets.list_all(redis)
    assert ticket.intent == "return"


async def test_complaint_needs_no_order_number_and_promises_a_follow_up(
    redis, settings, make_message
):
    dispatcher = make_dispatcher(
        redis, settings.model_copy(update={"complaint_follow_up_hours": 12})
    )
    zh = await dispatcher.dispatch(make_message("服务太差，我要给差评", contact="console:zh"))
    en = await dispatcher.dispatch(make_message("I want to complain", contact="console:en"))

    assert len(await tickets.list_all(redis)) == 2
    assert "工单号 T100" in zh.replies[0].text and "12 小时内" in zh.replies[0].text
    assert "within 12 hours" in en.replies[0].text


@pytest.mark.parametrize(
    "text",
    ["七天无理由退货吗", "how do returns work", "do you offer refunds?", "支持货到付款吗"],
)
async def test_policy_questions_open_no_ticket(dispatcher, redis, make_message, text):
    result = await dispatcher.dispatch(make_message(text))
    assert await tickets.list_all(redis) == []
    assert not await redis.exists(keys.pending_order_question("console:alice"))
    # The FAQ answers policy questions: nothing is left unanswered.
    assert await unanswered.recent(redis) == []
    assert len(result.replies) == 1


async def test_owners_get_the_ticket_with_the_profile_line(dispatcher, redis, make_message):
    result = await dispatcher.dispatch(
        make_message(f"我要退货 订单号 {NUMBER}", contact="telegram:77", display_name="小美")
    )
    contact = await contacts.get(redis, "telegram:77")
    [ticket] = await tickets.list_all(redis)

    notices = result.others
    assert {n.recipient for n in notices} == {
        ContactRef("telegram", "1"),
        ContactRef("console", "owner"),
    }
    assert all(n.purpose is Purpose.TRANSACTIONAL for n in notices)
    text = notices[0].text
    assert f"新工单 {ticket.id}｜退货申请｜订单 {NUMBER}" in text
    assert f"{contact.short_id} · telegram · 小美" in text
    assert "售后" in text and "退货" in text  # the intent tags, already applied
    assert f"/reply {ticket.id}" in text


async def test_owner_notice_is_in_the_shop_language(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings.model_copy(update={"language": "en"}))
    result = await dispatcher.dispatch(make_message(f"我要退款 {NUMBER}"))
    assert result.others[0].text.startswith("🆕 New ticket T1001 | refund request")
    assert result.replies[0].text.startswith("亲，已为您登记退款申请")


async def test_ticket_ids_count_up(dispatcher, redis, make_message):
    for n in range(3):
        await dispatcher.dispatch(make_message(f"我要退款 订单 2026112200{n:02d}"))
    assert [t.id for t in await tickets.list_all(redis)] == ["T1003", "T1002", "T1001"]


async def test_known_order_status_is_answered_directly(redis, settings, make_message):
    await record(redis, NUMBER, "console:alice", "shipped", carrier="顺丰", tracking_no="SF12345")
    await record(redis, "209900000001", "console:bob", "shipped")
    dispatcher = make_dispatcher(redis, settings)
    known = await dispatcher.dispatch(make_message(f"我的快递到哪了 {NUMBER}"))
    someone_elses = await dispatcher.dispatch(make_message("我的快递到哪了 209900000001"))
    unknown = await dispatcher.dispatch(make_message("我的快递到哪了 209900000000"))

    assert known.replies[0].text == (
        f"亲，订单 {NUMBER} 已于 11-23 18:00 发货：顺丰 运单号 SF12345，"
        "可在快递官网或小程序查询物流。"
    )
    opened = await tickets.list_all(redis)
    assert sorted(t.order_number for t in opened) == ["209900000000", "209900000001"]
    assert opened[1].id in someone_elses.replies[0].text and opened[0].id in unknown.replies[0].text


async def record(redis, order_id, contact, status, **fields):
    body = {"id": order_id, "contact": contact, "items": [{"sku": "tea-250g", "qty": 1}]}
    await record_order(
        redis,
        body | {"status": status} | fields,
        now=FIXED_NOW,
        catalog=default_catalog(),
        language="zh-CN",
        tz=ZoneInfo("Asia/Shanghai"),
        source="api",
    )
