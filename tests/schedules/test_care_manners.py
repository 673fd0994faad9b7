"""Care with manners (购物关怀): bursts keep the tracking number, expiry, quiet hours, the
arrived notice and the delivered usage tip from the catalogue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from followup_support import T0, RecordingOutlet, dispatcher, make_contact

from config.catalog import default_catalog
from config.followup_rules import load_rules, rules_from
from schedules.lifecycle import OrderFacts, on_order_status
from storage import followups
from storage.followups import State
from storage.orders import OrderItem

BEA = "console:bea"
RULES = rules_from(None)
CATALOG = default_catalog()
TEA = OrderItem("tea-250g", "Longjing", 1, 59.0)
POT = OrderItem("teapot", "Teapot", 1, 299.0)
NIGHT = T0 + timedelta(hours=15, minutes=30)
"""01:30 in Shanghai: inside the default quiet hours (21:00-09:00)."""
MORNING = T0 + timedelta(days=1)
"""10:00 the next day."""


async def advance(redis, status, at, *items, **extra):
    facts = OrderFacts("9001", BEA, status, at, items or (TEA,), 59.0, **extra)
    return await on_order_status(redis, facts, at, RULES, CATALOG)


async def state_of(redis, item_id):
    [record] = await followups.records(redis, [item_id])
    return record.state, record.reason


async def test_a_burst_of_statuses_still_sends_the_tracking_number(redis, settings):
    await make_contact(redis, BEA)
    ship = {"carrier": "SF", "tracking_no": "SF900100"}
    await advance(redis, "paid", T0)
    await advance(redis, "shipped", T0 + timedelta(seconds=1), **ship)
    await advance(redis, "arrived", T0 + timedelta(seconds=2), **ship)
    await advance(redis, "delivered", T0 + timedelta(seconds=3), **ship)
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(T0 + timedelta(seconds=5))

    texts = outlet.texts_to(BEA)
    assert any("tracking number SF900100" in text for text in texts), texts
    keys = [m.idempotency_key for m in outlet.sent]
    assert keys == ["order:9001:shipped", "order:9001:delivered"]
    assert await state_of(redis, "order:9001:arrived") == (State.CANCELLED, "order 9001 delivered")


async def test_a_refund_still_cancels_the_shipped_notice(redis, settings):
    await make_contact(redis, BEA)
    await advance(redis, "shipped", T0, carrier="SF", tracking_no="SF1")
    changes = await advance(redis, "refunded", T0 + timedelta(seconds=1))
    assert "order:9001:shipped" in changes.cancelled


async def test_a_status_notice_not_sent_in_time_is_skipped_as_expired(redis, settings):
    await make_contact(redis, BEA)
    await advance(redis, "shipped", T0, carrier="SF", tracking_no="SF1")
    outlet = RecordingOutlet()
    report = await dispatcher(redis, settings, outlet).run_due(T0 + timedelta(days=2, hours=1))

    assert outlet.sent == []
    assert report.skipped == {"expired": 1}
    assert await state_of(redis, "order:9001:shipped") == (State.SKIPPED, "expired")


async def test_a_notice_within_its_time_is_still_sent(redis, settings):
    await make_contact(redis, BEA)
    await advance(redis, "shipped", T0, carrier="SF", tracking_no="SF1")
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(T0 + timedelta(days=1, hours=23))
    assert [m.idempotency_key for m in outlet.sent] == ["order:9001:shipped"]


async def test_review_and_revisit_expire_after_seven_days(redis, settings):
    await make_contact(redis, BEA)
    await advance(redis, "delivered", T0)
    outlet = RecordingOutlet()
    report = await dispatcher(redis, settings, outlet).run_due(T0 + timedelta(days=15))

    assert outlet.texts_to(BEA) == []
    assert report.skipped == {"expired": 4}


async def test_status_notices_go_at_night_but_care_waits_for_the_morning(redis, settings):
    await make_contact(redis, BEA)
    night_delivery = NIGHT - timedelta(days=2)  # review_thanks falls due at 01:30
    await advance(redis, "delivered", night_delivery)
    outlet = RecordingOutlet()
    bot = dispatcher(redis, settings, outlet)
    await bot.run_due(night_delivery)
    assert [m.idempotency_key for m in outlet.sent] == ["order:9001:delivered"], "at 01:30"
    outlet.sent.clear()
    await advance_other(redis, "shipped", NIGHT)

    report = await bot.run_due(NIGHT)
    assert [m.idempotency_key for m in outlet.sent] == ["order:9002:shipped"]
    assert report.postponed["quiet hours"] >= 1
    [review] = await followups.records(redis, ["order:9001:review_thanks"])
    assert review.state is State.PENDING
    assert review.followup.due_at.astimezone(settings.tz).hour == 9

    await bot.run_due(MORNING)
    assert "order:9001:review_thanks" in [m.idempotency_key for m in outlet.sent]


async def advance_other(redis, status, at):
    facts = OrderFacts("9002", BEA, status, at, (TEA,), 59.0, "SF", "SF9002")
    return await on_order_status(redis, facts, at, RULES, CATALOG)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", "order 9001 has arrived"),
        ("en", "order 9001 has arrived"),
    ],
)
async def test_arrived_has_its_own_notice(redis, settings, language, expected):
    await make_contact(redis, BEA, language="en")
    await advance(redis, "arrived", T0, carrier="YTO", tracking_no="YT55")
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(T0)
    [text] = outlet.texts_to(BEA)
    assert expected in text and "YTO YT55" in text


async def test_arrived_notice_in_chinese(redis, settings):
    await make_contact(redis, BEA, language="zh-CN")
    await advance(redis, "arrived", T0, carrier="圆通", tracking_no="YT55")
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(T0)
    [text] = outlet.texts_to(BEA)
    assert "订单 9001 已到达" in text and "圆通 YT55" in text


async def test_delivered_carries_each_products_usage_tip(redis, settings):
    await make_contact(redis, BEA, language="zh-CN")
    await advance(redis, "delivered", T0, TEA, POT)
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(T0)
    [text] = outlet.texts_to(BEA)
    assert "西湖龙井 250g使用小贴士：80-85℃" in text
    assert "紫砂壶使用小贴士：第一次使用前用开水烫洗两遍" in text


async def test_delivered_without_a_tip_says_no_tea_tip(redis, settings):
    await make_contact(redis, BEA)
    shampoo = OrderItem("shampoo-500ml", "Shampoo", 1, 69.0)
    await advance(redis, "delivered", T0, shampoo)
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(T0)
    [text] = outlet.texts_to(BEA)
    assert text == "Hi there, order 9001 has been delivered. Any questions, just ask."


def test_rule_defaults_and_a_bad_expiry(tmp_path):
    assert RULES.rule("shipped").expires_after == timedelta(days=2)
    assert RULES.rule("shipped").any_hour is True
    assert RULES.rule("revisit").expires_after == timedelta(days=7)
    assert RULES.rule("revisit").any_hour is False
    path = tmp_path / "rules.yaml"
    path.write_text(
        "lifecycle:\n  x:\n    status: paid\n    expires_after: soon\n    text: {en: hi}\n"
    )
    with pytest.raises(ValueError, match=r"'x'.*soon"):
        load_rules(path)
