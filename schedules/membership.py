"""Membership upkeep on every order event: tier, expected next order, the statistics' index.

:class:`MembershipCare` is an order listener (``runtime.order_events``). On each event it
recomputes the contact's tier from their order ledger (lifetime, or the rolling window in
upgrade-and-downgrade mode), stores it, and when it changed schedules a transactional
follow-up ``tier:<contact>:<tier>:<epoch>`` (template ``tier_welcome`` for the first tier,
``tier_upgraded`` or ``tier_downgraded``) that the follow-up dispatcher delivers like any
other, so the customer hears of it through the normal outbound path (opt-outs do not apply,
WeChat's window and templates do). Imported orders update the tier silently. In downgrade
mode the contact is also put on the review index for when their oldest order in the window
leaves it; :func:`review_due` (run by the scheduler) recomputes those.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.messages import Purpose
from config.catalog import Catalog
from config.membership import Basis, Membership, Mode, Tier
from schedules.repurchase import personal_interval
from storage import contacts, followups, job_locks, membership, orders
from storage.followups import Followup
from storage.orders import Order, OrderEvent
from storage.timestamps import Clock, to_epoch, utc_now

log = logging.getLogger(__name__)
SILENT_SOURCES = frozenset({"import"})
"""Order sources whose tier changes are not announced (history)."""
WELCOMED = "tier_welcome"
UPGRADED = "tier_upgraded"
DOWNGRADED = "tier_downgraded"


def tier_value(
    ledger: Mapping[str, tuple[float, datetime]], rules: Membership, now: datetime
) -> float:
    """The spend or points that decide the tier: lifetime, or within the rolling window."""
    since = None
    if rules.mode is Mode.UPGRADE_AND_DOWNGRADE:
        since = now - timedelta(days=rules.window_days)
    amounts = [amount for amount, at in ledger.values() if since is None or at > since]
    if rules.basis is Basis.POINTS:
        return float(sum(math.floor(amount * rules.points_per_unit) for amount in amounts))
    return round(sum(amounts), 2)


def next_review(
    ledger: Mapping[str, tuple[float, datetime]], rules: Membership, now: datetime
) -> datetime | None:
    """When the oldest order inside the rolling window leaves it (downgrade mode only)."""
    if rules.mode is not Mode.UPGRADE_AND_DOWNGRADE:
        return None
    window = timedelta(days=rules.window_days)
    inside = [at for _, at in ledger.values() if at > now - window]
    return min(inside) + window if inside else None


def decide_tier(current: str | None, computed: Tier | None, rules: Membership) -> str | None:
    """The tier to hold: ``computed``, except that upgrade-only mode never goes down."""
    if rules.mode is Mode.UPGRADE_ONLY and rules.rank(current) > rules.rank(
        computed.id if computed else None
    ):
        return current
    return computed.id if computed else None


def expected_order(
    ledger: Mapping[str, tuple[float, datetime]],
    last: Order | None,
    rules: Membership,
    catalog: Catalog,
) -> datetime | None:
    """When the contact's next order is due: their median interval, else the catalogue's
    longest cycle in their last counted order (``last``), else ``expected_cycle_days``."""
    times = sorted(at for _, at in ledger.values())
    if not times:
        return None
    cycle = personal_interval(times)
    if cycle is None and last is not None:
        cycles = [
            product.cycle_days * max(item.quantity, 1)
            for item in last.items
            if (product := catalog.get(item.sku)) and product.cycle_days
        ]
        cycle = timedelta(days=max(cycles)) if cycles else None
    return times[-1] + (cycle or timedelta(days=rules.stages.expected_cycle_days))


def tier_notice(
    contact_id: str,
    old: str | None,
    new: Tier,
    rules: Membership,
    now: datetime,
    *,
    birthday: bool = False,
) -> Followup:
    """The follow-up that tells the customer about their new tier, due at once: a welcome
    for the first tier (reached with a first order), else an upgrade or a downgrade.
    Birthday wishes are listed only when the contact's ``birthday`` is recorded."""
    if old is None:
        template = WELCOMED
    else:
        template = UPGRADED if rules.rank(new.id) > rules.rank(old) else DOWNGRADED
    data = {
        "tier_zh": new.name("zh-CN"),
        "tier_en": new.name("en"),
        "benefits_zh": new.benefit("zh-CN", birthday=birthday),
        "benefits_en": new.benefit("en", birthday=birthday),
    }
    return Followup(
        id=f"tier:{contact_id}:{new.id}:{int(to_epoch(now))}",
        contact_id=contact_id,
        due_at=now,
        template=template,
        purpose=Purpose.TRANSACTIONAL,
        data=data,
    )


