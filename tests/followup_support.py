"""Helpers for follow-up tests: a recording outlet, a dispatcher on it, clock arithmetic."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from redis.asyncio import Redis

from bot.messages import DeliveryError, OutboundMessage, Refused, SendCheck
from config.settings import Settings
from schedules.dispatch import DispatchPolicy, FollowupDispatcher
from schedules.sending_rules import SendingRules
from storage import contacts

# A Monday, 10:00 in Shanghai (02:00 UTC): outside the quiet hours.
T0 = datetime.fromisoformat("2026-11-23T02:00:00+00:00")


@dataclass
class RecordingOutlet:
    """Stands for a platform: records what it was asked to send; can refuse or fail.

    Like every channel (``storage.send_claims``), it drops a second send of an
    idempotency key, and records that in ``dropped``.
    """

    sent: list[OutboundMessage] = field(default_factory=list)
    dropped: list[OutboundMessage] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    """recipient id -> reason the check gives (and the send raises)."""
    fail_times: int = 0
    """How many sends raise DeliveryError before sends succeed."""

    async def check(self, message: OutboundMessage) -> SendCheck:
        reason = self.refuse.get(message.recipient.id)
        return SendCheck(False, reason) if reason else SendCheck(True, via="test")

    async def send(self, message: OutboundMessage) -> None:
        reason = self.refuse.get(message.recipient.id)
        if reason:
            raise Refused(reason)  # as a channel's send checks its own rules
        if self.fail_times:
            self.fail_times -= 1
            raise DeliveryError("platform said 502")
        key = message.idempotency_key
        if key and any(sent.idempotency_key == key for sent in self.sent):
            self.dropped.append(message)
            return
        self.sent.append(message)

    def texts_to(self, contact_id: str) -> list[str]:
        return [m.text for m in self.sent if m.recipient.id == contact_id]


def sending_rules(settings: Settings, **changes: object) -> SendingRules:
    """The settings' sending rules with ``changes``."""
    return replace(SendingRules.from_settings(settings), **changes)


def dispatcher(redis: Redis, settings: Settings, outlet, **policy: object) -> FollowupDispatcher:
    """A dispatcher with the settings' policy, overridden by ``policy``."""
    base = DispatchPolicy.from_settings(settings)
    fields = {name: getattr(base, name) for name in DispatchPolicy.__slots__} | policy
    return FollowupDispatcher(redis, outlet, DispatchPolicy(**fields))


async def make_contact(
    redis: Redis, contact_id: str, *, language: str = "en", name: str | None = None
) -> None:
    """A contact who wrote once at T0 - 1 day."""
    await contacts.touch(
        redis, contact_id, T0 - timedelta(days=1), display_name=name, language=language
    )
