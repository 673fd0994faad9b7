"""Campaigns (老客户营销): definitions, status, frozen audiences and results, in Redis.

A campaign is one hash: what to send (texts per language, buttons), to whom (a
segment expression), when (``now``, a time, or a cron line), and where it stands
(:class:`Status`). When sending starts, its audience is frozen once into a sorted
set (opted-out contacts removed); the feeder in :mod:`schedules.campaigns` walks it
by rank with a cursor (``fed``) that only moves forward by compare-and-set, and
hands each recipient to the follow-up queue as ``campaign:<id>:<contact>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypedDict

from redis.asyncio import Redis

from storage import keys
from storage.replies import hash_fields, maybe_text, text_map, texts
from storage.timestamps import from_epoch, to_epoch

ITEM_PREFIX = "campaign"
"""Follow-up ids of campaign messages start with ``campaign:<id>:``."""


class Status(StrEnum):
    """Where a campaign stands."""

    DRAFT = "draft"
    CONFIRMING = "confirming"
    """``/campaign send`` was typed; waits for ``/campaign confirm``."""
    SCHEDULED = "scheduled"
    """Confirmed, waits for its time."""
    ARMED = "armed"
    """A recurring (cron) campaign: every slot starts a run of its own."""
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


LIVE = frozenset({Status.SCHEDULED, Status.ARMED, Status.SENDING, Status.PAUSED})
EDITABLE = frozenset({Status.DRAFT, Status.CONFIRMING})


class CampaignResults(TypedDict, total=False):
    """The figures kept on a finished campaign (schedules' ``Tally.frozen``)."""

    sent: int
    failed: int
    cancelled: int
    skipped: dict[str, int]
    """Messages left unsent, per reason."""


@dataclass(frozen=True, slots=True)
class Campaign:
    """One campaign; ``when`` is ``now``, an ISO time, or a five-field cron line."""

    id: str
    name: str
    segment: str
    when: str
    texts: Mapping[str, str]
    buttons: tuple[Mapping[str, str], ...] = ()
    """Per button, its label per language; a press comes back as ``campaign:<id>:<n>``."""
    status: Status = Status.DRAFT
    created_at: datetime | None = None
    created_by: str = ""
    source: str = "chat"
    parent: str | None = None
    """For a run of a recurring campaign: the recurring campaign's id."""
    started_at: datetime | None = None
    audience: int | None = None
    """Recipients frozen when sending started (None before)."""
    opted_out: int = 0
    """Audience members left out at freezing because they had opted out of marketing."""
    fed: int = 0
    fed_at: datetime | None = None
    finished_at: datetime | None = None
    results: CampaignResults = field(default_factory=CampaignResults)
    """The final tally, frozen when the campaign is done."""
    swept_at: datetime | None = None
    """When the frozen audience was dropped (``SHOPBOT_FOLLOWUP_KEEP_DAYS`` after finishing)."""

    @property
    def item_group(self) -> str:
        """The follow-up group of this campaign's messages."""
        return f"{ITEM_PREFIX}:{self.id}"

    def item_id(self, contact_id: str) -> str:
        """The follow-up id of the message to ``contact_id``."""
        return f"{self.item_group}:{contact_id}"


_TIMES = ("created_at", "started_at", "fed_at", "finished_at", "swept_at")


async def next_id(redis: Redis) -> str:
    """A new id for a campaign made in chat: ``K1``, ``K2``, ..."""
    return f"K{await redis.incr(keys.campaign_sequence())}"


async def save(redis: Redis, campaign: Campaign) -> None:
    """Write the whole campaign (definition and state)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.campaign(campaign.id))
        pipe.hset(keys.campaign(campaign.id), mapping=hash_fields(_encode(campaign)))
        created = to_epoch(campaign.created_at) if campaign.created_at else 0
        pipe.zadd(keys.campaigns_all(), {campaign.id: created}, nx=True)
        await pipe.execute()


_DEFINITION = ("name", "segment", "when", "texts", "buttons")

_DEFINE = """
local n = tonumber(ARGV[3])
local fields = {}
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 4, 3 + 2 * n do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(fields))
  return 0
end
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
return 1
"""


async def define(redis: Redis, campaign: Campaign) -> Campaign:
    """Write the definition of a configured campaign, keeping the state of an existing one.

    One script: a campaign that another process starts, runs or cancels meanwhile keeps
    that status (a restart never moves a cancelled or running campaign back).
    """
    encoded = _encode(campaign)
    definition = [part for name in _DEFINITION for part in (name, encoded.pop(name))]
    state = [part for pair in encoded.items() for part in pair]
    created = to_epoch(campaign.created_at) if campaign.created_at else 0
    await redis.eval(
        _DEFINE,
        2,
        keys.campaign(campaign.id),
        keys.campaigns_all(),
        campaign.id,
        created,
        len(_DEFINITION),
        *definition,
        *state,
    )
    stored = await get(redis, campaign.id)
    if stored is None:  # the script just wrote it; only a flush in between removes it
        raise LookupError(f"campaign {campaign.id} vanished right after it was saved")
    return stored


async def get(redis: Redis, campaign_id: str) -> Campaign | None:
    """The campaign, or None."""
    fields = text_map(await redis.hgetall(keys.campaign(campaign_id)))
    return _decode(campaign_id, fields) if fields else None


async def all_campaigns(redis: Redis) -> list[Campaign]:
    """Every campaign, oldest first."""
    ids = texts(await redis.zrange(keys.campaigns_all(), 0, -1))
    async with redis.pipeline(transaction=False) as pipe:
        for campaign_id in ids:
            pipe.hgetall(keys.campaign(campaign_id))
        rows = await pipe.execute()
    return [_decode(cid, text_map(row)) for cid, row in zip(ids, rows, strict=True) if row]


_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return false end
local n = tonumber(ARGV[2])
local allowed = false
for i = 3, 2 + n do
  if ARGV[i] == current then allowed = true end
end
if not allowed then return current end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
for i = 3 + n, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 'ok'
"""


