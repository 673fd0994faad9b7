"""Orders: items, amount, a status with a time per status, carrier and tracking number.

An order is one JSON string keyed by its id. Writing one is idempotent: the
same change twice leaves everything as it was. Each write also maintains the
contact's purchase ledger (orders that count as bought: paid, shipped,
arrived, delivered, completed) and, from it, the segment indexes: lifetime spend,
number of orders, first and last order time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from storage import durability, keys, order_events
from storage.order_events import StoredEvent
from storage.replies import maybe_text, maybe_texts, text_map, texts
from storage.timestamps import from_epoch, to_epoch


class OrderStatus(StrEnum):
    """Where an order stands."""

    UNPAID = "unpaid"
    PAID = "paid"
    SHIPPED = "shipped"
    ARRIVED = "arrived"
    """At the pickup point or out for delivery (到达)."""
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


_MAIN_LINE = (
    OrderStatus.UNPAID,
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.ARRIVED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)
ANONYMOUS_PREFIX = "erased:"
"""Contact ids of erased contacts, to which their orders stay linked (``erased:<hex>``)."""
CANCELLABLE = frozenset({OrderStatus.UNPAID, OrderStatus.PAID})
REFUNDABLE = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.ARRIVED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    }
)
OPEN = frozenset({OrderStatus.UNPAID, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.ARRIVED})
"""Statuses of an order the customer is still waiting for (查件 answers from these)."""
COUNTED = REFUNDABLE
"""Statuses whose orders count towards spend, order count and purchase dates."""


def can_move(current: OrderStatus, new: OrderStatus) -> bool:
    """True if an order may go from ``current`` to ``new``.

    Forward along unpaid -> paid -> shipped -> arrived -> delivered -> completed (steps may be
    skipped: cash on delivery goes unpaid -> shipped); cancelled from unpaid or
    paid; refunded from paid or later. Cancelled and refunded are final.
    """
    match new:
        case OrderStatus.CANCELLED:
            return current in CANCELLABLE
        case OrderStatus.REFUNDED:
            return current in REFUNDABLE
        case _ if current in _MAIN_LINE:
            return _MAIN_LINE.index(new) > _MAIN_LINE.index(current)
        case _:
            return False


class OrderError(ValueError):
    """A change that cannot be applied; ``field`` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One line of an order."""

    sku: str
    name: str
    quantity: int
    price: float

    @property
    def total(self) -> float:
        """Quantity times price."""
        return round(self.quantity * self.price, 2)


@dataclass(frozen=True, slots=True)
class Order:
    """An order as stored. ``status_times`` has the time each status was reached."""

    id: str
    contact_id: str
    items: tuple[OrderItem, ...]
    amount: float
    status: OrderStatus
    status_times: Mapping[OrderStatus, datetime]
    placed_at: datetime
    carrier: str | None = None
    tracking_no: str | None = None

    @property
    def counted(self) -> bool:
        """True when the order counts as bought (spend, order count, purchase dates)."""
        return self.status in COUNTED


@dataclass(frozen=True, slots=True)
class OrderChange:
    """What a caller wants an order to look like; None leaves a field as it is.

    A new order needs ``contact_id`` and ``items``; its status defaults to unpaid.
    """

    order_id: str
    contact_id: str | None = None
    status: OrderStatus | None = None
    items: tuple[OrderItem, ...] | None = None
    amount: float | None = None
    carrier: str | None = None
    tracking_no: str | None = None
    placed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of :func:`apply`: the order now, and what it was before (None if new)."""

    order: Order
    previous: Order | None
    changed: bool
    event: StoredEvent | None = None
    """The status change's event, stored with the order (None when the status did not move)."""

    @property
    def status_changed(self) -> bool:
        """True when the order is new or its status moved."""
        return self.previous is None or self.previous.status is not self.order.status


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order reached a new status (or was created). One per change, none on a repeat.

    ``source`` is where the change came from (``chat``, ``api``, ``import``): a
    listener may ignore imported history.
    """

    order: Order
    previous_status: OrderStatus | None
    status: OrderStatus
    at: datetime
    source: str = field(default="chat")


OrderListener = Callable[[OrderEvent], Awaitable[None]]
"""Called once per :class:`OrderEvent` (the follow-up engine subscribes one)."""


@dataclass(frozen=True, slots=True)
class PurchaseSummary:
    """A contact's counted orders in figures."""

    orders: int
    spend: float
    first: datetime | None
    last: datetime | None


async def get(redis: Redis, order_id: str) -> Order | None:
    """The order, or None."""
    raw = maybe_text(await redis.get(keys.order(order_id)))
    return _decode(raw) if raw else None


async def orders_of(redis: Redis, contact_id: str, limit: int | None = None) -> list[Order]:
    """The contact's orders, newest first (``limit`` of them if given)."""
    stop = -1 if limit is None else limit - 1
    ids = texts(await redis.zrevrange(keys.contact_orders(contact_id), 0, stop))
    if not ids:
        return []
    raws = maybe_texts(await redis.mget([keys.order(order_id) for order_id in ids]))
    return [_decode(raw) for raw in raws if raw]


