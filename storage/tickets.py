"""Tickets: order questions the shop has to handle by hand.

A ticket has a short id owners can type (``T1001``, from a counter), the contact,
the intent (``return``, ``wrong_item``, ...) and its category when it has one (a
complaint's cause: ``colour``, ``size``, ...), the order number when known, the
customer's text and language, a status and a timestamp per status, and the ids of
the follow-ups that remind owners of a promise made on it (:func:`note_reminders`).

Lifecycle::

    open --answer()--> answered --answer()--> answered
      \\                   |
       +----close()-------+--> closed       (close() on a closed ticket changes nothing)

API for the owner console (``/tickets``, ``/reply``, ``/close``):

- :func:`get` (ids are case-insensitive), :func:`list_open` (not closed yet: open or
  answered), :func:`list_all`, :func:`list_by_status`, :func:`for_contact`,
  :func:`latest_open_for_contact`, all newest first.
- :func:`answer` records the owner's reply (status ``answered``, ``answered_at``,
  ``answered_by``, ``answer``) and returns the updated ticket; :func:`close` records
  ``closed_at``, ``closed_by`` and an optional reason. Both raise
  :class:`TicketNotFound` for an unknown id; :func:`answer` raises
  :class:`TicketClosed` on a closed ticket. Neither sends anything: telling the
  customer is :mod:`handlers.ticket_actions`' job.

A status change is one Lua script over the ticket hash and the status indexes
(all under the ``{tickets}`` hash tag), so two owners closing at once close once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis.asyncio import Redis

from storage import keys
from storage.replies import Scalar, hash_fields, text_map
from storage.scripts import script
from storage.timestamps import from_epoch, to_epoch

TICKET_ID_BASE = 1000
"""The first ticket is ``T1001``: ids stay four digits for a long while."""
_TICKET_ID = re.compile(r"^T\d+$")


class TicketStatus(StrEnum):
    """Where a ticket is in its lifecycle."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


NOT_CLOSED = (TicketStatus.OPEN, TicketStatus.ANSWERED)


class TicketNotFound(LookupError):
    """No ticket has this id."""


class TicketClosed(ValueError):
    """The ticket is closed; it cannot be answered."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """One ticket as stored."""

    id: str
    contact_id: str
    intent: str
    order_number: str | None
    text: str
    language: str
    status: TicketStatus
    created_at: datetime
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    answer: str | None = None
    answered_by: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    erased_at: datetime | None = None
    """When the contact was erased: the texts and the order number are gone."""
    category: str | None = None
    reminders: tuple[str, ...] = ()


async def create(
    redis: Redis,
    *,
    contact_id: str,
    intent: str,
    text: str,
    language: str,
    now: datetime,
    order_number: str | None = None,
    category: str | None = None,
) -> Ticket:
    """Open a ticket and index it; returns it with its new id."""
    ticket_id = f"T{TICKET_ID_BASE + await redis.incr(keys.ticket_sequence())}"
    epoch = to_epoch(now)
    fields: dict[str, Scalar] = {
        "id": ticket_id,
        "contact": contact_id,
        "intent": intent,
        "text": text,
        "language": language,
        "status": TicketStatus.OPEN.value,
        "created_at": epoch,
    }
    if order_number:
        fields["order_number"] = order_number
    if category:
        fields["category"] = category
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(keys.ticket(ticket_id), mapping=hash_fields(fields))
        pipe.zadd(keys.tickets_all(), {ticket_id: epoch})
        pipe.zadd(keys.tickets_with_status(TicketStatus.OPEN.value), {ticket_id: epoch})
        pipe.zadd(keys.contact_tickets(contact_id), {ticket_id: epoch})
        await pipe.execute()
    return _ticket_from(fields)


async def note_reminders(redis: Redis, ticket_id: str, reminder_ids: Sequence[str]) -> None:
    """Record the follow-ups that remind owners of this ticket (cancelled once it is answered)."""
    if reminder_ids:
        await redis.hset(keys.ticket(ticket_id), "reminders", ",".join(reminder_ids))


def is_ticket_id(text: str) -> bool:
    """True for ``T1001`` (any case): what a ticket reference looks like."""
    return bool(_TICKET_ID.match(text.strip().upper()))


async def get(redis: Redis, ticket_id: str) -> Ticket | None:
    """The ticket, or None; ``t1001`` and ``T1001`` are the same."""
    ticket_id = ticket_id.strip().upper()
    if not _TICKET_ID.match(ticket_id):
        return None
    fields = text_map(await redis.hgetall(keys.ticket(ticket_id)))
    return _ticket_from(fields) if fields else None


async def answer(redis: Redis, ticket_id: str, text: str, now: datetime, *, by: str) -> Ticket:
    """Record an owner's answer; the ticket becomes ``answered``."""
    updates: dict[str, Scalar] = {"answered_at": to_epoch(now), "answered_by": by, "answer": text}
    ticket = await _transition(redis, ticket_id, TicketStatus.ANSWERED, NOT_CLOSED, updates)
    # The first answer's time stays, for the statistics' first response time.
    await redis.hsetnx(keys.ticket(ticket.id), "first_answered_at", to_epoch(now))
    return ticket


