"""Order-lifecycle care: what an order's status change schedules and cancels.

The orders code calls :func:`on_order_status` with :class:`OrderFacts` on every
status change (a repeat is harmless: ids are deterministic). Each lifecycle rule
scheduled by the new status is added, every pending message whose rule lists the
new status in ``cancel_on`` is cancelled, and the first status that counts as a
purchase records it and (re)schedules repurchase reminders and win-back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis

from bot.messages import Purpose
from config.catalog import Catalog
from config.followup_rules import FollowupRules, LifecycleRule
from schedules import repurchase
from storage import followups
from storage.followups import Followup
from storage.orders import OrderItem
from storage.timestamps import to_epoch

EXPIRES_AT = "expires_at"
"""Follow-up data field: the epoch after which the item is skipped as ``expired``."""
WAITS_FOR_QUIET_END = "quiet"
"""Follow-up data field: a transactional item that still waits for the end of quiet hours."""
COUNTED = frozenset({"paid", "shipped", "arrived", "delivered", "completed"})
"""Statuses in which an order counts as bought."""
VOIDED = frozenset({"cancelled", "refunded"})
"""Statuses that undo a purchase."""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the follow-up rules need to know about an order that reached ``status`` at ``at``."""

    order_id: str
    contact_id: str
    status: str
    at: datetime
    items: tuple[OrderItem, ...] = ()
    amount: float | None = None
    carrier: str | None = None
    tracking_no: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Changes:
    """Ids scheduled (new) and cancelled by one status change."""

    scheduled: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def order_group(order_id: str) -> str:
    """The group of an order's care messages."""
    return f"order:{order_id}"


def care_followup(facts: OrderFacts, rule: LifecycleRule, catalog: Catalog) -> Followup:
    """The message ``rule`` schedules for the order in ``facts``, with its manners:
    when it expires, and whether it waits for the end of quiet hours."""
    due = facts.at + rule.delay
    manners: dict[str, object] = {EXPIRES_AT: to_epoch(due + rule.expires_after)}
    if not rule.any_hour:
        manners[WAITS_FOR_QUIET_END] = True
    return Followup(
        id=f"{order_group(facts.order_id)}:{rule.name}",
        contact_id=facts.contact_id,
        due_at=due,
        template=rule.name,
        purpose=Purpose(rule.purpose),
        data=order_data(facts, catalog) | manners,
    )


def order_data(facts: OrderFacts, catalog: Catalog) -> dict[str, object]:
    """The order fields templates use; item names are kept only when the catalogue lacks the sku."""
    items = [
        [item.sku, item.quantity] + ([] if catalog.get(item.sku) else [item.name])
        for item in facts.items
    ]
    data = {
        "order_id": facts.order_id,
        "items": items,
        "amount": facts.amount,
        "carrier": facts.carrier,
        "tracking_no": facts.tracking_no,
    }
    return {key: value for key, value in data.items() if value not in (None, "", [])}


async def on_order_status(
    redis: Redis,
    facts: OrderFacts,
    now: datetime,
    rules: FollowupRules,
    catalog: Catalog,
) -> Changes:
    """Schedule and cancel follow-ups for an order that reached ``facts.status``."""
    reason = f"order {facts.order_id} {facts.status}"
    obsolete = [
        f"{order_group(facts.order_id)}:{rule.name}"
        for rule in rules.lifecycle
        if facts.status in rule.cancel_on
    ]
    cancelled = [i for i in obsolete if await followups.cancel(redis, i, now, reason)]
    care = [care_followup(facts, rule, catalog) for rule in rules.scheduled_on(facts.status)]
    added = await followups.schedule_many(redis, care) if care else []
    changes = Changes([f.id for f, new in zip(care, added, strict=True) if new], cancelled)
    if facts.status in COUNTED:
        await repurchase.on_purchase(redis, facts, now, rules, catalog, changes)
    elif facts.status in VOIDED:
        await repurchase.on_void(redis, facts, now, changes)
    return changes
