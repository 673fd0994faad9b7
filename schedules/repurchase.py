"""Repurchase reminders (复购) and dormant win-back (沉睡唤醒), both marketing.

A reminder is due ``days_before`` days before the product runs out: the
catalogue's ``cycle_days`` times the quantity bought or, once the contact bought
the product at least twice, their own median interval between purchases. Buying
again cancels the pending reminder and schedules a new one; so it does with the
win-back messages, due 60 and 90 days (configurable) after the latest order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from bot.messages import Purpose
from config.catalog import Catalog
from config.followup_rules import REPURCHASE, WINBACK, FollowupRules
from storage import followups, purchases
from storage.followups import Followup
from storage.optouts import OptOutCategory
from storage.timestamps import to_epoch

if TYPE_CHECKING:
    from schedules.lifecycle import Changes, OrderFacts

MIN_LEAD = timedelta(days=1)
"""A reminder is never due sooner than this after the purchase."""


def repurchase_group(contact_id: str, sku: str) -> str:
    """The group of a contact's reminders for one product."""
    return f"{REPURCHASE}:{contact_id}:{sku}"


def winback_group(contact_id: str) -> str:
    """The group of a contact's win-back messages."""
    return f"{WINBACK}:{contact_id}"


def reminder(contact_id: str, sku: str, ref: str, due_at: datetime) -> Followup:
    """A repurchase reminder; ``ref`` (the order id, or a snooze mark) keeps ids unique."""
    return Followup(
        id=f"{repurchase_group(contact_id, sku)}:{ref}",
        contact_id=contact_id,
        due_at=due_at,
        template=REPURCHASE,
        purpose=Purpose.MARKETING,
        data={"sku": sku},
        optout=OptOutCategory.REPURCHASE.value,
    )


def winback(contact_id: str, order_id: str, days: int, last_order_at: datetime) -> Followup:
    """The win-back message ``days`` after the contact's latest order."""
    return Followup(
        id=f"{winback_group(contact_id)}:{order_id}:{days}",
        contact_id=contact_id,
        due_at=last_order_at + timedelta(days=days),
        template=WINBACK,
        purpose=Purpose.MARKETING,
        data={"days": days},
    )


_MICROSECOND = timedelta(microseconds=1)


def personal_interval(history: list[datetime]) -> timedelta | None:
    """The median time between the contact's purchases; None with fewer than two."""
    if len(history) < 2:
        return None
    # statistics.median is typed for numbers: take it over whole microseconds (exact).
    gaps = [(later - earlier) // _MICROSECOND for earlier, later in pairwise(history)]
    return timedelta(microseconds=median(gaps))


async def on_purchase(
    redis: Redis,
    facts: OrderFacts,
    now: datetime,
    rules: FollowupRules,
    catalog: Catalog,
    changes: Changes,
) -> None:
    """Record the order's products as bought; reschedule their reminders and the win-back."""
    newly_bought = False
    for item in facts.items:
        if not await purchases.record(redis, facts.contact_id, item.sku, facts.order_id, facts.at):
            continue
        newly_bought = True
        due = await _reminder_due(redis, facts, item.sku, item.quantity, rules, catalog)
        if due is not None:
            fresh = reminder(facts.contact_id, item.sku, facts.order_id, due)
            changes.cancelled.extend(await _replace(redis, facts, fresh))
            changes.scheduled.append(fresh.id)
    if newly_bought or not facts.items:
        await _reschedule_winback(redis, facts, now, rules, changes)


async def _reminder_due(
    redis: Redis,
    facts: OrderFacts,
    sku: str,
    quantity: int,
    rules: FollowupRules,
    catalog: Catalog,
) -> datetime | None:
    if await purchases.reminders_stopped(redis, facts.contact_id, sku):
        return None
    history = await purchases.times(redis, facts.contact_id, sku)
    if history and history[-1] > facts.at:
        return None  # A later purchase of this product already set the reminder.
    product = catalog.get(sku)
    cycle = personal_interval(history)
    if cycle is None and product is not None and product.cycle_days:
        cycle = timedelta(days=product.cycle_days * max(quantity, 1))
    if cycle is None:
        return None
    lead = max(cycle - timedelta(days=rules.repurchase_days_before), MIN_LEAD)
    return facts.at + lead


async def _replace(redis: Redis, facts: OrderFacts, followup: Followup) -> list[str]:
    """Cancel the product's pending reminders, schedule ``followup``; returns the cancelled."""
    group = followup.id.rpartition(":")[0]
    reason = f"bought again in order {facts.order_id}"
    cancelled = await followups.cancel_group(redis, facts.contact_id, group, facts.at, reason)
    await followups.schedule(redis, followup)
    return cancelled


async def _reschedule_winback(
    redis: Redis, facts: OrderFacts, now: datetime, rules: FollowupRules, changes: Changes
) -> None:
    fresh = [winback(facts.contact_id, facts.order_id, d, facts.at) for d in rules.winback_days]
    group = winback_group(facts.contact_id)
    reason = f"ordered again in order {facts.order_id}"
    keep = [f.id for f in fresh]
    changes.cancelled.extend(
        await followups.cancel_group(redis, facts.contact_id, group, now, reason, keep=keep)
    )
    added = await followups.schedule_many(redis, fresh) if fresh else []
    changes.scheduled.extend(f.id for f, new in zip(fresh, added, strict=True) if new)


async def on_void(redis: Redis, facts: OrderFacts, now: datetime, changes: Changes) -> None:
    """The order was cancelled or refunded: forget its purchases, drop what it scheduled."""
    reason = f"order {facts.order_id} {facts.status}"
    for item in facts.items:
        await purchases.forget(redis, facts.contact_id, item.sku, facts.order_id)
        item_id = reminder(facts.contact_id, item.sku, facts.order_id, facts.at).id
        if await followups.cancel(redis, item_id, now, reason):
            changes.cancelled.append(item_id)
    group = f"{winback_group(facts.contact_id)}:{facts.order_id}"
    changes.cancelled.extend(
        await followups.cancel_group(redis, facts.contact_id, group, now, reason)
    )


async def snooze(
    redis: Redis, contact_id: str, sku: str, now: datetime, rules: FollowupRules
) -> Followup:
    """Remind again in ``snooze_days``; replaces any pending reminder for the product."""
    group = repurchase_group(contact_id, sku)
    await followups.cancel_group(redis, contact_id, group, now, "snoozed")
    due = now + timedelta(days=rules.snooze_days)
    later = reminder(contact_id, sku, f"snooze-{int(to_epoch(now))}", due)
    await followups.schedule(redis, later)
    return later


async def stop(redis: Redis, contact_id: str, sku: str, now: datetime) -> list[str]:
    """No more reminders for ``sku`` to this contact; returns the cancelled ids."""
    await purchases.stop_reminders(redis, contact_id, sku, now)
    group = repurchase_group(contact_id, sku)
    return await followups.cancel_group(redis, contact_id, group, now, "declined by the customer")
