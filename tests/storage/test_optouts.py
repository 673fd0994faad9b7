"""Opt-outs per category, with a reverse index for audiences."""

from __future__ import annotations

import pytest
from support import FIXED_NOW

from storage import keys
from storage.optouts import OptOutCategory, is_opted_out, opt_in, opt_out, opt_outs_of

pytestmark = pytest.mark.cluster


async def test_opt_out_and_back_in(redis):
    await opt_out(redis, "wechat:o1", FIXED_NOW)
    assert await is_opted_out(redis, "wechat:o1", OptOutCategory.MARKETING)
    assert await is_opted_out(redis, "wechat:o1", OptOutCategory.REPURCHASE)
    [first, _] = await opt_outs_of(redis, "wechat:o1")
    assert (first.channel, first.opted_out_at) == ("wechat", FIXED_NOW)
    assert await redis.smembers(keys.optout_members("marketing")) == {"wechat:o1"}

    await opt_in(redis, "wechat:o1", [OptOutCategory.MARKETING])
    assert not await is_opted_out(redis, "wechat:o1", OptOutCategory.MARKETING)
    assert await is_opted_out(redis, "wechat:o1", OptOutCategory.REPURCHASE)
    assert await redis.smembers(keys.optout_members("marketing")) == set()
