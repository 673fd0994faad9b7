"""Scheduler jobs that finish what a crash or a failure left: nothing lost, nothing twice.

- ``outbox:recover``: sends the durable outbox's messages left unsettled for
  ``SHOPBOT_OUTBOX_GRACE_S`` (at most once, through the send claim).
- ``orders:events``: delivers order events that some listener has not taken yet.
- ``sends:uncertain-digest``: once a day, tells the owners which sends of the last
  24 hours are uncertain (they may or may not have arrived; none is sent again).

Every job is safe to run in any number of processes at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from redis.exceptions import RedisError

from bot import outbox
from bot.app import Runtime
from bot.messages import OutboundMessage, Purpose
from handlers.orders import redeliver_pending
from storage import send_claims
from storage.send_claims import UncertainSend
from storage.timestamps import Clock, utc_now

log = logging.getLogger(__name__)

OUTBOX_JOB = "outbox:recover"
ORDER_EVENTS_JOB = "orders:events"
DIGEST_JOB = "sends:uncertain-digest"
EVERY_S = 30
"""Seconds between two outbox recoveries, and between two order event redeliveries."""
DIGEST_LINES = 20
"""Uncertain sends named in a digest; the rest are counted."""


async def recover_outbox(runtime: Runtime, clock: Clock = utc_now) -> Counter[str]:
    """Send what the outbox still holds after the grace period; the outcomes counted."""
    cutoff = clock() - timedelta(seconds=runtime.settings.outbox_grace_s)
    try:
        outcomes = await outbox.recover(
            runtime.redis, runtime.delivery.send, cutoff, runtime.channels
        )
    except RedisError as exc:
        log.warning("outbox recovery failed, retried at the next run: %s", exc)
        return Counter()
    if outcomes:
        log.info("outbox recovery: %s", dict(outcomes))
    return outcomes


async def redeliver_order_events(runtime: Runtime, clock: Clock = utc_now) -> int:
    """Deliver the order events older than a run that a listener has not taken yet."""
    cutoff = clock() - timedelta(seconds=EVERY_S)
    try:
        return await redeliver_pending(runtime.redis, runtime.order_events, cutoff)
    except RedisError as exc:
        log.warning("order event redelivery failed, retried at the next run: %s", exc)
        return 0


async def send_uncertain_digest(runtime: Runtime, clock: Clock = utc_now) -> int:
    """Tell every owner about the last 24 hours' uncertain sends; returns how many were."""
    now = clock()
    sends = await send_claims.uncertain_between(runtime.redis, now - timedelta(days=1), now)
    if not sends:
        return 0
    text = digest_text(runtime, sends)
    day = now.astimezone(runtime.settings.tz).date().isoformat()
    owners = await runtime.dispatcher.roles.owners_to_notify()
    digests = [
        OutboundMessage(
            recipient=owner,
            text=text,
            purpose=Purpose.TRANSACTIONAL,
            idempotency_key=f"uncertain-digest:{day}",
        )
        for owner in owners
    ]
    await outbox.keep_and_send(runtime.redis, runtime.delivery.send, runtime.channels, digests, now)
    return len(sends)


def digest_text(runtime: Runtime, sends: list[UncertainSend]) -> str:
    """The digest in the shop's language: one line per send (contact, message, time)."""
    settings, templates = runtime.settings, runtime.templates
    lines = [
        f"· {send.contact_id}  {send.idempotency_key}  {_local(send.at, runtime)}"
        for send in sends[:DIGEST_LINES]
    ]
    if len(sends) > DIGEST_LINES:
        more = len(sends) - DIGEST_LINES
        lines.append(templates.render("owner_uncertain_digest_more", settings.language, count=more))
    return templates.render(
        "owner_uncertain_digest", settings.language, count=len(sends), lines="\n".join(lines)
    )


def _local(moment: datetime, runtime: Runtime) -> str:
    return moment.astimezone(runtime.settings.tz).strftime("%m-%d %H:%M")


def schedule_recovery(scheduler: BaseScheduler, runtime: Runtime) -> None:
    """Add the three jobs (each with a fixed id, replacing an earlier definition)."""
    for job, job_id in ((recover_outbox, OUTBOX_JOB), (redeliver_order_events, ORDER_EVENTS_JOB)):
        scheduler.add_job(
            job,
            "interval",
            seconds=EVERY_S,
            jitter=EVERY_S / 2,
            id=job_id,
            args=[runtime],
            replace_existing=True,
        )
    scheduler.add_job(
        send_uncertain_digest,
        "cron",
        hour=runtime.settings.uncertain_digest_hour,
        id=DIGEST_JOB,
        args=[runtime],
        replace_existing=True,
    )
