"""A running shop in this process on real Redis, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest
from support import MovableClock

from bot.app import Runtime, open_runtime
from bot.messages import ContactRef, InboundMessage, MessageKind
from schedules.dispatch import FollowupDispatcher
from storage import mailbox


@dataclass
class ShopDay:
    """The runtime, its clock and follow-up dispatcher, and ways to talk to it."""

    runtime: Runtime
    clock: MovableClock
    followups: FollowupDispatcher
    _ids: count = field(default_factory=lambda: count(1))

    async def say(self, who: ContactRef, text: str, **fields: Any) -> list[str]:
        """Send a text (or ``kind=...``) from ``who``; the replies' texts."""
        message = InboundMessage(
            id=f"day-{next(self._ids)}",
            contact=who,
            chat_id=who.external_id,
            kind=fields.pop("kind", MessageKind.TEXT),
            received_at=self.clock.now,
            text=text,
            **fields,
        )
        result = await self.runtime.receive(message)
        return [reply.text for reply in result.replies]

    async def mail(self, who: ContactRef) -> list[dict[str, Any]]:
        """Everything that waited in ``who``'s terminal mailbox (taken)."""
        return await mailbox.drain(self.runtime.redis, who.id)

    async def texts(self, who: ContactRef) -> list[str]:
        """The texts of :meth:`mail`."""
        return [item["text"] for item in await self.mail(who)]


@pytest.fixture
async def shop_day(settings, redis) -> AsyncIterator[ShopDay]:
    """A shop on the test Redis, at ``FIXED_NOW`` until the test moves the clock."""
    clock = MovableClock()
    async with open_runtime(settings, clock=clock) as runtime:
        followups = FollowupDispatcher.from_settings(redis, runtime.delivery, settings)
        yield ShopDay(runtime, clock, followups)