async def close(
    redis: Redis, ticket_id: str, now: datetime, *, by: str, reason: str = ""
) -> tuple[Ticket, bool]:
    """Close a ticket; returns it and whether this call closed it (False if it already was)."""
    updates: dict[str, Scalar] = {
        "closed_at": to_epoch(now),
        "closed_by": by,
        "close_reason": reason,
    }
    try:
        ticket = await _transition(redis, ticket_id, TicketStatus.CLOSED, NOT_CLOSED, updates)
    except TicketClosed:
        closed = await get(redis, ticket_id)
        if closed is None:  # erased since the transition found it closed
            raise TicketNotFound(ticket_id) from None
        return closed, False
    await redis.zadd(keys.tickets_by_close_time(), {ticket.id: to_epoch(now)})
    return ticket, True


async def list_open(redis: Redis, limit: int = 50) -> list[Ticket]:
    """Tickets not closed yet (open or answered), newest first."""
    return await _newest(redis, [keys.tickets_with_status(s.value) for s in NOT_CLOSED], limit)


async def list_all(redis: Redis, limit: int = 50) -> list[Ticket]:
    """Every ticket, newest first."""
    return await _newest(redis, [keys.tickets_all()], limit)


async def list_by_status(redis: Redis, status: TicketStatus, limit: int = 50) -> list[Ticket]:
    """Tickets in one status, newest first."""
    return await _newest(redis, [keys.tickets_with_status(status.value)], limit)


async def for_contact(redis: Redis, contact_id: str, limit: int = 20) -> list[Ticket]:
    """The contact's tickets, newest first."""
    return await _newest(redis, [keys.contact_tickets(contact_id)], limit)


async def latest_open_for_contact(redis: Redis, contact_id: str) -> Ticket | None:
    """The contact's newest ticket that is not closed, if any."""
    for ticket in await for_contact(redis, contact_id):
        if ticket.status is not TicketStatus.CLOSED:
            return ticket
    return None


ERASED_FIELDS = ("text", "order_number", "answer", "close_reason")
"""What a customer or an owner wrote on a ticket; gone when its contact is erased."""


ERASURE_ACTOR = "erasure"
"""Who closed a ticket that was still open when its contact was erased."""


async def erase(redis: Redis, ticket_ids: Sequence[str], anonymous_id: str, now: datetime) -> int:
    """Erase the texts and order numbers of the tickets; each keeps its id, intent and times,
    is linked to ``anonymous_id`` and marked ``erased_at``. One still open is closed first
    (there is no one left to answer). Returns how many."""
    for ticket_id in ticket_ids:
        try:
            await close(redis, ticket_id, now, by=ERASURE_ACTOR)
        except TicketNotFound:
            continue
    async with redis.pipeline(transaction=False) as pipe:
        for ticket_id in ticket_ids:
            pipe.exists(keys.ticket(ticket_id))
        present = [
            tid for tid, found in zip(ticket_ids, await pipe.execute(), strict=True) if found
        ]
        for ticket_id in present:
            pipe.hdel(keys.ticket(ticket_id), *ERASED_FIELDS)
            pipe.hset(
                keys.ticket(ticket_id),
                mapping={"contact": anonymous_id, "text": "", "erased_at": to_epoch(now)},
            )
        await pipe.execute()
    return len(present)


