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
    cutoff, keep_s = epoch - window.total_seconds(), int(window.total_seconds()) + 60
    return batch.queue(
        pipe,
        lambda pipe: pipe.eval(_RECORD, 1, key, message_key, epoch, cutoff, keep_s),
        lambda replies: int(replies[0]),
    )


# One reply instead of four: on the per-message path each reply costs the client more
# than the Redis work. One key, so it runs on Redis Cluster too.
_RECORD = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
"""
