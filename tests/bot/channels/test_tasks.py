"""The one task tracker both channels use."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.channels.tasks import TaskTracker


async def test_drain_waits_for_tasks_started_while_draining():
    tracker = TaskTracker("test")
    done: list[str] = []

    async def second() -> None:
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0)
        tracker.spawn(second())
        done.append("first")

    tracker.spawn(first())
    await tracker.drain()

    assert done == ["first", "second"]
    assert len(tracker) == 0


async def test_a_failed_task_is_logged_with_its_channel_and_forgotten(caplog):
    tracker = TaskTracker("telegram")

    async def boom() -> None:
        raise RuntimeError("boom")

    task = tracker.spawn(boom())
    with caplog.at_level(logging.ERROR, logger="bot.channels.tasks"):
        await tracker.drain()

    with pytest.raises(RuntimeError):
        task.result()
    assert len(tracker) == 0
    assert [r.getMessage() for r in caplog.records] == ["telegram background task failed"]
