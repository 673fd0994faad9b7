"""Issue 14: order events are stored with the order and reach every listener.

A listener that raises is retried (by a repeat of the same call, or by the scheduled
redelivery), and one that succeeded is not called again.
"""

from __future__ import annotations

from datetime import timedelta

from support import FIXED_NOW

from config.catalog import default_catalog
from config.followup_rules import rules_from
from handlers.orders import MAX_DELIVERIES, parse_body, record_order, redeliver_pending
from schedules.order_care import OrderCare
from storage import followups, keys, order_events, orders
from storage.orders import OrderEvent

BODY = {
    "id": "A7",
    "contact": "telegram:5",
    "status": "shipped",
    "items": [{"sku": "tea-250g", "qty": 1}],
    "carrier": "SF",
    "tracking_no": "SF7",
}
COMMON = {
    "now": FIXED_NOW,
    "catalog": default_catalog(),
    "language": "en",
    "tz": FIXED_NOW.tzinfo,
    "source": "api",
}


class RaisesOnce:
    """The care listener, failing its first call (a bug, a timeout on the way)."""

    def __init__(self, care: OrderCare) -> None:
        self.care = care
        self.calls = 0

    async def __call__(self, event: OrderEvent) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("listener failed")
        await self.care(event)


class Counting:
    """A listener that only counts."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, event: OrderEvent) -> None:
        self.events.append(f"{event.order.id}:{event.status}")


def care(redis) -> OrderCare:
    return OrderCare(redis, rules_from(None), default_catalog())


async def _care_ids(redis) -> list[str]:
    return [r.followup.id for r in await followups.of_contact(redis, "telegram:5")]


async def test_a_listener_that_raises_once_still_gets_the_care_follow_up_scheduled(redis):
    flaky, counting = RaisesOnce(care(redis)), Counting()
    listeners = [flaky, counting]

    recorded = await record_order(redis, BODY, listeners=listeners, **COMMON)

    assert recorded.event is not None
    assert await _care_ids(redis) == []
    assert await order_events.get(redis, "A7:shipped") is not None

    complete = await redeliver_pending(redis, listeners, FIXED_NOW + timedelta(minutes=1))

    assert complete == 1
    assert "order:A7:shipped" in await _care_ids(redis)
    assert counting.events == ["A7:shipped"]  # not called a second time
    assert await order_events.get(redis, "A7:shipped") is None
    assert await redis.exists(keys.order_event_done("A7:shipped")) == 0


async def test_an_unchanged_repeat_of_the_call_applies_the_event_still_pending(redis):
    flaky = RaisesOnce(care(redis))

    await record_order(redis, BODY, listeners=[flaky], **COMMON)
    repeat = await record_order(redis, BODY, listeners=[flaky], **COMMON)

    assert not repeat.changed and repeat.event is None
    assert "order:A7:shipped" in await _care_ids(redis)
    assert flaky.calls == 2
    assert await order_events.pending(redis, FIXED_NOW + timedelta(days=1)) == []


async def test_the_event_is_stored_with_the_order_until_a_listener_takes_it(redis):
    """The process died after the order was stored, before any listener ran."""
    change = parse_body(BODY, catalog=default_catalog(), language="en", tz=FIXED_NOW.tzinfo)
    await orders.apply(redis, change, FIXED_NOW, source="api")
    [stored] = await order_events.pending(redis, FIXED_NOW + timedelta(seconds=1))

    counting = Counting()
    await redeliver_pending(redis, [counting], FIXED_NOW + timedelta(seconds=1))

    assert (stored.id, stored.previous_status, stored.status) == ("A7:shipped", None, "shipped")
    assert counting.events == ["A7:shipped"]
    assert await order_events.pending(redis, FIXED_NOW + timedelta(days=1)) == []


async def test_redelivery_leaves_events_younger_than_its_cutoff(redis):
    counting = Counting()
    change = parse_body(BODY, catalog=default_catalog(), language="en", tz=FIXED_NOW.tzinfo)
    await orders.apply(redis, change, FIXED_NOW, source="api")

    assert await redeliver_pending(redis, [counting], FIXED_NOW) == 0
    assert counting.events == []


async def test_an_event_a_listener_always_fails_is_given_up_after_the_last_delivery(redis):
    async def broken(event: OrderEvent) -> None:
        raise RuntimeError("listener bug")

    await record_order(redis, BODY, listeners=[broken], **COMMON)
    for _ in range(MAX_DELIVERIES - 2):
        await redeliver_pending(redis, [broken], FIXED_NOW + timedelta(minutes=1))
    assert await order_events.get(redis, "A7:shipped") is not None

    await redeliver_pending(redis, [broken], FIXED_NOW + timedelta(minutes=1))

    assert await order_events.get(redis, "A7:shipped") is None
    assert await redis.hlen(keys.order_events_failures()) == 0
