"""Mailboxes: messages for terminal contacts, kept until they next open the chat."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from redis.asyncio import Redis

from storage import keys, send_claims
from storage.scripts import script
from storage.send_claims import DEFAULT_SENT_TTL_S, SENT
from storage.timestamps import Clock, utc_now

MAILBOX_LIMIT = 500

# Returns 1 when delivered, else the claim found (``sent``, someone's ``sending|...``, ...).
_DELIVER_ONCE = script("""
local found = redis.call('GET', KEYS[1])
if found then return found end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
return 1
""")


async def push(redis: Redis, contact_id: str, message: dict[str, Any]) -> None:
    """Append a message; the oldest beyond :data:`MAILBOX_LIMIT` are dropped."""
    key = keys.mailbox(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rpush(key, json.dumps(message, ensure_ascii=False))
        pipe.ltrim(key, -MAILBOX_LIMIT, -1)
        await pipe.execute()


async def deliver_once(
    redis: Redis,
    contact_id: str,
    idempotency_key: str,
    message: dict[str, Any],
    *,
    clock: Clock = utc_now,
) -> bool:
    """Append ``message`` unless ``idempotency_key`` was already sent to the contact.

    The mailbox is this channel's platform, so the delivery and its ``sent`` marker
    (``storage.send_claims``' key) are one script: a process killed at any point
    leaves both or neither, and a retry never puts the message there twice. A claim
    someone else holds, or an uncertain send, is decided as on every channel
    (:func:`storage.send_claims.send_once`: :class:`~storage.send_claims.Held`, ...).
    """
    found = await _DELIVER_ONCE(
        keys=[keys.sent_message(contact_id, idempotency_key), keys.mailbox(contact_id)],
        args=[
            json.dumps(message, ensure_ascii=False),
            SENT,
            DEFAULT_SENT_TTL_S,
            MAILBOX_LIMIT,
        ],
        client=redis,
    )
    if found == 1:
        return True
    if found == SENT:
        return False
    deliver = partial(push, redis, contact_id, message)
    return await send_claims.send_once(redis, contact_id, idempotency_key, deliver, clock=clock)


async def drain(redis: Redis, contact_id: str) -> list[dict[str, Any]]:
    """Take every waiting message, oldest first, and empty the mailbox."""
    key = keys.mailbox(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        raw, _ = await pipe.execute()
    return [json.loads(item) for item in raw]
