"""Dispatch passes: opt-out, quiet hours, weekly cap, channel checks, retries, races, crashes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from followup_support import T0, RecordingOutlet, dispatcher, make_contact, sending_rules
from support import MovableClock

from bot.channels.terminal import ConsoleChannel
from bot.delivery import Delivery
from bot.messages import Purpose
from schedules.repurchase import reminder, winback
from storage import followups, keys, mailbox, send_claims
from storage.followups import Followup, State
from storage.optouts import OptOutCategory, opt_out

pytestmark = pytest.mark.cluster

BOB = "console:bob"
NIGHT = T0 + timedelta(hours=12)  # 22:00 in Shanghai


def care(n: int = 1, contact: str = BOB, due=T0) -> Followup:
    return Followup(
        f"order:{n}:shipped",
        contact,
        due,
        "shipped",
        Purpose.TRANSACTIONAL,
        data={"order_id": str(n), "carrier": "SF", "tracking_no": f"SF{n}"},
    )


async def states(redis, contact: str = BOB) -> dict[str, tuple[State, str]]:
    return {r.followup.id: (r.state, r.reason) for r in await followups.of_contact(redis, contact)}


async def test_opted_out_contact_gets_care_but_no_marketing(redis, settings):
    await make_contact(redis, BOB)
    await opt_out(redis, BOB, T0, [OptOutCategory.REPURCHASE])
    await followups.schedule_many(
        redis,
        [
            care(),
            reminder(BOB, "tea-250g", "1", T0),
            winback(BOB, "1", 60, T0 - timedelta(days=60)),
        ],
    )
    outlet = RecordingOutlet()

    report = await dispatcher(redis, settings, outlet).run_due(T0)

    assert [m.idempotency_key for m in outlet.sent] == ["order:1:shipped", f"winback:{BOB}:1:60"]
    assert (await states(redis))[f"repurchase:{BOB}:tea-250g:1"] == (
        State.SKIPPED,
        "opted out of repurchase",
    )
    assert report.sent == 2 and report.skipped == {"opted out of repurchase": 1}


async def test_marketing_waits_out_quiet_hours_care_does_not(redis, settings):
    await make_contact(redis, BOB)
    tip = reminder(BOB, "tea-250g", "1", NIGHT)
    await followups.schedule_many(redis, [care(due=NIGHT), tip])
    outlet = RecordingOutlet()
    bot = dispatcher(redis, settings, outlet)

    await bot.run_due(NIGHT)
    assert [m.idempotency_key for m in outlet.sent] == ["order:1:shipped"]
    [record] = [r for r in await followups.of_contact(redis, BOB) if r.followup.id == tip.id]
    morning = T0 + timedelta(days=1, hours=-1)  # 09:00 in Shanghai, the next day
    assert (record.state, record.reason, record.followup.due_at) == (
        State.PENDING,
        "quiet hours",
        morning,
    )

    await bot.run_due(morning - timedelta(minutes=1))
    assert len(outlet.sent) == 1
    await bot.run_due(morning)
    assert outlet.sent[-1].idempotency_key == tip.id
    assert outlet.sent[-1].text == (
        "Hi there, your Longjing green tea 250g is probably running low. Shall we send you another?"
    )
    assert [b.payload for b in outlet.sent[-1].buttons] == [
        "repurchase:reorder:tea-250g",
        "repurchase:snooze:tea-250g",
        "repurchase:stop:tea-250g",
    ]


async def test_weekly_cap_holds_the_third_marketing_message_for_a_week(redis, settings):
    await make_contact(redis, BOB)
    skus = ("tea-250g", "coffee-1kg", "mask-10")
    await followups.schedule_many(redis, [reminder(BOB, sku, "1", T0) for sku in skus])
    outlet = RecordingOutlet()
    bot = dispatcher(redis, settings, outlet, rules=sending_rules(settings, weekly_cap=2))

    report = await bot.run_due(T0)
    assert report.sent == 2 and report.postponed == {"weekly cap": 1}
    [held] = [r for r in await followups.of_contact(redis, BOB) if r.state is State.PENDING]
    assert held.followup.due_at == T0 + timedelta(days=7)

    await bot.run_due(T0 + timedelta(days=7))
    assert len(outlet.sent) == 3
    assert len({m.idempotency_key for m in outlet.sent}) == 3


async def test_channel_refusal_skips_with_its_reason(redis, settings):
    await followups.schedule(redis, care())
    outlet = RecordingOutlet(refuse={BOB: "outside the 48-hour window and no template"})
    await dispatcher(redis, settings, outlet).run_due(T0)
    assert outlet.sent == []
    assert (await states(redis))["order:1:shipped"] == (
        State.SKIPPED,
        "outside the 48-hour window and no template",
    )


async def test_unreachable_contact_is_skipped(redis, settings):
    await make_contact(redis, BOB)
    await redis.hset(keys.contact(BOB), "unreachable", "blocked the bot")
    await followups.schedule(redis, care())
    await dispatcher(redis, settings, outlet := RecordingOutlet()).run_due(T0)
    assert outlet.sent == []
    assert (await states(redis))["order:1:shipped"] == (
        State.SKIPPED,
        "unreachable: blocked the bot",
    )


async def test_failed_send_is_retried_after_the_backoff(redis, settings):
    await followups.schedule(redis, care())
    outlet = RecordingOutlet(fail_times=1)
    bot = dispatcher(redis, settings, outlet)

    first = await bot.run_due(T0)
    assert first.retried == 1 and outlet.sent == []
    assert (await states(redis))["order:1:shipped"] == (State.PENDING, "platform said 502")
    await bot.run_due(T0 + timedelta(seconds=29))
    assert outlet.sent == []
    await bot.run_due(T0 + timedelta(seconds=30))
    assert [m.idempotency_key for m in outlet.sent] == ["order:1:shipped"]


async def test_two_dispatchers_racing_send_each_item_exactly_once(redis, settings):
    await followups.schedule_many(redis, [care(n, f"console:c{n % 7}") for n in range(120)])
    outlet = RecordingOutlet()
    one, two = (dispatcher(redis, settings, outlet, batch=9) for _ in range(2))

    reports = await asyncio.gather(one.run_due(T0), two.run_due(T0))

    keys_sent = [m.idempotency_key for m in outlet.sent]
    assert sorted(keys_sent) == sorted(f"order:{n}:shipped" for n in range(120))
    assert outlet.dropped == [], "no item was claimed twice: the channel had nothing to drop"
    assert all(report.sent for report in reports), "both took part"
    assert sum(report.sent for report in reports) == 120


async def test_dispatcher_killed_after_claiming_redelivers_after_the_lease(redis, settings):
    await followups.schedule(redis, care())
    await followups.claim_due(redis, T0, 10, lease_s=60)  # ... and the process dies.
    outlet = RecordingOutlet()
    bot = dispatcher(redis, settings, outlet, lease_s=60)

    assert (await bot.run_due(T0 + timedelta(seconds=59))).claimed == 0
    await bot.run_due(T0 + timedelta(seconds=60))
    await bot.run_due(T0 + timedelta(seconds=200))
    assert [m.idempotency_key for m in outlet.sent] == ["order:1:shipped"]
    assert outlet.dropped == []


class ProcessDied(BaseException):
    """The process stops here: nothing after it runs (not an error the dispatcher handles)."""


class DiesAfterSending:
    """An outlet whose process dies right after its channel sent the message."""

    def __init__(self, outlet: Delivery) -> None:
        self.outlet = outlet

    async def check(self, message):
        return await self.outlet.check(message)

    async def send(self, message) -> None:
        await self.outlet.send(message)
        raise ProcessDied


async def test_dispatcher_killed_after_sending_is_not_sent_again(redis, settings):
    await make_contact(redis, BOB, language="zh-CN")
    await followups.schedule(redis, care())
    terminal = Delivery({"console": ConsoleChannel(redis)})
    with pytest.raises(ProcessDied):
        await dispatcher(redis, settings, DiesAfterSending(terminal)).run_due(T0)
    assert (await states(redis))["order:1:shipped"] == (State.IN_FLIGHT, "")

    early = await dispatcher(redis, settings, terminal).run_due(T0 + timedelta(seconds=59))
    report = await dispatcher(redis, settings, terminal).run_due(T0 + timedelta(seconds=60))

    assert early.claimed == 0 and report.sent == 1, "claimed again after the lease"
    assert len(await mailbox.drain(redis, BOB)) == 1, "the channel dropped the second send"
    assert (await states(redis))["order:1:shipped"] == (State.SENT, "")


async def test_sends_through_delivery_to_a_terminal_mailbox(redis, settings):
    await make_contact(redis, BOB, language="zh-CN")
    await followups.schedule(redis, care())
    outlet = Delivery({"console": ConsoleChannel(redis)})

    report = await dispatcher(redis, settings, outlet).run_due(T0)

    assert report.sent == 1
    assert await mailbox.drain(redis, BOB) == [
        {"text": "亲您好，您的订单 1 已发货：SF，运单号 SF1，请留意查收。", "buttons": []}
    ]


async def test_unknown_channel_is_retried_not_lost(redis, settings):
    await followups.schedule(redis, care(contact="telegram:42"))
    outlet = Delivery({"console": ConsoleChannel(redis)})
    await dispatcher(redis, settings, outlet).run_due(T0)
    [record] = await followups.of_contact(redis, "telegram:42")
    assert (record.state, record.reason) == (State.SKIPPED, "no telegram channel configured")


async def test_a_send_claim_left_by_a_dead_dispatcher_postpones_then_ends_uncertain(
    redis, settings
):
    """Issue 14: someone else's claim still sending is never recorded as sent; once its
    holder's deadline passes without a confirm, the item ends uncertain, not sent again."""
    await make_contact(redis, BOB)
    await followups.schedule(redis, care())
    await send_claims.claim(redis, BOB, "order:1:shipped", "dead-dispatcher", now=T0)
    clock = MovableClock(T0)
    outlet = Delivery({"console": ConsoleChannel(redis, clock)})
    engine = dispatcher(redis, settings, outlet)

    held = await engine.run_due(T0)
    clock.advance(seconds=send_claims.DEFAULT_LEASE_S + 1)
    ended = await engine.run_due(clock())

    assert (held.sent, held.postponed) == (0, {"another sender holds it": 1})
    assert (ended.sent, ended.uncertain) == (0, 1)
    assert (await states(redis))["order:1:shipped"][0] is State.UNCERTAIN
    assert await mailbox.drain(redis, BOB) == []
