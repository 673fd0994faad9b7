"""The owner runs a win-back campaign from the console, end to end, in-process on real Redis.

Repeat buyers who have not ordered in 30 days get it; the owner previews it (with
a test message), sends it with a confirmation, watches its progress, and sees
the replies and orders it brought.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.messages import ContactRef, MessageKind
from config.catalog import default_catalog
from handlers.orders import record_order
from schedules.campaigns import CampaignRunner

OWNER = ContactRef("console", "owner")
AMY, BOB, CARL, DAVE, EVE = (
    ContactRef("console", name) for name in ("amy", "bob", "carl", "dave", "eve")
)
WIN_BACK = (
    "/campaign new 老客回购 | orders>=2 lastorder>30d | now | "
    "{name}，好久不见！老客户专享9折 | Hi {name}, 10% off for you | 看看/Show me"
)


@pytest.fixture
def shop(shop_day, settings, redis):
    clock, runtime = shop_day.clock, shop_day.runtime

    async def buy(who: ContactRef, order_id: str, days_ago: float, source: str) -> None:
        body = {"id": order_id, "contact": who.id, "status": "paid"}
        body["items"] = [{"sku": "tea-250g", "qty": 1}]
        await record_order(
            redis,
            body,
            now=clock.now - timedelta(days=days_ago),
            catalog=default_catalog(),
            language="zh-CN",
            tz=settings.tz,
            source=source,
            listeners=runtime.order_events,
        )

    campaigns = CampaignRunner.from_settings(redis, settings, runtime.delivery)
    return clock, shop_day.say, shop_day.mail, buy, shop_day.followups, campaigns


async def test_owner_wins_back_repeat_buyers_and_watches_the_results(shop):
    clock, say, inbox, buy, followups, campaigns = shop
    for who, name in ((AMY, "Amy"), (BOB, "Bob"), (CARL, "Carl"), (DAVE, "Dave"), (EVE, "Eve")):
        await say(who, f"hi, I am {name}", display_name=name)
    for who, ages in (
        (AMY, (60, 45)),
        (BOB, (90, 31)),
        (CARL, (50, 10)),
        (DAVE, (40,)),
        (EVE, (70, 35)),
    ):
        for n, days_ago in enumerate(ages):
            await buy(who, f"{who.external_id}-{n}", days_ago, source="import")
    await say(EVE, "TD")  # Eve opted out of marketing.
    await inbox(EVE)

    [created] = await say(OWNER, WIN_BACK)
    assert "K1" in created

    summary, *tests = await say(OWNER, "/campaign preview K1")
    assert "3" in summary.splitlines()[1], "Amy, Bob and Eve match"
    assert "2" in summary.splitlines()[2], "Eve is left out"
    assert any("10% off" in text or "9折" in text for text in tests), "a test send to the owner"
    assert await inbox(AMY) == [], "a preview sends nothing to customers"

    [asked] = await say(OWNER, "/campaign send K1")
    assert "/campaign confirm K1" in asked
    await campaigns.tick(clock.now + timedelta(minutes=5))
    assert await inbox(AMY) == [], "nothing goes out before the confirmation"

    await say(OWNER, "/campaign confirm K1")
    clock.now += timedelta(minutes=1)
    assert (await campaigns.tick(clock.now)) == {"K1": 2}
    await followups.run_due(clock.now)

    [amy_got] = await inbox(AMY)
    assert amy_got["text"] == "Hi Amy, 10% off for you"
    assert amy_got["buttons"] == [["Show me", "campaign:K1:1"]]
    assert len(await inbox(BOB)) == 1
    assert await inbox(CARL) == await inbox(DAVE) == await inbox(EVE) == []

    clock.now += timedelta(hours=2)
    [thanks] = await say(AMY, "Show me", kind=MessageKind.BUTTON, payload="campaign:K1:1")
    assert "get back to you" in thanks
    assert any("看看" in mail["text"] and "C1" in mail["text"] for mail in await inbox(OWNER))
    await buy(AMY, "amy-again", 0, source="chat")

    await campaigns.tick(clock.now)
    [status] = await say(OWNER, "/campaign status K1")
    assert "sent 2" in status or "已发送 2" in status
    assert "remaining 0" in status or "剩余 0" in status
    assert ("1 replied" in status or "回复 1" in status) and (
        "1 ordered" in status or "下单 1" in status
    )
    assert "done" in status or "已完成" in status

    clock.now += timedelta(days=1)
    await followups.run_due(clock.now)
    later = [mail["text"] for who in (AMY, BOB) for mail in await inbox(who)]
    assert not [text for text in later if "10% off" in text], "nobody gets a second copy"

    [stats] = await say(OWNER, "/stats 7d")
    assert "Campaigns: 1 started, 2 messages sent, 1 replied within 24 h, 1 ordered" in stats
