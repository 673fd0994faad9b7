"""Questions the bot could not answer, kept for the owner to read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from storage import keys
from storage.replies import texts
from storage.timestamps import from_epoch, to_epoch

UNANSWERED_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """One question, who asked it and when."""

    contact_id: str
    text: str
    asked_at: datetime


async def record(redis: Redis, contact_id: str, text: str, now: datetime) -> None:
    """Add a question; only the newest :data:`UNANSWERED_LIMIT` are kept."""
    entry = {"contact": contact_id, "text": text, "at": to_epoch(now)}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rpush(keys.unanswered(), json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(keys.unanswered(), -UNANSWERED_LIMIT, -1)
        await pipe.execute()


async def recent(redis: Redis, limit: int = 20) -> list[UnansweredQuestion]:
    """The newest ``limit`` questions, newest first."""
    raw = texts(await redis.lrange(keys.unanswered(), -limit, -1))
    items = [json.loads(item) for item in reversed(raw)]
    return [UnansweredQuestion(i["contact"], i["text"], from_epoch(i["at"])) for i in items]
