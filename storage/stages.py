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
    query = _StageQuery(pipe, store, to_epoch(now), rules)
    build = _STAGE_BUILDERS.get(stage)
    if build is None:
        raise ValueError(f"unknown stage {stage!r}")
    return build(query)


@dataclass(frozen=True, slots=True)
class _StageQuery:
    """Queues the sorted-set range commands of one stage's set on a pipeline."""

    pipe: Any
    store: Store
    epoch: float
    rules: StageRules

    @property
    def churn_edge(self) -> float:
        return self.epoch - self.rules.churned_days * DAY_S

    @property
    def dormant_edge(self) -> float:
        return self.epoch - self.rules.dormant_days * DAY_S

    def by_score(self, index: str, low: str, high: str) -> str:
        return self.store(lambda dest: self.pipe.zrangestore(dest, index, low, high, byscore=True))

    def recent_buyers(self) -> str:
        return self.by_score(keys.contacts_by_last_order(), f"({self.dormant_edge!r}", "+inf")

    def overdue(self) -> str:
        edge = self.epoch - self.rules.grace_days * DAY_S
        return self.by_score(keys.contacts_by_expected_order(), "-inf", repr(edge))

    def on_time(self, count_low: str, count_high: str) -> str:
        fresh = self.store(
            lambda dest: self.pipe.zdiffstore(dest, [self.recent_buyers(), self.overdue()])
        )
        counted = self.by_score(keys.contacts_by_order_count(), count_low, count_high)
        return self.store(lambda dest: self.pipe.zinterstore(dest, {fresh: 1, counted: 0}))

    def churned(self) -> str:
        return self.by_score(keys.contacts_by_last_order(), "-inf", repr(self.churn_edge))

    def dormant(self) -> str:
        low, high = f"({self.churn_edge!r}", repr(self.dormant_edge)
        return self.by_score(keys.contacts_by_last_order(), low, high)

    def at_risk(self) -> str:
        buyers, late = self.recent_buyers(), self.overdue()
        return self.store(lambda dest: self.pipe.zinterstore(dest, {buyers: 1, late: 0}))

    def first(self) -> str:
        return self.on_time("1", "1")

    def repeat(self) -> str:
        return self.on_time("2", "+inf")

    def prospect(self) -> str:
        inquiries, buyers = keys.contacts_by_first_inquiry(), keys.contacts_by_first_order()
        return self.store(lambda dest: self.pipe.zdiffstore(dest, [inquiries, buyers]))


_STAGE_BUILDERS: dict[Stage, Callable[[_StageQuery], str]] = {
    Stage.CHURNED: _StageQuery.churned,
    Stage.DORMANT: _StageQuery.dormant,
    Stage.AT_RISK: _StageQuery.at_risk,
    Stage.FIRST: _StageQuery.first,
    Stage.REPEAT: _StageQuery.repeat,
    Stage.PROSPECT: _StageQuery.prospect,
}
