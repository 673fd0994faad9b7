"""Marketing opt-outs (TD / 退订 / STOP), per contact and category.

Order-status (transactional) messages are never blocked by an opt-out; the
categories below are what a customer can say no to. Each category also keeps
a set of opted-out contact ids, so audiences can exclude them with set algebra.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis.asyncio import Redis

from storage import keys
from storage.replies import text_map
from storage.timestamps import from_epoch, to_epoch


class OptOutCategory(StrEnum):
    """What a contact can opt out of."""

    MARKETING = "marketing"
    REPURCHASE = "repurchase"


ALL_CATEGORIES = tuple(OptOutCategory)


@dataclass(frozen=True, slots=True)
class OptOut:
    """One recorded opt-out."""

    category: OptOutCategory
    channel: str
    opted_out_at: datetime


async def opt_out(
    redis: Redis,
    contact_id: str,
    now: datetime,
    categories: Iterable[OptOutCategory] = ALL_CATEGORIES,
) -> None:
    """Record opt-outs (time and channel); repeating one keeps the first time."""
    channel = contact_id.partition(":")[0]
    meta = json.dumps({"channel": channel, "at": to_epoch(now)})
    async with redis.pipeline(transaction=False) as pipe:
        for category in categories:
            pipe.hsetnx(keys.contact_optouts(contact_id), category.value, meta)
            pipe.sadd(keys.optout_members(category.value), contact_id)
        await pipe.execute()


async def opt_in(
    redis: Redis, contact_id: str, categories: Iterable[OptOutCategory] = ALL_CATEGORIES
) -> None:
    """Remove opt-outs (订阅 / START)."""
    async with redis.pipeline(transaction=False) as pipe:
        for category in categories:
            pipe.hdel(keys.contact_optouts(contact_id), category.value)
            pipe.srem(keys.optout_members(category.value), contact_id)
        await pipe.execute()


async def is_opted_out(redis: Redis, contact_id: str, category: OptOutCategory) -> bool:
    """True when the contact said no to ``category``."""
    return bool(await redis.hexists(keys.contact_optouts(contact_id), category.value))


async def opt_outs_of(redis: Redis, contact_id: str) -> list[OptOut]:
    """Every opt-out the contact has, by category."""
    raw = text_map(await redis.hgetall(keys.contact_optouts(contact_id)))
    items = sorted((category, json.loads(meta)) for category, meta in raw.items())
    return [
        OptOut(OptOutCategory(category), meta["channel"], from_epoch(meta["at"]))
        for category, meta in items
    ]


async def opted_out_many(
    redis: Redis, contact_ids: Sequence[str], category: OptOutCategory
) -> list[bool]:
    """:func:`is_opted_out` for many contacts in one command (the category's member set)."""
    if not contact_ids:
        return []
    flags = await redis.smismember(keys.optout_members(category.value), list(contact_ids))
    return [bool(flag) for flag in flags]
