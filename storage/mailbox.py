"""Mailboxes: messages for terminal contacts, kept until they next open the chat."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from storage import keys

MAILBOX_LIMIT = 500


async def push(redis: Redis, contact_id: str, message: dict[str, Any]) -> None:
    """Append a message; the oldest beyond :data:`MAILBOX_LIMIT` are dropped."""
    key = keys.mailbox(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rpush(key, json.dumps(message, ensure_ascii=False))
        pipe.ltrim(key, -MAILBOX_LIMIT, -1)
        await pipe.execute()


async def drain(redis: Redis, contact_id: str) -> list[dict[str, Any]]:
    """Take every waiting message, oldest first, and empty the mailbox."""
    key = keys.mailbox(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        raw, _ = await pipe.execute()
    return [json.loads(item) for item in raw]
