"""Idempotent sends: an outbound message's idempotency key is claimed before it leaves."""

from __future__ import annotations

from redis.asyncio import Redis

from storage import keys

TTL_S = 7 * 86_400


async def claim(redis: Redis, channel: str, idempotency_key: str) -> bool:
    """True the first time ``idempotency_key`` is claimed on ``channel`` (within a week)."""
    return bool(await redis.set(keys.sent_once(channel, idempotency_key), "1", nx=True, ex=TTL_S))


async def release(redis: Redis, channel: str, idempotency_key: str) -> None:
    """Forget a claim whose send failed, so that a retry may send it."""
    await redis.delete(keys.sent_once(channel, idempotency_key))
