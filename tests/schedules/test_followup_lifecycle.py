"""Order care through ``on_order_status`` and dispatch passes at simulated times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from followup_support import T0, RecordingOutlet, dispatcher, make_contact

from config.catalog import default_catalog
from config.followup_rules import rules_from
from schedules.lifecycle import OrderFacts, on_order_status
from storage import followups
from storage.followups import State
from storage.orders import OrderItem

pytestmark = pytest.mark.cluster

AMY = "console:amy"
RULES = rules_from(None)
CATALOG = default_catalog()
TEA = OrderItem("tea-250g", "Longjing", 2, 59.0)


def facts(status: str, at, **extra) -> OrderFacts:
    fields = {"items": (TEA,), "amount": 118.0} | extra
    return OrderFacts("8812", AMY, status, at, **fields)


async def advance(redis, status, at, **extra):
    return await on_order_status(redis, facts(status, at, **extra), at, RULES, CATALOG)


async def test_full_lifecycle_sends_each_message_at_its_time(redis, settings):
    await make_contact(redis, AMY, name="Amy")
    outlet = RecordingOutlet()
    bot = dispatcher(redis, settings, outlet)

    await advance(redis, "unpaid", T0)
    await bot.run_due(T0 + timedelta(minutes=29))
    assert outlet.sent == []
    await bot.run_due(T0 + timedelta(minutes=30))
    paid_at, shipped_at, delivered_at = (T0 + timedelta(hours=h) for h in (1, 26, 74))
    await advance(redis, "paid", paid_at)
    await bot.run_due(paid_at)
    await advance(redis, "shipped", shipped_at, carrier="SF Express", tracking_no="SF1234567")
    await bot.run_due(shipped_at)
    await advance(redis, "delivered", delivered_at)
    for days in (0, 1, 2, 6, 7):
        await bot.run_due(delivered_at + timedelta(days=days))

    texts = outlet.texts_to(AMY)
    assert [text.split(",")[0] for text in texts] == ["Hi Amy"] * 7
    assert "order 8812 (Longjing green tea 250g ×2, 118.00 total)" in texts[0]
    assert "Payment for order 8812 is confirmed" in texts[1]
    assert "SF Express, tracking number SF1234567" in texts[2]
    assert "has been delivered" in texts[3]
    assert "how are you finding Longjing green tea 250g ×2?" in texts[4]
    assert "Please rate it from 1 to 5" in texts[5]
    assert [b.payload for b in outlet.sent[5].buttons] == [f"rate:{n}:8812" for n in range(1, 6)]
    assert "a week since order 8812 arrived" in texts[6]
    revisit = outlet.sent[6]
    assert [b.payload for b in revisit.buttons] == [
        "revisit:good:8812",
        "revisit:okay:8812",
        "revisit:bad:8812",
    ]
    assert [m.idempotency_key for m in outlet.sent] == [
        f"order:8812:{rule}"
        for rule in (
            "unpaid_reminder",
            "payment_thanks",
            "shipped",
            "delivered",
            "review_thanks",
            "rate",
            "revisit",
        )
    ]
    assert {m.purpose.value for m in outlet.sent} == {"transactional"}


@pytest.mark.parametrize(
    ("first", "then", "cancelled"),
    [
        ("unpaid", "paid", "unpaid_reminder"),
        ("unpaid", "cancelled", "unpaid_reminder"),
        ("paid", "shipped", "payment_thanks"),
        ("shipped", "refunded", "shipped"),
        ("shipped", "cancelled", "shipped"),
        ("arrived", "delivered", "arrived"),
        ("delivered", "refunded", "review_thanks"),
        ("delivered", "refunded", "revisit"),
    ],
)
async def test_moving_past_a_status_cancels_what_it_scheduled(
    redis, settings, first, then, cancelled
):
    await make_contact(redis, AMY)
    await advance(redis, first, T0)
    changes = await advance(redis, then, T0 + timedelta(minutes=10))
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(T0 + timedelta(days=8))

    item_id = f"order:8812:{cancelled}"
    assert item_id in changes.cancelled
    assert item_id not in [m.idempotency_key for m in outlet.sent]
    [record] = [r for r in await followups.of_contact(redis, AMY) if r.followup.id == item_id]
    assert (record.state, record.reason) == (State.CANCELLED, f"order 8812 {then}")


async def test_completing_a_delivered_order_keeps_review_and_revisit(redis):
    await advance(redis, "delivered", T0)
    changes = await advance(redis, "completed", T0 + timedelta(hours=1))
    assert changes.cancelled == []


async def test_a_repeated_status_event_schedules_nothing_new(redis):
    first = await advance(redis, "paid", T0)
    again = await advance(redis, "paid", T0)
    assert "order:8812:payment_thanks" in first.scheduled
    assert again.scheduled == [] and again.cancelled == []


async def test_refund_forgets_the_purchase_and_its_reminder(redis):
    await advance(redis, "paid", T0)
    changes = await advance(redis, "refunded", T0 + timedelta(days=1))
    assert f"repurchase:{AMY}:tea-250g:8812" in changes.cancelled
    assert f"winback:{AMY}:8812:60" in changes.cancelled
