"""The follow-up queue: what to send to whom and when, with leases and dead letters.

A follow-up lives in a sorted set scored by its due time plus one small hash per
item (``storage.followup_scripts`` lists the fields). Its id is deterministic
(``order:8812:shipped``), so scheduling is idempotent; its *group* is any prefix
of the id ending at a ``:`` (``order:8812``), so all of one order's care can be
cancelled at once. A dispatcher claims due items with a lease (one Lua script);
it then acks them, retries them with backoff, or postpones them. An item whose
lease expires is claimed again; a claim token fences out the earlier holder, and
a ``sent`` marker taken right before sending stops a second send.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from storage import followup_scripts as lua
from storage import keys
from storage.timestamps import from_epoch, to_epoch

DEFAULT_KEEP_S = 30 * 86_400
"""How long a finished item (and its sent marker) stays readable, and blocks a re-schedule."""


class Purpose(StrEnum):
    """Which sending rules apply; mirrors ``bot.messages.Purpose`` (storage imports no ``bot``)."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class State(StrEnum):
    """Where a follow-up stands."""

    PENDING = "pending"
    IN_FLIGHT = "in-flight"
    SENT = "sent"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    DEAD = "dead"


class SendStart(StrEnum):
    """The answer of :func:`begin_send`."""

    GO = "go"
    """Send it now: this claim holds the sent marker."""
    ALREADY_SENT = "done"
    """An earlier claim committed to sending it (it crashed before acking): do not send."""
    LOST = "lost"
    """The claim is stale (re-claimed after the lease) or the item was cancelled."""


@dataclass(frozen=True, slots=True)
class Followup:
    """One message to send later. ``optout`` names an extra opt-out category (``repurchase``)."""

    id: str
    contact_id: str
    due_at: datetime
    template: str
    purpose: Purpose
    data: Mapping[str, Any] = field(default_factory=dict)
    optout: str | None = None

    def __post_init__(self) -> None:
        if self.due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        if ":" not in self.id:
            raise ValueError(f"follow-up id {self.id!r} needs a group, e.g. order:8812:shipped")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A follow-up a dispatcher holds under a lease; ``token`` proves it still does."""

    followup: Followup
    token: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Record:
    """A follow-up as listed: the item, its state and why (reason or last error)."""

    followup: Followup
    state: State
    reason: str = ""
    attempts: int = 0
    finished_at: datetime | None = None


async def schedule(redis: Redis, followup: Followup, *, replace: bool = False) -> bool:
    """Add ``followup``; False when its id exists (pending, in flight or finished).

    With ``replace`` a *pending* item of that id is overwritten (new time, data);
    an item in flight or finished is never replaced, so what was sent stays sent.
    """
    return (await schedule_many(redis, [followup], replace=replace))[0]


async def schedule_many(
    redis: Redis, followups: Iterable[Followup], *, replace: bool = False
) -> list[bool]:
    """:func:`schedule` for many items in one call (one script run)."""
    args: list[str | float] = [keys.followup_prefix(), keys.followups_of_contact_prefix()]
    args.append("1" if replace else "0")
    for followup in followups:
        data = json.dumps(followup.data, ensure_ascii=False, separators=_COMPACT)
        args += [
            followup.id,
            to_epoch(followup.due_at),
            followup.contact_id,
            followup.template,
            followup.purpose.value[0],
            followup.optout or "",
            data if followup.data else "",
        ]
    if len(args) == 3:
        return []
    added = await lua.SCHEDULE_MANY(
        keys=[keys.followups_due(), keys.followups_leased()], args=args, client=redis
    )
    return [bool(flag) for flag in added]


async def cancel(
    redis: Redis, followup_id: str, now: datetime, reason: str = "", keep_s: int = DEFAULT_KEEP_S
) -> bool:
    """Cancel a pending or in-flight item; False if it is unknown or already finished."""
    result = await lua.CANCEL(
        keys=[keys.followup(followup_id), keys.followups_due(), keys.followups_leased()],
        args=[followup_id, to_epoch(now), reason, keep_s],
        client=redis,
    )
    return bool(result)


async def cancel_group(
    redis: Redis,
    contact_id: str,
    group: str,
    now: datetime,
    reason: str = "",
    *,
    keep: Iterable[str] = (),
    keep_s: int = DEFAULT_KEEP_S,
) -> list[str]:
    """Cancel the contact's unfinished items whose id starts with ``group:``, except ``keep``."""
    return await lua.CANCEL_GROUP(
        keys=[
            keys.followups_of_contact(contact_id),
            keys.followups_due(),
            keys.followups_leased(),
        ],
        args=[keys.followup_prefix(), f"{group}:", to_epoch(now), reason, keep_s, *keep],
        client=redis,
    )


