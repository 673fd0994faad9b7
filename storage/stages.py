"""Lifecycle stages, derived from indexes: never stored, so they never go stale.

===============  ================================================================
``prospect``     asked a question (first-inquiry index) and never bought
``first``        one counted order, not yet overdue
``repeat``       two or more counted orders, not yet overdue
``at_risk``      last order within ``dormant_days`` but past the expected next
                 order (``contacts_by_expected_order``) plus ``grace_days``
``dormant``      last order ``dormant_days`` to ``churned_days`` ago
``churned``      last order more than ``churned_days`` ago
===============  ================================================================

:func:`classify` decides one contact from its scores (for ``/contact``);
:func:`queue_stage` builds the same set with sorted-set range commands for
:mod:`storage.segments` (no scan). Both read the same rules, and a test checks
they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from config.membership import DAY_S, StageRules
from storage import keys
from storage.timestamps import to_epoch


class Stage(StrEnum):
    """Where a contact is in their life as a customer."""

    PROSPECT = "prospect"
    FIRST = "first"
    REPEAT = "repeat"
    AT_RISK = "at_risk"
    DORMANT = "dormant"
    CHURNED = "churned"


STAGE_NAMES: dict[str, Stage] = {stage.value: stage for stage in Stage} | {
    "first_time": Stage.FIRST,
    "new": Stage.FIRST,
    "潜在": Stage.PROSPECT,
    "首购": Stage.FIRST,
    "复购": Stage.REPEAT,
    "流失风险": Stage.AT_RISK,
    "沉睡": Stage.DORMANT,
    "流失": Stage.CHURNED,
}


@dataclass(frozen=True, slots=True)
class StageFacts:
    """The index scores a contact's stage depends on (None where absent)."""

    first_inquiry: float | None
    orders: int
    last_order: float | None
    expected_order: float | None


def classify(facts: StageFacts, now: datetime, rules: StageRules) -> Stage | None:
    """The contact's stage; None for someone who never asked nor bought."""
    epoch = to_epoch(now)
    if facts.last_order is None or facts.orders <= 0:
        return Stage.PROSPECT if facts.first_inquiry is not None else None
    age = epoch - facts.last_order
    if age >= rules.churned_days * DAY_S:
        return Stage.CHURNED
    if age >= rules.dormant_days * DAY_S:
        return Stage.DORMANT
    overdue_at = epoch - rules.grace_days * DAY_S
    if facts.expected_order is not None and facts.expected_order <= overdue_at:
        return Stage.AT_RISK
    return Stage.REPEAT if facts.orders >= 2 else Stage.FIRST


async def stage_of(redis: Redis, contact_id: str, now: datetime, rules: StageRules) -> Stage | None:
    """One contact's stage, from four index lookups."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zscore(keys.contacts_by_first_inquiry(), contact_id)
        pipe.zscore(keys.contacts_by_order_count(), contact_id)
        pipe.zscore(keys.contacts_by_last_order(), contact_id)
        pipe.zscore(keys.contacts_by_expected_order(), contact_id)
        inquiry, count, last, expected = await pipe.execute()
    return classify(StageFacts(inquiry, int(count or 0), last, expected), now, rules)


Store = Callable[[Callable[[str], Any]], str]
"""Queues one command writing a fresh scratch key (passed in) and returns that key."""


def queue_stage(pipe: Any, store: Store, stage: Stage, now: datetime, rules: StageRules) -> str:
    """Queue the commands that put the contacts in ``stage`` into a key; returns it."""
    epoch = to_epoch(now)
    churn_edge = epoch - rules.churned_days * DAY_S
    dormant_edge = epoch - rules.dormant_days * DAY_S
    last_order = keys.contacts_by_last_order()

    def by_score(index: str, low: str, high: str) -> str:
        return store(lambda dest: pipe.zrangestore(dest, index, low, high, byscore=True))

    def recent_buyers() -> str:
        return by_score(last_order, f"({dormant_edge!r}", "+inf")

    def overdue() -> str:
        edge = epoch - rules.grace_days * DAY_S
        return by_score(keys.contacts_by_expected_order(), "-inf", repr(edge))

    def on_time(count_low: str, count_high: str) -> str:
        fresh = store(lambda dest: pipe.zdiffstore(dest, [recent_buyers(), overdue()]))
        counted = by_score(keys.contacts_by_order_count(), count_low, count_high)
        return store(lambda dest: pipe.zinterstore(dest, {fresh: 1, counted: 0}))

    match stage:
        case Stage.CHURNED:
            return by_score(last_order, "-inf", repr(churn_edge))
        case Stage.DORMANT:
            return by_score(last_order, f"({churn_edge!r}", repr(dormant_edge))
        case Stage.AT_RISK:
            buyers, late = recent_buyers(), overdue()
            return store(lambda dest: pipe.zinterstore(dest, {buyers: 1, late: 0}))
        case Stage.FIRST:
            return on_time("1", "1")
        case Stage.REPEAT:
            return on_time("2", "+inf")
        case Stage.PROSPECT:
            inquiries = keys.contacts_by_first_inquiry()
            return store(
                lambda dest: pipe.zdiffstore(dest, [inquiries, keys.contacts_by_first_order()])
            )
    raise ValueError(f"unknown stage {stage!r}")
