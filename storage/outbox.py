"""The durable outbox: messages to send later, kept until their send is settled.

A dispatch writes the messages it will send after answering (owner notices, replies
queued behind a rate limiter, late WeChat replies) in the round trip that commits
the inbound message's state (:func:`queue_keep`); they are sent at once from
memory and removed when settled (:func:`settle`). What a crash left behind is sent
by the recovery job, at most once through the send claim (``storage.send_claims``).

The message itself is opaque JSON here (``bot.outbox`` encodes it). An item may
carry a *check*: a key and the value it holds when the message needs no sending
(WeChat's passive answer: the reply went back in the HTTP response).

Layout: ``keys.outbox()`` hash, item id -> JSON ``{"message", "check"}``;
``keys.outbox_by_time()`` sorted set, item id -> epoch written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from storage import keys
from storage.timestamps import to_epoch


@dataclass(frozen=True, slots=True)
class Kept:
    """One outbox item: its id, the encoded message and its optional check."""

    id: str
    message: str
    check: tuple[str, str] | None = None
    """(key, value): when ``key`` holds ``value`` the message needs no sending."""


def queue_keep(pipe: Any, items: Iterable[Kept], now: datetime) -> None:
    """Queue ``items`` on ``pipe`` (the round trip that commits the message's state)."""
    epoch = to_epoch(now)
    for item in items:
        body = {"message": item.message, "check": list(item.check) if item.check else None}
        pipe.hset(keys.outbox(), item.id, json.dumps(body, ensure_ascii=False))
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
    ids = await redis.zrangebyscore(
        keys.outbox_by_time(), "-inf", f"({to_epoch(written_before)}", start=0, num=limit
    )
    if not ids:
        return []
    raws = await redis.hmget(keys.outbox(), ids)
    kept = []
    for item_id, raw in zip(ids, raws, strict=True):
        if raw is None:  # settled meanwhile; drop the stray index entry
            await redis.zrem(keys.outbox_by_time(), item_id)
            continue
        body = json.loads(raw)
        check = tuple(body["check"]) if body["check"] else None
        kept.append(Kept(item_id, body["message"], check))  # type: ignore[arg-type]
    return kept


async def needs_no_send(redis: Redis, item: Kept) -> bool | None:
    """True when the item's check holds, False when it does not, None when its key is
    gone (then nobody can tell whether the message went out)."""
    if item.check is None:
        return False
    key, value = item.check
    stored = await redis.get(key)
    if stored is None:
        return None
    return stored == value