async def recompute(
    redis: Redis,
    contact_id: str,
    now: datetime,
    rules: Membership,
    catalog: Catalog,
    *,
    announce: bool = True,
) -> tuple[str | None, str | None]:
    """Recompute and store the contact's tier and expected next order; ``(old, new)`` tier.

    When the tier changed and ``announce``, the customer's notice is scheduled.
    """
    ledger = await orders.ledger(redis, contact_id)
    current = await membership.tier_of(redis, contact_id)
    computed = rules.tier_for(tier_value(ledger, rules, now), len(ledger))
    tier_id = decide_tier(current, computed, rules)
    previous = await membership.set_tier(
        redis, contact_id, tier_id, now, member=rules.is_member(tier_id)
    )
    await membership.set_review(redis, contact_id, next_review(ledger, rules, now))
    latest = max(ledger, key=lambda order_id: ledger[order_id][1]) if ledger else None
    last = await orders.get(redis, latest) if latest else None
    await membership.set_expected_order(
        redis, contact_id, expected_order(ledger, last, rules, catalog)
    )
    new_tier = rules.tier(tier_id)
    if announce and previous != tier_id and new_tier is not None:
        contact = await contacts.get(redis, contact_id)
        birthday = contact is not None and contact.birthday is not None
        notice = tier_notice(contact_id, previous, new_tier, rules, now, birthday=birthday)
        await followups.schedule(redis, notice)
    return previous, tier_id


async def review_due(redis: Redis, now: datetime, rules: Membership, catalog: Catalog) -> int:
    """Recompute the contacts whose rolling window changed by ``now``; returns how many."""
    due = await membership.reviews_due(redis, now)
    for contact_id in due:
        await recompute(redis, contact_id, now, rules, catalog)
    return len(due)


TIER_REVIEW_JOB = "membership:review"
TIER_REVIEW_EVERY_S = 3600
TIER_REVIEW_LOCK_TTL_S = 900


def schedule_tier_reviews(
    scheduler: BaseScheduler,
    redis: Redis,
    rules: Membership,
    catalog: Catalog,
    clock: Clock = utc_now,
) -> Job | None:
    """Run :func:`review_due` hourly in upgrade-and-downgrade mode (None in upgrade-only).

    One process at a time runs a review (:mod:`storage.job_locks`); and
    :func:`storage.membership.set_tier` is a transaction, so only the one that changes a
    tier schedules the notice.
    """
    if rules.mode is not Mode.UPGRADE_AND_DOWNGRADE:
        return None

    async def tick() -> None:
        try:
            await job_locks.run_alone(
                redis,
                TIER_REVIEW_JOB,
                TIER_REVIEW_LOCK_TTL_S,
                lambda: review_due(redis, clock(), rules, catalog),
            )
        except RedisError as exc:
            log.warning("tier review failed: %s", exc)

    return scheduler.add_job(
        tick,
        "interval",
        seconds=TIER_REVIEW_EVERY_S,
        id=TIER_REVIEW_JOB,
        name="review rolling-window tiers",
        replace_existing=True,
    )


class MembershipCare:
    """The order listener that keeps tiers, stages and the order statistics current."""

    def __init__(self, redis: Redis, rules: Membership, catalog: Catalog) -> None:
        self._redis = redis
        self._rules = rules
        self._catalog = catalog

    async def __call__(self, event: OrderEvent) -> None:
        order = event.order
        await membership.index_order(self._redis, order.id, order.placed_at, order.counted)
        old, new = await recompute(
            self._redis,
            order.contact_id,
            event.at,
            self._rules,
            self._catalog,
            announce=event.source not in SILENT_SOURCES,
        )
        if old != new:
            log.info("contact %s tier %s -> %s", order.contact_id, old, new)
