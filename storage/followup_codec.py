"""The follow-up queue's formats: its value types and the rows its Lua scripts read and write.

The scripts (``storage/lua/followups/``, layout in ``storage.followup_scripts``) answer in
strings whose fields are joined by the ASCII separators below; each layout has a named row
here (a ``NamedTuple``, cheap to build from a split on the dispatch path) and one function
that turns it into the item it describes. ``storage.followups`` calls the scripts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from storage.optouts import OptOutCategory
from storage.timestamps import from_epoch, to_epoch

US, RS, GS, FS = "\x1f", "\x1e", "\x1d", "\x1c"
"""Unit (a row's fields), record (chunked data), group (a batch item's fields, a batch's
answers) and file (a batch argument's items, a claim's rows) separators."""
_SEPARATORS = str.maketrans(dict.fromkeys(US + RS + GS + FS, " "))
_NEEDS_CLEANING = re.compile("[\x1c-\x1f]")
_ARGUMENT_CHARS = 8_000
"""Under 32 KB even in 3-byte UTF-8: Redis keeps a query buffer as large as an argument
past 32 KB after the call."""
_SMALL_VALUE = 64
"""Redis keeps a hash small (listpack/ziplist) while every value is at most this long."""
_PURPOSES = {"t": "transactional", "m": "marketing"}
"""An item's purpose as stored (its first letter) and as read back."""
PROFILE_FIELDS = ("language", "display_name", "unreachable")
"""The contact profile fields (``storage.contacts``) an :class:`Addressee` holds, in order
(the claim row's ``language``, ``name`` and ``unreachable``)."""
_OPT_OUTS = frozenset(category.value for category in OptOutCategory)
_NO_OPT_OUTS: frozenset[OptOutCategory] = frozenset()
_decode_data = orjson.loads


class State(StrEnum):
    """Where a follow-up stands."""

    PENDING = "pending"
    IN_FLIGHT = "in-flight"
    SENT = "sent"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    DEAD = "dead"
    UNCERTAIN = "uncertain"
    """The send's outcome is unknown (a timeout, or its sender died before confirming):
    it may have gone out, so it is never sent again nor counted as sent."""


@dataclass(frozen=True, slots=True)
class Followup:
    """One message to send later. ``optout`` names an extra opt-out category (``repurchase``)."""

    id: str
    contact_id: str
    due_at: datetime
    template: str
    purpose: str
    """``transactional`` or ``marketing`` (a ``bot.messages.Purpose``; storage keeps the text)."""
    data: Mapping[str, Any] = field(default_factory=dict)
    optout: str | None = None

    def __post_init__(self) -> None:
        if self.due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        if ":" not in self.id:
            raise ValueError(f"follow-up id {self.id!r} needs a group, e.g. order:8812:shipped")


@dataclass(slots=True)
class Addressee:
    """What sending to a contact needs, read by the claim (None when the profile lacks it).

    ``opted_out`` is read for marketing items only (transactional items ignore opt-outs).
    Built per claimed item, so not frozen (cheaper to build): treat it as read-only.
    """

    language: str | None = None
    display_name: str | None = None
    unreachable: str | None = None
    opted_out: frozenset[OptOutCategory] = frozenset()


@dataclass(slots=True)
class Claimed:
    """A follow-up a dispatcher holds under a lease; ``token`` proves it still does.

    The item's fields are flat (``followup`` builds the :class:`Followup`) and the class
    is not frozen: one is built per claimed item, and a frozen dataclass costs several
    times more to build. Treat it as read-only. ``addressee`` holds the contact's profile
    fields the dispatch needs, read by the claim; ``due`` and ``bucket`` are kept as the
    claim returned them, to hand back when recording the outcome.
    """

    id: str
    contact_id: str
    template: str
    purpose: str
    data: Mapping[str, Any]
    optout: str | None
    token: str
    due: str
    bucket: str
    addressee: Addressee
    cap_frees_at: datetime | None = None
    """For a marketing item whose contact's weekly cap is full: when a slot frees (the
    claim took no slot). None when it holds a slot, and for transactional items."""

    @property
    def followup(self) -> Followup:
        """The claimed item."""
        return Followup(
            self.id,
            self.contact_id,
            from_epoch(self.due),
            self.template,
            self.purpose,
            self.data,
            self.optout,
        )


