"""Purchase history for repurchase timing, and "no thanks" to repurchase reminders.

Per contact and sku: the orders it was bought in, with when. Recording the same
order twice changes nothing (the order id is the member).
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from storage import keys
from storage.replies import scored
from storage.timestamps import from_epoch, to_epoch


async def record(redis: Redis, contact_id: str, sku: str, order_id: str, at: datetime) -> bool:
    """Remember that ``order_id`` bought ``sku`` at ``at``; False if already recorded."""
    return bool(
        await redis.zadd(keys.purchases(contact_id, sku), {order_id: to_epoch(at)}, nx=True)
    )


async def forget(redis: Redis, contact_id: str, sku: str, order_id: str) -> None:
    """Drop a purchase (the order was cancelled or refunded)."""
    await redis.zrem(keys.purchases(contact_id, sku), order_id)


async def times(redis: Redis, contact_id: str, sku: str) -> list[datetime]:
    """When the contact bought ``sku``, oldest first."""
    entries = scored(await redis.zrange(keys.purchases(contact_id, sku), 0, -1, withscores=True))
    return [from_epoch(score) for _, score in entries]


async def stop_reminders(redis: Redis, contact_id: str, sku: str, now: datetime) -> None:
    """The contact said "no thanks": no more repurchase reminders for ``sku``."""
    await redis.hsetnx(keys.repurchase_off(contact_id), sku, to_epoch(now))


async def reminders_stopped(redis: Redis, contact_id: str, sku: str) -> bool:
    """True when the contact declined reminders for ``sku``."""
    return bool(await redis.hexists(keys.repurchase_off(contact_id), sku))
