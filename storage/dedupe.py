"""Inbound message dedupe: the first dispatcher to claim a message id handles it."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage import batch, keys
from storage.batch import Queued


async def claim(redis: Redis, channel: str, message_id: str, ttl_s: int) -> bool:
    """True for the first claim of ``(channel, message_id)`` within ``ttl_s``; False for repeats."""
    return bool(await redis.set(keys.seen_message(channel, message_id), "1", nx=True, ex=ttl_s))


def queue_claim(pipe: Pipeline, channel: str, message_id: str, ttl_s: int) -> Queued[bool]:
    """:func:`claim` as a step of a larger round trip (see :mod:`storage.batch`)."""
    key = keys.seen_message(channel, message_id)
    return batch.queue(
        pipe, lambda pipe: pipe.set(key, "1", nx=True, ex=ttl_s), lambda replies: bool(replies[0])
    )


async def release(redis: Redis, channel: str, message_id: str) -> None:
    """Forget a claim, so that a redelivery of a message we failed to handle is processed."""
    await redis.delete(keys.seen_message(channel, message_id))
