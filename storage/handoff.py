"""Handoff state: which contacts are talking to a person instead of the bot.

Per contact a hash (started, last activity, linked ticket); globally a sorted set
of the contacts in handoff scored by last activity, which the idle sweep reads.
Removing a contact from that sorted set is the claim on ending its handoff: of
two enders (an owner's close and the idle sweep) exactly one wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage import batch, keys
from storage.batch import Queued
from storage.replies import text_map, texts
from storage.scripts import script
from storage.timestamps import from_epoch, to_epoch


@dataclass(frozen=True, slots=True)
class Handoff:
    """One contact's handoff to a person."""

    contact_id: str
    started_at: datetime
    last_activity: datetime
    ticket_id: str | None = None


async def start(
    redis: Redis, contact_id: str, now: datetime, *, ticket_id: str | None = None
) -> tuple[Handoff, bool]:
    """Put the contact in handoff; returns it and whether it is new (False: already in one)."""
    epoch = to_epoch(now)
    fields: dict[str, str | float] = {"started_at": epoch, "last_activity": epoch}
    if ticket_id:
        fields["ticket"] = ticket_id
    key = keys.contact_handoff(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(key, "started_at", epoch)
        pipe.hset(key, mapping={k: v for k, v in fields.items() if k != "started_at"})
        pipe.hgetall(key)
        created, _, stored = await pipe.execute()
    await redis.zadd(keys.handoffs_by_activity(), {contact_id: epoch})
    return _handoff_from(contact_id, text_map(stored)), bool(created)


async def get(redis: Redis, contact_id: str) -> Handoff | None:
    """The contact's handoff, or None when the bot answers them."""
    fields = text_map(await redis.hgetall(keys.contact_handoff(contact_id)))
    return _handoff_from(contact_id, fields) if fields else None


def queue_get(pipe: Pipeline, contact_id: str) -> Queued[Handoff | None]:
    """:func:`get` as a step of a larger round trip (see :mod:`storage.batch`)."""
    return batch.queue(
        pipe,
        lambda pipe: pipe.hgetall(keys.contact_handoff(contact_id)),
        lambda replies: _handoff_from(contact_id, replies[0]) if replies[0] else None,
    )


async def touch(redis: Redis, contact_id: str, now: datetime) -> None:
    """Record activity (a customer message, an owner's reply) so the handoff is not idle."""
    epoch = to_epoch(now)
    if await redis.zadd(keys.handoffs_by_activity(), {contact_id: epoch}, xx=True, ch=True):
        await redis.hset(keys.contact_handoff(contact_id), "last_activity", epoch)


async def end(redis: Redis, contact_id: str) -> Handoff | None:
    """End the handoff; returns it if this call ended it, None if there was none."""
    if not await redis.zrem(keys.handoffs_by_activity(), contact_id):
        return None
    return await _pop(redis, contact_id)


# KEYS: the activity sorted set. ARGV: cutoff epoch, limit.
# Removes (and returns) members last active at or before the cutoff, atomically,
# so a contact who wrote in the meantime is not removed.
_CLAIM_IDLE = script(
    """
local idle = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #idle > 0 then redis.call('ZREM', KEYS[1], unpack(idle)) end
return idle
"""
)


async def end_idle(redis: Redis, cutoff: datetime, limit: int = 500) -> list[Handoff]:
    """End every handoff last active at or before ``cutoff``; returns those ended."""
    claimed = await _CLAIM_IDLE(
        keys=[keys.handoffs_by_activity()], args=[to_epoch(cutoff), limit], client=redis
    )
    ended = [await _pop(redis, contact_id) for contact_id in texts(claimed)]
    return [handoff for handoff in ended if handoff is not None]


async def active(redis: Redis) -> list[str]:
    """Ids of the contacts in handoff, most recently active first."""
    return texts(await redis.zrevrange(keys.handoffs_by_activity(), 0, -1))


async def _pop(redis: Redis, contact_id: str) -> Handoff | None:
    key = keys.contact_handoff(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(key)
        pipe.delete(key)
        fields, _ = await pipe.execute()
    return _handoff_from(contact_id, fields) if fields else None


def _handoff_from(contact_id: str, fields: Mapping[str, str]) -> Handoff:
    return Handoff(
        contact_id=contact_id,
        started_at=from_epoch(fields["started_at"]),
        last_activity=from_epoch(fields["last_activity"]),
        ticket_id=fields.get("ticket") or None,
    )
