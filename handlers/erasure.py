"""Erasing a contact on request, for ``python -m bot forget`` and the owner's ``/forget``.

:func:`forget_contact` erases (``storage.erasure``), records in the audit log that an
erasure happened, by whom and when (the target is the anonymous id, the detail counts, so
nothing erased is in it), then has the embedded server rewrite its append-only file, so the
erased bytes leave the disk too. An external Redis keeps its own persistence (AOF, RDB
snapshots, replicas, backups): the operator rewrites or expires those, and the report says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis.asyncio import Redis

from config.settings import Settings
from storage import audit, contacts, staff
from storage.erasure import Erasure, erase_contact
from storage.persistence import Rewrite, RewriteFailed, rewrite_append_only_file

log = logging.getLogger(__name__)

AUDIT_ACTION = "forget"


class Disk(StrEnum):
    """Where the erased data stands on disk after the erasure."""

    REWRITTEN = "rewritten"
    """The embedded server rewrote its append-only file: the data is gone from disk."""
    NOT_PERSISTED = "not-persisted"
    """The server keeps no append-only file."""
    EXTERNAL = "external"
    """An external Redis: its persistence and backups are the operator's to rewrite."""
    FAILED = "failed"
    """The rewrite failed or took too long: the erased data may still be in the file."""


class ForgetRefused(ValueError):
    """The contact cannot be erased; ``reason`` is ``unknown`` or ``role`` (owner or staff)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What :func:`forget_contact` did."""

    erasure: Erasure
    disk: Disk


async def check_forgettable(redis: Redis, contact_id: str, owners: Iterable[str]) -> None:
    """Raise :class:`ForgetRefused` for an unknown contact, one of ``owners``, or staff.

    An owner or a staff member loses the role first (``/staff del``, ``SHOPBOT_OWNERS``):
    erasing one would leave the console to someone the bot no longer knows.
    """
    if await contacts.get(redis, contact_id) is None:
        raise ForgetRefused("unknown")
    if contact_id in set(owners) or await staff.is_staff(redis, contact_id):
        raise ForgetRefused("role")


async def forget_contact(
    redis: Redis,
    settings: Settings,
    contact_id: str,
    *,
    actor: str,
    now: datetime,
    owners: Iterable[str],
) -> ForgetReport:
    """Erase the contact, audit it, and rewrite the embedded server's append-only file.

    ``owners`` are every owner's contact id (configured, claimed, the terminal's).
    """
    await check_forgettable(redis, contact_id, owners)
    erasure = await erase_contact(redis, contact_id, now)
    await audit.record(redis, actor, AUDIT_ACTION, erasure.anonymous_id, erasure.summary(), now)
    if settings.redis_url is not None:
        return ForgetReport(erasure, Disk.EXTERNAL)
    try:
        rewrite = await rewrite_append_only_file(redis)
    except RewriteFailed:
        log.error("the append-only file rewrite after an erasure failed; see redis.log")
        return ForgetReport(erasure, Disk.FAILED)
    disk = Disk.REWRITTEN if rewrite is Rewrite.DONE else Disk.NOT_PERSISTED
    return ForgetReport(erasure, disk)
