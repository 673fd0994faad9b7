"""Media a customer sent (photos, voice, video, files), kept with the ticket or handoff.

One list per contact, newest last, capped at :data:`MEDIA_LIMIT` entries. Each entry
keeps the platform's handle (WeChat ``MediaId``, Telegram ``file_id``), when it came,
and what it belongs to: the contact's open ticket, or the handoff in progress. The
bytes stay with the platform (WeChat keeps temporary media for 3 days).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from storage import keys
from storage.replies import texts
from storage.timestamps import from_epoch, to_epoch

MEDIA_LIMIT = 50


@dataclass(frozen=True, slots=True)
class KeptMedia:
    """One attachment as kept: its kind, platform handle, time, and ticket or handoff."""

    kind: str
    channel: str
    ref: str
    at: datetime
    ticket_id: str | None = None
    handoff: bool = False


async def keep(redis: Redis, contact_id: str, media: KeptMedia) -> None:
    """Append ``media``; the oldest beyond :data:`MEDIA_LIMIT` are dropped."""
    entry = {
        "kind": media.kind,
        "channel": media.channel,
        "ref": media.ref,
        "at": to_epoch(media.at),
        "ticket": media.ticket_id,
        "handoff": media.handoff,
    }
    key = keys.contact_media(contact_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rpush(key, json.dumps(entry))
        pipe.ltrim(key, -MEDIA_LIMIT, -1)
        await pipe.execute()


async def of_contact(redis: Redis, contact_id: str) -> list[KeptMedia]:
    """Everything kept for the contact, oldest first."""
    rows = texts(await redis.lrange(keys.contact_media(contact_id), 0, -1))
    return [_media_from(json.loads(row)) for row in rows]


def _media_from(entry: Mapping[str, Any]) -> KeptMedia:
    return KeptMedia(
        kind=str(entry["kind"]),
        channel=str(entry["channel"]),
        ref=str(entry["ref"]),
        at=from_epoch(entry["at"]),
        ticket_id=str(entry["ticket"]) if entry.get("ticket") else None,
        handoff=bool(entry.get("handoff")),
    )
