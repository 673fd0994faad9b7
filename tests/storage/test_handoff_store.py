"""Handoff state: one ender wins, activity moves the idle cutoff, nothing is left behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW

from storage import handoff, keys

pytestmark = pytest.mark.cluster


async def test_the_sweep_and_an_owner_never_both_end_a_handoff(redis):
    await handoff.start(redis, "telegram:5", FIXED_NOW, ticket_id="T1001")
    [ended] = await handoff.end_idle(redis, FIXED_NOW + timedelta(minutes=1))
    assert (ended.contact_id, ended.ticket_id) == ("telegram:5", "T1001")
    assert await handoff.end(redis, "telegram:5") is None
    assert await redis.keys("*") == []


async def test_starting_twice_keeps_the_first_start_and_links_a_later_ticket(redis):
    first, new = await handoff.start(redis, "telegram:5", FIXED_NOW)
    later = FIXED_NOW + timedelta(minutes=3)
    again, new_again = await handoff.start(redis, "telegram:5", later, ticket_id="T1002")
    assert (new, new_again) == (True, False)
    assert again.started_at == FIXED_NOW and again.last_activity == later
    assert again.ticket_id == "T1002" and first.ticket_id is None


async def test_touch_only_applies_to_contacts_in_handoff(redis):
    await handoff.touch(redis, "telegram:6", FIXED_NOW)
    assert await redis.keys("*") == []
    await handoff.start(redis, "telegram:6", FIXED_NOW)
    await handoff.touch(redis, "telegram:6", FIXED_NOW + timedelta(minutes=10))
    assert await handoff.end_idle(redis, FIXED_NOW + timedelta(minutes=9)) == []
    current = await handoff.get(redis, "telegram:6")
    assert current is not None and current.last_activity == FIXED_NOW + timedelta(minutes=10)
    assert await redis.zscore(keys.handoffs_by_activity(), "telegram:6") is not None
