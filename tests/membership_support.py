"""Helpers for membership tests: orders applied and fed to the membership listener."""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from config.catalog import default_catalog
from config.membership import Membership, membership_from
from schedules.membership import MembershipCare
from storage import orders
from storage.orders import OrderChange, OrderEvent, OrderItem, OrderStatus

RULES = membership_from(None)
TEA = "tea-250g"


async def place(
    redis: Redis,
    contact_id: str,
    order_id: str,
    amount: float,
    at: datetime,
    *,
    status: OrderStatus = OrderStatus.PAID,
    rules: Membership = RULES,
    source: str = "chat",
    sku: str = TEA,
) -> None:
    """Apply an order change at ``at`` and hand its event to :class:`MembershipCare`."""
    change = OrderChange(
        order_id,
        contact_id=contact_id,
        status=status,
        items=(OrderItem(sku, "Tea", 1, amount),),
        amount=amount,
        placed_at=at,
    )
    applied = await orders.apply(redis, change, at)
    if applied.status_changed:
        previous = applied.previous.status if applied.previous else None
        event = OrderEvent(applied.order, previous, applied.order.status, at, source)
        await MembershipCare(redis, rules, default_catalog())(event)


async def move(
    redis: Redis,
    order_id: str,
    status: OrderStatus,
    at: datetime,
    *,
    rules: Membership = RULES,
) -> None:
    """Move an existing order to ``status`` at ``at`` and hand the event on."""
    applied = await orders.apply(redis, OrderChange(order_id, status=status), at)
    previous = applied.previous.status if applied.previous else None
    event = OrderEvent(applied.order, previous, status, at, "chat")
    await MembershipCare(redis, rules, default_catalog())(event)


def days(n: float) -> timedelta:
    """``n`` days."""
    return timedelta(days=n)
