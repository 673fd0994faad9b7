"""APScheduler wiring: it only drives work; the durable state lives in Redis.

An ``AsyncIOScheduler`` with the in-memory job store and every job defined in
code with an explicit id, so any number of bot processes can run side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from schedules.dispatch import FollowupDispatcher, PassReport

PassObserver = Callable[["PassReport | None"], None]
"""Hears every dispatch pass: its report, or None when Redis trouble stopped it."""

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
FOLLOWUPS_DISPATCH_JOB = "followups:dispatch"


def build_scheduler(timezone: ZoneInfo) -> AsyncIOScheduler:
    """A scheduler in the shop's time zone; jobs are added by the features that need them."""
    return AsyncIOScheduler(timezone=timezone, job_defaults=JOB_DEFAULTS)


def add_followups_dispatch(
    scheduler: AsyncIOScheduler,
    dispatcher: FollowupDispatcher,
    every_s: float = 1.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_pass: PassObserver | None = None,
) -> Job:
    """Run a dispatch pass every ``every_s`` seconds, with a jitter so processes spread out.

    ``on_pass`` hears each pass's report, or None for a pass Redis trouble stopped.
    """
    return scheduler.add_job(
        dispatch_tick,
        "interval",
        seconds=every_s,
        jitter=every_s / 2,
        args=(dispatcher, clock, on_pass),
        id=FOLLOWUPS_DISPATCH_JOB,
        name="dispatch due follow-ups",
        replace_existing=True,
    )


async def dispatch_tick(
    dispatcher: FollowupDispatcher,
    clock: Callable[[], datetime],
    on_pass: PassObserver | None = None,
) -> None:
    """One pass; Redis trouble is logged and the next tick tries again (leases cover the gap)."""
    try:
        report = await dispatcher.run_due(clock())
    except RedisError as exc:
        log.warning("follow-up dispatch pass failed: %s", exc)
        if on_pass is not None:
            on_pass(None)
        return
    if on_pass is not None:
        on_pass(report)
    if report.claimed:
        log.info(
            "follow-ups: %d claimed, %d sent, %d skipped, %d postponed, %d retried, %d dead, "
            "%d uncertain",
            report.claimed,
            report.sent,
            report.skipped.total(),
            report.postponed.total(),
            report.retried,
            report.dead,
            report.uncertain,
        )
