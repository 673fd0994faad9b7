"""Which of the customer's own orders a request without an order number is about.

查件 from a customer with one open order, or right after a shipped (or arrived) notice,
is about that order; a cancel is about an order not shipped yet; a return about one
delivered. Several candidates are offered as buttons ``order:<intent>:<order id>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from redis.asyncio import Redis

from bot import payloads
from bot.messages import Button
from config.placeholders import fill
from storage import followups, orders
from storage.followups import State
from storage.orders import Order, OrderStatus

NOTICES = frozenset({"shipped", "arrived"})
"""Follow-up rules after which 查件 means "that order"."""
CANDIDATE_STATUSES: Mapping[str, frozenset[OrderStatus]] = {
    "where_is_order": orders.OPEN,
    "cancel": orders.CANCELLABLE,
    "return": frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED}),
}
"""Intents answered from the customer's orders, and the statuses each may be about."""
MAX_BUTTONS = 5


def understands(intent_name: str) -> bool:
    """True when requests of ``intent_name`` may be answered from the customer's orders."""
    return intent_name in CANDIDATE_STATUSES


async def candidates(
    redis: Redis, contact_id: str, intent_name: str, now: datetime, context: timedelta
) -> list[Order]:
    """The orders a request of ``intent_name`` may be about, newest first.

    For 查件, the order of a shipped or arrived notice sent within ``context`` comes
    alone, whatever else is open.
    """
    statuses = CANDIDATE_STATUSES.get(intent_name, frozenset())
    if intent_name == "where_is_order":
        noticed = await _recently_noticed(redis, contact_id, now, context)
        if noticed is not None and noticed.status in statuses:
            return [noticed]
    return [
        order for order in await orders.orders_of(redis, contact_id) if order.status in statuses
    ]


async def _recently_noticed(
    redis: Redis, contact_id: str, now: datetime, context: timedelta
) -> Order | None:
    newest: tuple[datetime, str] | None = None
    for record in await followups.of_contact(redis, contact_id):
        sent_at = record.finished_at
        if record.state is not State.SENT or sent_at is None or now - sent_at > context:
            continue
        order_id = record.followup.data.get("order_id")
        if record.followup.template in NOTICES and order_id and (not newest or sent_at > newest[0]):
            newest = (sent_at, str(order_id))
    if newest is None:
        return None
    order = await orders.get(redis, newest[1])
    return order if order and order.contact_id == contact_id else None


def choice_buttons(intent_name: str, found: list[Order], label: str) -> tuple[Button, ...]:
    """One button per order (at most ``MAX_BUTTONS``); ``label`` formats ``order_id``, ``items``."""
    return tuple(
        Button(
            fill(label, {"order_id": order.id, "items": _items(order)}),
            payloads.order(intent_name, order.id),
        )
        for order in found[:MAX_BUTTONS]
    )


def pressed(payload: str | None) -> tuple[str, str] | None:
    """``(intent name, order id)`` of a pressed order button, else None."""
    match payloads.parse(payload):
        case payloads.OrderPayload(intent_name, order_id) if understands(intent_name):
            return intent_name, order_id
        case _:
            return None


def _items(order: Order) -> str:
    return "、".join(item.name for item in order.items[:2]) + ("…" if len(order.items) > 2 else "")
