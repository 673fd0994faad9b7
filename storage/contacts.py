"""Contacts: one profile per ``channel:external_id``, with tags and notes.

A contact is created by its first message (:func:`touch`) and gets a short id
(``C12``) that owners can type. Tags live in a hash per contact (tag -> source
and time) plus a reverse index per tag, so segments can intersect them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from config.settings import LANGUAGES
from storage import batch, keys
from storage.batch import Queued
from storage.replies import hash_fields, maybe_text, text_map, text_set, texts
from storage.timestamps import from_epoch, to_epoch

# Profile fields other modules may set with :func:`update`.
WRITABLE_FIELDS = frozenset({"display_name", "language", "source", "phone", "address", "birthday"})


class TagSource(StrEnum):
    """Who put a tag on a contact."""

    AUTO = "auto"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact's profile as stored."""

    id: str
    short_id: str
    display_name: str | None
    language: str | None
    source: str | None
    first_seen: datetime
    last_seen: datetime
    message_count: int
    phone: str | None = None
    address: str | None = None
    birthday: str | None = None
    """``MM-DD`` (生日), when the owner recorded it: birthday wishes are promised only then."""
    unreachable: str | None = None
    """Why the contact's channel can no longer reach them (blocked the bot, unfollowed)."""
    last_campaign_at: datetime | None = None
    """When a campaign last queued a message to the contact (see :func:`note_campaign`)."""

    @property
    def channel(self) -> str:
        """The channel part of the id."""
        return self.id.partition(":")[0]

    @property
    def external_id(self) -> str:
        """The platform's id of the person."""
        return self.id.partition(":")[2]


@dataclass(frozen=True, slots=True)
class TagInfo:
    """When and by whom a tag was applied."""

    source: TagSource
    applied_at: datetime


@dataclass(frozen=True, slots=True)
class Note:
    """A free-text note an owner left on a contact."""

    author: str
    text: str
    written_at: datetime


async def touch(
    redis: Redis,
    contact_id: str,
    now: datetime,
    *,
    display_name: str | None = None,
    language: str | None = None,
) -> Contact:
    """Record an inbound message: create the contact if new, bump last seen and the count."""
    async with redis.pipeline(transaction=False) as pipe:
        step = queue_touch(pipe, contact_id, now, display_name=display_name, language=language)
        count_message(pipe, contact_id)
        results = await pipe.execute()
    return replace(step.result(results), message_count=int(results[-1]))


def queue_touch(
    pipe: Pipeline,
    contact_id: str,
    now: datetime,
    *,
    display_name: str | None = None,
    language: str | None = None,
) -> Queued[Contact]:
    """:func:`touch` as a step of a larger round trip (see :mod:`storage.batch`), without
    the count: :func:`count_message` adds it (the dispatcher only once it knows the
    message is no duplicate)."""
    updates: dict[str, str | float] = {"last_seen": to_epoch(now)}
    if display_name:
        updates["display_name"] = display_name
    if language:
        updates["language"] = language
    return batch.queue(
        pipe,
        lambda pipe: _queue_arrival(pipe, contact_id, now, language, updates),
        lambda replies: _contact_from(contact_id, _arrived_fields(replies[0], now, updates)),
    )


def _queue_arrival(
    pipe: Pipeline,
    contact_id: str,
    now: datetime,
    language: str | None,
    updates: Mapping[str, str | float] | None,
) -> None:
    """Queue :data:`_ARRIVE`: ``updates`` for a message, None for :func:`ensure`."""
    others = [keys.contacts_by_language(other) for other in LANGUAGES if other != language]
    language_sets = [keys.contacts_by_language(language), *others] if language else others
    arrival_keys = (
        keys.contact(contact_id),
        keys.contacts_by_last_seen(),
        keys.contacts_by_first_seen(),
        keys.contacts_by_channel(contact_id.partition(":")[0]),
        keys.contact_sequence(),
        keys.short_ids(),
        *language_sets,
    )
    pairs = [part for pair in (updates or {}).items() for part in pair]
    mode = "touch" if updates is not None else "ensure"
    arguments = (contact_id, to_epoch(now), mode, language or "", *pairs)
    pipe.eval(_ARRIVE, len(arrival_keys), *arrival_keys, *arguments)


