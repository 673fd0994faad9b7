"""The durable outbox: messages to send later, kept until their send is settled.

A dispatch writes the messages it will send after answering (owner notices, replies
queued behind a rate limiter, late WeChat replies) in the round trip that commits
the inbound message's state (:func:`queue_keep`); they are sent at once from
memory and removed when settled (:func:`settle`). What a crash left behind is sent
by the recovery job, at most once through the send claim (``storage.send_claims``).

The message itself is opaque JSON here (``bot.outbox`` encodes it). WeChat keeps its
first reply only when it does not go back passively (``storage.wechat_answers``).

Layout: ``keys.outbox()`` hash, item id -> the encoded message;
``keys.outbox_by_time()`` sorted set, item id -> epoch written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from storage import keys, pending_records
from storage.timestamps import to_epoch


@dataclass(frozen=True, slots=True)
class Kept:
    """One outbox item: its id and the encoded message."""

    id: str
    message: str


def queue_keep(pipe: Any, items: Iterable[Kept], now: datetime) -> None:
    """Queue ``items`` on ``pipe`` (the round trip that commits the message's state)."""
    epoch = to_epoch(now)
    for item in items:
        pipe.hset(keys.outbox(), item.id, item.message)
        pipe.zadd(keys.outbox_by_time(), {item.id: epoch})


async def settle(redis: Redis, ids: Iterable[str]) -> None:
    """The items' sends are settled (sent, failed or uncertain): forget them."""
    ids = list(ids)
    if not ids:
        return
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hdel(keys.outbox(), *ids)
        pipe.zrem(keys.outbox_by_time(), *ids)
        await pipe.execute()


async def left_behind(redis: Redis, written_before: datetime, limit: int = 200) -> list[Kept]:
    """Items written before ``written_before`` and still not settled, oldest first."""
    found = await pending_records.older_than(
        redis, keys.outbox(), keys.outbox_by_time(), written_before, limit
    )
    return [Kept(item_id, message) for item_id, message in found]
