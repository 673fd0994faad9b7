"""Each contact's membership tier, with a set per tier (segments) and the members index.

The tier is stored in the contact's ``membership`` hash; :func:`set_tier` moves the
contact between the per-tier sets and the ``members_since`` index in one
transaction, and returns the tier it replaced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from storage import keys
from storage.replies import maybe_text, texts
from storage.timestamps import from_epoch, to_epoch


async def tier_of(redis: Redis, contact_id: str) -> str | None:
    """The contact's tier id, or None (never bought)."""
    return maybe_text(await redis.hget(keys.contact_membership(contact_id), "tier"))


async def set_tier(
    redis: Redis, contact_id: str, tier: str | None, now: datetime, *, member: bool
) -> str | None:
    """Give the contact ``tier`` (None: no tier); returns the previous tier.

    ``member`` says whether ``tier`` counts as a member in the statistics: a contact
    becoming one is added to ``members_since`` at ``now`` (kept while they stay one).
    """
    profile = keys.contact_membership(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(profile)
                previous = maybe_text(await pipe.hget(profile, "tier"))
                pipe.multi()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                if previous != tier:
                    _queue_move(pipe, contact_id, previous, tier, now)
                if member:
                    pipe.zadd(keys.members_since(), {contact_id: to_epoch(now)}, nx=True)
                else:
                    pipe.zrem(keys.members_since(), contact_id)
                await pipe.execute()
                return previous
            except WatchError:
                continue


def _queue_move(
    pipe: Any, contact_id: str, previous: str | None, tier: str | None, now: datetime
) -> None:
    profile = keys.contact_membership(contact_id)
    if previous:
        pipe.srem(keys.tier_members(previous), contact_id)
    if tier:
        pipe.sadd(keys.tier_members(tier), contact_id)
        pipe.hset(profile, mapping={"tier": tier, "tier_at": to_epoch(now)})
    else:
        pipe.delete(profile)


async def tier_changed_at(redis: Redis, contact_id: str) -> datetime | None:
    """When the contact's tier last changed."""
    at = maybe_text(await redis.hget(keys.contact_membership(contact_id), "tier_at"))
    return from_epoch(at) if at else None


async def tier_counts(redis: Redis, tiers: list[str]) -> dict[str, int]:
    """How many contacts hold each tier."""
    async with redis.pipeline(transaction=False) as pipe:
        for tier in tiers:
            pipe.scard(keys.tier_members(tier))
        counts = await pipe.execute()
    return dict(zip(tiers, (int(c) for c in counts), strict=True))


async def set_review(redis: Redis, contact_id: str, at: datetime | None) -> None:
    """When the contact's rolling-window tier must be looked at again (None: never)."""
    if at is None:
        await redis.zrem(keys.tier_reviews(), contact_id)
    else:
        await redis.zadd(keys.tier_reviews(), {contact_id: to_epoch(at)})


async def reviews_due(redis: Redis, now: datetime, limit: int = 500) -> list[str]:
    """Contacts whose rolling-window tier is due for a review by ``now``."""
    return texts(await redis.zrangebyscore(keys.tier_reviews(), "-inf", to_epoch(now), 0, limit))


async def set_expected_order(redis: Redis, contact_id: str, at: datetime | None) -> None:
    """When the contact's next order is expected (None: not a buyer)."""
    if at is None:
        await redis.zrem(keys.contacts_by_expected_order(), contact_id)
    else:
        await redis.zadd(keys.contacts_by_expected_order(), {contact_id: to_epoch(at)})


async def index_order(redis: Redis, order_id: str, placed_at: datetime, counted: bool) -> None:
    """Keep the statistics' order index in step: counted orders are in, others out."""
    if counted:
        await redis.zadd(keys.orders_by_time(), {order_id: to_epoch(placed_at)})
    else:
        await redis.zrem(keys.orders_by_time(), order_id)


def record_first_inquiry(pipe: Pipeline, contact_id: str, now: datetime) -> None:
    """Queue remembering the contact's first question (kept once) on ``pipe``."""
    pipe.zadd(keys.contacts_by_first_inquiry(), {contact_id: to_epoch(now)}, nx=True)
