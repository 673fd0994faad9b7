"""Leases: one process at a time does a job any of them could do (long-polling Telegram).

A lease is a string holding its holder's token, with a TTL. The holder renews it
before the TTL runs out; when the holder dies the lease expires and another process
takes it. Taking and renewing are one script, so two processes never both hold it.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from storage.scripts import script

_HOLD = script("""
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
""")

_RELEASE = script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")


class Lease:
    """A lease on ``key`` for this process (its own random token)."""

    def __init__(self, redis: Redis, key: str, ttl_s: float) -> None:
        self.redis = redis
        self.key = key
        self.ttl_s = ttl_s
        self.token = uuid.uuid4().hex

    async def hold(self) -> bool:
        """Take the lease, or renew it if we hold it; False while another process holds it.

        A retried call (the reply lost) finds our own token and simply renews.
        """
        ttl_ms = max(1, int(self.ttl_s * 1000))
        return bool(await _HOLD(keys=[self.key], args=[self.token, ttl_ms], client=self.redis))

    async def release(self) -> None:
        """Give the lease up (if we still hold it), so another process takes over at once."""
        await _RELEASE(keys=[self.key], args=[self.token], client=self.redis)

    async def held_by_other(self) -> bool:
        """True while another process holds the lease."""
        holder = await self.redis.get(self.key)
        return holder is not None and holder != self.token
