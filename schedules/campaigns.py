"""Campaigns at work: preview, start, feed the follow-up queue, cron slots, status, results.

Sending goes through the follow-up engine (:mod:`schedules.dispatch`): the
feeder hands each recipient of the frozen audience to the queue as one
marketing item ``campaign:<id>:<contact>``, at most ``rate_per_minute`` a
minute and never in quiet hours, so opt-out, quiet hours, the weekly cap, the
channel's rules, retries and exactly-once sending all apply. Scheduling an id
twice is a no-op, so a feeder that dies after scheduling and before moving its
cursor resends nothing. A cron campaign's slot is taken with ``SET NX`` by the
one process that fires it; the slot starts a run of its own (``<id>-<slot>``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.messages import ContactRef, OutboundMessage, Outlet, Purpose
from config.i18n import Templates, default_templates
from config.settings import Settings
from schedules.campaign_rules import CampaignPolicy, cron_trigger, current_slot, parse_when, render
from storage import campaigns, contacts, followups, keys, optouts, segments
from storage.campaigns import LIVE, Campaign, CampaignResults, Status
from storage.contacts import Contact
from storage.followups import Followup, Record, State
from storage.optouts import OptOutCategory
from storage.orders import OrderEvent
from storage.segment_parser import parse
from storage.timestamps import to_epoch

log = logging.getLogger(__name__)

MESSAGE_TEMPLATE = "campaign_message"
REPLY_WINDOW = timedelta(hours=24)
ORDER_WINDOW = timedelta(days=7)
RATE_WINDOW = timedelta(minutes=10)
SLOT_TTL_S = 40 * 86_400
CHUNK = 1000
COUNTED_STATUSES = frozenset({"paid", "shipped", "arrived", "delivered", "completed"})


# --- preview and status figures ---


@dataclass
class Preview:
    """Who a campaign would reach now, and who it would leave out, by reason."""

    matched: int = 0
    opted_out: int = 0
    unreachable: int = 0
    capped: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    """Contacts the channel would refuse now (WeChat window closed, ...), by reason."""
    quiet_until: datetime | None = None
    """Sending now would wait for the end of the quiet hours."""
    checked_channels: bool = True

    @property
    def reachable(self) -> int:
        """Contacts the campaign would be sent to."""
        excluded = self.opted_out + self.unreachable + self.capped + self.refused.total()
        return self.matched - excluded


@dataclass
class Tally:
    """Where a campaign's messages stand."""

    audience: int = 0
    opted_out: int = 0
    fed: int = 0
    sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    cancelled: int = 0
    pending: int = 0
    sent_recently: int = 0
    replied: int = 0
    ordered: int = 0
    revenue: float = 0.0

    @property
    def remaining(self) -> int:
        """Messages not sent, skipped or failed yet (queued or not yet queued)."""
        return self.audience - self.fed + self.pending

    @property
    def rate_per_minute(self) -> float:
        """Messages sent a minute over the last ten minutes."""
        return self.sent_recently / (RATE_WINDOW.total_seconds() / 60)

    def frozen(self) -> CampaignResults:
        """The figures kept on a finished campaign."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "skipped": dict(self.skipped),
        }


@dataclass
class PeriodResults:
    """What the campaigns that started in a period achieved, summed."""

    campaigns: int = 0
    sent: int = 0
    replied: int = 0
    ordered: int = 0
    revenue: float = 0.0


# --- the runner ---


class CampaignRunner:
    """Everything campaigns do; any number of processes may run one on the same Redis."""

    def __init__(
        self,
        redis: Redis,
        policy: CampaignPolicy,
        *,
        outlet: Outlet | None = None,
        templates: Templates | None = None,
    ) -> None:
        self.redis = redis
        self.policy = policy
        self.outlet = outlet
        self.templates = templates or default_templates()

    @classmethod
    def from_settings(
        cls, redis: Redis, settings: Settings, outlet: Outlet | None = None
    ) -> CampaignRunner:
        """A runner with the settings' policy."""
        return cls(redis, CampaignPolicy.from_settings(settings), outlet=outlet)

    # preview

    async def preview(self, campaign: Campaign, now: datetime) -> Preview:
        """Count the audience now and the exclusions, each contact under its first reason."""
        matched_key = keys.segment_scratch(uuid.uuid4().hex, 0)
        preview = Preview(checked_channels=self.outlet is not None)
        preview.quiet_until = self.policy.rules.quiet_until(now)
        preview.matched = await self._store_segment(campaign, now, matched_key)
        try:
            for start in range(0, preview.matched, CHUNK):
                ids = await segments.stored_slice(self.redis, matched_key, start, CHUNK)
                await self._preview_chunk(campaign, ids, now, preview)
        finally:
            await self.redis.delete(matched_key)
        return preview

    async def _preview_chunk(
        self, campaign: Campaign, ids: Sequence[str], now: datetime, preview: Preview
    ) -> None:
        opted = await optouts.opted_out_many(self.redis, ids, OptOutCategory.MARKETING)
        profiles = await contacts.get_many(self.redis, ids)
        capped = await self._capped(ids, now)
        candidates = []
        for contact_id, out, profile, full in zip(ids, opted, profiles, capped, strict=True):
            if out:
                preview.opted_out += 1
            elif profile is not None and profile.unreachable:
                preview.unreachable += 1
            elif full:
                preview.capped += 1
            else:
                candidates.append((contact_id, profile))
        if self.outlet is None:
            return
        checks = await asyncio.gather(
            *(self.outlet.check(self._message(campaign, cid, p)) for cid, p in candidates)
        )
        for check in checks:
            if not check.allowed:
                preview.refused[check.reason or "not allowed by the channel"] += 1

    async def _capped(self, ids: Sequence[str], now: datetime) -> list[bool]:
        """Whether each contact's weekly marketing cap is full now."""
        since = to_epoch(now) - 7 * 86_400
        async with self.redis.pipeline(transaction=False) as pipe:
            for contact_id in ids:
                pipe.zcount(keys.marketing_sent(contact_id), f"({since}", "+inf")
            counts = await pipe.execute()
        return [count >= self.policy.rules.weekly_cap for count in counts]

    def _message(
        self, campaign: Campaign, contact_id: str, contact: Contact | None
    ) -> OutboundMessage:
        language = (contact and contact.language) or self.policy.language
        name = contact.display_name if contact else None
        text, _buttons = render(campaign, language, name, self.policy, self.templates)
        return OutboundMessage(
            recipient=ContactRef.parse(contact_id),
            text=text,
            purpose=Purpose.MARKETING,
            idempotency_key=campaign.item_id(contact_id),
        )

    def test_messages(
        self, campaign: Campaign, name: str | None
    ) -> list[tuple[str, list[tuple[str, str]]]]:
        """The campaign in each of its languages, as a customer called ``name`` would get it."""
        return [
            render(campaign, language, name, self.policy, self.templates)
            for language in campaign.texts
        ]

    # starting and stopping

    async def confirm(self, campaign: Campaign, now: datetime) -> Status | None:
        """Second step of sending: start now, wait for the time, or arm the cron; None if not
        waiting for confirmation."""
        when = parse_when(campaign.when, self.policy.rules.tz)
        fields: dict[str, float]
        if when.recurring:
            target, fields = Status.ARMED, {}
        elif when.at is not None and when.at > now:
            target, fields = Status.SCHEDULED, {}
        else:
            target, fields = Status.SENDING, {"started_at": to_epoch(now), "fed_at": to_epoch(now)}
        moved = await campaigns.transition(
            self.redis, campaign.id, [Status.CONFIRMING], target, **fields
        )
        return target if moved else None

    async def pause(self, campaign_id: str) -> bool:
        """Stop feeding (messages already queued, at most one step's worth, still go out)."""
        return await campaigns.transition(self.redis, campaign_id, [Status.SENDING], Status.PAUSED)

    async def resume(self, campaign_id: str, now: datetime) -> bool:
        """Feed again."""
        return await campaigns.transition(
            self.redis, campaign_id, [Status.PAUSED], Status.SENDING, fed_at=to_epoch(now)
        )

    async def cancel(self, campaign_id: str, now: datetime) -> int | None:
        """Stop for good and cancel the queued messages; returns how many, None if finished."""
        moved = await campaigns.transition(
            self.redis,
            campaign_id,
            [*LIVE, Status.DRAFT, Status.CONFIRMING],
            Status.CANCELLED,
            finished_at=to_epoch(now),
        )
        if not moved:
            return None
        campaign = await campaigns.get(self.redis, campaign_id)
        if campaign is None:  # only a flush between the two commands removes it
            raise LookupError(f"campaign {campaign_id} vanished while being cancelled")
        cancelled = 0
        for start in range(0, campaign.fed, CHUNK):
            ids = await campaigns.audience_slice(self.redis, campaign_id, start, CHUNK)
            for item_id in campaigns.item_ids(campaign, ids):
                if await followups.cancel(self.redis, item_id, now, "campaign cancelled"):
                    cancelled += 1
        return cancelled

    # the tick: scheduled campaigns start, sending ones are fed, finished ones close, and
    # SHOPBOT_FOLLOWUP_KEEP_DAYS later lose their frozen audience

    async def tick(self, now: datetime) -> dict[str, int]:
        """One round over the live campaigns; returns how many messages each got queued."""
        queued: dict[str, int] = {}
        for campaign in await campaigns.all_campaigns(self.redis):
            match campaign.status:
                case Status.SCHEDULED:
                    await self._start_if_due(campaign, now)
                case Status.SENDING:
                    queued[campaign.id] = await self.feed(campaign, now)
                case Status.DONE | Status.CANCELLED:
                    await self._sweep_if_old(campaign, now)
        return queued

    async def _sweep_if_old(self, campaign: Campaign, now: datetime) -> None:
        """Drop the audience ``keep_s`` after the campaign finished (figures frozen first)."""
        finished = campaign.finished_at
        if campaign.swept_at or finished is None:
            return
        if (now - finished).total_seconds() < self.policy.keep_s:
            return
        results = None if campaign.results else (await self.tally(campaign, now)).frozen()
        await campaigns.sweep_audience(self.redis, campaign.id, now, results)

    async def _start_if_due(self, campaign: Campaign, now: datetime) -> None:
        when = parse_when(campaign.when, self.policy.rules.tz)
        if when.at is not None and when.at <= now:
            await campaigns.transition(
                self.redis,
                campaign.id,
                [Status.SCHEDULED],
                Status.SENDING,
                started_at=to_epoch(when.at),
                fed_at=to_epoch(when.at),
            )

    async def feed(self, campaign: Campaign, now: datetime) -> int:
        """Queue the next recipients of a sending campaign; returns how many were queued."""
        audience = campaign.audience
        if audience is None:
            audience = await self._freeze(campaign, now)
            campaign = replace(campaign, audience=audience)
        if campaign.fed >= audience:
            await self._close_if_finished(campaign, now)
            return 0
        if self.policy.rules.quiet_until(now) is not None:
            return 0
        ids = await campaigns.audience_slice(
            self.redis, campaign.id, campaign.fed, self._allowance(campaign, now)
        )
        profiles = await contacts.get_many(self.redis, ids)
        items = [
            self._item(campaign, contact_id, profile, now)
            for contact_id, profile in zip(ids, profiles, strict=True)
        ]
        await followups.schedule_many(self.redis, items)
        await contacts.note_campaign(self.redis, ids, now)
        moved = await campaigns.advance(
            self.redis, campaign.id, campaign.fed, campaign.fed + len(ids), now
        )
        return len(ids) if moved else 0

    def _allowance(self, campaign: Campaign, now: datetime) -> int:
        since = campaign.fed_at or campaign.started_at or now
        earned = int((now - since).total_seconds() * self.policy.rate_per_minute / 60)
        return max(1, min(earned, self.policy.batch))

    async def _store_segment(self, campaign: Campaign, now: datetime, dest: str) -> int:
        """Evaluate the campaign's segment into ``dest`` (a scratch key with a TTL)."""
        segment = parse(campaign.segment)
        return await segments.store(
            self.redis, segment, now, dest, 300, stage_rules=self.policy.stage_rules
        )

    async def _freeze(self, campaign: Campaign, now: datetime) -> int:
        started = campaign.started_at or now  # the same moment in every process
        matched_key = keys.segment_scratch(uuid.uuid4().hex, 0)
        await self._store_segment(campaign, started, matched_key)
        return await campaigns.freeze_audience(self.redis, campaign.id, matched_key)

    def _item(
        self, campaign: Campaign, contact_id: str, contact: Contact | None, now: datetime
    ) -> Followup:
        language = (contact and contact.language) or self.policy.language
        name = contact.display_name if contact else None
        text, buttons = render(campaign, language, name, self.policy, self.templates)
        data: dict[str, object] = {"text": text}
        if buttons:
            data["buttons"] = buttons
        return Followup(
            campaign.item_id(contact_id),
            contact_id,
            now,
            MESSAGE_TEMPLATE,
            Purpose.MARKETING,
            data=data,
        )

    async def _close_if_finished(self, campaign: Campaign, now: datetime) -> None:
        tally = await self.tally(campaign, now)
        if tally.pending:
            return
        await campaigns.transition(
            self.redis,
            campaign.id,
            [Status.SENDING],
            Status.DONE,
            finished_at=to_epoch(now),
            results=_json(tally.frozen()),
        )

    # cron

    async def fire_slot(self, campaign_id: str, now: datetime) -> str | None:
        """Start the run of the cron slot due at ``now``; None unless this caller took it."""
        parent = await campaigns.get(self.redis, campaign_id)
        if parent is None or parent.status is not Status.ARMED:
            return None
        slot = current_slot(cron_trigger(parent.when, self.policy.rules.tz), now)
        if slot is None:
            return None
        label = slot.astimezone(UTC).strftime("%Y%m%dT%H%M")
        if not await campaigns.claim_slot(self.redis, campaign_id, label, SLOT_TTL_S):
            return None
        run = replace(
            parent,
            id=f"{parent.id}-{label}",
            when="now",
            status=Status.SENDING,
            parent=parent.id,
            created_at=now,
            started_at=slot,
            fed_at=slot,
            audience=None,
            opted_out=0,
            fed=0,
            finished_at=None,
            results={},
        )
        await campaigns.save(self.redis, run)
        log.info("campaign %s: slot %s started run %s", parent.id, label, run.id)
        return run.id

    # status and results

    async def tally(self, campaign: Campaign, now: datetime) -> Tally:
        """Count the campaign's messages by state, plus replies and orders."""
        tally = Tally(
            audience=campaign.audience or 0, opted_out=campaign.opted_out, fed=campaign.fed
        )
        recent = now - RATE_WINDOW
        for start in range(0, campaign.fed, CHUNK):
            count = min(CHUNK, campaign.fed - start)
            ids = await campaigns.audience_slice(self.redis, campaign.id, start, count)
            for record in await followups.records(self.redis, campaigns.item_ids(campaign, ids)):
                _count(tally, record, recent)
        attribution = await campaigns.attribution(self.redis, campaign.id)
        tally.replied, tally.ordered = attribution.replied, attribution.ordered
        tally.revenue = attribution.revenue
        return tally