@dataclass(frozen=True, slots=True)
class Record:
    """A follow-up as listed: the item, its state and why (reason or last error)."""

    followup: Followup
    state: State
    reason: str = ""
    attempts: int = 0
    finished_at: datetime | None = None


@dataclass(slots=True)
class Outcome:
    """How a claimed item ends this pass; see ``storage.followups.record_outcomes``.

    One per claimed item, so not frozen (cheaper to build): treat it as read-only.
    """

    claimed: Claimed
    state: State | None = None
    """SENT, SKIPPED or UNCERTAIN finish the item; otherwise ``postpone_to`` delays it,
    else it is retried."""
    reason: str = ""
    retry_error: str | None = None
    postpone_to: datetime | None = None


class HeadRow(NamedTuple):
    """An item's record field (``r:<b>``): ``inline`` is its JSON data, or ``RS n`` when the
    data is chunked (the script appends the chunks' handle)."""

    contact: str
    template: str
    purpose: str
    optout: str
    inline: str

    @classmethod
    def parse(cls, text: str) -> HeadRow:
        """The row of a US-joined head."""
        return cls._make(text.split(US))


class ClaimRow(NamedTuple):
    """One item of the ``CLAIM`` reply, its fields joined by US (see ``claim.lua``)."""

    id: str
    due: str
    bucket: str
    frees: str
    language: str
    name: str
    unreachable: str
    blocked: str
    data: str
    contact: str
    template: str
    purpose: str
    optout: str
    inline: str

    @classmethod
    def parse(cls, text: str) -> ClaimRow:
        """The row of one US-joined item of the reply."""
        return cls._make(text.split(US))


class StateRow(NamedTuple):
    """An item's state field (``s:<b>``), written by its outcomes."""

    attempts: str = "0"
    state: str = ""
    finished: str = ""
    due: str = ""
    reason: str = ""

    @classmethod
    def parse(cls, text: str) -> StateRow:
        """The row of a US-joined state ('' when the item has none yet)."""
        return cls._make(text.split(US)) if text else _NO_STATE


_NO_STATE = StateRow()
_claim_row = ClaimRow._make


class RecordRow(NamedTuple):
    """One item of the ``ROWS`` reply (``row`` in ``lib.lua``); '' where absent."""

    id: str
    head: str
    data: str
    state: str
    due: str
    lease: str
    done: str


def join(row: Iterable[str], separator: str = US) -> str:
    """A row as the scripts write it (its fields joined by ``separator``)."""
    return separator.join(row)


def claimed(token: str, text: str) -> Claimed:
    """One item of the claim under ``token``."""
    row = _claim_row(text.split(US))  # ClaimRow.parse without its call (once per item)
    blocked = row.blocked
    addressee = Addressee(
        row.language or None,
        row.name or None,
        row.unreachable or None,
        _opted_out(blocked) if blocked else _NO_OPT_OUTS,
    )
    data = row.data or row.inline
    return Claimed(
        row.id,
        row.contact,
        row.template,
        _PURPOSES[row.purpose],
        _decode_data(data) if data else {},
        row.optout or None,
        token,
        row.due,
        row.bucket,
        addressee,
        from_epoch(row.frees) if row.frees else None,
    )


@lru_cache(maxsize=64)
def _opted_out(blocked: str) -> frozenset[OptOutCategory]:
    """The known categories of the claim's comma-joined list (few distinct lists: cached)."""
    return frozenset(
        OptOutCategory(category) for category in blocked.split(",") if category in _OPT_OUTS
    )


