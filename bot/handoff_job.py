"""The ``handoff:expire`` scheduler job: ends idle handoffs and tells the people involved."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler

from bot import outbox
from bot.app import Runtime
from handlers.handoff import SWEEP_INTERVAL_S, expire_idle
from storage import job_locks
from storage.timestamps import Clock, utc_now

JOB_ID = "handoff:expire"


LOCK_TTL_S = 120


async def expire_handoffs(runtime: Runtime, clock: Clock = utc_now) -> int:
    """End handoffs idle for ``handoff_idle_s``; deliver the notices; returns how many sent.

    The notices go through the durable outbox, so a crash while sending them does not
    lose them (the recovery job sends what is left). One process at a time (the others
    skip this run: returns 0 for them).
    """
    _, sent = await job_locks.run_alone(
        runtime.redis, JOB_ID, LOCK_TTL_S, lambda: _expire(runtime, clock)
    )
    return sent or 0


async def _expire(runtime: Runtime, clock: Clock) -> int:
    settings, now = runtime.settings, clock()
    messages = await expire_idle(
        runtime.redis,
        now,
        timedelta(seconds=settings.handoff_idle_s),
        templates=runtime.templates,
        owners=runtime.dispatcher.roles.owners,
        default_language=settings.language,
    )
    keyed = outbox.keyed(messages, f"handoff-expire:{now.timestamp()}")
    outcomes = await outbox.keep_and_send(
        runtime.redis, runtime.delivery.send, runtime.channels, keyed, now
    )
    return outcomes[outbox.SENT]


def schedule_handoff_expiry(scheduler: BaseScheduler, runtime: Runtime) -> Job:
    """Run :func:`expire_handoffs` every :data:`SWEEP_INTERVAL_S` seconds."""
    return scheduler.add_job(
        expire_handoffs,
        "interval",
        seconds=SWEEP_INTERVAL_S,
        id=JOB_ID,
        args=[runtime],
        replace_existing=True,
    )
