"""Recent inbound messages per contact, to tell frequent writers."""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from storage import keys
from storage.timestamps import to_epoch


async def record_message(
    redis: Redis, contact_id: str, message_key: str, now: datetime, window: timedelta
) -> int:
    """Record one message; returns how many the contact sent within ``window`` up to ``now``.

    ``message_key`` identifies the message (its channel id), so a retry counts once.
    """
    key = keys.contact_activity(contact_id)
    epoch = to_epoch(now)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(key, {message_key: epoch})
        pipe.zremrangebyscore(key, "-inf", f"({epoch - window.total_seconds()}")
        pipe.zcard(key)
        pipe.expire(key, int(window.total_seconds()) + 60)
        _, _, count, _ = await pipe.execute()
    return int(count)
