"""Erasure (个人信息删除): everything kept about one contact, gone from Redis.

What each key of :mod:`storage.keys` loses is the table in ``docs/privacy.md``. In short:
every key of the contact's own (``shopbot:c:{<contact>}:*``) is deleted; the contact leaves
every index (tags, opt-outs, segments, short ids, handoffs, membership, campaign audiences,
follow-ups); tickets keep id, intent, status and times but lose their texts and order
number; orders keep items, amount, status and times for the shop's figures, linked to an
anonymous id (``erased:<hex>``) instead of the contact; ratings, unanswered questions,
terminal messages, dedupe markers and audit entries naming the contact go or lose what
named them.

Redis still has the erased bytes in its append-only file until it is rewritten:
:mod:`storage.persistence` does that, and the caller decides when (see ``handlers.erasure``).
A message the contact writes after the erasure creates a new contact.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from config.settings import LANGUAGES
from storage import (
    campaigns,
    followups,
    keys,
    membership,
    order_events,
    orders,
    outbox,
    satisfaction,
    tickets,
)
from storage.optouts import ALL_CATEGORIES
from storage.orders import ANONYMOUS_PREFIX
from storage.replies import text_map, texts

SCAN_COUNT = 1000
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one erasure did, in counts (nothing in it names the contact)."""

    anonymous_id: str
    keys_deleted: int = 0
    index_entries: int = 0
    tickets: int = 0
    orders: int = 0
    followups: int = 0
    ratings: int = 0
    campaign_entries: int = 0
    messages: int = 0
    audit_entries: int = 0

    def summary(self) -> str:
        """The counts as one line, for the audit log and the owner."""
        return (
            f"keys={self.keys_deleted} index_entries={self.index_entries} "
            f"tickets={self.tickets} orders={self.orders} followups={self.followups} "
            f"ratings={self.ratings} campaign_entries={self.campaign_entries} "
            f"messages={self.messages} audit_entries={self.audit_entries}"
        )


def new_anonymous_id() -> str:
    """A fresh anonymous id for an erased contact's orders and tickets."""
    return f"{ANONYMOUS_PREFIX}{secrets.token_hex(6)}"


async def erase_contact(redis: Redis, contact_id: str, now: datetime) -> Erasure:
    """Erase the contact (see the module docstring); returns what was done."""
    anonymous_id = new_anonymous_id()
    profile = text_map(await redis.hgetall(keys.contact(contact_id)))
    short_id = profile.get("short_id", "")
    order_ids = texts(await redis.zrange(keys.contact_orders(contact_id), 0, -1))
    ticket_ids = texts(await redis.zrange(keys.contact_tickets(contact_id), 0, -1))
    words = _Words(contact_id, short_id, [*ticket_ids, *order_ids])
    ratings = await satisfaction.forget(redis, contact_id, [*ticket_ids, *order_ids])
    erased_tickets = await tickets.erase(redis, ticket_ids, anonymous_id, now)
    erased_orders = await orders.anonymise(redis, order_ids, anonymous_id)
    erased_followups = await followups.forget_contact(redis, contact_id)
    campaign_entries = await campaigns.forget_contact(redis, contact_id, anonymous_id)
    index_entries = await _leave_indexes(redis, contact_id, short_id)
    index_entries += await _leave_scratch_sets(redis, contact_id)
    messages = await _drop_messages(redis, words)
    messages += await _drop_unsent(redis, words, order_ids)
    audit_entries = await _anonymise_audit(redis, words, anonymous_id)
    deleted = await _delete_own_keys(redis, contact_id)
    return Erasure(
        anonymous_id=anonymous_id,
        keys_deleted=deleted,
        index_entries=index_entries,
        tickets=erased_tickets,
        orders=erased_orders,
        followups=erased_followups,
        ratings=ratings,
        campaign_entries=campaign_entries,
        messages=messages,
        audit_entries=audit_entries,
    )


