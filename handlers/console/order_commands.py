"""``/order``: record an order from the catalogue, advance it, show it.

``/order add <ref> <sku> [qty] [price]``, ``/order <id>``, and
``/order <id> paid|shipped <carrier> <tracking>|delivered|completed|cancelled|refunded``.
Everything goes through :func:`handlers.orders.record_order`, like the API and imports.
"""

from __future__ import annotations

from typing import Any

from handlers.console.contact_commands import contact_of, label, order_fields
from handlers.console.framework import Call, Command, Refusal
from handlers.orders import record_order
from storage import contacts, orders
from storage.orders import OrderError, OrderStatus

ADD_WORDS = frozenset({"add", "new", "新增", "添加", "下单"})
STATUS_WORDS: dict[str, OrderStatus] = {
    **{status.value: status for status in OrderStatus},
    "付款": OrderStatus.PAID,
    "已付款": OrderStatus.PAID,
    "发货": OrderStatus.SHIPPED,
    "已发货": OrderStatus.SHIPPED,
    "到达": OrderStatus.ARRIVED,
    "已到达": OrderStatus.ARRIVED,
    "签收": OrderStatus.DELIVERED,
    "已签收": OrderStatus.DELIVERED,
    "完成": OrderStatus.COMPLETED,
    "取消": OrderStatus.CANCELLED,
    "退款": OrderStatus.REFUNDED,
}


async def order(call: Call) -> None:
    """Dispatch on the first word: ``add``, or an order id."""
    words = call.args.split()
    match words:
        case [first, *_] if first.lower() in ADD_WORDS:
            await _add(call)
        case [order_id]:
            await _show(call, order_id)
        case [order_id, status_word, *rest]:
            await _advance(call, order_id, status_word, rest)
        case _:
            raise call.usage()


async def _add(call: Call) -> None:
    call.args = call.args.split(None, 1)[1] if " " in call.args else ""
    contact, rest = await contact_of(call, need_more=True)
    sku, *numbers = rest
    if len(numbers) > 2:
        raise call.usage()
    item: dict[str, Any] = {"sku": sku}
    if numbers:
        item["qty"] = numbers[0]
    if len(numbers) == 2:
        item["price"] = numbers[1]
    order_id = await orders.next_order_id(call.ctx.redis)
    await _record(call, {"id": order_id, "contact": contact.id, "items": [item]})


async def _advance(call: Call, order_id: str, status_word: str, rest: list[str]) -> None:
    status = STATUS_WORDS.get(status_word.lower())
    if status is None:
        raise call.usage()
    body: dict[str, Any] = {"id": order_id, "status": status.value}
    match rest:
        case []:
            pass
        case [carrier, tracking_no] if status is OrderStatus.SHIPPED:
            body |= {"carrier": carrier, "tracking_no": tracking_no}
        case _:
            raise call.usage()
    if await orders.get(call.ctx.redis, order_id) is None:
        raise Refusal("console_no_order", id=order_id)
    await _record(call, body)


async def _record(call: Call, body: dict[str, Any]) -> None:
    settings = call.ctx.settings
    try:
        recorded = await record_order(
            call.ctx.redis,
            body,
            now=call.now,
            catalog=call.services.catalog,
            language=call.language,
            tz=settings.tz,
            source="chat",
            listeners=call.services.order_listeners,
        )
    except OrderError as exc:
        raise Refusal("console_order_error", field=exc.field, error=exc.message) from None
    call.target = recorded.order.contact_id
    key = "console_order_recorded" if recorded.changed else "console_order_unchanged"
    call.reply(key, **order_fields(call, recorded.order))


async def _show(call: Call, order_id: str) -> None:
    found = await orders.get(call.ctx.redis, order_id)
    if found is None:
        raise Refusal("console_no_order", id=order_id)
    call.target = found.contact_id
    contact = await contacts.get(call.ctx.redis, found.contact_id)
    history = " → ".join(
        f"{call.render(f'order_status_{status.value}')} {call.when(at)}"
        for status, at in sorted(found.status_times.items(), key=lambda pair: pair[1])
    )
    items = "\n".join(
        f"- {i.sku} {i.name} x{i.quantity} @ {call.money(i.price)}" for i in found.items
    )
    call.reply(
        "console_order_card",
        **order_fields(call, found),
        contact=label(contact) if contact else found.contact_id,
        lines=items,
        history=history,
        shipping=" ".join(filter(None, (found.carrier, found.tracking_no))) or "-",
    )


COMMANDS = (Command("order", order, "help_order", aliases=("订单",)),)
