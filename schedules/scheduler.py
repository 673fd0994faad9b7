"""APScheduler wiring: it only drives work; the durable state lives in Redis.

An ``AsyncIOScheduler`` with the in-memory job store and every job defined in
code with an explicit id, so any number of bot processes can run side by side.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


def build_scheduler(timezone: ZoneInfo) -> AsyncIOScheduler:
    """A scheduler in the shop's time zone; jobs are added by the features that need them."""
    return AsyncIOScheduler(timezone=timezone, job_defaults=JOB_DEFAULTS)
