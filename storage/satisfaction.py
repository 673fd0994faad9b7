"""Satisfaction ratings (满意度): one 1-5 score per rated ref (a ticket or an order id).

A rating request leaves a pending marker on the contact (with a TTL), so that a
bare digit answers it; recording a rating clears it. Rating the same ref twice
keeps the first score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from storage import keys
from storage.replies import maybe_text, maybe_texts, texts
from storage.timestamps import from_epoch, to_epoch

SCORES = range(1, 6)


@dataclass(frozen=True, slots=True)
class Rating:
    """A score a contact gave for a ticket or an order."""

    ref: str
    contact_id: str
    score: int
    rated_at: datetime


async def ask(redis: Redis, contact_id: str, ref: str, ttl_s: int) -> None:
    """Remember that the contact was asked to rate ``ref`` (for ``ttl_s`` seconds)."""
    await redis.set(keys.rating_pending(contact_id), ref, ex=max(int(ttl_s), 1))


async def pending(redis: Redis, contact_id: str) -> str | None:
    """The ref the contact was last asked to rate, while the request lasts."""
    return maybe_text(await redis.get(keys.rating_pending(contact_id)))


async def record(redis: Redis, contact_id: str, ref: str, score: int, now: datetime) -> bool:
    """Store the score; False (nothing changed) when ``ref`` was already rated."""
    if score not in SCORES:
        raise ValueError(f"a score is 1 to 5, not {score}")
    entry = json.dumps({"contact": contact_id, "score": score, "at": to_epoch(now)})
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(keys.ratings(), ref, entry)
        pipe.zadd(keys.ratings_by_time(), {ref: to_epoch(now)}, nx=True)
        pipe.delete(keys.rating_pending(contact_id))
        added, *_ = await pipe.execute()
    return bool(added)


async def get(redis: Redis, ref: str) -> Rating | None:
    """The rating of ``ref``, if any."""
    raw = maybe_text(await redis.hget(keys.ratings(), ref))
    return _rating(ref, raw) if raw else None


async def between(redis: Redis, start: datetime, end: datetime) -> list[Rating]:
    """Ratings given in ``[start, end]``, oldest first."""
    refs = texts(await redis.zrangebyscore(keys.ratings_by_time(), to_epoch(start), to_epoch(end)))
    if not refs:
        return []
    raws = maybe_texts(await redis.hmget(keys.ratings(), refs))
    return [_rating(ref, raw) for ref, raw in zip(refs, raws, strict=True) if raw]


def _rating(ref: str, raw: str) -> Rating:
    data = json.loads(raw)
    return Rating(ref, data["contact"], int(data["score"]), from_epoch(data["at"]))


async def forget(redis: Redis, contact_id: str, refs: list[str]) -> int:
    """Erase the contact's ratings of ``refs`` (their tickets and orders); returns how many."""
    if not refs:
        return 0
    raws = maybe_texts(await redis.hmget(keys.ratings(), refs))
    mine = [
        ref
        for ref, raw in zip(refs, raws, strict=True)
        if raw and _rating(ref, raw).contact_id == contact_id
    ]
    if mine:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.ratings(), *mine)
            pipe.zrem(keys.ratings_by_time(), *mine)
            await pipe.execute()
    return len(mine)