@dataclass(frozen=True, slots=True)
class _Words:
    """What names the contact in free text: its id, platform id, short id, tickets, orders."""

    contact_id: str
    short_id: str
    refs: list[str]

    @property
    def external_id(self) -> str:
        return self.contact_id.partition(":")[2]

    def arguments(self) -> list[str]:
        """Script arguments: contact id, platform id, then whole words (short id, refs)."""
        whole = [word.upper() for word in (self.short_id, *self.refs) if word]
        return [self.contact_id, self.external_id, *whole]


async def _leave_indexes(redis: Redis, contact_id: str, short_id: str) -> int:
    """Remove the contact from every global set, sorted set and hash that lists it."""
    tags = texts(await redis.hkeys(keys.contact_tags(contact_id)))
    tier = await membership.tier_of(redis, contact_id)
    channel = contact_id.partition(":")[0]
    sets = [
        *(keys.tag_members(tag) for tag in tags),
        *(keys.optout_members(category.value) for category in ALL_CATEGORIES),
        *(keys.contacts_by_language(language) for language in LANGUAGES),
        *([keys.tier_members(tier)] if tier else []),
        keys.contacts_by_channel(channel),
    ]
    sorted_sets = [
        keys.contacts_by_last_seen(),
        keys.contacts_by_first_seen(),
        keys.handoffs_by_activity(),
        keys.contacts_by_spend(),
        keys.contacts_by_order_count(),
        keys.contacts_by_last_order(),
        keys.contacts_by_first_order(),
        keys.members_since(),
        keys.tier_reviews(),
        keys.contacts_by_expected_order(),
        keys.contacts_by_first_inquiry(),
    ]
    async with redis.pipeline(transaction=False) as pipe:
        for key in sets:
            pipe.srem(key, contact_id)
        for key in sorted_sets:
            pipe.zrem(key, contact_id)
        if short_id:
            pipe.hdel(keys.short_ids(), short_id)
        return sum(await pipe.execute())


async def _leave_scratch_sets(redis: Redis, contact_id: str) -> int:
    """Remove the contact from segment evaluations in progress (temporary result sets)."""
    removed = 0
    pattern = keys.segment_scratch_pattern()
    async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT):
        match await redis.type(key):
            case "set":
                removed += await redis.srem(key, contact_id)
            case "zset":
                removed += await redis.zrem(key, contact_id)
    return removed


async def _delete_own_keys(redis: Redis, contact_id: str) -> int:
    """Delete every key of the contact's own, and the dedupe markers naming its platform id."""
    channel, _, external_id = contact_id.partition(":")
    own = keys.contact_keys_pattern(_glob_escape(contact_id))
    seen = keys.seen_messages_pattern(_glob_escape(channel), _glob_escape(external_id))
    deleted = 0
    for pattern in (own, seen):
        batch: list[str] = []
        async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT):
            batch.append(key)
            if len(batch) >= SCAN_COUNT:
                deleted += await redis.unlink(*batch)
                batch = []
        if batch:
            deleted += await redis.unlink(*batch)
    return deleted


def _glob_escape(text: str) -> str:
    """``text`` matched literally in a SCAN pattern."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


# Whether a text names the contact. ARGV (from ``first``): contact id, platform id, then
# whole words matched in any case (short id, ticket and order ids, upper case). A match
# stands alone: no letter, digit, ``_`` or ``-`` touches it (``telegram:5`` is not in
# ``telegram:55``). A platform id shorter than 6 characters counts only within the contact id.
_NAMES = """
local function whole(text, word)
  local start = 1
  while true do
    local i, j = string.find(text, word, start, true)
    if not i then return false end
    local before, after = string.sub(text, i - 1, i - 1), string.sub(text, j + 1, j + 1)
    if not string.find(before, '[%w_%-]') and not string.find(after, '[%w_%-]') then
      return true
    end
    start = i + 1
  end
