"""Sentinel failover mid-traffic (issue 17): with MIN_REPLICAS=1 nothing acknowledged is lost,
and no follow-up is delivered twice or never."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from followup_support import T0, dispatcher, make_contact
from redis.exceptions import RedisError
from support import MovableClock
from valkey_servers import is_synced_replica, wait_for

from bot.messages import OutboundMessage, Purpose, SendCheck
from config.settings import Settings
from storage import durability, followups, orders, send_claims
from storage.connect import connect
from storage.followups import Followup, State
from storage.orders import OrderChange, OrderItem

ORDERS = 150
CONTACTS = 10
ITEMS_PER_CONTACT = 15
TRAFFIC_DEADLINE_S = 60


class PlatformOutlet:
    """Stands for a platform: counts every delivery it receives, by idempotency key.

    Sends through :func:`storage.send_claims.send_once`, as every channel does.
    """

    def __init__(self, redis) -> None:
        self.redis = redis
        self.deliveries: Counter[str] = Counter()

    async def check(self, message: OutboundMessage) -> SendCheck:
        return SendCheck(True, via="test")

    async def send(self, message: OutboundMessage) -> None:
        key = message.idempotency_key or ""

        async def deliver() -> None:
            self.deliveries[key] += 1

        await send_claims.send_once(self.redis, message.recipient.id, key, deliver)


@pytest.fixture(autouse=True)
def restore_process_settings() -> Iterator[None]:
    yield
    durability.configure(0)


async def _place_orders(
    redis, acknowledged: list[str], deadline: float, a_third_placed: asyncio.Event
) -> None:
    """A shop's order API client: retries each order until it is acknowledged."""
    item = OrderItem("sku-1", "Tea", 1, 10.0)
    for n in range(ORDERS):
        change = OrderChange(f"F{n}", contact_id="console:c0", items=(item,))
        while time.monotonic() < deadline:
            try:
                await orders.apply(redis, change, T0)
            except RedisError:
                await asyncio.sleep(0.05)  # a client backing off while the bot answers 503
                continue
            acknowledged.append(change.order_id)
            if len(acknowledged) >= ORDERS // 3:
                a_third_placed.set()
            break


async def _dispatch(bot, clock: MovableClock, redis, deadline: float) -> None:
    """Dispatch passes until every item finished; the clock moves past leases and retries."""
    while time.monotonic() < deadline:
        try:
            await bot.run_due(clock())
            pending = await followups.pending(redis, limit=1)
        except RedisError:
            await asyncio.sleep(0.05)
            continue
        if not pending:
            return
        clock.advance(minutes=10)  # leases of passes cut off by the failover expire


async def test_killing_the_primary_mid_traffic_loses_and_duplicates_nothing(
    sentinel_group, tmp_path, settings
):
    sentinel_settings = Settings(
        redis_sentinels=sentinel_group.addresses, redis_min_replicas=1, data_dir=tmp_path
    )
    async with connect(sentinel_settings) as redis:
        await redis.flushdb()
        ids = []
        for c in range(CONTACTS):
            contact = f"console:c{c}"
            await make_contact(redis, contact)
            for n in range(ITEMS_PER_CONTACT):
                item_id = f"order:{c}-{n}:shipped"
                ids.append(item_id)
                data = {"order_id": f"{c}-{n}", "carrier": "SF", "tracking_no": "SF1"}
                await followups.schedule(
                    redis, Followup(item_id, contact, T0, "shipped", Purpose.TRANSACTIONAL, data)
                )
        outlet = PlatformOutlet(redis)
        clock = MovableClock(T0)
        bot = dispatcher(redis, settings, outlet, batch=5)
        acknowledged: list[str] = []
        a_third_placed = asyncio.Event()
        deadline = time.monotonic() + TRAFFIC_DEADLINE_S
        old_primary = sentinel_group.primary()

        traffic = asyncio.gather(
            _place_orders(redis, acknowledged, deadline, a_third_placed),
            _dispatch(bot, clock, redis, deadline),
        )
        await a_third_placed.wait()
        old_primary.kill()
        promoted = lambda: sentinel_group.primary() is not old_primary  # noqa: E731
        await asyncio.to_thread(wait_for, promoted, "the promotion")
        # With MIN_REPLICAS=1 writes wait for a replica again: the old primary, restarted (as
        # a supervisor would), which the Sentinels turn into the new primary's replica.
        await asyncio.to_thread(sentinel_group.restart, old_primary)
        await traffic

        assert len(acknowledged) == ORDERS
        stored = await orders.get_many(redis, acknowledged)
        assert len(stored) == ORDERS, "no acknowledged order was lost"
        lost = [item for item in ids if outlet.deliveries[item] == 0]
        duplicated = [item for item, times in outlet.deliveries.items() if times > 1]
        assert (lost, duplicated) == ([], [])
        records = await followups.records(redis, ids)
        assert {record.state for record in records} == {State.SENT}
        await redis.flushdb()
    wait_for(lambda: is_synced_replica(old_primary), "the old primary rejoining as a replica")
