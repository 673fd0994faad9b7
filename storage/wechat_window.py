"""The WeChat customer-service window of one contact: until when, and how many sends left.

A user action opens (or widens) the window with a quota of messages valid for a
duration. Quotas do not add up: a new action raises the remaining count to at
least its quota and the end to at least its own end, as WeChat documents. Every
change is one Lua script, so concurrent senders never overspend the quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage import keys
from storage.replies import text_map
from storage.timestamps import from_epoch, to_epoch

# How long the window's state is kept after it closed (for the owner's contact screen).
_KEEP_AFTER_CLOSE_S = 7 * 86_400

_OPEN = """
local now, quota, ends = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at') or '0')
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining') or '0')
if expires <= now then expires, remaining = 0, 0 end
if ends > expires then expires = ends end
if quota > remaining then remaining = quota end
redis.call('HSET', KEYS[1], 'expires_at', tostring(expires), 'remaining', remaining)
redis.call('EXPIRE', KEYS[1], math.ceil(expires - now) + tonumber(ARGV[4]))
return remaining
"""

_CONSUME = """
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at') or '0')
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining') or '0')
if expires <= tonumber(ARGV[1]) or remaining <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'remaining', -1)
return 1
"""


@dataclass(frozen=True, slots=True)
class Window:
    """The window as stored: open while ``now < expires_at`` and ``remaining > 0``."""

    expires_at: datetime
    remaining: int

    def is_open(self, now: datetime) -> bool:
        """True when a customer-service message may be sent at ``now``."""
        return now < self.expires_at and self.remaining > 0


async def open_window(
    redis: Redis, contact_id: str, now: datetime, quota: int, duration: timedelta
) -> None:
    """Grant ``quota`` sends until ``now + duration`` (never narrowing a wider window)."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_open(pipe, contact_id, now, quota, duration)
        await pipe.execute()


def queue_open(
    pipe: Pipeline, contact_id: str, now: datetime, quota: int, duration: timedelta
) -> None:
    """:func:`open_window` as one command of a pipeline (to save a round trip)."""
    pipe.eval(
        _OPEN,
        1,
        keys.wechat_window(contact_id),
        to_epoch(now),
        quota,
        to_epoch(now + duration),
        _KEEP_AFTER_CLOSE_S,
    )


async def consume(redis: Redis, contact_id: str, now: datetime) -> bool:
    """Take one send from an open window; False (and nothing taken) when it is closed."""
    return bool(await redis.eval(_CONSUME, 1, keys.wechat_window(contact_id), to_epoch(now)))


async def refund(redis: Redis, contact_id: str) -> None:
    """Give back a send that never left (a network error, not a refusal)."""
    await redis.hincrby(keys.wechat_window(contact_id), "remaining", 1)


async def close(redis: Redis, contact_id: str) -> None:
    """WeChat said the window is over (45015): nothing more until the user acts again."""
    await redis.hset(keys.wechat_window(contact_id), mapping={"expires_at": 0, "remaining": 0})


async def exhaust(redis: Redis, contact_id: str) -> None:
    """WeChat said the quota is spent (45047): the window stays, with no sends left."""
    await redis.hset(keys.wechat_window(contact_id), "remaining", 0)


async def get(redis: Redis, contact_id: str) -> Window | None:
    """The stored window, or None if the user never opened one (or it was long ago)."""
    fields = text_map(await redis.hgetall(keys.wechat_window(contact_id)))
    if not fields:
        return None
    return Window(from_epoch(fields["expires_at"]), int(fields["remaining"]))
