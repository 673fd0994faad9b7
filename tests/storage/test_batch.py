"""Steps of several modules in one round trip, and concurrent callers sharing one."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from storage import batch
from storage.batch import Coalescer

pytestmark = pytest.mark.cluster


def counter_step(key: str):
    """A step that bumps ``key`` twice and reads it: three replies, one value."""

    def queue(pipe):
        step = batch.queue(
            pipe,
            lambda pipe: (pipe.incr(key), pipe.incr(key), pipe.get(key)),
            lambda replies: (replies[0], int(replies[2])),
        )
        return step.result

    return queue


async def test_each_queued_step_reads_only_its_own_replies(redis):
    async with redis.pipeline(transaction=False) as pipe:
        first = counter_step("a")(pipe)
        second = counter_step("b")(pipe)
        await redis.set("b", 10)
        results = await pipe.execute()
    assert first(results) == (1, 2)
    assert second(results) == (11, 12)


async def test_concurrent_callers_share_one_round_trip(redis):
    coalescer = Coalescer(redis)
    values = await asyncio.gather(*(coalescer.run(counter_step(f"k{n}")) for n in range(5)))
    assert values == [(1, 2)] * 5
    assert coalescer.round_trips == 1


async def test_a_caller_after_the_flush_gets_a_round_trip_of_its_own(redis):
    coalescer = Coalescer(redis)
    assert await coalescer.run(counter_step("k")) == (1, 2)
    assert await coalescer.run(counter_step("k")) == (3, 4)
    assert coalescer.round_trips == 2


async def test_a_failing_command_fails_only_its_own_caller(redis):
    await redis.set("text", "not a hash")
    coalescer = Coalescer(redis)

    def broken(pipe):
        pipe.hincrby("text", "field", 1)
        return lambda results: "unreachable"

    good, bad = await asyncio.gather(
        coalescer.run(counter_step("k")), coalescer.run(broken), return_exceptions=True
    )
    assert good == (1, 2)
    assert isinstance(bad, ResponseError) and "WRONGTYPE" in str(bad)
    assert coalescer.round_trips == 1


async def test_a_cancelled_caller_does_not_stop_the_others(redis):
    coalescer = Coalescer(redis)
    doomed = asyncio.ensure_future(coalescer.run(counter_step("gone")))
    kept = asyncio.ensure_future(coalescer.run(counter_step("kept")))
    await asyncio.sleep(0)  # both have queued their step; the round trip has not run yet
    doomed.cancel()
    assert await kept == (1, 2)
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await redis.get("gone") == "2", "its commands had been sent with the others"
