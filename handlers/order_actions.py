"""What a customer may do to their own order from chat: cancel it while unpaid, and
learn whether a return is inside the no-reason window (七天无理由)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from bot.context import Context
from config.catalog import default_catalog
from handlers.orders import record_order
from handlers.owner_notice import notify_owners
from storage.orders import Order, OrderListener, OrderStatus

DATE = "%Y-%m-%d"


async def cancel_unpaid(ctx: Context, order: Order, listeners: Iterable[OrderListener]) -> None:
    """Cancel the sender's unpaid ``order``; its reminders go with it, the owners are told."""
    await record_order(
        ctx.redis,
        {"id": order.id, "status": OrderStatus.CANCELLED.value},
        now=ctx.now,
        catalog=default_catalog(),
        language=ctx.settings.language,
        tz=ctx.settings.tz,
        source="chat",
        listeners=listeners,
    )
    ctx.reply(ctx.render("order_cancelled_by_customer", order_id=order.id))
    notify_owners(
        ctx, "owner_order_cancelled_by_customer", order_id=order.id, amount=f"{order.amount:.2f}"
    )


def return_window_text(ctx: Context, order: Order) -> str:
    """Whether a return of ``order`` is inside the no-reason window, counted from delivery."""
    days = ctx.settings.return_no_reason_days
    delivered = order.status_times.get(OrderStatus.DELIVERED)
    if delivered is None:
        return ctx.render("return_window_not_delivered", order_id=order.id, days=days)
    deadline = delivered + timedelta(days=days)
    key = "return_window_inside" if ctx.now <= deadline else "return_window_outside"
    return ctx.render(
        key,
        order_id=order.id,
        days=days,
        delivered_at=delivered.astimezone(ctx.settings.tz).strftime(DATE),
        deadline=deadline.astimezone(ctx.settings.tz).strftime(DATE),
    )
