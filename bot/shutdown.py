"""Stopping cleanly on SIGTERM/SIGINT, in an order that loses nothing.

1. Stop accepting: the gate closes (HTTP 503, so platforms redeliver) and pollers stop
   fetching, finishing the updates they already took.
2. Let running scheduler jobs finish: a dispatch pass sends the batches it claimed and
   records them, claiming no more; in-flight sends complete.
3. Stop the channels (they wait for queued replies), then the scheduler.
4. Redis is closed last, by whoever opened it (the embedded server stops with the last
   process on its folder).

Steps 1-3 share one deadline, ``SHOPBOT_SHUTDOWN_GRACE_S`` (a channel always gets
:data:`CHANNEL_FLOOR_S` to close). Work still running past it is cancelled: a
cancelled send releases its claim and an unrecorded item is claimed again once its
lease expires, so it is sent later rather than lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable

from bot.channels.base import Channel
from bot.gate import Gate
from schedules.dispatch import FollowupDispatcher
from schedules.scheduler import ShopScheduler

log = logging.getLogger(__name__)

CHANNEL_FLOOR_S = 1.0
"""Even past the grace, a channel gets this long to stop: it closes its clients."""


def stop_taking_work(gate: Gate, scheduler: ShopScheduler, followups: FollowupDispatcher) -> None:
    """The moment the signal arrives: refuse HTTP work, start no job, claim no follow-up.

    Safe to call again. What is already claimed or running carries on to its end.
    """
    gate.close()
    followups.stop_claiming()
    if scheduler.running:
        scheduler.pause()


async def stop_in_order(
    gate: Gate,
    channels: Iterable[Channel],
    scheduler: ShopScheduler,
    followups: FollowupDispatcher,
    grace_s: float,
) -> None:
    """Stop accepting, let running work finish within ``grace_s``, then stop everything."""
    deadline = asyncio.get_running_loop().time() + grace_s
    stop_taking_work(gate, scheduler, followups)
    started = list(channels)
    for channel in started:
        await _within(channel.stop_receiving(), deadline, f"{channel.name}: taken updates")
    if not await scheduler.wind_down(_left(deadline)):
        log.warning("shutdown grace over: scheduler jobs still running were cancelled")
    for channel in started:
        await _within(channel.stop(), deadline, f"{channel.name}: queued sends")
    scheduler.shutdown(wait=False)


async def _within(work: Awaitable[None], deadline: float, what: str) -> None:
    try:
        await asyncio.wait_for(work, timeout=max(_left(deadline), CHANNEL_FLOOR_S))
    except TimeoutError:
        log.warning("shutdown grace over: %s cancelled", what)


def _left(deadline: float) -> float:
    return max(0.0, deadline - asyncio.get_running_loop().time())
