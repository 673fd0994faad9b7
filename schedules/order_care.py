"""Connects order status events to the follow-up rules (客户关怀, 复购).

:class:`OrderCare` listens to every order event (chat, API) and lets
:func:`schedules.lifecycle.on_order_status` schedule and cancel follow-ups.
Imported orders are history: they schedule nothing, so importing last year's
spreadsheet never messages old customers. A counted order also schedules the
customer's next birthday greeting when their birthday is known.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from config.catalog import Catalog
from config.followup_rules import FollowupRules
from config.settings import DEFAULT_TZ
from schedules import birthday
from schedules.lifecycle import OrderFacts, on_order_status
from storage.orders import OrderEvent

log = logging.getLogger(__name__)
IGNORED_SOURCES = frozenset({"import"})


def facts_from(event: OrderEvent) -> OrderFacts:
    """What the rules need to know about the order in ``event``."""
    order = event.order
    return OrderFacts(
        order_id=order.id,
        contact_id=order.contact_id,
        status=event.status.value,
        at=event.at,
        items=order.items,
        amount=order.amount,
        carrier=order.carrier,
        tracking_no=order.tracking_no,
    )


class OrderCare:
    """An order listener that keeps each order's follow-ups in step with its status."""

    def __init__(
        self,
        redis: Redis,
        rules: FollowupRules,
        catalog: Catalog,
        tz: ZoneInfo = DEFAULT_TZ,
    ) -> None:
        self._redis = redis
        self._rules = rules
        self._catalog = catalog
        self._tz = tz

    async def __call__(self, event: OrderEvent) -> None:
        if event.source in IGNORED_SOURCES:
            return
        changes = await on_order_status(
            self._redis, facts_from(event), event.at, self._rules, self._catalog
        )
        log.info("order %s %s: %s", event.order.id, event.status, changes)
        if event.order.counted:  # An active customer: keep next year's birthday wishes coming.
            await birthday.schedule_next(self._redis, event.order.contact_id, event.at, self._tz)
