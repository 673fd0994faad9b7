"""Recent inbound messages per contact, to tell frequent writers."""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio.client import Pipeline

from storage import batch, keys
from storage.batch import Queued
from storage.timestamps import to_epoch


def queue_record(
    pipe: Pipeline, contact_id: str, message_key: str, now: datetime, window: timedelta
) -> Queued[int]:
    """Record one message; the step's value is how many the contact sent within ``window``.

    ``message_key`` identifies the message (its channel id), so a retry counts once.
    A step of a larger round trip (see :mod:`storage.batch`): the dispatcher's arrival.
    """
    key = keys.contact_activity(contact_id)
    epoch = to_epoch(now)

    def commands(pipe: Pipeline) -> None:
        pipe.zadd(key, {message_key: epoch})
        pipe.zremrangebyscore(key, "-inf", f"({epoch - window.total_seconds()}")
        pipe.zcard(key)
        pipe.expire(key, int(window.total_seconds()) + 60)

    return batch.queue(pipe, commands, lambda replies: int(replies[2]))
