"""The APScheduler job driving dispatch: explicit id, jittered interval, one pass per tick;
winding down on the way out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.base import STATE_PAUSED
from followup_support import T0, RecordingOutlet, dispatcher

from bot.messages import Purpose
from schedules.scheduler import (
    FOLLOWUPS_DISPATCH_JOB,
    add_followups_dispatch,
    build_scheduler,
    dispatch_tick,
)
from storage import followups
from storage.followups import Followup, State

pytestmark = pytest.mark.cluster


async def test_dispatch_job_has_an_explicit_id_and_jittered_interval(redis, settings):
    scheduler = build_scheduler(settings.tz)
    first, second = (dispatcher(redis, settings, RecordingOutlet()) for _ in range(2))
    job = add_followups_dispatch(scheduler, first, 1.0)
    again = add_followups_dispatch(scheduler, second, 1.0)

    scheduler.start(paused=True)
    try:
        assert [j.id for j in scheduler.get_jobs()] == [FOLLOWUPS_DISPATCH_JOB]
    finally:
        scheduler.shutdown(wait=False)
    assert job.id == again.id == FOLLOWUPS_DISPATCH_JOB
    assert job.trigger.interval.total_seconds() == 1.0 and job.trigger.jitter == 0.5


async def test_a_tick_runs_one_pass_at_the_clock_time(redis, settings):
    item = Followup(
        "order:5:paid",
        "console:t",
        T0,
        "payment_thanks",
        Purpose.TRANSACTIONAL,
        data={"order_id": "5"},
    )
    await followups.schedule(redis, item)
    outlet = RecordingOutlet()

    await dispatch_tick(dispatcher(redis, settings, outlet), lambda: T0)

    assert [m.idempotency_key for m in outlet.sent] == ["order:5:paid"]


async def test_wind_down_lets_a_running_job_finish_and_starts_no_other(settings):
    scheduler = build_scheduler(settings.tz)
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def long_pass() -> None:
        started.set()
        await release.wait()
        runs.append("finished")

    now = datetime.now(UTC)
    scheduler.add_job(long_pass, "interval", seconds=3600, id="pass", next_run_time=now)
    scheduler.start()
    try:
        await started.wait()
        winding = asyncio.create_task(scheduler.wind_down(30))
        await asyncio.sleep(0)  # wind_down pauses the scheduler, then waits on the job
        assert scheduler.state == STATE_PAUSED and not winding.done()
        release.set()
        assert await winding and runs == ["finished"], "never cancelled mid-pass"
    finally:
        scheduler.shutdown(wait=False)


async def test_wind_down_cancels_a_job_still_running_after_the_grace(settings):
    scheduler = build_scheduler(settings.tz)
    started = asyncio.Event()
    ended: list[str] = []

    async def stuck_pass() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise

    now = datetime.now(UTC)
    scheduler.add_job(stuck_pass, "interval", seconds=3600, id="pass", next_run_time=now)
    scheduler.start()
    try:
        await started.wait()
        assert not await scheduler.wind_down(0)
        assert ended == ["cancelled"], "ended before wind_down returns"
    finally:
        scheduler.shutdown(wait=False)


async def test_a_stopping_dispatcher_finishes_its_batches_and_claims_no_more(redis, settings):
    items = [
        Followup(
            f"order:{n}:paid",
            f"console:c{n}",
            T0,
            "payment_thanks",
            Purpose.TRANSACTIONAL,
            data={"order_id": str(n)},
        )
        for n in range(40)
    ]
    await followups.schedule_many(redis, items)
    outlet = RecordingOutlet()
    bot = dispatcher(redis, settings, outlet, batch=2)
    send = outlet.send

    async def send_then_stop(message):
        bot.stop_claiming()  # SIGTERM arrives while the first batches are sending
        await send(message)

    outlet.send = send_then_stop
    report = await bot.run_due(T0)

    assert 0 < report.claimed < len(items) and report.sent == report.claimed
    assert len(outlet.sent) == report.claimed, "every claimed item was sent, none abandoned"
    left = await followups.pending(redis, T0, limit=100)
    assert len(left) == len(items) - report.claimed, "the rest waits for the next process"
    assert all(record.state is State.PENDING for record in left)