# KEYS: ticket hash, then the status indexes in TicketStatus order.
# ARGV: target status, comma list of statuses it may come from, then field/value pairs.
# Returns 1 when changed, 0 for no such ticket, -1 when the current status forbids it.
_TRANSITION = script(
    """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if not string.find(',' .. ARGV[2] .. ',', ',' .. status .. ',', 1, true) then return -1 end
local created = redis.call('HGET', KEYS[1], 'created_at')
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[3]) end
redis.call('HSET', KEYS[1], 'status', ARGV[1], unpack(ARGV, 4))
local target = {open = 2, answered = 3, closed = 4}
redis.call('ZADD', KEYS[target[ARGV[1]]], created, ARGV[3])
return 1
"""
)


async def _transition(
    redis: Redis,
    ticket_id: str,
    target: TicketStatus,
    allowed_from: Sequence[TicketStatus],
    updates: Mapping[str, str | float],
) -> Ticket:
    ticket_id = ticket_id.strip().upper()
    if not _TICKET_ID.match(ticket_id):
        raise TicketNotFound(ticket_id)
    status_keys = [keys.tickets_with_status(s.value) for s in TicketStatus]
    pairs = [item for field, value in updates.items() for item in (field, value)]
    argv = [target.value, ",".join(s.value for s in allowed_from), ticket_id, *pairs]
    match await _TRANSITION(keys=[keys.ticket(ticket_id), *status_keys], args=argv, client=redis):
        case 0:
            raise TicketNotFound(ticket_id)
        case -1:
            raise TicketClosed(ticket_id)
    ticket = await get(redis, ticket_id)
    if ticket is None:  # erased right after the script wrote it
        raise TicketNotFound(ticket_id)
    return ticket


async def _newest(redis: Redis, index_keys: Sequence[str], limit: int) -> list[Ticket]:
    async with redis.pipeline(transaction=False) as pipe:
        for key in index_keys:
            pipe.zrevrange(key, 0, limit - 1, withscores=True)
        ranked = [pair for result in await pipe.execute() for pair in result]
    newest_first = sorted(ranked, key=lambda p: (p[1], int(p[0][1:])), reverse=True)
    ids = [ticket_id for ticket_id, _ in newest_first][:limit]
    async with redis.pipeline(transaction=False) as pipe:
        for ticket_id in ids:
            pipe.hgetall(keys.ticket(ticket_id))
        rows = await pipe.execute()
    return [_ticket_from(row) for row in rows if row]


def _optional_time(value: str | float | None) -> datetime | None:
    return from_epoch(value) if value not in (None, "") else None


def _ticket_from(fields: Mapping[str, str | float]) -> Ticket:
    text = {name: str(value) for name, value in fields.items()}
    return Ticket(
        id=text["id"],
        contact_id=text["contact"],
        intent=text["intent"],
        order_number=text.get("order_number") or None,
        text=text["text"],
        language=text["language"],
        status=TicketStatus(text["status"]),
        created_at=from_epoch(text["created_at"]),
        answered_at=_optional_time(text.get("answered_at")),
        closed_at=_optional_time(text.get("closed_at")),
        answer=text.get("answer") or None,
        answered_by=text.get("answered_by") or None,
        closed_by=text.get("closed_by") or None,
        close_reason=text.get("close_reason") or None,
        erased_at=_optional_time(text.get("erased_at")),
        category=text.get("category") or None,
        reminders=tuple(filter(None, text.get("reminders", "").split(","))),
    )