CHAT_ORDER_BASE = 10_000_000
"""Chat order ids start at ``O10000001``: eight digits, so customers' order-number
pattern (a letter prefix and 8-20 digits) recognises them when they ask 查件."""


async def next_order_id(redis: Redis) -> str:
    """A new id for an order recorded in chat: ``O10000001``, ``O10000002``, ..."""
    return f"O{CHAT_ORDER_BASE + await redis.incr(keys.order_sequence())}"


async def purchase_summary(redis: Redis, contact_id: str) -> PurchaseSummary:
    """Number of counted orders, lifetime spend, first and last purchase."""
    ledger = _ledger(text_map(await redis.hgetall(keys.contact_order_ledger(contact_id))))
    return _summarise(ledger)


async def ledger(redis: Redis, contact_id: str) -> dict[str, tuple[float, datetime]]:
    """The contact's counted orders: order id -> (amount, placed at)."""
    entries = _ledger(text_map(await redis.hgetall(keys.contact_order_ledger(contact_id))))
    return {order_id: (amount, from_epoch(at)) for order_id, (amount, at) in entries.items()}


async def get_many(redis: Redis, order_ids: list[str]) -> list[Order]:
    """The orders of ``order_ids`` that exist, in that order."""
    if not order_ids:
        return []
    raws = maybe_texts(await redis.mget([keys.order(order_id) for order_id in order_ids]))
    return [_decode(raw) for raw in raws if raw]


async def apply(
    redis: Redis, change: OrderChange, now: datetime, *, source: str = "chat"
) -> Applied:
    """Create or update an order, atomically with its contact's ledger, the indexes and,
    when its status moved (or it is new), its event (:mod:`storage.order_events`).

    Raises :class:`OrderError` for a change that cannot be applied (unknown
    order without contact or items, a moved contact, a forbidden status move).
    Applying the same change twice changes nothing the second time.

    With ``SHOPBOT_REDIS_MIN_REPLICAS`` it returns once replicas hold the order. The
    order is read back after the ``WAIT``: a write that a failover lost (the old
    primary died before its replica had it) is applied again on the new primary.
    """
    while True:
        applied = await _apply_once(redis, change, now, source)
        if not durability.min_replicas():
            return applied
        await durability.barrier(redis)
        stored = maybe_text(await redis.get(keys.order(change.order_id)))
        if stored and _decode(stored) == applied.order:
            return applied


async def _apply_once(redis: Redis, change: OrderChange, now: datetime, source: str) -> Applied:
    order_key = keys.order(change.order_id)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(order_key)
                raw = maybe_text(await pipe.get(order_key))
                previous = _decode(raw) if raw else None
                order = merge(previous, change, now)
                if order == previous:
                    await pipe.reset()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                    return Applied(order, previous, changed=False)
                ledger_key = keys.contact_order_ledger(order.contact_id)
                await pipe.watch(ledger_key)
                ledger = _ledger(text_map(await pipe.hgetall(ledger_key)))
                event = _event(order, previous, now, source)
                pipe.multi()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                _queue_write(pipe, order, ledger)
                if event is not None:
                    order_events.queue_add(pipe, event)
                await pipe.execute()
                return Applied(order, previous, changed=True, event=event)
            except WatchError:
                continue


def _event(order: Order, previous: Order | None, now: datetime, source: str) -> StoredEvent | None:
    """The event of the change from ``previous`` to ``order``: None when the status stayed,
    and for an erased contact's order (there is no one to tell)."""
    if previous is not None and previous.status is order.status:
        return None
    if is_anonymous(order.contact_id):
        return None
    return StoredEvent(
        order_events.event_id(order.id, order.status.value),
        _encode(order),
        previous.status.value if previous else None,
        order.status.value,
        now,
        source,
    )


def decode(raw: str) -> Order:
    """An order from its stored JSON (an event carries the order this way)."""
    return _decode(raw)


def merge(previous: Order | None, change: OrderChange, now: datetime) -> Order:
    """The order ``change`` turns ``previous`` into (validated); pure."""
    at = from_epoch(to_epoch(now))
    if previous is None:
        return _create(change, at)
    # An erased contact's order stays anonymous: the contact a shop's system sends is ignored.
    moved = change.contact_id is not None and change.contact_id != previous.contact_id
    if moved and not is_anonymous(previous.contact_id):
        raise OrderError("contact", f"order {previous.id} belongs to {previous.contact_id}")
    status = change.status or previous.status
    times = dict(previous.status_times)
    if status is not previous.status:
        if not can_move(previous.status, status):
            raise OrderError("status", f"cannot go from {previous.status} to {status}")
        times[status] = at
    items = previous.items if change.items is None else change.items
    amount = _amount(items, change.amount) if change.items or change.amount else previous.amount
    return replace(
        previous,
        items=items,
        amount=amount,
        status=status,
        status_times=times,
        placed_at=_exact(change.placed_at) or previous.placed_at,
        carrier=change.carrier or previous.carrier,
        tracking_no=change.tracking_no or previous.tracking_no,
    )