end
local function names_contact(text, first)
  return whole(text, ARGV[first]) or (#ARGV[first + 1] >= 6 and whole(text, ARGV[first + 1]))
end
local function names(text, first)
  if names_contact(text, first) then return true end
  local upper = string.upper(text)
  for i = first + 2, #ARGV do
    if whole(upper, ARGV[i]) then return true end
  end
  return false
end
"""

# Removes the list entries that name the contact (KEYS: the lists; ARGV: as _NAMES).
# Returns how many went.
_DROP_ENTRIES = (
    _NAMES
    + """
local removed = 0
for _, key in ipairs(KEYS) do
  for _, entry in ipairs(redis.call('LRANGE', key, 0, -1)) do
    if names(entry, 1) then removed = removed + redis.call('LREM', key, 0, entry) end
  end
end
return removed
"""
)


async def _drop_messages(redis: Redis, words: _Words) -> int:
    """Drop unanswered questions and terminal messages (owners' mailboxes) naming the contact."""
    lists = [keys.unanswered()]
    pattern = keys.mailboxes_pattern()
    lists += [key async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT)]
    return int(await redis.eval(_DROP_ENTRIES, len(lists), *lists, *words.arguments()))


async def _drop_unsent(redis: Redis, words: _Words, order_ids: list[str]) -> int:
    """Drop outbox items to or naming the contact, its uncertain sends and its orders'
    pending events (each carries the order, the contact's id in it)."""
    naming = re.compile(
        "|".join(rf"(?<![\w:]){re.escape(word)}(?![\w])" for word in words.arguments()),
        re.IGNORECASE,
    )
    unsent = [
        item_id
        for item_id, raw in text_map(await redis.hgetall(keys.outbox())).items()
        if _addressee(item_id) == words.contact_id or naming.search(raw)
    ]
    await outbox.settle(redis, unsent)
    uncertain = [
        member
        for member in texts(await redis.zrange(keys.uncertain_sends(), 0, -1))
        if _addressee(member) == words.contact_id
    ]
    if uncertain:
        await redis.zrem(keys.uncertain_sends(), *uncertain)
    events = [
        event_id
        for event_id in texts(await redis.hkeys(keys.order_events_pending()))
        if event_id.rpartition(":")[0] in order_ids
    ]
    for event_id in events:
        await order_events.finish(redis, event_id)
    return len(unsent) + len(uncertain) + len(events)


def _addressee(member: str) -> str:
    """The contact of an outbox item or uncertain send (``<contact>\\x1f<idempotency key>``)."""
    return member.partition("\x1f")[0]


# Rewrites the audit stream when an entry names the contact (or its tickets and orders): such
# an entry keeps its id, action and time, its detail becomes "erased", and an actor or target
# naming the contact becomes the anonymous id. XDEL would leave the bytes
# of deleted entries in the stream's listpacks (and so in an RDB-preamble AOF): the stream
# is copied entry by entry to KEYS[2], renamed over KEYS[1], with its last id kept.
# ARGV: the anonymous id, then as _NAMES. Returns how many entries changed.
_ANONYMISE_AUDIT = (
    _NAMES
    + """
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
local changed, rewritten = 0, {}
for i, entry in ipairs(entries) do
  local fields, hit, detail = entry[2], false, nil
  for k = 1, #fields, 2 do
    local name, value = fields[k], fields[k + 1]
    if (name == 'actor' or name == 'target') and names_contact(value, 2) then
      fields[k + 1], hit = ARGV[1], true
    elseif name == 'detail' then
      detail = k + 1
      if names(value, 2) then hit = true end
    end
  end
  if hit then
    changed = changed + 1
    if detail then fields[detail] = 'erased' end
  end
  rewritten[i] = {entry[1], fields}
end
if changed == 0 then return 0 end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last = nil
for k = 1, #info, 2 do
  if info[k] == 'last-generated-id' then last = info[k + 1] end
end
redis.call('DEL', KEYS[2])
for _, entry in ipairs(rewritten) do
  redis.call('XADD', KEYS[2], entry[1], unpack(entry[2]))
end
redis.call('RENAME', KEYS[2], KEYS[1])
if last then redis.call('XSETID', KEYS[1], last) end
return changed
"""
)


async def _anonymise_audit(redis: Redis, words: _Words, anonymous_id: str) -> int:
    """Anonymise the audit entries naming the contact (see ``_ANONYMISE_AUDIT``)."""
    audit = keys.audit_log()
    scratch = keys.audit_rewrite()
    arguments = (anonymous_id, *words.arguments())
    answer = await redis.eval(_ANONYMISE_AUDIT, 2, audit, scratch, *arguments)
    return int(answer)