async def claim_due(redis: Redis, now: datetime, limit: int, lease_s: float) -> list[Claimed]:
    """Take up to ``limit`` items due by ``now`` (and any whose lease expired) for ``lease_s``."""
    epoch = to_epoch(now)
    rows = await lua.CLAIM(
        keys=[keys.followups_due(), keys.followups_leased()],
        args=[epoch, limit, epoch + lease_s, keys.followup_prefix()],
        client=redis,
    )
    return [
        _claimed(item_id, token, float(score), _pairs(flat)) for item_id, token, score, flat in rows
    ]


@dataclass(frozen=True, slots=True)
class Cap:
    """The per-contact cap on marketing items: at most ``limit`` per ``window_s`` seconds."""

    limit: int = 2
    window_s: int = 7 * 86_400


async def begin_send(
    redis: Redis, claimed: Claimed, now: datetime, cap: Cap, marker_ttl_s: int = DEFAULT_KEEP_S
) -> SendStart | datetime:
    """Commit to sending ``claimed``, right before sending; see :func:`begin_send_many`."""
    return (await begin_send_many(redis, [claimed], now, cap, marker_ttl_s))[0]


async def begin_send_many(
    redis: Redis,
    claimed: Sequence[Claimed],
    now: datetime,
    cap: Cap,
    marker_ttl_s: int = DEFAULT_KEEP_S,
) -> list[SendStart | datetime]:
    """Take each item's sent marker, and for marketing a slot of the contact's cap, atomically.

    Per item a :class:`SendStart`, or the time the contact's cap frees a slot (when full:
    nothing was taken; postpone the item).
    """
    if not claimed:
        return []
    args: list[str | float] = [
        keys.followup_prefix(),
        keys.followup_sent_prefix(),
        keys.marketing_sent_prefix(),
        to_epoch(now),
        cap.limit,
        cap.window_s,
        marker_ttl_s,
    ]
    for item in claimed:
        marketing = item.followup.purpose is Purpose.MARKETING
        args += [item.followup.id, item.token, item.followup.contact_id, "1" if marketing else "0"]
    answers = await lua.BEGIN_SEND_MANY(keys=[keys.followups_due()], args=args, client=redis)
    return [_send_start(answer) for answer in answers]


def _send_start(answer: str) -> SendStart | datetime:
    return SendStart(answer) if answer in _STARTS else from_epoch(answer)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a claimed item ends this pass; see :func:`record_outcomes`."""

    claimed: Claimed
    state: State | None = None
    """SENT or SKIPPED finish the item; otherwise ``postpone_to`` delays it, else it is retried."""
    reason: str = ""
    retry_error: str | None = None
    postpone_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff ``base_s * 2**(attempt-1)`` capped at ``cap_s``; dead after ``max_attempts``."""

    max_attempts: int = 5
    base_s: float = 30.0
    cap_s: float = 3600.0


