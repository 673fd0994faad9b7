"""An order question waiting for its order number ("what is your order number?").

One per contact, kept for a while (TTL); the next message that carries an order
number takes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from storage import keys
from storage.replies import maybe_text
from storage.timestamps import from_epoch, to_epoch


@dataclass(frozen=True, slots=True)
class PendingQuestion:
    """What the customer asked before we asked for the order number."""

    intent: str
    text: str
    asked_at: datetime


async def remember(
    redis: Redis, contact_id: str, intent: str, text: str, now: datetime, ttl_s: int
) -> None:
    """Keep the question for ``ttl_s`` seconds; a newer one replaces it."""
    value = json.dumps({"intent": intent, "text": text, "at": to_epoch(now)}, ensure_ascii=False)
    await redis.set(keys.pending_order_question(contact_id), value, ex=ttl_s)


async def take(redis: Redis, contact_id: str) -> PendingQuestion | None:
    """Remove and return the waiting question, if it has not expired."""
    raw = maybe_text(await redis.getdel(keys.pending_order_question(contact_id)))
    if raw is None:
        return None
    data = json.loads(raw)
    return PendingQuestion(data["intent"], data["text"], from_epoch(data["at"]))


async def forget(redis: Redis, contact_id: str) -> None:
    """Drop the waiting question (it was answered another way)."""
    await redis.delete(keys.pending_order_question(contact_id))