async def results_between(runner: CampaignRunner, start: datetime, end: datetime) -> PeriodResults:
    """Sum the campaigns (and cron runs) that started sending between ``start`` and ``end``."""
    results = PeriodResults()
    for campaign in await campaigns.all_campaigns(runner.redis):
        if campaign.started_at is None or not start <= campaign.started_at <= end:
            continue
        tally = await runner.tally(campaign, end)
        results.campaigns += 1
        results.sent += max(tally.sent, int(campaign.results.get("sent", 0)))
        results.replied += tally.replied
        results.ordered += tally.ordered
        results.revenue += tally.revenue
    return results


async def note_reply(redis: Redis, contact_id: str, now: datetime) -> list[str]:
    """The contact wrote: credit the campaigns sent to them in the last 24 hours."""
    credited = await _recent_sends(redis, contact_id, now, REPLY_WINDOW)
    for campaign_id in credited:
        await campaigns.record_reply(redis, campaign_id, contact_id)
    return credited


async def note_order(redis: Redis, contact_id: str, amount: float, at: datetime) -> list[str]:
    """The contact ordered: credit the campaigns sent to them in the 7 days before."""
    credited = await _recent_sends(redis, contact_id, at, ORDER_WINDOW)
    for campaign_id in credited:
        await campaigns.record_order(redis, campaign_id, contact_id, amount)
    return credited


