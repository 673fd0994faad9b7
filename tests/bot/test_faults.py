"""Issue 14: nothing lost, nothing twice, through kill -9, SIGTERM and Redis restarts.

Each scenario runs the real bot (``python -m bot run``) and its real embedded server
as subprocesses on one data folder, with ``SHOPBOT_REDIS_APPENDFSYNC=always``, and
counts what every customer received through the terminal channel (one follow-up per
customer): lost and duplicated deliveries must both be 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime

import pytest
from fault_support import (
    POLL_S,
    Shop,
    make_contacts,
    received,
    spread,
    tally,
    wait_delivered,
    wait_finished,
)

from storage import campaigns, followups, keys, orders
from storage.campaigns import Campaign, Status
from storage.redis import EmbeddedRedis

NOTICES = 2000
DUE_OVER_S = 4.0
"""The notices fall due evenly over this long: a fault sent once a quarter went out lands
with most still to come, however fast the machine dispatches (all due at once, a fast pass
could send the rest before the signal arrives)."""
AUDIENCE = 150
FINISH_S = 60.0


@pytest.fixture
async def shop(tmp_path):
    shop = Shop(tmp_path / "data", SHOPBOT_CAMPAIGN_RATE_PER_MINUTE="3000")
    yield shop
    await shop.close()


async def _queue_notices(shop: Shop, prefix: str) -> tuple[list[str], datetime]:
    """Queue the notices; returns their contacts and when the last falls due."""
    items = spread(NOTICES, DUE_OVER_S, prefix)
    redis = shop.client()
    try:
        await followups.schedule_many(redis, items)
    finally:
        await redis.aclose()
    return [item.contact_id for item in items], items[-1].due_at


async def test_kill_9_of_the_bot_mid_dispatch(shop):
    await shop.start_bot()
    customers, last_due = await _queue_notices(shop, "k")
    redis = shop.client()
    try:
        await wait_delivered(redis, customers, NOTICES // 4)
        shop.signal_bot(signal.SIGKILL)
        assert await shop.bot_exit() == -signal.SIGKILL
        assert sum(1 for n in await received(redis, customers) if n) < NOTICES, "mid-dispatch"

        await shop.start_bot()  # joins the server the killed bot left running
        await wait_finished(redis, FINISH_S, due_by=last_due)
        result = await tally(redis, customers)
    finally:
        await redis.aclose()
    assert (result.lost, result.duplicated) == (0, 0), result


async def test_sigterm_mid_dispatch_finishes_what_it_claimed(shop):
    await shop.start_bot()
    customers, last_due = await _queue_notices(shop, "t")
    redis = shop.client()
    try:
        await wait_delivered(redis, customers, NOTICES // 4)
        shop.signal_bot(signal.SIGTERM)
        assert await shop.bot_exit() == 0, shop.log()
        assert not shop.socket.exists(), "the last process out stopped the server"

        inspector = EmbeddedRedis(shop.data_dir)
        inspector.start()  # the same data, from the append-only file
        try:
            assert await redis.hlen(keys.followups_leased()) == 0, "nothing left claimed"
            sent_before = sum(1 for n in await received(redis, customers) if n)
            assert 0 < sent_before < NOTICES, "stopped mid-dispatch"
            await shop.start_bot()
        finally:
            inspector.stop()  # the bot joined: the server keeps running for it
        await wait_finished(redis, FINISH_S, due_by=last_due)
        result = await tally(redis, customers)
    finally:
        await redis.aclose()
    assert (result.lost, result.duplicated) == (0, 0), result


async def test_sigterm_mid_campaign(shop):
    await shop.start_bot()
    audience = [f"console:camp{n}" for n in range(AUDIENCE)]
    redis = shop.client()
    try:
        await make_contacts(redis, audience)
        now = datetime.now(UTC)
        await campaigns.save(redis, _campaign(now))
        await wait_delivered(redis, audience, AUDIENCE // 4)
        shop.signal_bot(signal.SIGTERM)
        assert await shop.bot_exit() == 0, shop.log()

        await shop.start_bot()
        await _wait_campaign_done(redis, "F1")
        await wait_finished(redis, FINISH_S)
        result = await tally(redis, audience)
    finally:
        await redis.aclose()
    assert (result.lost, result.duplicated) == (0, 0), result


async def test_kill_9_of_the_embedded_server_under_a_running_bot(shop):
    await shop.start_bot()
    customers, last_due = await _queue_notices(shop, "s")
    buyers = [f"console:buyer{n}" for n in range(20)]
    redis = shop.client()
    refused: list[int] = []
    try:
        for n, buyer in enumerate(buyers[:10]):
            refused += await shop.order_until_acknowledged(f"P{n}", buyer)
        await wait_delivered(redis, customers, NOTICES // 4)

        killed = shop.kill_server()
        for n, buyer in enumerate(buyers[10:], start=10):  # during and after the outage
            refused += await shop.order_until_acknowledged(f"P{n}", buyer)
        recovery_s = await shop.wait_healthy(30)
        assert shop.server_pid() != killed, "the bot started the server again"
        log = shop.log(tail=None)
        assert "redis unavailable" in log and "embedded server started again" in log

        await wait_finished(redis, FINISH_S, due_by=last_due)
        for n in range(len(buyers)):
            assert await orders.get(redis, f"P{n}") is not None, f"acknowledged order P{n} lost"
        notices = await tally(redis, customers)
        thanks = await tally(redis, buyers, [f" P{n} " for n in range(len(buyers))])
    finally:
        await redis.aclose()
    assert (notices.lost, notices.duplicated) == (0, 0), notices
    assert (thanks.lost, thanks.duplicated) == (0, 0), thanks
    assert set(refused) <= {0, 503}, "refused so the caller retries, never a 500"
    assert recovery_s < 10


def _campaign(now: datetime) -> Campaign:
    return Campaign(
        id="F1",
        name="autumn tea",
        segment="channel:console",
        when="now",
        texts={"en": "Autumn tea is here", "zh-CN": "秋茶上新"},
        status=Status.SENDING,
        created_at=now,
        created_by="test",
        started_at=now,
        fed_at=now,
    )


async def _wait_campaign_done(redis, campaign_id: str) -> None:
    deadline = time.monotonic() + FINISH_S
    while (campaign := await campaigns.get(redis, campaign_id)).status is not Status.DONE:
        assert time.monotonic() < deadline, f"campaign still {campaign.status}"
        await asyncio.sleep(POLL_S)
