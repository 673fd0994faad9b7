"""Stopping in order: refuse new work, let running passes finish, then channels, scheduler."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from followup_support import RecordingOutlet, dispatcher

from bot.gate import Gate
from bot.shutdown import stop_in_order
from schedules.scheduler import build_scheduler


class StepChannel:
    """A channel that writes down when it was told to stop receiving and to stop."""

    name = "steps"

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.receiving_stopped = asyncio.Event()

    async def stop_receiving(self) -> None:
        self.steps.append("receiving stopped")
        self.receiving_stopped.set()

    async def stop(self) -> None:
        self.steps.append("channel stopped")


async def _running_scheduler(settings, job):
    scheduler = build_scheduler(settings.tz)
    scheduler.add_job(job, "interval", seconds=3600, id="pass", next_run_time=datetime.now(UTC))
    scheduler.start()
    return scheduler


async def test_a_running_pass_finishes_before_the_channels_stop(redis, settings):
    steps: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def dispatch_pass() -> None:
        started.set()
        await release.wait()
        steps.append("pass finished")

    scheduler = await _running_scheduler(settings, dispatch_pass)
    await started.wait()
    gate, channel = Gate(), StepChannel(steps)
    outlet = RecordingOutlet()
    stopping = asyncio.create_task(
        stop_in_order(gate, [channel], scheduler, dispatcher(redis, settings, outlet), 20)
    )
    await channel.receiving_stopped.wait()
    assert gate.refusal() == "stopping", "new work is refused from the first moment"
    release.set()
    await stopping
    assert steps == ["receiving stopped", "pass finished", "channel stopped"]
    assert not scheduler.running


async def test_work_past_the_grace_is_cancelled_and_stopping_still_ends(redis, settings):
    steps: list[str] = []
    started = asyncio.Event()

    async def stuck_pass() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            steps.append("pass cancelled")
            raise

    scheduler = await _running_scheduler(settings, stuck_pass)
    await started.wait()
    await stop_in_order(
        Gate(), [StepChannel(steps)], scheduler, dispatcher(redis, settings, RecordingOutlet()), 0
    )
    assert steps == ["receiving stopped", "pass cancelled", "channel stopped"]
