"""The campaign store: atomic status changes, an audience frozen once, a cursor that only moves
forward by compare-and-set, cron slots taken once."""

from __future__ import annotations

import asyncio

import pytest
from support import FIXED_NOW

from storage import campaigns, keys, optouts
from storage.campaigns import Campaign, Status
from storage.optouts import OptOutCategory

pytestmark = pytest.mark.cluster

DRAFT = Campaign(
    id="K1",
    name="回馈",
    segment="orders>=2",
    when="now",
    texts={"zh-CN": "你好", "en": "Hi"},
    buttons=({"zh-CN": "看看", "en": "Look"},),
    created_at=FIXED_NOW,
)


async def test_a_campaign_round_trips(redis):
    await campaigns.save(redis, DRAFT)
    assert await campaigns.get(redis, "K1") == DRAFT
    assert await campaigns.next_id(redis) == "K1"
    assert [c.id for c in await campaigns.all_campaigns(redis)] == ["K1"]


async def test_only_one_of_two_racing_confirmations_wins(redis):
    await campaigns.save(redis, DRAFT)
    moves = await asyncio.gather(
        *(
            campaigns.transition(redis, "K1", [Status.DRAFT], Status.SENDING, fed=0)
            for _ in range(5)
        )
    )
    assert moves.count(True) == 1
    assert not await campaigns.transition(redis, "K9", [Status.DRAFT], Status.SENDING)


async def test_the_audience_is_frozen_once_without_opted_out_contacts(redis):
    await campaigns.save(redis, DRAFT)
    await optouts.opt_out(redis, "console:b", FIXED_NOW, [OptOutCategory.MARKETING])
    first, second = keys.segment_scratch("t", 1), keys.segment_scratch("t", 2)
    await redis.zadd(first, {"console:a": 1, "console:b": 2, "console:c": 3})
    await redis.zadd(second, {"console:z": 1})

    assert await campaigns.freeze_audience(redis, "K1", first) == 2
    assert await campaigns.freeze_audience(redis, "K1", second) == 2, "the first one stays"
    assert await campaigns.audience_slice(redis, "K1", 0, 10) == ["console:a", "console:c"]
    assert (await campaigns.get(redis, "K1")).opted_out == 1
    assert not await redis.exists(first) and not await redis.exists(second), "scratch keys gone"
    assert await redis.exists(keys.campaign_audience("K1"))


async def test_the_cursor_moves_by_compare_and_set(redis):
    await campaigns.save(redis, DRAFT)
    assert await campaigns.advance(redis, "K1", 0, 20, FIXED_NOW)
    assert not await campaigns.advance(redis, "K1", 0, 20, FIXED_NOW), "someone moved it"
    assert (await campaigns.get(redis, "K1")).fed == 20


async def test_a_slot_is_taken_once(redis):
    taken = await asyncio.gather(
        *(campaigns.claim_slot(redis, "K1", "20261201T0200", 60) for _ in range(3))
    )
    assert taken.count(True) == 1


def test_campaign_item_ids_parse_back():
    assert campaigns.campaign_of_item(DRAFT.item_id("wechat:oA:b")) == ("K1", "wechat:oA:b")
    assert campaigns.campaign_of_item("order:1:shipped") is None
    assert campaigns.campaign_of_item("campaign:K1") is None
