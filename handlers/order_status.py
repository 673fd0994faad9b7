"""Answers "where is my order" from the orders the shop recorded (查件)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from config.i18n import Templates, default_templates
from config.settings import DEFAULT_TZ
from storage.orders import Order, OrderStatus


class OrderStatusAnswers:
    """The status text of a customer's own order: status, carrier, tracking number and
    when it shipped, with times in ``tz`` (the shop's zone)."""

    def __init__(self, templates: Templates | None = None, tz: ZoneInfo = DEFAULT_TZ) -> None:
        self._templates = templates or default_templates()
        self._tz = tz

    def answer(self, order: Order, language: str) -> str:
        """The status text of ``order`` in ``language``."""
        shipped = order.status_times.get(OrderStatus.SHIPPED)
        return self._templates.render(
            f"order_answer_{order.status.value}",
            language,
            order_id=order.id,
            carrier=order.carrier or "-",
            tracking_no=order.tracking_no or "-",
            shipped_at=shipped.astimezone(self._tz).strftime("%m-%d %H:%M") if shipped else "-",
        )
