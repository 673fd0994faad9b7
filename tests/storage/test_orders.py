"""Orders: transitions, idempotency, the purchase indexes, one event per status change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW

from config.catalog import default_catalog
from handlers.orders import OrderEvents, record_order
from storage import keys, orders
from storage.orders import OrderChange, OrderError, OrderItem, OrderStatus, can_move

pytestmark = pytest.mark.cluster

S = OrderStatus
TEA = OrderItem("tea-250g", "Tea", 2, 59.0)


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.UNPAID, S.PAID, True),
        (S.UNPAID, S.SHIPPED, True),
        (S.PAID, S.UNPAID, False),
        (S.SHIPPED, S.DELIVERED, True),
        (S.DELIVERED, S.SHIPPED, False),
        (S.DELIVERED, S.COMPLETED, True),
        (S.UNPAID, S.CANCELLED, True),
        (S.PAID, S.CANCELLED, True),
        (S.SHIPPED, S.CANCELLED, False),
        (S.UNPAID, S.REFUNDED, False),
        (S.COMPLETED, S.REFUNDED, True),
        (S.CANCELLED, S.PAID, False),
        (S.REFUNDED, S.COMPLETED, False),
    ],
)
def test_transitions(current, new, allowed):
    assert can_move(current, new) is allowed


async def test_same_change_twice_changes_nothing(redis):
    change = OrderChange("A1", "wechat:o1", S.PAID, (TEA,))
    first = await orders.apply(redis, change, FIXED_NOW)
    before = {key: await redis.dump(key) for key in await redis.keys("*")}
    second = await orders.apply(redis, change, FIXED_NOW + timedelta(hours=1))
    after = {key: await redis.dump(key) for key in await redis.keys("*")}
    assert first.changed and not second.changed and second.order == first.order
    assert before == after


async def test_status_times_and_shipping_are_kept(redis):
    await orders.apply(redis, OrderChange("A1", "wechat:o1", S.PAID, (TEA,)), FIXED_NOW)
    later = FIXED_NOW + timedelta(days=1)
    change = OrderChange("A1", status=S.SHIPPED, carrier="SF", tracking_no="SF1")
    await orders.apply(redis, change, later)
    order = await orders.get(redis, "A1")
    assert order.status_times == {S.PAID: FIXED_NOW, S.SHIPPED: later}
    assert (order.carrier, order.tracking_no, order.amount) == ("SF", "SF1", 118.0)
    with pytest.raises(OrderError) as bad:
        await orders.apply(redis, OrderChange("A1", status=S.PAID), later)
    assert bad.value.field == "status"
    with pytest.raises(OrderError) as moved:
        await orders.apply(redis, OrderChange("A1", contact_id="wechat:o2"), later)
    assert moved.value.field == "contact"


async def test_spend_counts_only_paid_orders_and_follows_refunds(redis):
    contact = "wechat:o1"
    day = timedelta(days=1)
    await orders.apply(
        redis, OrderChange("A1", contact, S.PAID, (TEA,), placed_at=FIXED_NOW - 3 * day), FIXED_NOW
    )
    await orders.apply(redis, OrderChange("A2", contact, S.UNPAID, (TEA,)), FIXED_NOW)
    await orders.apply(
        redis,
        OrderChange("A3", contact, S.SHIPPED, (TEA,), amount=100, placed_at=FIXED_NOW - day),
        FIXED_NOW,
    )
    summary = await orders.purchase_summary(redis, contact)
    assert (summary.orders, summary.spend) == (2, 218.0)
    assert (summary.first, summary.last) == (FIXED_NOW - 3 * day, FIXED_NOW - day)
    assert await redis.zscore(keys.contacts_by_spend(), contact) == 218.0
    await orders.apply(redis, OrderChange("A3", status=S.REFUNDED), FIXED_NOW)
    await orders.apply(redis, OrderChange("A1", status=S.REFUNDED), FIXED_NOW)
    assert await redis.zscore(keys.contacts_by_spend(), contact) is None
    assert await redis.zscore(keys.contacts_by_last_order(), contact) is None
    assert [o.id for o in await orders.orders_of(redis, contact)] == ["A2", "A3", "A1"]


async def test_record_order_emits_one_event_per_status_change(redis):
    events = OrderEvents()
    seen = []

    async def listen(event):
        seen.append((event.order.id, event.previous_status, event.status, event.source))

    async def broken(event):
        raise RuntimeError("a listener failing does not undo the order")

    events.subscribe(broken)
    events.subscribe(listen)
    common = {
        "now": FIXED_NOW,
        "catalog": default_catalog(),
        "language": "en",
        "tz": FIXED_NOW.tzinfo,
        "source": "api",
        "listeners": events,
    }
    body = {"id": "A1", "contact": "telegram:5", "items": [{"sku": "tea-250g", "qty": 2}]}
    first = await record_order(redis, body, **common)
    repeat = await record_order(redis, body, **common)
    paid = await record_order(redis, body | {"status": "paid"}, **common)
    await record_order(redis, body | {"status": "paid", "carrier": "SF"}, **common)
    assert first.event is not None and repeat.event is None and not repeat.changed
    assert paid.event.previous_status is S.UNPAID
    assert seen == [("A1", None, S.UNPAID, "api"), ("A1", S.UNPAID, S.PAID, "api")]
    assert first.order.items == (OrderItem("tea-250g", "Longjing green tea 250g", 2, 59.0),)
