"""Campaign jobs: configured campaigns loaded at start, the scheduler jobs that run them.

``campaigns:tick`` (an interval job) starts scheduled campaigns, feeds sending
ones and closes finished ones; it also keeps one cron job ``campaign:<id>`` per
armed recurring campaign, including those armed from chat in another process.
Each cron job fires its slot through :meth:`CampaignRunner.fire_slot`, which
takes the slot with ``SET NX`` so it runs once however many processes run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from redis.asyncio import Redis
from redis.exceptions import RedisError

from config.campaigns import CampaignSpec, load_campaign_specs
from config.settings import Settings
from schedules.campaign_rules import cron_trigger, validate
from schedules.campaigns import CampaignRunner
from storage import campaigns, job_locks
from storage.campaigns import Campaign, Status
from storage.timestamps import Clock, utc_now

log = logging.getLogger(__name__)

TICK_JOB = "campaigns:tick"
TICK_LOCK_TTL_S = 120
"""Longest a campaign tick may hold its lock (a holder that died frees it then)."""
CRON_JOB_PREFIX = "campaign:"


def campaign_from_spec(spec: CampaignSpec, now: datetime) -> Campaign:
    """A campaign (draft, or armed when enabled) from its configuration entry."""
    return Campaign(
        id=spec.id,
        name=spec.name,
        segment=spec.segment,
        when=spec.when,
        texts=spec.texts,
        buttons=spec.buttons,
        status=Status.ARMED if spec.enabled else Status.DRAFT,
        created_at=now,
        created_by="config",
        source="config",
    )


async def load_configured(
    redis: Redis, specs: Iterable[CampaignSpec], now: datetime, tz: ZoneInfo
) -> list[Campaign]:
    """Define every configured campaign and arm the enabled ones that are still drafts.

    The file never disarms: once a campaign is armed or cancelled, the console decides
    (``/campaign cancel``), so a restart cannot undo what an owner did in chat.
    """
    loaded = []
    for spec in specs:
        campaign = campaign_from_spec(spec, now)
        validate(campaign, tz)
        stored = await campaigns.define(redis, campaign)
        if spec.enabled:
            await campaigns.transition(
                redis, spec.id, [Status.DRAFT, Status.CONFIRMING], Status.ARMED
            )
        loaded.append(stored)
    return loaded


def add_campaign_jobs(
    scheduler: BaseScheduler,
    runner: CampaignRunner,
    every_s: float = 5.0,
    clock: Clock = utc_now,
) -> None:
    """``campaigns:tick`` every ``every_s``: start, feed and close campaigns, and keep one cron
    job ``campaign:<id>`` per armed campaign (also those armed from chat in another process)."""
    scheduler.add_job(
        campaign_tick,
        "interval",
        seconds=every_s,
        jitter=every_s / 2,
        args=(scheduler, runner, clock),
        id=TICK_JOB,
        name="start, feed and close campaigns",
        replace_existing=True,
    )


async def campaign_tick(scheduler: BaseScheduler, runner: CampaignRunner, clock: Clock) -> None:
    """One tick; Redis trouble is logged and the next tick tries again.

    Every process keeps its cron jobs in step; starting, feeding and closing campaigns is
    done by one process at a time (the others skip the tick).
    """
    try:
        await sync_cron_jobs(scheduler, runner, clock)
        _, queued = await job_locks.run_alone(
            runner.redis, TICK_JOB, TICK_LOCK_TTL_S, lambda: runner.tick(clock())
        )
    except RedisError as exc:
        log.warning("campaign tick failed: %s", exc)
        return
    for campaign_id, count in (queued or {}).items():
        if count:
            log.info("campaign %s: %d messages queued", campaign_id, count)


def cron_job_id(campaign_id: str) -> str:
    """The scheduler job id of a recurring campaign."""
    return f"{CRON_JOB_PREFIX}{campaign_id}"


async def sync_cron_jobs(scheduler: BaseScheduler, runner: CampaignRunner, clock: Clock) -> None:
    """One cron job per armed campaign, none for the others."""
    armed = {
        c.id: c for c in await campaigns.all_campaigns(runner.redis) if c.status is Status.ARMED
    }
    for job in scheduler.get_jobs():
        if job.id.startswith(CRON_JOB_PREFIX):
            campaign = armed.get(job.id.removeprefix(CRON_JOB_PREFIX))
            if campaign is None or job.name != _job_name(campaign):
                job.remove()
    for campaign in armed.values():
        if scheduler.get_job(cron_job_id(campaign.id)) is None:
            scheduler.add_job(
                fire_slot_job,
                cron_trigger(campaign.when, runner.policy.rules.tz),
                args=(runner, campaign.id, clock),
                id=cron_job_id(campaign.id),
                name=_job_name(campaign),
                replace_existing=True,
            )


def _job_name(campaign: Campaign) -> str:
    return f"campaign {campaign.id}: {campaign.when}"


async def fire_slot_job(runner: CampaignRunner, campaign_id: str, clock: Clock) -> None:
    """The cron job body: take the slot (once across processes) and start its run."""
    try:
        run_id = await runner.fire_slot(campaign_id, clock())
    except RedisError as exc:
        log.warning("campaign %s: slot not fired: %s", campaign_id, exc)
        return
    if run_id:
        await runner.tick(clock())


async def load_and_schedule(
    scheduler: BaseScheduler,
    runner: CampaignRunner,
    settings: Settings,
    clock: Clock = utc_now,
) -> list[Campaign]:
    """At start: load the configured campaigns, wire the jobs."""
    specs = load_campaign_specs(settings.campaigns_file)
    loaded = await load_configured(runner.redis, specs, clock(), settings.tz)
    add_campaign_jobs(scheduler, runner, settings.campaign_tick_s, clock)
    await sync_cron_jobs(scheduler, runner, clock)
    return loaded