async def transition(
    redis: Redis,
    campaign_id: str,
    allowed_from: Iterable[Status],
    to: Status,
    **fields: str | float,
) -> bool:
    """Move to ``to`` if the status is one of ``allowed_from`` (atomically); sets ``fields`` too.

    Returns False when the campaign is unknown or in another status.
    """
    allowed = [status.value for status in allowed_from]
    pairs = [part for name, value in fields.items() for part in (name, value)]
    answer = await redis.eval(
        _TRANSITION, 1, keys.campaign(campaign_id), to.value, len(allowed), *allowed, *pairs
    )
    return maybe_text(answer) == "ok"


async def set_fields(redis: Redis, campaign_id: str, **fields: str | float) -> None:
    """Set state fields (``finished_at``, ``results`` ...) of an existing campaign."""
    await redis.hset(keys.campaign(campaign_id), mapping=hash_fields(fields))


_FREEZE = """
if redis.call('HEXISTS', KEYS[1], 'audience') == 1 then
  redis.call('UNLINK', KEYS[3])
  return redis.call('HGET', KEYS[1], 'audience')
end
local matched = redis.call('ZCARD', KEYS[3])
local kept = 0
if matched > 0 then kept = redis.call('ZDIFFSTORE', KEYS[2], 2, KEYS[3], KEYS[4]) end
redis.call('UNLINK', KEYS[3])
redis.call('HSET', KEYS[1], 'audience', kept, 'opted_out', matched - kept)
return kept
"""


async def freeze_audience(redis: Redis, campaign_id: str, matched_key: str) -> int:
    """Freeze the audience once from the segment's result in ``matched_key`` (then deleted).

    Marketing opt-outs are removed. Only the first call writes; later ones (another
    process, a retry after a crash) keep the first audience. Returns its size.
    """
    answer = await redis.eval(
        _FREEZE,
        4,
        keys.campaign(campaign_id),
        keys.campaign_audience(campaign_id),
        matched_key,
        keys.optout_members("marketing"),
    )
    return int(answer)


async def sweep_audience(
    redis: Redis, campaign_id: str, now: datetime, results: Mapping[str, object] | None = None
) -> None:
    """Drop the frozen audience of a finished campaign; ``results`` are kept on it first.

    The audience is a list of contact ids: kept as long as finished follow-ups are, no longer.
    """
    fields: dict[str, str | float] = {"swept_at": to_epoch(now)}
    if results is not None:
        fields["results"] = json.dumps(dict(results), ensure_ascii=False)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(keys.campaign(campaign_id), mapping=hash_fields(fields))
        # A plain command: the cluster pipeline's unlink() splits keys by slot, outside MULTI.
        pipe.execute_command("UNLINK", keys.campaign_audience(campaign_id))
        await pipe.execute()


async def audience_slice(redis: Redis, campaign_id: str, start: int, count: int) -> list[str]:
    """Recipients ``start`` .. ``start + count - 1`` of the frozen audience."""
    if count <= 0:
        return []
    return texts(await redis.zrange(keys.campaign_audience(campaign_id), start, start + count - 1))


_ADVANCE = """
local fed = tonumber(redis.call('HGET', KEYS[1], 'fed') or '0')
if fed ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'fed', ARGV[2], 'fed_at', ARGV[3])
return 1
"""


async def advance(redis: Redis, campaign_id: str, old: int, new: int, now: datetime) -> bool:
    """Move the feeding cursor from ``old`` to ``new``; False if another process moved it."""
    answer = await redis.eval(_ADVANCE, 1, keys.campaign(campaign_id), old, new, to_epoch(now))
    return bool(answer)


async def claim_slot(redis: Redis, campaign_id: str, slot: str, ttl_s: int) -> bool:
    """True for the one caller that takes cron slot ``slot`` of the campaign."""
    return bool(await redis.set(keys.campaign_slot(campaign_id, slot), "1", nx=True, ex=ttl_s))


async def record_reply(redis: Redis, campaign_id: str, contact_id: str) -> None:
    """The recipient wrote back within the reply window (idempotent)."""
    await redis.sadd(keys.campaign_replied(campaign_id), contact_id)


