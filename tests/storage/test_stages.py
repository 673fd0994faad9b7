"""Lifecycle stages move with the clock; segments (`stage:`, `tier:`) agree with a brute force."""

from __future__ import annotations

import random

import pytest
from followup_support import T0
from membership_support import RULES, days, place
from support import run_queued

from storage import contacts, keys, membership, segments, stages
from storage.orders import OrderStatus
from storage.segment_parser import SegmentError, parse
from storage.stages import Stage, StageFacts, classify
from storage.timestamps import to_epoch

pytestmark = pytest.mark.cluster

AMY = "console:amy"


async def segment_members(redis, text, now) -> set[str]:
    found = await segments.find(redis, parse(text), now, limit=10_000)
    return set(found.contact_ids)


async def stage_everywhere(redis, contact_id, now) -> Stage | None:
    """The stage from the per-contact lookup, checked against every stage segment."""
    stage = await stages.stage_of(redis, contact_id, now, RULES.stages)
    for candidate in Stage:
        inside = contact_id in await segment_members(redis, f"stage:{candidate}", now)
        assert inside == (candidate is stage), (candidate, stage, now)
    return stage


async def test_a_customer_moves_through_the_stages(redis):
    await contacts.touch(redis, AMY, T0)
    assert await stage_everywhere(redis, AMY, T0) is None, "wrote, never asked"
    await run_queued(redis, membership.record_first_inquiry, AMY, T0)
    assert await stage_everywhere(redis, AMY, T0) is Stage.PROSPECT
    await place(redis, AMY, "A1", 100, T0 + days(1), sku="coffee-1kg")
    assert await stage_everywhere(redis, AMY, T0 + days(1)) is Stage.FIRST
    # One unit of coffee-1kg: the catalogue's 40-day cycle; at risk after 40 + 7 days.
    expected = await redis.zscore(keys.contacts_by_expected_order(), AMY)
    assert expected == to_epoch(T0 + days(41))
    assert await stage_everywhere(redis, AMY, T0 + days(20)) is Stage.FIRST
    await place(redis, AMY, "A2", 100, T0 + days(21))
    assert await stage_everywhere(redis, AMY, T0 + days(21)) is Stage.REPEAT
    # Her own interval is 20 days: next order expected on day 41, at risk from day 48.
    assert await stage_everywhere(redis, AMY, T0 + days(47)) is Stage.REPEAT
    assert await stage_everywhere(redis, AMY, T0 + days(48)) is Stage.AT_RISK
    assert await stage_everywhere(redis, AMY, T0 + days(110)) is Stage.AT_RISK
    assert await stage_everywhere(redis, AMY, T0 + days(111)) is Stage.DORMANT
    assert await stage_everywhere(redis, AMY, T0 + days(200)) is Stage.DORMANT
    assert await stage_everywhere(redis, AMY, T0 + days(201)) is Stage.CHURNED
    await place(redis, AMY, "A3", 100, T0 + days(250))
    assert await stage_everywhere(redis, AMY, T0 + days(250)) is Stage.REPEAT, "won back"


async def test_stage_segments_match_a_brute_force_on_generated_contacts(redis):
    rng = random.Random(8)
    ids = [f"telegram:{n}" for n in range(150)]
    for contact_id in ids:
        await contacts.touch(redis, contact_id, T0)
        if rng.random() < 0.7:
            await run_queued(redis, membership.record_first_inquiry, contact_id, T0)
        for n in range(rng.choice([0, 0, 1, 1, 2, 3])):
            at = T0 + days(rng.randint(0, 400))
            await place(redis, contact_id, f"{contact_id}-{n}", rng.randint(10, 900), at)
    seen: set[Stage | None] = set()
    for now in (T0 + days(150), T0 + days(320), T0 + days(420)):
        expected: dict[Stage | None, set[str]] = {}
        for contact_id in ids:
            stage = await stages.stage_of(redis, contact_id, now, RULES.stages)
            expected.setdefault(stage, set()).add(contact_id)
        for stage in Stage:
            assert await segment_members(redis, f"stage:{stage}", now) == expected.get(stage, set())
        assert await segment_members(redis, "stage:at_risk,dormant", now) == expected.get(
            Stage.AT_RISK, set()
        ) | expected.get(Stage.DORMANT, set())
        seen |= set(expected)
    assert seen >= set(Stage), "the data covers every stage"


def test_classify_boundaries():
    rules = RULES.stages
    now = T0
    last = now.timestamp() - rules.dormant_days * 86_400
    assert classify(StageFacts(None, 1, last, None), now, rules) is Stage.DORMANT
    assert classify(StageFacts(None, 1, last + 1, None), now, rules) is Stage.FIRST
    churn = now.timestamp() - rules.churned_days * 86_400
    assert classify(StageFacts(None, 3, churn, None), now, rules) is Stage.CHURNED
    assert classify(StageFacts(1.0, 0, None, None), now, rules) is Stage.PROSPECT
    assert classify(StageFacts(None, 0, None, None), now, rules) is None


async def test_tier_atom_finds_the_tier_holders(redis):
    for contact_id, amount in (("console:a", 100), ("console:b", 2500), ("console:c", 2100)):
        await contacts.touch(redis, contact_id, T0)
        await place(redis, contact_id, f"{contact_id}-1", amount, T0)
    assert await segment_members(redis, "tier:VIP会员", T0) == {"console:b", "console:c"}
    assert await segment_members(redis, "会员:普通会员,VIP会员 -tier:VIP会员", T0) == {"console:a"}
    assert await segment_members(redis, "tier:VIP会员 stage:first", T0) == {
        "console:b",
        "console:c",
    }


def test_unknown_stage_is_refused():
    with pytest.raises(SegmentError, match="unknown stage"):
        parse("stage:sleepy")
    assert parse("阶段:复购").terms[0].atom.values == ("repeat",)


async def test_an_unpaid_newer_order_does_not_set_the_expected_order(redis):
    await place(redis, AMY, "A1", 100, T0, sku="coffee-1kg")  # 40-day cycle
    await place(redis, AMY, "A2", 100, T0 + days(1), sku="mask-10", status=OrderStatus.UNPAID)
    expected = await redis.zscore(keys.contacts_by_expected_order(), AMY)
    assert expected == to_epoch(T0 + days(40))
