"""Configured campaigns and the scheduler jobs that run them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from followup_support import RecordingOutlet, dispatcher, make_contact

from config.campaigns import DEFAULT_CAMPAIGNS, CampaignSpec, load_campaign_specs
from schedules.campaign_jobs import (
    TICK_JOB,
    add_campaign_jobs,
    cron_job_id,
    fire_slot_job,
    load_configured,
    sync_cron_jobs,
)
from schedules.campaigns import CampaignRunner
from schedules.scheduler import build_scheduler
from storage import campaigns
from storage.campaigns import Status

pytestmark = pytest.mark.cluster

SLOT = datetime.fromisoformat("2026-12-01T10:00:05+08:00")
THANKS = CampaignSpec(
    id="thanks",
    name="老客户回馈",
    segment="orders<1",
    when="0 10 1 * *",
    texts={"zh-CN": "感谢{name}", "en": "Thanks {name}"},
    buttons=(),
    enabled=True,
)


def test_the_shipped_file_has_a_disabled_monthly_thank_you():
    [spec] = load_campaign_specs(DEFAULT_CAMPAIGNS)
    assert (spec.id, spec.when, spec.enabled) == ("thanks", "0 10 1 * *", False)
    assert set(spec.texts) == {"zh-CN", "en"}


@pytest.mark.parametrize(
    "entry",
    [
        "{id: oops, texts: {fr: bonjour}, when: now}",
        "{id: 'oops:1', texts: {en: hi}, when: now}",
        "{id: oops, when: now}",
    ],
)
def test_a_bad_entry_names_the_campaign(tmp_path: Path, entry: str):
    path = tmp_path / "campaigns.yaml"
    path.write_text(f"campaigns:\n  - {entry}\n")
    with pytest.raises(ValueError, match="oops"):
        load_campaign_specs(path)


async def test_enabled_campaigns_are_armed_and_get_one_cron_job(redis, settings):
    runner = CampaignRunner.from_settings(redis, settings)
    scheduler = build_scheduler(settings.tz)
    await load_configured(redis, [THANKS], SLOT, settings.tz)
    add_campaign_jobs(scheduler, runner, 5.0, clock=lambda: SLOT)
    await sync_cron_jobs(scheduler, runner, lambda: SLOT)

    assert (await campaigns.get(redis, "thanks")).status is Status.ARMED
    assert {job.id for job in scheduler.get_jobs()} == {TICK_JOB, cron_job_id("thanks")}

    await load_configured(redis, [replace(THANKS, enabled=False)], SLOT, settings.tz)
    assert (await campaigns.get(redis, "thanks")).status is Status.ARMED, "chat decides now"
    assert await runner.cancel("thanks", SLOT) == 0
    await load_configured(redis, [THANKS], SLOT, settings.tz)
    assert (await campaigns.get(redis, "thanks")).status is Status.CANCELLED
    await sync_cron_jobs(scheduler, runner, lambda: SLOT)
    assert {job.id for job in scheduler.get_jobs()} == {TICK_JOB}


async def test_the_cron_job_body_fires_the_slot_and_queues_the_run(redis, settings):
    await make_contact(redis, "console:ann")
    runner = CampaignRunner.from_settings(redis, settings)
    await load_configured(redis, [THANKS], SLOT, settings.tz)

    await fire_slot_job(runner, "thanks", lambda: SLOT)
    await fire_slot_job(runner, "thanks", lambda: SLOT)  # a second process, same slot

    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(SLOT)
    assert [m.text for m in outlet.sent] == ["Thanks there"]
    runs = [c.id for c in await campaigns.all_campaigns(redis) if c.parent == "thanks"]
    assert runs == ["thanks-20261201T0200"]


async def test_loading_the_file_updates_only_the_definition_of_a_running_campaign(redis, settings):
    await load_configured(redis, [THANKS], SLOT, settings.tz)
    await campaigns.transition(redis, "thanks", [Status.ARMED], Status.SENDING, fed=7)
    edited = replace(THANKS, texts={"en": "Thank you, {name}", "zh-CN": "谢谢"})

    await load_configured(redis, [edited], SLOT, settings.tz)  # another process starts

    stored = await campaigns.get(redis, "thanks")
    assert (stored.status, stored.fed) == (Status.SENDING, 7), "its run goes on where it was"
    assert stored.texts["en"] == "Thank you, {name}"
    assert [c.id for c in await campaigns.all_campaigns(redis)] == ["thanks"]