def _arrived_fields(
    reply: Sequence[Any], now: datetime, updates: Mapping[str, str | float] | None
) -> dict[str, str]:
    """The profile after :data:`_ARRIVE`, from what it was and what was written."""
    flat, short_id = reply
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    epoch = str(to_epoch(now))
    fields.setdefault("first_seen", epoch)
    if updates is None:
        fields.setdefault("last_seen", epoch)
    else:
        fields.update({name: str(value) for name, value in updates.items()})
        fields.pop("unreachable", None)
    fields["short_id"] = short_id
    return fields


# A contact's arrival, atomic: the profile as it was, first seen (kept), the updates and last
# seen (a touch also clears ``unreachable``: the contact just reached us), then what only a
# new contact or a new language needs: the short id (taken from the sequence once, so racing
# first messages leave no gap and no second id) and the segment indexes. KEYS: profile,
# last-seen, first-seen, the channel's set, the short-id sequence and map, then the language
# sets (the new language's first). ARGV: contact id, epoch, mode ("touch", or "ensure": last
# seen only if unset), the new language or "", field/value pairs.
# The keys span hash slots: like segment evaluation, this needs a single Redis node.
_ARRIVE = """
local id, epoch, mode, language = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local before = redis.call('HGETALL', KEYS[1])
local was = {}
for i = 1, #before, 2 do was[before[i]] = before[i + 1] end
local created = redis.call('HSETNX', KEYS[1], 'first_seen', epoch) == 1
if mode == 'touch' then
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
  redis.call('HDEL', KEYS[1], 'unreachable')
  redis.call('ZADD', KEYS[2], epoch, id)
else
  redis.call('HSETNX', KEYS[1], 'last_seen', epoch)
  redis.call('ZADD', KEYS[2], 'NX', epoch, id)
end
if created then
  redis.call('ZADD', KEYS[3], 'NX', epoch, id)
  redis.call('SADD', KEYS[4], id)
end
local short = was['short_id']
if not short then
  short = 'C' .. redis.call('INCR', KEYS[5])
  redis.call('HSET', KEYS[1], 'short_id', short)
  redis.call('HSET', KEYS[6], short, id)
end
if language ~= '' and language ~= was['language'] then
  redis.call('SADD', KEYS[7], id)
  for i = 8, #KEYS do redis.call('SREM', KEYS[i], id) end
end
return {before, short}
"""


def count_message(pipe: Pipeline, contact_id: str) -> None:
    """Queue adding one to the contact's message count."""
    pipe.hincrby(keys.contact(contact_id), "message_count", 1)


def queue_tag_names(pipe: Pipeline, contact_id: str) -> Queued[frozenset[str]]:
    """The names of the contact's tags, as a step of a larger round trip."""
    return batch.queue(
        pipe,
        lambda pipe: pipe.hkeys(keys.contact_tags(contact_id)),
        lambda replies: frozenset(replies[0]),
    )


async def get(redis: Redis, contact_id: str) -> Contact | None:
    """The contact, or None if it never wrote."""
    fields = text_map(await redis.hgetall(keys.contact(contact_id)))
    return _contact_from(contact_id, fields) if fields else None


async def resolve_short_id(redis: Redis, short_id: str) -> str | None:
    """The contact id behind a short id such as ``C12`` (case-insensitive)."""
    return maybe_text(await redis.hget(keys.short_ids(), short_id.upper()))


