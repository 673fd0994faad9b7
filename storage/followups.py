"""The follow-up queue: what to send to whom and when, with leases and dead letters.

A follow-up lives in a sorted set scored by its due time plus one packed field in
a bucketed hash (``storage.followup_scripts`` describes the layout, ``storage.followup_codec``
reads and writes it). Its id is deterministic
(``order:8812:shipped``), so scheduling is idempotent; its *group* is any prefix
of the id ending at a ``:`` (``order:8812``), so all of one order's care can be
cancelled at once. A dispatcher claims due items with a lease (one Lua script);
it then acks them, retries them with backoff, or postpones them. An item whose
lease expires is claimed again; a claim token fences out the earlier holder, and
the message's idempotency key (the follow-up id) lets the channel drop a second send.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from storage import durability, keys
from storage import followup_codec as codec
from storage import followup_scripts as lua
from storage.followup_codec import Addressee, Claimed, Followup, Outcome, Record, State
from storage.replies import Scalar, text, text_map, texts
from storage.timestamps import to_epoch

__all__ = [
    "DEFAULT_CAP",
    "Addressee",
    "Cap",
    "Claimed",
    "Followup",
    "FollowupRetry",
    "Outcome",
    "Record",
    "State",
    "bucket_of",
    "cancel",
    "cancel_group",
    "claim_due",
    "dead_letters",
    "forget_contact",
    "of_contact",
    "pending",
    "record_outcomes",
    "records",
    "schedule",
    "schedule_many",
]

DEFAULT_KEEP_S = 30 * 86_400
"""How long a finished item stays readable, and blocks a re-schedule of its id."""
SCHEDULE_SLICE = 1000
"""Items per script run of :func:`schedule_many`."""
DECODE_SLICE = 100
"""Claimed items decoded between two returns to the event loop (a batch of 500 takes ~2 ms)."""


async def schedule(redis: Redis, followup: Followup, *, replace: bool = False) -> bool:
    """Add ``followup``; False when its id exists (pending, in flight or finished).

    With ``replace`` a *pending* item of that id is overwritten (new time, data);
    an item in flight or finished is never replaced, so what was sent stays sent.
    """
    return (await schedule_many(redis, [followup], replace=replace))[0]


async def schedule_many(
    redis: Redis, followups: Iterable[Followup], *, replace: bool = False
) -> list[bool]:
    """:func:`schedule` for many items: one script run per ``SCHEDULE_SLICE`` items.

    The next slice is packed while Redis stores the previous one (two runs at most in
    flight; each is atomic on its own, and their flags come back in order).
    """
    flags: list[bool] = []
    stored: asyncio.Future[list[bool]] | None = None
    try:
        for rows in _packed_slices(followups):
            storing = asyncio.ensure_future(_store(redis, rows, replace))
            if stored is not None:
                flags += await stored
            stored = storing
        if stored is not None:
            flags += await stored
    finally:
        if stored is not None and not stored.done():
            stored.cancel()
    return flags


def _packed_slices(followups: Iterable[Followup]) -> Iterator[list[str]]:
    """The items as script rows (``codec.schedule_row``), ``SCHEDULE_SLICE`` at a time."""
    rows: list[str] = []
    for followup in followups:
        rows.append(codec.schedule_row(followup))
        if len(rows) == SCHEDULE_SLICE:
            yield rows
            rows = []
    if rows:
        yield rows


async def _store(redis: Redis, rows: list[str], replace: bool) -> list[bool]:
    args = ["1" if replace else "0", *codec.batch(rows)]
    added = await lua.SCHEDULE_MANY(keys=_keys(), args=args, client=redis)
    await durability.barrier(redis)
    return [flag == "1" for flag in added]


async def cancel(redis: Redis, followup_id: str, now: datetime, reason: str = "") -> bool:
    """Cancel a pending item; False if it is unknown, in flight or already finished.

    An item in flight is not cancelled: its dispatcher may be sending it at this moment,
    and its outcome (sent, most likely) is what gets recorded."""
    args: list[Scalar] = [followup_id, to_epoch(now), codec.clean(reason)]
    cancelled = bool(await lua.CANCEL(keys=_keys(), args=args, client=redis))
    await durability.barrier(redis)
    return cancelled


async def cancel_group(
    redis: Redis,
    contact_id: str,
    group: str,
    now: datetime,
    reason: str = "",
    *,
    keep: Iterable[str] = (),
) -> list[str]:
    """Cancel the contact's pending items whose id starts with ``group:``, except ``keep``."""
    args: list[Scalar] = [contact_id, f"{group}:", to_epoch(now), codec.clean(reason), *keep]
    cancelled = await lua.CANCEL_GROUP(keys=_keys(), args=args, client=redis)
    await durability.barrier(redis)
    return sorted(cancelled)


@dataclass(frozen=True, slots=True)
class Cap:
    """The per-contact cap on marketing items: at most ``limit`` per ``window_s`` seconds."""

    limit: int = 2
    window_s: int = 7 * 86_400


DEFAULT_CAP = Cap()


