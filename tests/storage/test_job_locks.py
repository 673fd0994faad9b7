"""Scheduled jobs run in one process at a time (issue 17: several processes)."""

from __future__ import annotations

import asyncio

import pytest

from storage import job_locks, keys

pytestmark = pytest.mark.cluster


async def test_a_job_held_by_one_process_is_skipped_by_another(redis):
    holding, finish = asyncio.Event(), asyncio.Event()

    async def long_run() -> str:
        holding.set()
        await finish.wait()
        return "done"

    first = asyncio.create_task(job_locks.run_alone(redis, "campaigns:tick", 60, long_run))
    await holding.wait()

    async def other() -> str:
        return "ran"

    assert await job_locks.run_alone(redis, "campaigns:tick", 60, other) == (False, None)
    finish.set()
    assert await first == (True, "done")
    assert await job_locks.run_alone(redis, "campaigns:tick", 60, other) == (True, "ran")
    assert not await redis.exists(keys.job_lock("campaigns:tick")), "released after each run"


async def test_a_run_that_outlived_its_lock_leaves_the_next_holders_lock(redis):
    key = keys.job_lock("membership:review")

    async def overran() -> None:
        await redis.set(key, "next-holder")  # our TTL ran out; another process took the job

    await job_locks.run_alone(redis, "membership:review", 60, overran)
    assert await redis.get(key) == "next-holder"


async def test_a_failing_run_releases_the_lock(redis):
    async def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await job_locks.run_alone(redis, "handoff:expire", 60, broken)
    assert not await redis.exists(keys.job_lock("handoff:expire"))