async def update(redis: Redis, contact_id: str, fields: Mapping[str, str]) -> None:
    """Set profile fields named in :data:`WRITABLE_FIELDS`."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_update(pipe, contact_id, fields)
        await pipe.execute()


def queue_update(pipe: Pipeline, contact_id: str, fields: Mapping[str, str]) -> None:
    """:func:`update` as commands queued on ``pipe`` (e.g. a handler's deferred write)."""
    unknown = set(fields) - WRITABLE_FIELDS
    if unknown:
        raise ValueError(f"not writable contact fields: {sorted(unknown)}")
    pipe.hset(keys.contact(contact_id), mapping=hash_fields(fields))
    if fields.get("language"):
        _index_language(pipe, contact_id, fields["language"])


async def ensure(redis: Redis, contact_id: str, now: datetime) -> Contact:
    """The contact, created (first and last seen ``now``, no messages) if it never wrote.

    For contacts that arrive by an order or an import before their first message.
    """
    async with redis.pipeline(transaction=False) as pipe:
        _queue_arrival(pipe, contact_id, now, None, None)
        (reply,) = await pipe.execute()
    return _contact_from(contact_id, _arrived_fields(reply, now, None))


def _index_language(pipe: Pipeline, contact_id: str, language: str) -> None:
    """Queue moving the contact to ``language``'s set (an owner's edit; arrivals do it in Lua)."""
    for other in LANGUAGES:
        if other != language:
            pipe.srem(keys.contacts_by_language(other), contact_id)
    pipe.sadd(keys.contacts_by_language(language), contact_id)


async def note_campaign(redis: Redis, contact_ids: Iterable[str], at: datetime) -> None:
    """Record on each profile that a campaign queued a message to them at ``at``.

    It lets the per-message campaign-reply check skip the follow-up records of
    the many contacts no campaign has written to lately.
    """
    async with redis.pipeline(transaction=False) as pipe:
        for contact_id in contact_ids:
            pipe.hset(keys.contact(contact_id), "campaign_at", to_epoch(at))
        await pipe.execute()


async def mark_unreachable(redis: Redis, contact_id: str, reason: str) -> None:
    """Record that the contact's channel cannot reach them any more, and why."""
    await redis.hset(keys.contact(contact_id), "unreachable", reason)


async def mark_reachable(redis: Redis, contact_id: str) -> None:
    """The contact can be reached again (wrote to us, followed again)."""
    await redis.hdel(keys.contact(contact_id), "unreachable")


def _contact_from(contact_id: str, fields: Mapping[str, str]) -> Contact:
    return Contact(
        id=contact_id,
        short_id=fields.get("short_id", ""),
        display_name=fields.get("display_name"),
        language=fields.get("language"),
        source=fields.get("source"),
        first_seen=from_epoch(fields["first_seen"]),
        last_seen=from_epoch(fields["last_seen"]),
        message_count=int(fields.get("message_count", 0)),
        phone=fields.get("phone"),
        address=fields.get("address"),
        birthday=fields.get("birthday"),
        unreachable=fields.get("unreachable"),
        last_campaign_at=from_epoch(fields["campaign_at"]) if "campaign_at" in fields else None,
    )


async def add_tags(
    redis: Redis, contact_id: str, tags: Iterable[str], source: TagSource, now: datetime
) -> list[str]:
    """Apply tags; returns those that were new. An existing tag keeps its first source."""
    async with redis.pipeline(transaction=False) as pipe:
        step = queue_add_tags(pipe, contact_id, tags, source, now)
        results = await pipe.execute()
    return step.result(results)


def queue_add_tags(
    pipe: Pipeline, contact_id: str, tags: Iterable[str], source: TagSource, now: datetime
) -> Queued[list[str]]:
    """:func:`add_tags` as a step of a larger round trip (see :mod:`storage.batch`)."""
    wanted = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    meta = json.dumps({"source": source.value, "at": to_epoch(now)})
    members = [keys.tag_members(tag) for tag in wanted]

    def commands(pipe: Pipeline) -> None:
        if wanted:
            tag_keys = (keys.contact_tags(contact_id), keys.all_tags(), *members)
            pipe.eval(_ADD_TAGS, len(tag_keys), *tag_keys, contact_id, meta, *wanted)

    return batch.queue(
        pipe,
        commands,
        lambda replies: (
            [tag for tag, new in zip(wanted, replies[0], strict=True) if new] if wanted else []
        ),
    )


# All of one contact's new tags in one reply (the per-message path adds them).
# KEYS: the contact's tag hash, the set of all tags, then each tag's member set;
# ARGV: contact id, the tags' JSON meta, then the tags. Returns 1 per tag that was new.
_ADD_TAGS = """
local added = {}
for i = 3, #ARGV do
  added[i - 2] = redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[2])
  redis.call('SADD', KEYS[i], ARGV[1])
  redis.call('SADD', KEYS[2], ARGV[i])
end
return added
"""


async def remove_tags(redis: Redis, contact_id: str, tags: Iterable[str]) -> list[str]:
    """Remove tags; returns those the contact had."""
    wanted = [tag.strip() for tag in tags if tag.strip()]
    async with redis.pipeline(transaction=False) as pipe:
        for tag in wanted:
            pipe.hdel(keys.contact_tags(contact_id), tag)
            pipe.srem(keys.tag_members(tag), contact_id)
        results = await pipe.execute()
    return [tag for tag, removed in zip(wanted, results[::2], strict=True) if removed]


async def tags_of(redis: Redis, contact_id: str) -> dict[str, TagInfo]:
    """The contact's tags with their source and time."""
    raw = text_map(await redis.hgetall(keys.contact_tags(contact_id)))
    infos = {tag: json.loads(meta) for tag, meta in raw.items()}
    return {
        tag: TagInfo(TagSource(meta["source"]), from_epoch(meta["at"]))
        for tag, meta in sorted(infos.items())
    }


async def contacts_with_tag(redis: Redis, tag: str) -> set[str]:
    """Ids of every contact carrying ``tag``."""
    return text_set(await redis.smembers(keys.tag_members(tag)))


async def tag_counts(redis: Redis) -> dict[str, int]:
    """Every tag in use with how many contacts carry it (empty tags omitted)."""
    tags = sorted(texts(await redis.smembers(keys.all_tags())))
    async with redis.pipeline(transaction=False) as pipe:
        for tag in tags:
            pipe.scard(keys.tag_members(tag))
        counts = await pipe.execute()
    return {tag: count for tag, count in zip(tags, counts, strict=True) if count}


async def add_note(redis: Redis, contact_id: str, author: str, text: str, now: datetime) -> None:
    """Append a note."""
    note = {"author": author, "text": text, "at": to_epoch(now)}
    await redis.rpush(keys.contact_notes(contact_id), json.dumps(note, ensure_ascii=False))


async def notes_of(redis: Redis, contact_id: str) -> list[Note]:
    """The contact's notes, oldest first."""
    raw = texts(await redis.lrange(keys.contact_notes(contact_id), 0, -1))
    return [
        Note(item["author"], item["text"], from_epoch(item["at"])) for item in map(json.loads, raw)
    ]


async def get_many(redis: Redis, contact_ids: Iterable[str]) -> list[Contact | None]:
    """:func:`get` for many contacts in one round trip (None for those never seen).

    A pipeline, not a script: the profiles live in different hash slots, and a
    script over them would not run on Redis Cluster.
    """
    ids = list(contact_ids)
    async with redis.pipeline(transaction=False) as pipe:
        for contact_id in ids:
            pipe.hgetall(keys.contact(contact_id))
        rows = await pipe.execute()
    return [
        _contact_from(contact_id, fields) if fields else None
        for contact_id, fields in zip(ids, rows, strict=True)
    ]


async def ids_by_first_seen(redis: Redis, start: int, count: int) -> list[str]:
    """Contacts ``start`` .. ``start + count - 1`` in the order they first appeared."""
    return texts(await redis.zrange(keys.contacts_by_first_seen(), start, start + count - 1))


async def first_follow_invitation(redis: Redis, contact_id: str) -> bool:
    """True the first time it is asked for the contact: the farewell's 引导关注 is given once."""
    return bool(await redis.set(keys.contact_follow_invited(contact_id), "1", nx=True))


async def remember_product(redis: Redis, contact_id: str, sku: str, ttl_s: int) -> None:
    """Keep the product the contact asked about, for ``ttl_s`` seconds."""
    await redis.set(keys.contact_last_product(contact_id), sku, ex=ttl_s)


async def last_product(redis: Redis, contact_id: str) -> str | None:
    """The sku the contact asked about last, if recently."""
    return maybe_text(await redis.get(keys.contact_last_product(contact_id)))
