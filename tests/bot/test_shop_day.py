"""A shop's day end to end, in-process on real Redis: the pieces wired together.

The owner records and advances an order from the console; follow-ups reach the
customer's chat at the right simulated times; the customer asks where the order
is; the owner answers a ticket and edits the FAQ, and the next customer is answered.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.messages import ContactRef

OWNER = ContactRef("console", "owner")
AMY = ContactRef("console", "amy")


@pytest.fixture
def shop(shop_day):
    return shop_day.runtime, shop_day.clock, shop_day.say, shop_day.texts, shop_day.followups


async def test_order_care_reaches_the_customer_at_the_right_times(shop):
    _runtime, clock, say, inbox, followups = shop
    await say(AMY, "hello")
    [recorded] = await say(OWNER, "/order add C1 tea-250g 2")
    order_id = recorded.split()[1]

    clock.now += timedelta(minutes=5)
    await say(OWNER, f"/order {order_id} paid")
    await followups.run_due(clock.now)
    assert any(order_id in text for text in await inbox(AMY)), "payment thanks"

    clock.now += timedelta(hours=3)
    await say(OWNER, f"/order {order_id} shipped SF SF1234567890")
    await followups.run_due(clock.now)
    shipped = await inbox(AMY)
    assert any("SF1234567890" in text for text in shipped)

    [status] = await say(AMY, f"where is my order {order_id}")
    assert "SF1234567890" in status and "shipped" in status

    clock.now += timedelta(days=2)
    await say(OWNER, f"/order {order_id} delivered")
    await followups.run_due(clock.now + timedelta(minutes=1))
    assert await inbox(AMY), "delivered care"
    await followups.run_due(clock.now + timedelta(days=8, hours=12))
    later = await inbox(AMY)
    assert later, "review thanks and revisit arrive days later"


async def test_opt_out_stops_marketing_but_not_order_care(shop):
    _runtime, clock, say, inbox, followups = shop
    await say(AMY, "hello")
    [recorded] = await say(OWNER, "/order add C1 tea-250g 1")
    order_id = recorded.split()[1]
    await say(AMY, "TD")
    await say(OWNER, f"/order {order_id} shipped SF SF999")
    await followups.run_due(clock.now + timedelta(minutes=1))
    assert any("SF999" in text for text in await inbox(AMY))
    await followups.run_due(clock.now + timedelta(days=200))
    assert await inbox(AMY) == [], "no win-back or repurchase reminder after TD"


async def test_owner_answers_a_ticket_and_teaches_the_faq(shop):
    _runtime, _clock, say, inbox, _followups = shop
    [opened] = await say(AMY, "我要退货 订单号 202611220001")
    assert "T1001" in opened
    assert "T1001" in (await say(OWNER, "/tickets"))[0]
    await say(OWNER, "/reply T1001 好的，请把商品寄回，运费我们承担")
    assert any("运费我们承担" in text for text in await inbox(AMY))

    [unknown] = await say(AMY, "你们周末有直播吗")
    assert "客服会尽快回复" in unknown
    assert "你们周末有直播吗" in (await say(OWNER, "/faq unanswered"))[0]
    await say(OWNER, "/faq answer 1 每周六晚八点直播，欢迎来看！")
    [answered] = await say(ContactRef("console", "bob"), "你们周末有直播吗")
    assert answered == "每周六晚八点直播，欢迎来看！"


async def test_handoff_is_ended_by_the_owner(shop):
    _runtime, _clock, say, inbox, _followups = shop
    await say(AMY, "转人工")
    relayed = await inbox(OWNER)
    assert any("C1" in text for text in relayed)
    [done] = await say(OWNER, "/done C1")
    assert "C1" in done or "console:amy" in done
    assert await inbox(AMY), "the customer is told the handoff ended"