async def claim_due(
    redis: Redis,
    now: datetime,
    limit: int,
    lease_s: float,
    cap: Cap = DEFAULT_CAP,
    keep_s: int = DEFAULT_KEEP_S,
) -> list[Claimed]:
    """Take up to ``limit`` items due by ``now`` (and any whose lease expired) for ``lease_s``.

    First it drops the records of a few items finished ``keep_s`` or more before ``now``.

    Every marketing item also takes a slot of its contact's weekly ``cap`` (kept when it
    is sent, given back by any other outcome); when the cap is full it takes none and
    ``cap_frees_at`` says when one frees. The same script reads each item's
    :class:`Addressee` (profile fields, opt-outs), from key prefixes it declares.
    """
    epoch = to_epoch(now)
    profile_before, profile_after = keys.contact_profile_affixes()
    optouts_before, optouts_after = keys.contact_optouts_affixes()
    args: list[Scalar] = [
        epoch,
        limit,
        epoch + lease_s,
        cap.limit,
        cap.window_s,
        keep_s,
        profile_after,
        codec.GS.join(codec.PROFILE_FIELDS),
        optouts_after,
    ]
    claim_keys = [*_keys(), profile_before, optouts_before]
    reply = await lua.CLAIM(keys=claim_keys, args=args, client=redis)
    if reply:
        await durability.barrier(redis)
    if not reply:
        return []
    token, *rows = reply.split(codec.FS)
    claimed: list[Claimed] = []
    for start in range(0, len(rows), DECODE_SLICE):
        if start:  # Let other tasks (a dispatcher's other lanes) run between slices.
            await asyncio.sleep(0)
        claimed += [codec.claimed(token, row) for row in rows[start : start + DECODE_SLICE]]
    return claimed


@dataclass(frozen=True, slots=True)
class FollowupRetry:
    """Backoff ``base_s * 2**(attempt-1)`` capped at ``cap_s``; dead after ``max_attempts``."""

    max_attempts: int = 5
    base_s: float = 30.0
    cap_s: float = 3600.0


async def record_outcomes(
    redis: Redis,
    outcomes: Sequence[Outcome],
    now: datetime,
    retry: FollowupRetry,
) -> list[str]:
    """Finish, retry or postpone every item in one script run.

    ``SENT`` is recorded whoever holds the item now (the message went out). Any other
    outcome needs the claim to be current (a stale one changes nothing), and gives back
    the item's weekly-cap slot.
    Returns per item ``ok`` (finished or postponed), ``retry``, ``dead``, or ``stale``.
    """
    if not outcomes:
        return []
    rows = (codec.outcome_row(outcome) for outcome in outcomes)
    args = [to_epoch(now), retry.max_attempts, retry.base_s, retry.cap_s]
    answers = await lua.RECORD_MANY(keys=_keys(), args=[*args, *codec.batch(rows)], client=redis)
    await durability.barrier(redis)
    return text(answers).split(codec.GS)


async def of_contact(redis: Redis, contact_id: str) -> list[Record]:
    """Every follow-up of the contact still on record (pending, in flight, finished), by due."""
    rows = await lua.ROWS_OF_CONTACT(keys=_keys(), args=[contact_id], client=redis)
    records = [codec.record(row) for row in rows]
    return sorted(records, key=lambda record: (record.followup.due_at, record.followup.id))


async def forget_contact(redis: Redis, contact_id: str) -> int:
    """Erase every follow-up of the contact in any state (pending, in flight, finished, dead),
    its index entry and its weekly-cap set; returns how many items went.

    An item in flight may still be sent by the dispatcher holding it; its outcome then finds
    no record (an ack leaves its id in ``done`` until the sweep).
    """
    return int(await lua.FORGET_CONTACT(keys=_keys(), args=[contact_id], client=redis))


async def pending(
    redis: Redis, due_before: datetime | None = None, limit: int = 100
) -> list[Record]:
    """Items in flight, then pending items due before ``due_before`` (all when None), by due."""
    top = "+inf" if due_before is None else to_epoch(due_before)
    holders = text_map(await redis.hgetall(keys.followups_leased()))
    leased = sorted(holders, key=lambda item_id: (holders[item_id], item_id))[:limit]
    due = texts(await redis.zrangebyscore(keys.followups_due(), "-inf", top, start=0, num=limit))
    return (await _records(redis, [*leased, *due]))[:limit]


async def records(redis: Redis, ids: Sequence[str]) -> list[Record]:
    """The items of ``ids`` still on record, in the same order (ids not on record left out)."""
    return await _records(redis, ids)


async def dead_letters(redis: Redis, limit: int = 100) -> list[Record]:
    """The newest dead-lettered items with their last error."""
    return await _records(redis, texts(await redis.lrange(keys.followups_dead(), 0, limit - 1)))


def bucket_of(value: str, buckets: int = lua.RECORD_BUCKETS) -> int:
    """The bucket of an id (or, with ``CONTACT_BUCKETS``, a contact); mirrors the scripts."""
    return int(hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:8], 16) % buckets


async def _records(redis: Redis, ids: Sequence[str]) -> list[Record]:
    if not ids:
        return []
    rows = await lua.ROWS(keys=_keys(), args=[*ids], client=redis)
    return [codec.record(row) for row in rows if row[1]]


def _keys() -> list[str]:
    """The KEYS of every queue script: its keys, then the prefixes it builds keys from."""
    return [
        keys.followups_due(),
        keys.followups_leased(),
        keys.followups_done(),
        keys.followups_dead(),
        keys.followup_claims(),
        keys.followup_leases(),
        keys.followup_records_prefix(),
        keys.followup_states_prefix(),
        keys.followups_by_contact_prefix(),
        keys.marketing_sent_prefix(),
    ]