async def record_outcomes(
    redis: Redis,
    outcomes: Sequence[Outcome],
    now: datetime,
    retry: RetryPolicy,
    keep_s: int = DEFAULT_KEEP_S,
) -> list[Any]:
    """Ack, retry or postpone every item in one script run; stale claims change nothing.

    A retry frees the item's sent marker and cap slot. Returns per item: 1
    (finished or postponed), ``retry``, ``dead``, or 0 (the claim was stale).
    """
    if not outcomes:
        return []
    args: list[str | float] = [
        keys.followup_prefix(),
        keys.followup_sent_prefix(),
        keys.marketing_sent_prefix(),
        keys.followups_of_contact_prefix(),
        to_epoch(now),
        keep_s,
        retry.max_attempts,
        retry.base_s,
        retry.cap_s,
    ]
    for outcome in outcomes:
        item, token = outcome.claimed.followup, outcome.claimed.token
        if outcome.state is not None:
            step = ["f", outcome.state.value, outcome.reason]
        elif outcome.postpone_to is not None:
            step = ["p", to_epoch(outcome.postpone_to), outcome.reason]
        else:
            step = ["r", outcome.retry_error or "failed", ""]
        args += [step[0], item.id, token, item.contact_id, step[1], step[2]]
    return await lua.RECORD_MANY(
        keys=[keys.followups_due(), keys.followups_leased(), keys.followups_dead()],
        args=args,
        client=redis,
    )


async def of_contact(redis: Redis, contact_id: str) -> list[Record]:
    """Every follow-up of the contact still on record (pending, in flight, finished), by due."""
    index = keys.followups_of_contact(contact_id)
    entries = await redis.zrange(index, 0, -1, withscores=True)
    records = await _records(redis, entries)
    gone = [item_id for (item_id, _), record in zip(entries, records, strict=True) if not record]
    if gone:
        await redis.zrem(index, *gone)
    return [record for record in records if record]


async def pending(
    redis: Redis, due_before: datetime | None = None, limit: int = 100
) -> list[Record]:
    """Items in flight, then pending items due before ``due_before`` (all when None), by due."""
    top = "+inf" if due_before is None else to_epoch(due_before)
    leased = await redis.zrange(keys.followups_leased(), 0, limit - 1, withscores=True)
    due = await redis.zrangebyscore(
        keys.followups_due(), "-inf", top, start=0, num=limit, withscores=True
    )
    records = await _records(redis, [*leased, *due])
    return [record for record in records if record][:limit]


async def dead_letters(redis: Redis, limit: int = 100) -> list[Record]:
    """The newest dead-lettered items with their last error."""
    ids = await redis.lrange(keys.followups_dead(), 0, limit - 1)
    records = await _records(redis, [(item_id, 0.0) for item_id in ids])
    return [record for record in records if record]


async def _records(redis: Redis, entries: Sequence[tuple[str, float]]) -> list[Record | None]:
    async with redis.pipeline(transaction=False) as pipe:
        for item_id, _ in entries:
            pipe.hgetall(keys.followup(item_id))
            pipe.zscore(keys.followups_due(), item_id)
            pipe.zscore(keys.followups_leased(), item_id)
        raw = await pipe.execute()
    records: list[Record | None] = []
    for index, (item_id, score) in enumerate(entries):
        fields, due, lease = raw[3 * index : 3 * index + 3]
        records.append(_record_from(item_id, fields, due or score, lease) if fields else None)
    return records


def _record_from(
    item_id: str, fields: Mapping[str, str], due: float, lease: float | None
) -> Record:
    state = State(fields["s"]) if "s" in fields else State.PENDING
    if state is State.PENDING and lease is not None:
        state = State.IN_FLIGHT
    finished = fields.get("f")
    return Record(
        followup=_followup(item_id, fields, due),
        state=state,
        reason=fields.get("r", ""),
        attempts=int(fields.get("a", 0)),
        finished_at=from_epoch(finished) if finished else None,
    )


def _claimed(item_id: str, token: int, score: float, fields: Mapping[str, str]) -> Claimed:
    return Claimed(_followup(item_id, fields, score), str(token), int(fields.get("a", 0)))


def _followup(item_id: str, fields: Mapping[str, str], due: float) -> Followup:
    return Followup(
        id=item_id,
        contact_id=fields["c"],
        due_at=from_epoch(due),
        template=fields["t"],
        purpose=_PURPOSES[fields["p"]],
        data=json.loads(fields["d"]) if "d" in fields else {},
        optout=fields.get("o"),
    )


_PURPOSES = {purpose.value[0]: purpose for purpose in Purpose}
_STARTS = frozenset(start.value for start in SendStart)
_COMPACT = (",", ":")


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))
