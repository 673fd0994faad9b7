"""Why each outbound message was sent (and how) or not: a short history per contact.

Channels record one decision per send attempt, so the owner's contact screen can
show e.g. "marketing not sent: outside the 48-hour window".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from storage import keys
from storage.replies import texts
from storage.timestamps import from_epoch, to_epoch

KEEP = 50


@dataclass(frozen=True, slots=True)
class SendDecision:
    """One send attempt: ``allowed`` and ``via`` (route taken) or the ``reason`` it was not."""

    at: datetime
    purpose: str
    allowed: bool
    via: str = ""
    reason: str = ""


async def record(redis: Redis, contact_id: str, decision: SendDecision) -> None:
    """Remember a decision, keeping the newest :data:`KEEP`."""
    item = {
        "at": to_epoch(decision.at),
        "purpose": decision.purpose,
        "allowed": decision.allowed,
        "via": decision.via,
        "reason": decision.reason,
    }
    key = keys.send_decisions(contact_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(key, json.dumps(item, ensure_ascii=False))
        pipe.ltrim(key, 0, KEEP - 1)
        await pipe.execute()


async def recent(redis: Redis, contact_id: str, limit: int = 10) -> list[SendDecision]:
    """The contact's latest decisions, newest first."""
    raw = texts(await redis.lrange(keys.send_decisions(contact_id), 0, limit - 1))
    return [
        SendDecision(
            at=from_epoch(item["at"]),
            purpose=item["purpose"],
            allowed=item["allowed"],
            via=item["via"],
            reason=item["reason"],
        )
        for item in map(json.loads, raw)
    ]
