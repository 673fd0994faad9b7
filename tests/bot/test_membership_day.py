"""The issue's end goal in-process: a customer's tier changes after an order and they are told;
they rate the service; the owner reads /stats and gets the chart in the terminal."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.terminal import ChatSession
from bot.messages import ContactRef

OWNER = ContactRef("console", "owner")
AMY = ContactRef("console", "amy")


@pytest.fixture
def shop(shop_day):
    return shop_day.runtime, shop_day.clock, shop_day.say, shop_day.mail, shop_day.followups


async def order(say, text: str) -> str:
    [recorded] = await say(OWNER, f"/order add C1 {text}")
    order_id = recorded.split()[1]
    await say(OWNER, f"/order {order_id} paid")
    return order_id


async def test_tier_notice_rating_stats_and_chart(shop, settings):
    runtime, clock, say, inbox, followups = shop
    await say(AMY, "hello, do you sell tea?")

    await order(say, "tea-250g 10")  # 590: straight to 高级会员
    await followups.run_due(clock.now)
    texts = [mail["text"] for mail in await inbox(AMY)]
    [notice] = [t for t in texts if "Welcome to Shopbot as a Silver member" in t]  # first order
    assert "Silver member" in notice and "5% off everything" in notice

    clock.now += timedelta(days=3)
    await order(say, "tea-500g 20")  # +2180: VIP会员
    await followups.run_due(clock.now)
    texts = [mail["text"] for mail in await inbox(AMY)]
    assert any("VIP member" in t and "10% off everything" in t for t in texts)
    [card] = await say(OWNER, "/contact C1")
    assert "Membership: VIP member · stage: repeat buyer" in card
    [found] = await say(OWNER, "/find tier:VIP会员 stage:repeat")
    assert "1" in found and "C1" in found

    [opened] = await say(AMY, "I want to return order 202611220001")
    ticket_id = next(word for word in opened.split() if word.startswith("T10"))[:5]
    clock.now += timedelta(minutes=30)
    await say(OWNER, f"/reply {ticket_id} Please send it back, we pay the postage")
    await say(OWNER, f"/close {ticket_id}")
    ask = [mail for mail in await inbox(AMY) if mail["buttons"]]
    assert [payload for _, payload in ask[-1]["buttons"]][4] == f"rate:5:{ticket_id}"
    [thanks] = await say(AMY, "5")
    assert "5/5" in thanks

    [stats] = await say(OWNER, "/stats 7d")
    assert "Last 7 days" in stats
    assert "Orders: 2, sales ¥2,770.00, buyers 1, repeat orders 1, repurchase rate 100.0%" in stats
    assert "tickets opened 1, closed 1, median first response 30m" in stats
    assert "average 5.00 (1 ratings)" in stats
    assert "Members (Silver member and up): 1, new-member rate -" in stats
    assert "members' share of sales 78.7%" in stats, "the VIP order came after joining"
    assert "member activity 100.0%" in stats

    out = io.StringIO()
    session = ChatSession(OWNER, runtime.receive, runtime.redis, out, clock)
    await session.say("/stats chart")
    printed = out.getvalue()
    assert "[chart: " in printed
    path = Path(printed.split("[chart: ")[1].split("]")[0])
    assert path.parent == settings.data_dir / "charts"
    assert (await asyncio.to_thread(path.read_bytes))[:8] == b"\x89PNG\r\n\x1a\n"