def _create(change: OrderChange, at: datetime) -> Order:
    if not change.contact_id:
        raise OrderError("contact", f"order {change.order_id} is new and needs a contact")
    if not change.items:
        raise OrderError("items", f"order {change.order_id} is new and needs items")
    status = change.status or OrderStatus.UNPAID
    placed = _exact(change.placed_at) or at
    return Order(
        id=change.order_id,
        contact_id=change.contact_id,
        items=change.items,
        amount=_amount(change.items, change.amount),
        status=status,
        status_times={status: at},
        placed_at=placed,
        carrier=change.carrier,
        tracking_no=change.tracking_no,
    )


def _exact(moment: datetime | None) -> datetime | None:
    """``moment`` at the precision Redis keeps, so a stored order compares equal."""
    return from_epoch(to_epoch(moment)) if moment else None


def _amount(items: tuple[OrderItem, ...], given: float | None) -> float:
    return round(given if given is not None else sum(item.total for item in items), 2)


def _queue_write(pipe: Any, order: Order, ledger: dict[str, tuple[float, float]]) -> None:
    contact_id = order.contact_id
    pipe.set(keys.order(order.id), _encode(order))
    if is_anonymous(contact_id):
        return  # An erased contact's order: no indexes, no ledger (see anonymise).
    pipe.zadd(keys.contact_orders(contact_id), {order.id: to_epoch(order.placed_at)})
    ledger_key = keys.contact_order_ledger(contact_id)
    if order.counted:
        ledger[order.id] = (order.amount, to_epoch(order.placed_at))
        entry = {"amount": order.amount, "at": to_epoch(order.placed_at)}
        pipe.hset(ledger_key, order.id, json.dumps(entry))
    else:
        ledger.pop(order.id, None)
        pipe.hdel(ledger_key, order.id)
    summary = _summarise(ledger)
    indexes = {
        keys.contacts_by_spend(): summary.spend,
        keys.contacts_by_order_count(): summary.orders,
        keys.contacts_by_first_order(): summary.first and to_epoch(summary.first),
        keys.contacts_by_last_order(): summary.last and to_epoch(summary.last),
    }
    for key, score in indexes.items():
        if summary.orders:
            pipe.zadd(key, {contact_id: score})
        else:
            pipe.zrem(key, contact_id)


def is_anonymous(contact_id: str) -> bool:
    """True for the anonymous id an erased contact's orders are linked to."""
    return contact_id.startswith(ANONYMOUS_PREFIX)


async def anonymise(redis: Redis, order_ids: list[str], anonymous_id: str) -> int:
    """Link the orders to ``anonymous_id`` and drop their personal fields (carrier, tracking
    number); items, amount, status and times stay for the shop's figures. Returns how many.

    The contact's order indexes and ledger are the caller's to delete (they are the contact's).
    """
    changed = 0
    for order in await get_many(redis, order_ids):
        anonymous = replace(order, contact_id=anonymous_id, carrier=None, tracking_no=None)
        await redis.set(keys.order(order.id), _encode(anonymous))
        changed += 1
    return changed


def _ledger(raw: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    entries = {order_id: json.loads(value) for order_id, value in raw.items()}
    return {order_id: (float(e["amount"]), float(e["at"])) for order_id, e in entries.items()}


def _summarise(ledger: Mapping[str, tuple[float, float]]) -> PurchaseSummary:
    if not ledger:
        return PurchaseSummary(0, 0.0, None, None)
    times = [at for _, at in ledger.values()]
    spend = round(sum(amount for amount, _ in ledger.values()), 2)
    return PurchaseSummary(len(ledger), spend, from_epoch(min(times)), from_epoch(max(times)))


def _encode(order: Order) -> str:
    return json.dumps(
        {
            "id": order.id,
            "contact": order.contact_id,
            "items": [[i.sku, i.name, i.quantity, i.price] for i in order.items],
            "amount": order.amount,
            "status": order.status.value,
            "times": {status.value: to_epoch(at) for status, at in order.status_times.items()},
            "placed_at": to_epoch(order.placed_at),
            "carrier": order.carrier,
            "tracking_no": order.tracking_no,
        },
        ensure_ascii=False,
    )


def _decode(raw: str) -> Order:
    data = json.loads(raw)
    return Order(
        id=data["id"],
        contact_id=data["contact"],
        items=tuple(
            OrderItem(sku, name, int(qty), float(price)) for sku, name, qty, price in data["items"]
        ),
        amount=float(data["amount"]),
        status=OrderStatus(data["status"]),
        status_times={OrderStatus(s): from_epoch(at) for s, at in data["times"].items()},
        placed_at=from_epoch(data["placed_at"]),
        carrier=data.get("carrier"),
        tracking_no=data.get("tracking_no"),
    )
