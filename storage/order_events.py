"""Durable order events: written with the order change, removed once every listener took it.

:func:`storage.orders.apply` queues the event (:func:`queue_add`) in the same
transaction as the order, so a status change is never stored without its event.
Each listener that handled an event is remembered (:func:`mark_done`); an event
stays pending until all have, and whatever is pending is delivered again (a listener
that failed is retried; one that succeeded is not called twice).

Layout: ``keys.order_events_pending`` hash, event id -> JSON (the order as it was,
the previous status, the time, the source); ``keys.order_events_by_time`` sorted set,
event id -> epoch written; ``keys.order_event_done(id)`` set of listener names;
``keys.order_events_failures`` hash, event id -> failed deliveries.
An event's id is ``<order id>:<status>``: an order reaches each status once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from storage import keys, pending_records
from storage.replies import maybe_text, text_set
from storage.timestamps import from_epoch, to_epoch


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A pending event as stored: its id and what it carries (the order as JSON)."""

    id: str
    order_json: str
    previous_status: str | None
    status: str
    at: datetime
    source: str


def event_id(order_id: str, status: str) -> str:
    """The id of the event of ``order_id`` reaching ``status``."""
    return f"{order_id}:{status}"


def queue_add(pipe: Any, event: StoredEvent) -> None:
    """Queue the event on ``pipe`` (the order's own transaction)."""
    body = {
        "order": event.order_json,
        "previous": event.previous_status,
        "status": event.status,
        "at": to_epoch(event.at),
        "source": event.source,
    }
    pipe.hset(keys.order_events_pending(), event.id, json.dumps(body, ensure_ascii=False))
    pipe.zadd(keys.order_events_by_time(), {event.id: to_epoch(event.at)})


async def get(redis: Redis, event_id_: str) -> StoredEvent | None:
    """The pending event ``event_id_``, or None when it was fully delivered (or never was)."""
    raw = maybe_text(await redis.hget(keys.order_events_pending(), event_id_))
    return _decode(event_id_, raw) if raw else None


async def pending(redis: Redis, written_before: datetime, limit: int = 100) -> list[StoredEvent]:
    """Pending events written before ``written_before``, oldest first."""
    found = await pending_records.older_than(
        redis, keys.order_events_pending(), keys.order_events_by_time(), written_before, limit
    )
    return [_decode(event_id_, raw) for event_id_, raw in found]


async def done_listeners(redis: Redis, event_id_: str) -> set[str]:
    """The names of the listeners that already handled the event."""
    return text_set(await redis.smembers(keys.order_event_done(event_id_)))


async def mark_done(redis: Redis, event_id_: str, listener: str) -> None:
    """Remember that ``listener`` handled the event."""
    await redis.sadd(keys.order_event_done(event_id_), listener)


async def count_failure(redis: Redis, event_id_: str) -> int:
    """Count a failed delivery of the event; returns how many there were."""
    return int(await redis.hincrby(keys.order_events_failures(), event_id_, 1))


async def finish(redis: Redis, event_id_: str) -> None:
    """Every listener handled the event (or it was given up): forget it."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hdel(keys.order_events_pending(), event_id_)
        pipe.zrem(keys.order_events_by_time(), event_id_)
        pipe.hdel(keys.order_events_failures(), event_id_)
        pipe.delete(keys.order_event_done(event_id_))
        await pipe.execute()


def _decode(event_id_: str, raw: str) -> StoredEvent:
    body = json.loads(raw)
    return StoredEvent(
        event_id_,
        body["order"],
        body["previous"],
        body["status"],
        from_epoch(body["at"]),
        body["source"],
    )
