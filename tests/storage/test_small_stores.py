"""Dedupe claims, mailboxes and the unanswered list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW

from storage import dedupe, keys, mailbox, unanswered
from storage.unanswered import UNANSWERED_LIMIT

pytestmark = pytest.mark.cluster


async def test_dedupe_claim_is_first_come_and_expires(redis):
    assert await dedupe.claim(redis, "wechat", "123", ttl_s=60, token="first")
    assert not await dedupe.claim(redis, "wechat", "123", ttl_s=60, token="second")
    assert 0 < await redis.ttl(keys.seen_message("wechat", "123")) <= 60
    await dedupe.release(redis, "wechat", "123", token="first")
    assert await dedupe.claim(redis, "wechat", "123", ttl_s=60, token="third")


async def test_a_dedupe_claim_repeated_by_its_holder_is_still_its_own(redis):
    """What a redis-py retry of a claim that already ran does: the same token again."""
    assert await dedupe.claim(redis, "wechat", "124", ttl_s=60, token="mine")
    assert await dedupe.claim(redis, "wechat", "124", ttl_s=60, token="mine")
    assert not await dedupe.claim(redis, "wechat", "124", ttl_s=60, token="theirs")


async def test_only_the_holder_releases_a_dedupe_claim(redis):
    assert await dedupe.claim(redis, "wechat", "125", ttl_s=60, token="mine")
    await dedupe.release(redis, "wechat", "125", token="theirs")
    assert not await dedupe.claim(redis, "wechat", "125", ttl_s=60, token="theirs")


async def test_mailbox_drains_in_order_once(redis):
    await mailbox.push(redis, "console:bob", {"text": "one", "buttons": []})
    await mailbox.push(redis, "console:bob", {"text": "二", "buttons": [["OK", "ok"]]})
    assert [m["text"] for m in await mailbox.drain(redis, "console:bob")] == ["one", "二"]
    assert await mailbox.drain(redis, "console:bob") == []


async def test_unanswered_keeps_newest_first_and_is_capped(redis):
    for minute in range(UNANSWERED_LIMIT + 5):
        when = FIXED_NOW + timedelta(minutes=minute)
        await unanswered.record(redis, "console:x", f"q{minute}", when)
    newest = await unanswered.recent(redis, limit=2)
    assert [q.text for q in newest] == [f"q{UNANSWERED_LIMIT + 4}", f"q{UNANSWERED_LIMIT + 3}"]
    assert await redis.llen(keys.unanswered()) == UNANSWERED_LIMIT
