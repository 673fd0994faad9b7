"""Leases: one holder at a time; renewing, releasing, and taking over once one lapses."""

from __future__ import annotations

import asyncio
import time

import pytest

from storage.leases import Lease

pytestmark = pytest.mark.cluster

KEY = "shopbot:test:lease"


async def test_one_holder_at_a_time_and_the_holder_renews(redis):
    first, second = Lease(redis, KEY, 30), Lease(redis, KEY, 30)

    assert await first.hold()
    assert not await second.hold()
    assert await first.hold(), "renewing, or a retry of a call that already ran"
    assert await second.held_by_other() and not await first.held_by_other()
    assert 29_000 < await redis.pttl(KEY) <= 30_000


async def test_a_released_lease_is_taken_at_once_and_release_is_only_the_holders(redis):
    first, second = Lease(redis, KEY, 30), Lease(redis, KEY, 30)
    await first.hold()

    await second.release()
    assert await redis.get(KEY) == first.token, "only the holder releases"
    await first.release()
    assert await second.hold()


async def test_a_holder_that_stops_renewing_is_replaced_after_the_ttl(redis):
    dead, standby = Lease(redis, KEY, 0.05), Lease(redis, KEY, 30)
    await dead.hold()  # ... and its process dies
    assert not await standby.hold()

    deadline = time.monotonic() + 5
    while not await standby.hold():  # the server's own clock expires the key
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert await redis.get(KEY) == standby.token