async def record_order(redis: Redis, campaign_id: str, contact_id: str, amount: float) -> None:
    """The recipient ordered within the attribution window; the first order counts."""
    await redis.hsetnx(keys.campaign_ordered(campaign_id), contact_id, amount)


# KEYS: the campaign hash, its audience, replied set, ordered hash. ARGV: contact id, the
# anonymous id, the statuses whose feeding goes on. A recipient the feeder already passed
# (rank below ``fed``) moves the cursor back by one, so the next recipient is not skipped
# (the feeder's compare-and-set then retries from the new cursor; scheduling is idempotent).
_FORGET = """
local removed = 0
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
if rank then
  redis.call('ZREM', KEYS[2], ARGV[1])
  removed = 1
  local status = redis.call('HGET', KEYS[1], 'status') or ''
  local fed = tonumber(redis.call('HGET', KEYS[1], 'fed') or '0')
  if string.find(ARGV[3], ',' .. status .. ',', 1, true) and rank < fed then
    redis.call('HSET', KEYS[1], 'fed', fed - 1)
  end
end
removed = removed + redis.call('SREM', KEYS[3], ARGV[1])
local amount = redis.call('HGET', KEYS[4], ARGV[1])
if amount then
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[2], amount)
  removed = removed + 1
end
return removed
"""


async def forget_contact(redis: Redis, contact_id: str, anonymous_id: str) -> int:
    """Take the contact out of every campaign's audience and replies; an attributed order's
    amount stays, under ``anonymous_id``. Returns how many entries were changed."""
    feeding = "," + ",".join((Status.SENDING.value, Status.PAUSED.value)) + ","
    changed = 0
    for campaign_id in texts(await redis.zrange(keys.campaigns_all(), 0, -1)):
        campaign_keys = (
            keys.campaign(campaign_id),
            keys.campaign_audience(campaign_id),
            keys.campaign_replied(campaign_id),
            keys.campaign_ordered(campaign_id),
        )
        changed += await redis.eval(_FORGET, 4, *campaign_keys, contact_id, anonymous_id, feeding)
    return changed


@dataclass(frozen=True, slots=True)
class Attribution:
    """Replies and orders attributed to a campaign."""

    replied: int
    ordered: int
    revenue: float


async def attribution(redis: Redis, campaign_id: str) -> Attribution:
    """How many recipients replied and ordered, and what they spent."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.scard(keys.campaign_replied(campaign_id))
        pipe.hvals(keys.campaign_ordered(campaign_id))
        replied, amounts = await pipe.execute()
    return Attribution(replied, len(amounts), round(sum(map(float, amounts)), 2))


def _encode(campaign: Campaign) -> dict[str, str | float]:
    fields: dict[str, str | float] = {
        "name": campaign.name,
        "segment": campaign.segment,
        "when": campaign.when,
        "texts": json.dumps(dict(campaign.texts), ensure_ascii=False),
        "buttons": json.dumps([dict(b) for b in campaign.buttons], ensure_ascii=False),
        "status": campaign.status.value,
        "created_by": campaign.created_by,
        "source": campaign.source,
        "opted_out": campaign.opted_out,
        "fed": campaign.fed,
    }
    for name in _TIMES:
        moment = getattr(campaign, name)
        if moment is not None:
            fields[name] = to_epoch(moment)
    if campaign.parent:
        fields["parent"] = campaign.parent
    if campaign.audience is not None:
        fields["audience"] = campaign.audience
    if campaign.results:
        fields["results"] = json.dumps(dict(campaign.results), ensure_ascii=False)
    return fields


def _decode(campaign_id: str, fields: Mapping[str, str]) -> Campaign:
    times = {name: from_epoch(fields[name]) if name in fields else None for name in _TIMES}
    return Campaign(
        id=campaign_id,
        name=fields.get("name", campaign_id),
        segment=fields.get("segment", ""),
        when=fields.get("when", "now"),
        texts=json.loads(fields.get("texts", "{}")),
        buttons=tuple(json.loads(fields.get("buttons", "[]"))),
        status=Status(fields.get("status", Status.DRAFT.value)),
        created_by=fields.get("created_by", ""),
        source=fields.get("source", "chat"),
        parent=fields.get("parent"),
        audience=int(fields["audience"]) if "audience" in fields else None,
        opted_out=int(fields.get("opted_out", 0)),
        fed=int(fields.get("fed", 0)),
        results=json.loads(fields["results"]) if "results" in fields else {},
        **times,
    )


def campaign_of_item(followup_id: str) -> tuple[str, str] | None:
    """``(campaign id, contact id)`` of a campaign follow-up id, else None."""
    prefix, _, rest = followup_id.partition(":")
    campaign_id, _, contact_id = rest.partition(":")
    if prefix != ITEM_PREFIX or not campaign_id or not contact_id:
        return None
    return campaign_id, contact_id


def item_ids(campaign: Campaign, contact_ids: Sequence[str]) -> list[str]:
    """The follow-up ids of the messages to ``contact_ids``."""
    return [campaign.item_id(contact_id) for contact_id in contact_ids]
