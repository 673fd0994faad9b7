"""A message's arrival: claim, touch, tags, activity and the caller's reads, in one round trip."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from storage import arrival, batch, contacts, keys, tokens
from storage.arrival import Arrival, Arriving
from storage.contacts import TagSource

pytestmark = pytest.mark.cluster

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ALICE = "telegram:42"


def _arriving(message_id: str = "m1", **changes: object) -> Arriving:
    base = Arriving(
        channel="telegram",
        message_id=message_id,
        contact_id=ALICE,
        received_at=NOW,
        now=NOW,
        token=tokens.new_token(),
        dedupe_ttl_s=60,
        activity_window=timedelta(days=7),
        display_name="Alice",
        language="en",
    )
    return replace(base, **changes)


def _is_staff(pipe):
    """The caller's role read: whether Alice is staff."""
    return batch.queue(pipe, lambda p: p.sismember(keys.staff(), ALICE), lambda r: bool(r[0]))


def _owners(pipe):
    """A caller's preload: the claimed owners."""
    return batch.queue(pipe, lambda p: p.smembers(keys.claimed_owners()), lambda r: set(r[0]))


async def _arrive(redis, arriving: Arriving) -> Arrival[bool, str] | None:
    async with redis.pipeline(transaction=False) as pipe:
        read = arrival.queue_arrival(pipe, arriving, _is_staff, {"owners": _owners})
        results = await pipe.execute()
    return read(results)


async def test_a_first_arrival_touches_the_contact_and_reads_everything_in_one_go(redis):
    await contacts.add_tags(redis, ALICE, ["vip"], TagSource.OWNER, NOW)
    await redis.sadd(keys.staff(), ALICE)
    await redis.sadd(keys.claimed_owners(), "telegram:1")

    found = await _arrive(redis, _arriving())

    assert found is not None
    assert (found.contact.id, found.contact.display_name) == (ALICE, "Alice")
    assert found.contact.language == "en" and found.contact.last_seen == NOW
    assert found.contact.message_count == 0, "counted by the caller once the claim is its own"
    assert found.tags == frozenset({"vip"})
    assert found.recent_messages == 1
    assert found.role is True
    assert found.preloaded == {"owners": {"telegram:1"}}


async def test_a_repeat_of_a_message_id_is_a_duplicate_and_counts_no_activity(redis):
    assert await _arrive(redis, _arriving("m1")) is not None

    assert await _arrive(redis, _arriving("m1")) is None
    second = await _arrive(redis, _arriving("m2"))

    assert second is not None and second.recent_messages == 2


async def test_a_retry_with_the_same_token_is_still_ours(redis):
    """redis-py may run a claim again after a lost reply: its own token is no duplicate."""
    first = _arriving("m1")
    assert await _arrive(redis, first) is not None
    assert await _arrive(redis, first) is not None


async def test_an_event_is_not_counted_as_a_message_written(redis):
    found = await _arrive(redis, _arriving("e1", is_event=True))

    assert found is not None and found.recent_messages == 0
    assert await redis.exists(keys.contact_activity(ALICE)) == 0
