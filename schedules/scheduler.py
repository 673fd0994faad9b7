"""APScheduler wiring: it only drives work; the durable state lives in Redis.

An ``AsyncIOScheduler`` with the in-memory job store and every job defined in
code with an explicit id, so any number of bot processes can run side by side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.exceptions import RedisError

from storage.timestamps import Clock, utc_now

if TYPE_CHECKING:
    from schedules.dispatch import FollowupDispatcher, PassReport

PassObserver = Callable[["PassReport | None"], None]
"""Hears every dispatch pass: its report, or None when Redis trouble stopped it."""

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
FOLLOWUPS_DISPATCH_JOB = "followups:dispatch"


class DrainingExecutor(AsyncIOExecutor):  # type: ignore[misc]  # APScheduler 3 ships no type information
    """APScheduler's asyncio executor, plus a way to wait for the jobs it is running.

    Its own ``shutdown`` cancels running coroutine jobs (it cannot wait: it is not a
    coroutine), which would cut a dispatch pass in the middle of its sends.
    """

    async def drain(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the running jobs, then cancel those left and wait
        for them to end; True when all finished in time."""
        running = set(self._pending_futures)  # the base class keeps running jobs' tasks here
        if not running:
            return True
        _, pending = await asyncio.wait(running, timeout=timeout_s)
        if not pending:
            return True
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return False


class ShopScheduler(AsyncIOScheduler):  # type: ignore[misc]  # APScheduler 3 ships no type information
    """An ``AsyncIOScheduler`` whose running jobs can finish on the way out."""

    def __init__(self, **options: Any) -> None:
        self.executor = DrainingExecutor()
        super().__init__(executors={"default": self.executor}, **options)

    async def wind_down(self, timeout_s: float) -> bool:
        """Start no more jobs; wait up to ``timeout_s`` for the running ones to finish, and
        cancel those still running then. True when they all finished in time."""
        self.pause()
        return await self.executor.drain(timeout_s)


def build_scheduler(timezone: ZoneInfo) -> ShopScheduler:
    """A scheduler in the shop's time zone; jobs are added by the features that need them."""
    return ShopScheduler(timezone=timezone, job_defaults=JOB_DEFAULTS)


def add_followups_dispatch(
    scheduler: AsyncIOScheduler,
    dispatcher: FollowupDispatcher,
    every_s: float = 1.0,
    clock: Clock = utc_now,
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
    clock: Clock,
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