async def _recent_sends(
    redis: Redis, contact_id: str, now: datetime, window: timedelta
) -> list[str]:
    """Campaigns whose message reached the contact in the ``window`` before ``now``."""
    credited = []
    for record in await followups.of_contact(redis, contact_id):
        owner = campaigns.campaign_of_item(record.followup.id)
        sent_at = record.finished_at
        if owner is None or record.state is not State.SENT or sent_at is None:
            continue
        if sent_at <= now <= sent_at + window:
            credited.append(owner[0])
    return credited


def _count(tally: Tally, record: Record, recent: datetime) -> None:
    """Count one message; one no longer on record (kept days ago) counts nowhere."""
    match record.state:
        case State.SENT:
            tally.sent += 1
            if record.finished_at and record.finished_at >= recent:
                tally.sent_recently += 1
        case State.SKIPPED:
            tally.skipped[record.reason or "skipped"] += 1
        case State.DEAD:
            tally.failed += 1
        case State.CANCELLED:
            tally.cancelled += 1
        case _:
            tally.pending += 1


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


class CampaignAttribution:
    """Order listener: a first counted order within 7 days after a campaign message counts."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def __call__(self, event: OrderEvent) -> None:
        if event.source == "import" or event.status.value not in COUNTED_STATUSES:
            return
        previous = event.previous_status
        if previous is not None and previous.value in COUNTED_STATUSES:
            return
        order = event.order
        await note_order(self._redis, order.contact_id, order.amount, event.at)
