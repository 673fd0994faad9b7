"""Issue 14: the recovery jobs (outbox, order events, the owners' uncertain digest)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW, make_dispatcher

from bot.app import Runtime
from bot.channels.terminal import ConsoleChannel
from bot.delivery import Delivery
from bot.messages import ContactRef, OutboundMessage
from bot.outbox import kept
from bot.recovery_jobs import (
    DIGEST_JOB,
    ORDER_EVENTS_JOB,
    OUTBOX_JOB,
    recover_outbox,
    redeliver_order_events,
    schedule_recovery,
    send_uncertain_digest,
)
from bot.roles import CONSOLE_OWNER
from config.catalog import default_catalog
from config.i18n import default_templates
from handlers.orders import parse_body
from handlers.pipeline import default_pipeline
from schedules.scheduler import build_scheduler
from storage import mailbox, orders, send_claims
from storage import outbox as stored
from storage.orders import OrderEvent


@pytest.fixture
def runtime(redis, settings) -> Runtime:
    settings = settings.model_copy(update={"owners": (), "language": "en"})
    dispatcher = make_dispatcher(redis, settings)
    delivery = Delivery({"console": ConsoleChannel(redis)})
    pipeline = default_pipeline(settings)
    return Runtime(settings, redis, default_templates(), dispatcher, delivery, pipeline)


async def test_owners_hear_of_the_days_uncertain_sends_once(runtime, redis):
    await send_claims.record_uncertain(
        redis, "wechat:oAlice", "order:1:shipped", FIXED_NOW - timedelta(hours=2)
    )
    await send_claims.record_uncertain(
        redis, "wechat:oBob", "order:2:shipped", FIXED_NOW - timedelta(days=2)
    )

    counted = await send_uncertain_digest(runtime, clock=lambda: FIXED_NOW)
    await send_uncertain_digest(runtime, clock=lambda: FIXED_NOW + timedelta(minutes=1))

    assert counted == 1
    [mail] = await mailbox.drain(redis, CONSOLE_OWNER.id)
    assert "1 messages may or may not have reached" in mail["text"]
    assert "wechat:oAlice  order:1:shipped" in mail["text"]
    assert "oBob" not in mail["text"]


async def test_no_uncertain_send_no_digest(runtime, redis):
    assert await send_uncertain_digest(runtime, clock=lambda: FIXED_NOW) == 0
    assert await mailbox.drain(redis, CONSOLE_OWNER.id) == []


async def test_the_outbox_job_waits_out_the_grace_period(runtime, redis):
    message = OutboundMessage(ContactRef.parse("console:alice"), "kept", idempotency_key="k")
    async with redis.pipeline(transaction=False) as pipe:
        stored.queue_keep(pipe, [kept(message)], FIXED_NOW)
        await pipe.execute()
    grace = timedelta(seconds=runtime.settings.outbox_grace_s)

    early = await recover_outbox(runtime, clock=lambda: FIXED_NOW + grace / 2)
    late = await recover_outbox(runtime, clock=lambda: FIXED_NOW + grace * 2)

    assert not early and late == {"sent": 1}
    assert [m["text"] for m in await mailbox.drain(redis, "console:alice")] == ["kept"]


async def test_the_order_event_job_delivers_what_no_listener_took(runtime, redis):
    heard: list[str] = []

    async def listen(event: OrderEvent) -> None:
        heard.append(f"{event.order.id}:{event.status}")

    runtime.order_events.subscribe(listen)
    body = {"id": "B1", "contact": "console:alice", "items": [{"sku": "tea-250g", "qty": 1}]}
    change = parse_body(body, catalog=default_catalog(), language="en", tz=FIXED_NOW.tzinfo)
    await orders.apply(redis, change, FIXED_NOW, source="api")  # then the process died

    assert await redeliver_order_events(runtime, clock=lambda: FIXED_NOW) == 0
    assert await redeliver_order_events(runtime, clock=lambda: FIXED_NOW + timedelta(minutes=1))
    assert heard == ["B1:unpaid"]


def test_the_jobs_are_scheduled_with_fixed_ids(runtime):
    scheduler = build_scheduler(runtime.settings.tz)
    schedule_recovery(scheduler, runtime)
    assert {job.id for job in scheduler.get_jobs()} == {OUTBOX_JOB, ORDER_EVENTS_JOB, DIGEST_JOB}