def record(row: Sequence[str]) -> Record:
    """The listed item of one ``ROWS`` row."""
    item = RecordRow._make(row)
    state = StateRow.parse(item.state)
    finished, reason = state.finished, state.reason
    if state.state:
        current = State(state.state)
    elif item.done:  # Sent: an ack writes no state, only the finish time.
        current, finished, reason = State.SENT, item.done, ""
    else:
        current = State.IN_FLIGHT if item.lease else State.PENDING
    # An item in flight shows when its lease expires, a sent one when it was sent (neither
    # the claim nor the ack keeps the due time).
    shown_due = float(item.due or state.due or item.lease or finished or 0)
    return Record(
        followup=followup(item.id, HeadRow.parse(item.head), item.data, shown_due),
        state=current,
        reason=reason,
        attempts=int(state.attempts),
        finished_at=from_epoch(finished) if finished else None,
    )


def followup(item_id: str, head: HeadRow, data: str, due: float) -> Followup:
    """The item from its head and its chunked data ('' when inline in the head)."""
    data = data or head.inline
    return Followup(
        id=item_id,
        contact_id=head.contact,
        due_at=from_epoch(due),
        template=head.template,
        purpose=_PURPOSES[head.purpose],
        data=_decode_data(data) if data else {},
        optout=head.optout or None,
    )


def pack(followup: Followup) -> tuple[str, str]:
    """The item's head, and its data when the data does not fit in the head (then chunked)."""
    data = _encode_data(followup.data) if followup.data else ""
    lead = (followup.contact_id, followup.template, followup.purpose[0], followup.optout or "")
    head = join(HeadRow(*lead, data))
    if len(head.encode()) <= _SMALL_VALUE:
        return head, ""
    chunks = -(-len(data.encode()) // _SMALL_VALUE)
    return join(HeadRow(*lead, f"{RS}{chunks}")), data


def schedule_row(followup: Followup) -> str:
    """One item of ``SCHEDULE_MANY``: id, due, contact, head, data (GS-joined)."""
    head, data = pack(followup)
    due = str(to_epoch(followup.due_at))
    return join((followup.id, due, followup.contact_id, head, data), GS)


def outcome_row(outcome: Outcome) -> str:
    """One item of ``RECORD_MANY``: kind, id, bucket, token, contact, due, x, y (an ack,
    ``SENT``, needs no token or contact)."""
    item = outcome.claimed
    if outcome.state is State.SENT:
        return join(("a", item.id, item.bucket, "", "", item.due, "", ""), GS)
    if outcome.state is not None:
        kind, x, y = "f", outcome.state.value, clean(outcome.reason)
    elif outcome.postpone_to is not None:
        kind, x, y = "p", str(to_epoch(outcome.postpone_to)), clean(outcome.reason)
    else:
        kind, x, y = "r", clean(outcome.retry_error or "failed"), ""
    return join((kind, item.id, item.bucket, item.token, item.contact_id, item.due, x, y), GS)


def batch(rows: Iterable[str]) -> list[str]:
    """Batch items as script arguments: joined by FS, each under ``_ARGUMENT_CHARS``."""
    arguments: list[str] = []
    piece: list[str] = []
    size = 0
    for row in rows:
        if piece and size + len(row) > _ARGUMENT_CHARS:
            arguments.append(FS.join(piece))
            piece, size = [], 0
        piece.append(row)
        size += len(row) + 1
    if piece:
        arguments.append(FS.join(piece))
    return arguments


def clean(text: str) -> str:
    """A reason without the separators of the packed state and of batch arguments."""
    return text.translate(_SEPARATORS) if _NEEDS_CLEANING.search(text) else text


def _encode_data(data: Mapping[str, Any]) -> str:
    """Compact JSON of an item's data (orjson: several times faster than ``json`` for the
    claim's per-item decode, which is a large part of a dispatch's client time)."""
    return orjson.dumps(data).decode()
