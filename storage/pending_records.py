"""Records kept until they are settled, and found again when left behind.

The durable outbox (:mod:`storage.outbox`) and the order events
(:mod:`storage.order_events`) keep their records the same way: a hash of id -> the
encoded record, and a sorted set of id -> epoch, so a recovery job can read the oldest
ones that are still there.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from storage.replies import maybe_texts, texts
from storage.timestamps import to_epoch


async def older_than(
    redis: Redis, records: str, by_time: str, before: datetime, limit: int
) -> list[tuple[str, str]]:
    """Up to ``limit`` (id, record) pairs indexed before ``before``, oldest first.

    An index entry whose record was settled meanwhile is dropped from the index.
    """
    ids = texts(
        await redis.zrangebyscore(by_time, "-inf", f"({to_epoch(before)}", start=0, num=limit)
    )
    if not ids:
        return []
    raws = maybe_texts(await redis.hmget(records, ids))
    strays = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
    if strays:
        await redis.zrem(by_time, *strays)
    return [(i, raw) for i, raw in zip(ids, raws, strict=True) if raw is not None]
