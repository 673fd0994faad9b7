"""One process at a time for a scheduled job: a lock in Redis, with a token and a TTL.

Every bot process schedules the same jobs; a job that must not run twice at once
(campaign ticks, tier reviews, handoff expiry) runs through :func:`run_alone`. The lock
is ``SET NX`` of the job's key to a random token with a TTL longer than a run; a
holder that dies leaves the lock to expire. Releasing deletes the key only if it
still holds the holder's token, so a run that outlived its TTL never frees a lock
another process has taken since.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis

from storage import keys

T = TypeVar("T")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def run_alone(
    redis: Redis, job_id: str, ttl_s: int, work: Callable[[], Awaitable[T]]
) -> tuple[bool, T | None]:
    """Run ``work`` unless another process holds the job; ``(ran, its value)``."""
    key, token = keys.job_lock(job_id), uuid.uuid4().hex
    if not await redis.set(key, token, nx=True, ex=ttl_s):
        return False, None
    try:
        return True, await work()
    finally:
        await redis.eval(_RELEASE, 1, key, token)
