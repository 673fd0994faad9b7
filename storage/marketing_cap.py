"""The per-contact cap on marketing follow-ups in a rolling window (default 7 days).

A dispatcher *reserves* a slot right before sending (one script, so two
dispatchers cannot both take the last slot) and releases it if the send fails.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from storage import keys
from storage.followup_scripts import script
from storage.timestamps import from_epoch, to_epoch

_RESERVE = script(
    """
-- KEYS: sent.  ARGV: id, now, window_start, cap, ttl_s
-- Returns 0 when a slot was reserved (or the id already holds one), else the epoch of
-- the oldest send in the window: the cap frees a slot when that one ages out.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 0
"""
)


async def reserve_many(
    redis: Redis, wanted: list[tuple[str, str]], now: datetime, cap: int, window_s: int
) -> list[datetime | None]:
    """:func:`reserve` for many ``(contact_id, followup_id)`` in one round trip, in order."""
    epoch = to_epoch(now)
    async with redis.pipeline(transaction=False) as pipe:
        for contact_id, followup_id in wanted:
            await _RESERVE(
                keys=[keys.marketing_sent(contact_id)],
                args=[followup_id, epoch, epoch - window_s, cap, window_s],
                client=pipe,
            )
        answers = await pipe.execute()
    return [None if oldest == 0 else from_epoch(float(oldest) + window_s) for oldest in answers]


async def release_many(redis: Redis, held: list[tuple[str, str]]) -> None:
    """:func:`release` for many ``(contact_id, followup_id)``."""
    if not held:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for contact_id, followup_id in held:
            pipe.zrem(keys.marketing_sent(contact_id), followup_id)
        await pipe.execute()
