"""The audit trail: who did what to whom, and when, for every owner or staff action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from storage import keys
from storage.replies import Scalar, hash_fields, stream_entries
from storage.timestamps import from_epoch, to_epoch

AUDIT_MAXLEN = 100_000
"""Roughly how many entries are kept (the stream is trimmed approximately)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action: ``actor`` (a contact id, or ``api`` / ``import``), what, on whom."""

    actor: str
    action: str
    target: str
    detail: str
    at: datetime


async def record(
    redis: Redis, actor: str, action: str, target: str | None, detail: str, now: datetime
) -> None:
    """Append an entry."""
    fields: dict[str, Scalar] = {
        "actor": actor,
        "action": action,
        "target": target or "",
        "detail": detail,
        "at": to_epoch(now),
    }
    await redis.xadd(keys.audit_log(), hash_fields(fields), maxlen=AUDIT_MAXLEN, approximate=True)


async def recent(redis: Redis, limit: int = 20) -> list[AuditEntry]:
    """The newest ``limit`` entries, newest first."""
    entries = stream_entries(await redis.xrevrange(keys.audit_log(), count=limit))
    return [
        AuditEntry(f["actor"], f["action"], f["target"], f["detail"], from_epoch(f["at"]))
        for _, f in entries
    ]
