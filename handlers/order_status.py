"""Answers "where is my order" from the orders the shop recorded (查件)."""

from __future__ import annotations

from redis.asyncio import Redis

from config.i18n import Templates, default_templates
from storage import orders


class OrderStatusAnswers:
    """The order-question handler's lookup: the status text of a customer's own order."""

    def __init__(self, templates: Templates | None = None) -> None:
        self._templates = templates or default_templates()

    async def __call__(
        self, redis: Redis, contact_id: str, order_number: str, language: str
    ) -> str | None:
        """The order's status in ``language``; None if unknown or someone else's."""
        order = await orders.get(redis, order_number)
        if order is None or order.contact_id != contact_id:
            return None
        return self._templates.render(
            f"order_answer_{order.status.value}",
            language,
            order_id=order.id,
            carrier=order.carrier or "-",
            tracking_no=order.tracking_no or "-",
        )
