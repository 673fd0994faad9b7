"""The one way an order is recorded, whether it comes from chat, the HTTP API or a spreadsheet.

Every source turns what it got into the API's body shape (a mapping) and calls
:func:`record_order`, which validates it (:class:`~storage.orders.OrderError`
names the bad field), creates the contact if it never wrote, applies the change
idempotently and emits one :class:`~storage.orders.OrderEvent` per status change.

The event is stored with the order (:mod:`storage.order_events`) and delivered to
each listener until every one has taken it: a listener that raises is called again
by the next repeat of the same change or by :func:`redeliver_pending` (a scheduled
job), and one that succeeded is not called again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.messages import ContactRef
from config.catalog import Catalog
from storage import contacts, order_events, orders
from storage.order_events import StoredEvent
from storage.orders import (
    OrderChange,
    OrderError,
    OrderEvent,
    OrderItem,
    OrderListener,
    OrderStatus,
)

log = logging.getLogger(__name__)

MAX_DELIVERIES = 20
"""Deliveries of an event a listener keeps failing before it is given up (about ten minutes
of the redelivery job)."""
BODY_FIELDS = frozenset(
    {"id", "contact", "status", "items", "amount", "carrier", "tracking_no", "placed_at"}
)
ITEM_FIELDS = frozenset({"sku", "name", "qty", "quantity", "price"})
_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


class OrderEvents:
    """The listeners order events go to; the follow-up engine subscribes here."""

    def __init__(self) -> None:
        self._listeners: list[OrderListener] = []

    def subscribe(self, listener: OrderListener) -> None:
        """Call ``listener`` for every future order event."""
        self._listeners.append(listener)

    def __iter__(self) -> Iterator[OrderListener]:
        return iter(tuple(self._listeners))


@dataclass(frozen=True, slots=True)
class Recorded:
    """What :func:`record_order` did: the order now, whether anything changed, the event."""

    order: orders.Order
    changed: bool
    event: OrderEvent | None


async def record_order(
    redis: Redis,
    body: Mapping[str, Any],
    *,
    now: datetime,
    catalog: Catalog,
    language: str,
    tz: ZoneInfo,
    source: str,
    listeners: Iterable[OrderListener] = (),
) -> Recorded:
    """Validate ``body`` and apply it; raises :class:`OrderError` naming the bad field.

    The event is stored with the order, then goes to every listener; a failing
    listener is logged, does not undo the order or stop the others, and is retried
    (see the module's docstring). An erased contact's order
    (:func:`storage.orders.is_anonymous`) has no event.
    """
    change = parse_body(body, catalog=catalog, language=language, tz=tz)
    if change.contact_id and not await _of_erased_contact(redis, change.order_id):
        await contacts.ensure(redis, change.contact_id, now)
    applied = await orders.apply(redis, change, now, source=source)
    if applied.event is not None:
        await deliver(redis, applied.event, listeners)
        return Recorded(applied.order, applied.changed, _order_event(applied.event))
    if not applied.changed:  # A repeat: its event may still wait for a listener.
        stored = await order_events.get(
            redis, order_events.event_id(applied.order.id, applied.order.status.value)
        )
        if stored is not None:
            await deliver(redis, stored, listeners)
    return Recorded(applied.order, applied.changed, None)


async def deliver(redis: Redis, stored: StoredEvent, listeners: Iterable[OrderListener]) -> bool:
    """Give the event to each listener that has not taken it yet; True when all have.

    A listener that raises is logged and left for the next delivery; the others go on.
    After ``MAX_DELIVERIES`` failed deliveries the event is given up (logged as an error).
    """
    event = _order_event(stored)
    done = await order_events.done_listeners(redis, stored.id)
    complete = True
    for name, listener in named(listeners):
        if name in done:
            continue
        try:
            await listener(event)
        except Exception:
            log.exception("order listener %s failed on %s", name, stored.id)
            complete = False
            continue
        await order_events.mark_done(redis, stored.id, name)
    if complete:
        await order_events.finish(redis, stored.id)
    elif await order_events.count_failure(redis, stored.id) >= MAX_DELIVERIES:
        log.error("order event %s given up after %d deliveries", stored.id, MAX_DELIVERIES)
        await order_events.finish(redis, stored.id)
    return complete


async def redeliver_pending(
    redis: Redis, listeners: Iterable[OrderListener], written_before: datetime
) -> int:
    """Deliver again every event written before ``written_before`` that some listener has
    not taken; returns how many are now complete."""
    complete = 0
    for stored in await order_events.pending(redis, written_before):
        complete += await deliver(redis, stored, listeners)
    return complete


def named(listeners: Iterable[OrderListener]) -> list[tuple[str, OrderListener]]:
    """Each listener with a stable name (its function's or class's qualified name;
    a repeat gets ``#2``, ``#3``), under which its deliveries are remembered."""
    seen: dict[str, int] = {}
    pairs = []
    for listener in listeners:
        base = getattr(listener, "__qualname__", type(listener).__qualname__)
        seen[base] = seen.get(base, 0) + 1
        pairs.append((base if seen[base] == 1 else f"{base}#{seen[base]}", listener))
    return pairs


def _order_event(stored: StoredEvent) -> OrderEvent:
    previous = OrderStatus(stored.previous_status) if stored.previous_status else None
    order = orders.decode(stored.order_json)
    return OrderEvent(order, previous, OrderStatus(stored.status), stored.at, stored.source)


async def _of_erased_contact(redis: Redis, order_id: str) -> bool:
    """True when the order exists and its contact was erased (it must not come back)."""
    existing = await orders.get(redis, order_id)
    return existing is not None and orders.is_anonymous(existing.contact_id)


def parse_body(
    body: Mapping[str, Any], *, catalog: Catalog, language: str, tz: ZoneInfo
) -> OrderChange:
    """Turn an API-shaped body into an :class:`OrderChange`, or raise :class:`OrderError`."""
    if not isinstance(body, Mapping):
        raise OrderError("body", "must be a JSON object")
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise OrderError(unknown[0], "unknown field")
    return OrderChange(
        order_id=_order_id(body.get("id")),
        contact_id=_contact(body.get("contact")),
        status=_status(body.get("status")),
        items=_items(body.get("items"), catalog, language),
        amount=_number(body.get("amount"), "amount"),
        carrier=_text(body.get("carrier"), "carrier"),
        tracking_no=_text(body.get("tracking_no"), "tracking_no"),
        placed_at=_moment(body.get("placed_at"), tz),
    )


def _order_id(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not _ORDER_ID.match(text):
        raise OrderError("id", "required: letters, digits and _.:- (at most 64)")
    return text


def _contact(value: Any) -> str | None:
    if _blank(value):
        return None
    try:
        return ContactRef.parse(str(value)).id
    except ValueError:
        raise OrderError("contact", "must be channel:id, e.g. wechat:oABC") from None


def _status(value: Any) -> OrderStatus | None:
    if _blank(value):
        return None
    try:
        return OrderStatus(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(OrderStatus)
        raise OrderError("status", f"must be one of {allowed}") from None


def _items(value: Any, catalog: Catalog, language: str) -> tuple[OrderItem, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise OrderError("items", "must be a non-empty list")
    return tuple(_item(raw, f"items[{n}]", catalog, language) for n, raw in enumerate(value))


def _item(raw: Any, where: str, catalog: Catalog, language: str) -> OrderItem:
    if not isinstance(raw, Mapping):
        raise OrderError(where, "must be an object with sku, qty, price")
    unknown = sorted(set(raw) - ITEM_FIELDS)
    if unknown:
        raise OrderError(f"{where}.{unknown[0]}", "unknown field")
    sku = _text(raw.get("sku"), f"{where}.sku")
    if not sku:
        raise OrderError(f"{where}.sku", "required")
    product = catalog.get(sku)
    quantity = _number(raw.get("qty", raw.get("quantity", 1)), f"{where}.qty")
    if quantity is None or quantity != int(quantity) or quantity < 1:
        raise OrderError(f"{where}.qty", "must be a whole number of at least 1")
    price = _number(raw.get("price"), f"{where}.price")
    if price is None and product is not None:
        price = product.price
    if price is None:
        raise OrderError(f"{where}.price", f"required: {sku} is not in the catalogue")
    name = _text(raw.get("name"), f"{where}.name")
    return OrderItem(
        sku=sku,
        name=name or (product.name(language) if product else sku),
        quantity=int(quantity),
        price=round(price, 2),
    )


def _number(value: Any, field: str) -> float | None:
    if _blank(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OrderError(field, "must be a number") from None
    if number < 0 or number != number:
        raise OrderError(field, "must not be negative")
    return number


def _text(value: Any, field: str) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str | int | float):
        raise OrderError(field, "must be text")
    return str(value).strip()


def _moment(value: Any, tz: ZoneInfo) -> datetime | None:
    """An ISO 8601 time (or a spreadsheet's datetime); a naive one is in the shop's zone."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise OrderError("placed_at", "must be an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
