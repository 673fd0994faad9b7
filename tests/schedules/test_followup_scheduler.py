"""The APScheduler job driving dispatch: explicit id, jittered interval, one pass per tick."""

from __future__ import annotations

import pytest
from followup_support import T0, RecordingOutlet, dispatcher

from schedules.scheduler import (
    FOLLOWUPS_DISPATCH_JOB,
    add_followups_dispatch,
    build_scheduler,
    dispatch_tick,
)
from storage import followups
from storage.followups import Followup, Purpose

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
