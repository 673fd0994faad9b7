"""Evaluate a segment (:mod:`storage.segment_parser`) with Redis set operations.

Nothing scans the contacts: every atom is an index (a tag's members, a
channel's or language's set, an opt-out set, a tier's set, a lifecycle stage built
from score ranges (:mod:`storage.stages`), or a score range of the spend,
order-count, first/last order or first/last seen sorted sets). Inside one
MULTI, each atom becomes a key (the index itself, or a scratch key made with
ZUNIONSTORE / ZRANGESTORE / ZDIFFSTORE), the positive atoms are intersected
with the universe (``contacts_by_last_seen``, which also gives the order: most
recently seen first), the negative ones are subtracted with ZDIFFSTORE, and
the scratch keys are deleted again (they carry a TTL in case they are not).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from config.membership import StageRules, membership_from
from storage import keys
from storage.replies import texts
from storage.segment_parser import Atom, RangeAtom, RangeField, Segment, SetAtom, SetField
from storage.stages import Stage, queue_stage
from storage.timestamps import to_epoch

SCRATCH_TTL_S = 60

_SET_INDEX = {
    SetField.TAG: keys.tag_members,
    SetField.CHANNEL: keys.contacts_by_channel,
    SetField.LANG: keys.contacts_by_language,
    SetField.OPTOUT: keys.optout_members,
    SetField.TIER: keys.tier_members,
}
_RANGE_INDEX = {
    RangeField.SPEND: keys.contacts_by_spend,
    RangeField.ORDERS: keys.contacts_by_order_count,
    RangeField.LAST_ORDER: keys.contacts_by_last_order,
    RangeField.FIRST_ORDER: keys.contacts_by_first_order,
    RangeField.LAST_SEEN: keys.contacts_by_last_seen,
    RangeField.FIRST_SEEN: keys.contacts_by_first_seen,
}
_MISSING_IS_ZERO = frozenset({RangeField.SPEND, RangeField.ORDERS})


@dataclass(frozen=True, slots=True)
class SegmentMatch:
    """How many contacts match, and the first of them (most recently seen first)."""

    count: int
    contact_ids: tuple[str, ...]


async def find(
    redis: Redis,
    segment: Segment,
    now: datetime,
    limit: int = 10,
    *,
    stage_rules: StageRules | None = None,
) -> SegmentMatch:
    """Count the contacts in ``segment`` and list the first ``limit``; leaves no keys behind.

    ``stage_rules`` are the thresholds of ``stage:`` atoms (default: ``membership.yaml``'s).
    """
    token = uuid.uuid4().hex
    async with redis.pipeline(transaction=True) as pipe:
        plan = _Plan(pipe, token, now, stage_rules)
        result = plan.build(segment)
        pipe.zcard(result)
        pipe.zrevrange(result, 0, max(limit, 1) - 1)
        # UNLINK frees in the background (a big scratch set is slow to free); sent as a plain
        # command because the cluster pipeline's unlink() splits keys by slot, outside MULTI.
        pipe.execute_command("UNLINK", *plan.scratch)
        *_, count, members, _ = await pipe.execute()
    return SegmentMatch(count, tuple(members[:limit]))


async def store(
    redis: Redis,
    segment: Segment,
    now: datetime,
    dest: str,
    ttl_s: int,
    *,
    stage_rules: StageRules | None = None,
) -> int:
    """Write the matching contacts to the sorted set ``dest`` (scored by last seen, with a TTL).

    Callers that walk a whole audience (campaigns) read it with :func:`stored_slice`.
    Returns the number of contacts.
    """
    token = uuid.uuid4().hex
    async with redis.pipeline(transaction=True) as pipe:
        plan = _Plan(pipe, token, now, stage_rules)
        result = plan.build(segment)
        pipe.zunionstore(dest, [result])
        pipe.expire(dest, ttl_s)
        pipe.zcard(dest)
        # UNLINK frees in the background (a big scratch set is slow to free); sent as a plain
        # command because the cluster pipeline's unlink() splits keys by slot, outside MULTI.
        pipe.execute_command("UNLINK", *plan.scratch)
        *_, count, _ = await pipe.execute()
    return int(count)


async def stored_slice(redis: Redis, dest: str, start: int, count: int) -> list[str]:
    """Contacts ``start`` .. ``start + count - 1`` of the segment :func:`store` wrote to
    ``dest`` (least recently seen first)."""
    return texts(await redis.zrange(dest, start, start + count - 1))


class _Plan:
    """Queues the commands that evaluate one segment into scratch keys."""

    def __init__(
        self, pipe: Any, token: str, now: datetime, stage_rules: StageRules | None
    ) -> None:
        self.pipe = pipe
        self.token = token
        self.moment = now
        self.now = to_epoch(now)
        self.stage_rules = stage_rules or membership_from(None).stages
        self.scratch: list[str] = []

    def build(self, segment: Segment) -> str:
        """Queue the evaluation; returns the scratch key holding the result."""
        universe = keys.contacts_by_last_seen()
        weights = {universe: 1} | {self.atom(a): 0 for a in segment.positives}
        matched = self._store(lambda dest: self.pipe.zinterstore(dest, weights))
        negatives = [self.atom(a) for a in segment.negatives]
        if not negatives:
            return matched
        return self._store(lambda dest: self.pipe.zdiffstore(dest, [matched, *negatives]))

    def atom(self, atom: Atom) -> str:
        """A key whose members are exactly the contacts ``atom`` matches."""
        match atom:
            case SetAtom(field=SetField.STAGE, values=values):
                built = [self._stage(Stage(value)) for value in values]
                if len(built) == 1:
                    return built[0]
                return self._store(lambda dest: self.pipe.zunionstore(dest, built))
            case SetAtom(field=field, values=(value,)):
                return _SET_INDEX[field](value)
            case SetAtom(field=field, values=values):
                sources = [_SET_INDEX[field](value) for value in values]
                return self._store(lambda dest: self.pipe.zunionstore(dest, sources))
            case RangeAtom():
                return self._range(atom)
        raise TypeError(f"unknown atom {atom!r}")

    def _stage(self, stage: Stage) -> str:
        return queue_stage(self.pipe, self._store, stage, self.moment, self.stage_rules)

    def _range(self, atom: RangeAtom) -> str:
        index = _RANGE_INDEX[atom.field]()
        low, high = _bounds(atom, self.now)
        inside = self._store(
            lambda dest: self.pipe.zrangestore(dest, index, low, high, byscore=True)
        )
        if atom.field not in _MISSING_IS_ZERO or not atom.accepts(0.0):
            return inside
        universe = keys.contacts_by_last_seen()
        missing = self._store(lambda dest: self.pipe.zdiffstore(dest, [universe, index]))
        return self._store(lambda dest: self.pipe.zunionstore(dest, [missing, inside]))

    def _store(self, command: Any) -> str:
        dest = keys.segment_scratch(self.token, len(self.scratch))
        self.scratch.append(dest)
        command(dest)
        self.pipe.expire(dest, SCRATCH_TTL_S)
        return dest


def _bounds(atom: RangeAtom, now: float) -> tuple[str, str]:
    """The score range (ZRANGE BYSCORE syntax) of the contacts ``atom`` matches."""
    if atom.field.is_age:
        # An age above N is a time before now - N: the comparison flips.
        edge, op = now - atom.value, _FLIPPED[atom.op]
    else:
        edge, op = atom.value, atom.op
    match op:
        case ">":
            return f"({edge!r}", "+inf"
        case ">=":
            return repr(edge), "+inf"
        case "<":
            return "-inf", f"({edge!r}"
        case "<=":
            return "-inf", repr(edge)
        case _:
            return repr(edge), repr(edge)


_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
