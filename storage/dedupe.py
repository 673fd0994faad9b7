"""Inbound message dedupe: the first dispatcher to claim a message id handles it.

A claim holds its holder's token. The claim sets the key only if it is new and then
reads it back: the claim is ours when the key holds our token. So when redis-py
retries a claim whose first run reached Redis (the reply was lost with the
connection), the retry finds its own token and the message is handled, instead of
being taken for a duplicate and dropped. Only the holder can release its claim.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage import batch, keys
from storage.batch import Queued
from storage.replies import maybe_text
from storage.scripts import script

_RELEASE = script(
    """
-- KEYS[1] the claim; ARGV[1] the holder's token.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""",
)


async def claim(redis: Redis, channel: str, message_id: str, ttl_s: int, token: str) -> bool:
    """True when ``token`` holds ``(channel, message_id)`` (first claim, or its own retry)."""
    async with redis.pipeline(transaction=False) as pipe:
        step = queue_claim(pipe, channel, message_id, ttl_s, token)
        return step.result(await pipe.execute())


def queue_claim(
    pipe: Pipeline, channel: str, message_id: str, ttl_s: int, token: str
) -> Queued[bool]:
    """:func:`claim` as a step of a larger round trip (see :mod:`storage.batch`)."""
    key = keys.seen_message(channel, message_id)

    def commands(pipe: Pipeline) -> None:
        pipe.set(key, token, nx=True, ex=ttl_s)
        pipe.get(key)

    return batch.queue(pipe, commands, lambda replies: maybe_text(replies[1]) == token)


async def release(redis: Redis, channel: str, message_id: str, token: str) -> None:
    """Forget our claim, so that a redelivery of a message we failed to handle is processed."""
    await _RELEASE(keys=[keys.seen_message(channel, message_id)], args=[token], client=redis)
