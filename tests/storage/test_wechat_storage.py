"""WeChat storage: the window's quota rules, shared answers, keys that expire."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from support import FIXED_NOW

from storage import keys, send_decisions, wechat_answers, wechat_window
from storage.send_decisions import SendDecision

pytestmark = pytest.mark.cluster

ALICE = "wechat:oAlice"


async def test_window_quotas_do_not_add_up(redis):
    await wechat_window.open_window(redis, ALICE, FIXED_NOW, 5, timedelta(hours=48))
    await wechat_window.consume(redis, ALICE, FIXED_NOW)
    await wechat_window.open_window(redis, ALICE, FIXED_NOW, 3, timedelta(minutes=1))
    window = await wechat_window.get(redis, ALICE)
    assert window.remaining == 4  # the click's 3 do not add to the 4 left
    assert window.expires_at == FIXED_NOW + timedelta(hours=48)  # nor shorten the window


async def test_a_new_message_restores_the_full_quota(redis):
    await wechat_window.open_window(redis, ALICE, FIXED_NOW, 3, timedelta(minutes=1))
    for _ in range(3):
        assert await wechat_window.consume(redis, ALICE, FIXED_NOW)
    assert not await wechat_window.consume(redis, ALICE, FIXED_NOW)
    later = FIXED_NOW + timedelta(minutes=5)
    await wechat_window.open_window(redis, ALICE, later, 5, timedelta(hours=48))
    window = await wechat_window.get(redis, ALICE)
    assert (window.remaining, window.expires_at) == (5, later + timedelta(hours=48))


async def test_expired_window_is_not_consumed(redis):
    await wechat_window.open_window(redis, ALICE, FIXED_NOW, 3, timedelta(minutes=1))
    assert not await wechat_window.consume(redis, ALICE, FIXED_NOW + timedelta(seconds=60))
    assert (await wechat_window.get(redis, ALICE)).remaining == 3


async def test_concurrent_consumers_never_overspend(redis):
    await wechat_window.open_window(redis, ALICE, FIXED_NOW, 5, timedelta(hours=48))
    taken = await asyncio.gather(
        *(wechat_window.consume(redis, ALICE, FIXED_NOW) for _ in range(20))
    )
    assert sum(taken) == 5


async def test_window_key_expires_a_week_after_it_closes(redis):
    await wechat_window.open_window(redis, ALICE, FIXED_NOW, 5, timedelta(hours=48))
    ttl = await redis.ttl(keys.wechat_window(ALICE))
    assert ttl == 48 * 3600 + 7 * 86_400  # relative to the injected clock, not the wall clock


async def test_first_answer_wins_and_is_shared(redis):
    assert await wechat_answers.decide(redis, ALICE, "m1", "hello") == (True, "hello")
    assert await wechat_answers.decide(redis, ALICE, "m1", None) == (False, "hello")
    assert await wechat_answers.wait(redis, ALICE, "m1", 0) == (True, "hello")
    assert await wechat_answers.wait(redis, ALICE, "m2", 0.05) == (False, None)
    assert 0 < await redis.ttl(keys.wechat_answer(ALICE, "m1")) <= wechat_answers.TTL_S


async def test_send_decisions_newest_first_and_capped(redis):
    for n in range(send_decisions.KEEP + 5):
        decision = SendDecision(FIXED_NOW, "marketing", False, "", f"reason {n}")
        await send_decisions.record(redis, ALICE, decision)
    recent = await send_decisions.recent(redis, ALICE, limit=2)
    assert [d.reason for d in recent] == [
        f"reason {send_decisions.KEEP + 4}",
        f"reason {send_decisions.KEEP + 3}",
    ]
    assert await redis.llen(keys.send_decisions(ALICE)) == send_decisions.KEEP
