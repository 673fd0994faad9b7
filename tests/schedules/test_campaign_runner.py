"""Campaigns on real Redis: preview against brute force, exactly-once sending across crashes,
cron slots fired once by racing processes, status counts, pause / resume / cancel."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from followup_support import T0, RecordingOutlet, dispatcher, make_contact, sending_rules

from bot.messages import ContactRef, OutboundMessage
from schedules.campaign_rules import CampaignPolicy, cron_trigger, current_slot
from schedules.campaigns import CampaignRunner, note_order, note_reply
from storage import campaigns, contacts, followups, keys, optouts, orders
from storage.campaigns import Campaign, Status
from storage.contacts import TagSource
from storage.optouts import OptOutCategory
from storage.orders import OrderChange, OrderItem, OrderStatus
from storage.segment_parser import RangeAtom, RangeField, Segment, SetAtom, SetField, parse
from storage.timestamps import to_epoch

pytestmark = pytest.mark.cluster

TAGS = ("VIP", "老客户", "团购", "黑名单")


def runner(redis, settings, outlet=None, **policy) -> CampaignRunner:
    base = CampaignPolicy.from_settings(settings)
    fields = {name: getattr(base, name) for name in CampaignPolicy.__slots__} | policy
    return CampaignRunner(redis, CampaignPolicy(**fields), outlet=outlet)


def campaign(cid: str = "K1", segment: str = "", when: str = "now", **fields) -> Campaign:
    return Campaign(
        id=cid,
        name="回馈",
        segment=segment,
        when=when,
        texts={"zh-CN": "{name}您好，老客户回馈", "en": "Hi {name}, a thank-you"},
        created_at=T0,
        **fields,
    )


async def start(redis, settings, outlet, definition: Campaign, now=T0, **policy):
    """Save, confirm and return a runner for a campaign that sends now."""
    await campaigns.save(redis, replace_status(definition, Status.CONFIRMING))
    bot = runner(redis, settings, outlet, **policy)
    assert await bot.confirm(definition, now) is Status.SENDING
    return bot


def replace_status(definition: Campaign, status: Status) -> Campaign:
    return replace(definition, status=status)


async def buy(redis, contact_id: str, order_id: str, amount: float, at: datetime) -> None:
    item = OrderItem("tea-250g", "Tea", 1, amount)
    change = OrderChange(order_id, contact_id, OrderStatus.PAID, (item,), placed_at=at)
    await orders.apply(redis, change, at)


async def crowd(redis, n: int = 40, channel: str = "console") -> list[str]:
    ids = [f"{channel}:p{i}" for i in range(n)]
    for contact_id in ids:
        await make_contact(redis, contact_id)
    return ids


# --- preview against brute force ---


@dataclass
class Facts:
    channel: str
    language: str | None
    tags: set[str]
    opted_out: set[str]
    unreachable: bool
    spend: float
    orders: int
    first_order: float | None
    last_order: float | None
    first_seen: float
    last_seen: float


async def facts_of(redis, contact_id: str) -> Facts:
    contact = await contacts.get(redis, contact_id)
    summary = await orders.purchase_summary(redis, contact_id)
    return Facts(
        channel=contact.channel,
        language=contact.language,
        tags=set(await contacts.tags_of(redis, contact_id)),
        opted_out={o.category.value for o in await optouts.opt_outs_of(redis, contact_id)},
        unreachable=bool(contact.unreachable),
        spend=summary.spend,
        orders=summary.orders,
        first_order=to_epoch(summary.first) if summary.first else None,
        last_order=to_epoch(summary.last) if summary.last else None,
        first_seen=to_epoch(contact.first_seen),
        last_seen=to_epoch(contact.last_seen),
    )


def brute_match(segment: Segment, facts: Facts, now: float) -> bool:
    def atom(a) -> bool:
        match a:
            case SetAtom(field=SetField.TAG, values=values):
                return bool(facts.tags & set(values))
            case SetAtom(field=SetField.CHANNEL, values=values):
                return facts.channel in values
            case SetAtom(field=SetField.LANG, values=values):
                return facts.language in values
            case SetAtom(field=SetField.OPTOUT, values=values):
                return bool(facts.opted_out & set(values))
            case RangeAtom(field=field, op=op, value=value):
                return compare(field, op, value)
        raise AssertionError(a)

    def compare(field: RangeField, op: str, value: float) -> bool:
        got = {
            RangeField.SPEND: facts.spend,
            RangeField.ORDERS: facts.orders,
            RangeField.FIRST_ORDER: facts.first_order,
            RangeField.LAST_ORDER: facts.last_order,
            RangeField.FIRST_SEEN: facts.first_seen,
            RangeField.LAST_SEEN: facts.last_seen,
        }[field]
        if got is None:
            return False
        if field.is_age:
            got = now - got
        return {
            ">": got > value,
            ">=": got >= value,
            "<": got < value,
            "<=": got <= value,
            "=": got == value,
        }[op]

    return all(atom(t.atom) != t.negated for t in segment.terms)


async def generated_shop(redis, rng: random.Random, n: int = 150) -> list[str]:
    ids = []
    for i in range(n):
        contact_id = f"{rng.choice(('console', 'wechat'))}:g{i}"
        ids.append(contact_id)
        seen = T0 - timedelta(days=rng.uniform(0, 120))
        await contacts.touch(redis, contact_id, seen, language=rng.choice(("zh-CN", "en", None)))
        await contacts.add_tags(
            redis, contact_id, rng.sample(TAGS, rng.randint(0, 2)), TagSource.OWNER, seen
        )
        for n_order in range(rng.choice((0, 0, 1, 2, 3, 5))):
            at = T0 - timedelta(days=rng.uniform(1, 200))
            await buy(redis, contact_id, f"{i}-{n_order}", rng.choice((39.0, 120.0, 480.0)), at)
        if rng.random() < 0.15:
            await optouts.opt_out(redis, contact_id, seen, [OptOutCategory.MARKETING])
        if rng.random() < 0.1:
            await contacts.mark_unreachable(redis, contact_id, "blocked the bot")
        if rng.random() < 0.1:
            cap = keys.marketing_sent(contact_id)
            await redis.zadd(cap, {"a": to_epoch(T0 - timedelta(days=1)), "b": to_epoch(T0)})
    return ids


SEGMENTS = (
    "orders>=2 lastorder>30d",
    "tag:VIP,老客户 -tag:黑名单 spend>=200",
    "channel:wechat lang:zh lastseen<60d",
    "orders<1",
    "",
)


@pytest.mark.parametrize("expression", SEGMENTS)
async def test_preview_counts_equal_a_brute_force_evaluation(redis, settings, expression):
    rng = random.Random(8)
    ids = await generated_shop(redis, rng)
    outlet = RecordingOutlet(refuse={cid: "WeChat 48-hour window closed" for cid in ids[::7]})
    bot = runner(redis, settings, outlet, rules=sending_rules(settings, weekly_cap=2))

    preview = await bot.preview(campaign(segment=expression), T0)

    segment, now = parse(expression), to_epoch(T0)
    expected = {"matched": 0, "opted": 0, "unreachable": 0, "capped": 0, "refused": 0}
    for contact_id in ids:
        facts = await facts_of(redis, contact_id)
        if not brute_match(segment, facts, now):
            continue
        expected["matched"] += 1
        capped = await redis.zcount(keys.marketing_sent(contact_id), now - 7 * 86_400 + 1, "+inf")
        if "marketing" in facts.opted_out:
            expected["opted"] += 1
        elif facts.unreachable:
            expected["unreachable"] += 1
        elif capped >= 2:
            expected["capped"] += 1
        elif contact_id in outlet.refuse:
            expected["refused"] += 1
    got = {
        "matched": preview.matched,
        "opted": preview.opted_out,
        "unreachable": preview.unreachable,
        "capped": preview.capped,
        "refused": preview.refused["WeChat 48-hour window closed"],
    }
    assert got == expected
    assert expected["matched"] > 0 or expression == "orders<1"
    assert preview.reachable == expected["matched"] - sum(
        expected[k] for k in ("opted", "unreachable", "capped", "refused")
    )


async def test_preview_in_quiet_hours_says_when_sending_would_start(redis, settings):
    night = T0 + timedelta(hours=12)  # 22:00 in Shanghai
    preview = await runner(redis, settings).preview(campaign(), night)
    assert preview.quiet_until == T0 + timedelta(hours=23)
    assert preview.checked_channels is False


# --- exactly once ---


async def test_crash_between_claim_and_ack_and_a_feeder_crash_send_each_once(redis, settings):
    ids = await crowd(redis, 30)
    outlet = RecordingOutlet()
    bot = await start(redis, settings, outlet, campaign(), rate_per_minute=60, batch=20)

    # The feeder queues 20, then "dies" before moving its cursor: the next feed repeats them.
    assert await bot.feed(await campaigns.get(redis, "K1"), T0 + timedelta(minutes=1)) == 20
    await campaigns.set_fields(redis, "K1", fed=0)
    # A dispatcher claims items, sends some of them, and dies before recording anything.
    claimed = await followups.claim_due(redis, T0 + timedelta(minutes=1), 8, lease_s=60)
    for item in claimed[:4]:  # it sent these four to the platform, then the process died
        message = OutboundMessage(ContactRef.parse(item.contact_id), "hi", idempotency_key=item.id)
        await outlet.send(message)
    sent_before_the_crash = {item.contact_id for item in claimed[:4]}

    later = T0 + timedelta(minutes=3)
    for _ in range(4):  # After the restart: ticks and passes until everything is out.
        await bot.tick(later)
        await dispatcher(redis, settings, outlet).run_due(later)
        later += timedelta(minutes=1)

    sent = [m.recipient.id for m in outlet.sent]
    assert len(sent) == len(set(sent)) == 30 and set(sent) == set(ids)
    assert {m.recipient.id for m in outlet.dropped} == sent_before_the_crash
    tally = await bot.tally(await campaigns.get(redis, "K1"), later)
    assert (tally.sent, tally.remaining, tally.pending) == (30, 0, 0)
    assert (await campaigns.get(redis, "K1")).status is Status.DONE


async def test_two_runners_feeding_at_once_queue_each_recipient_once(redis, settings):
    await crowd(redis, 60)
    outlet = RecordingOutlet()
    one = await start(redis, settings, outlet, campaign(), rate_per_minute=6000, batch=25)
    two = runner(redis, settings, outlet, rate_per_minute=6000, batch=25)

    for minute in range(1, 5):
        now = T0 + timedelta(minutes=minute)
        await asyncio.gather(one.tick(now), two.tick(now))
        await asyncio.gather(
            dispatcher(redis, settings, outlet).run_due(now),
            dispatcher(redis, settings, outlet).run_due(now),
        )
    recipients = [m.recipient.id for m in outlet.sent]
    assert sorted(recipients) == sorted(set(recipients)) and len(recipients) == 60


# --- cron ---


async def test_a_cron_slot_fires_once_with_two_processes_racing(redis, settings):
    await crowd(redis, 5)
    monthly = campaign("thanks", when="0 10 1 * *", status=Status.ARMED)
    await campaigns.save(redis, monthly)
    first_of_december = datetime.fromisoformat("2026-12-01T10:00:00+08:00")
    a, b = runner(redis, settings), runner(redis, settings)

    fired = await asyncio.gather(
        a.fire_slot("thanks", first_of_december + timedelta(seconds=1)),
        b.fire_slot("thanks", first_of_december + timedelta(seconds=2)),
    )

    assert [run for run in fired if run] == ["thanks-20261201T0200"] and None in fired
    assert await b.fire_slot("thanks", first_of_december + timedelta(minutes=20)) is None
    outlet = RecordingOutlet()
    now = first_of_december + timedelta(minutes=1)
    await asyncio.gather(a.tick(now), b.tick(now))
    await dispatcher(redis, settings, outlet).run_due(now)
    assert len(outlet.sent) == 5
    run = await campaigns.get(redis, "thanks-20261201T0200")
    assert (run.parent, run.started_at) == ("thanks", first_of_december)

    next_month = datetime.fromisoformat("2027-01-01T10:00:30+08:00")
    assert await a.fire_slot("thanks", next_month) == "thanks-20270101T0200"


def test_current_slot_is_the_latest_fire_time_within_the_lookback(settings):
    trigger = cron_trigger("0 10 1 * *", settings.tz)
    slot = datetime.fromisoformat("2026-12-01T10:00:00+08:00")
    assert current_slot(trigger, slot) == slot
    assert current_slot(trigger, slot + timedelta(minutes=59)) == slot
    assert current_slot(trigger, slot + timedelta(hours=2)) is None
    assert current_slot(trigger, slot - timedelta(seconds=1)) is None


async def test_a_disarmed_campaign_fires_nothing(redis, settings):
    await campaigns.save(redis, campaign("thanks", when="0 10 1 * *"))
    slot = datetime.fromisoformat("2026-12-01T10:00:00+08:00")
    assert await runner(redis, settings).fire_slot("thanks", slot) is None


# --- status ---


async def test_status_counts_sent_skipped_by_reason_failed_and_remaining(redis, settings):
    ids = await crowd(redis, 10)
    await contacts.mark_unreachable(redis, ids[0], "blocked the bot")
    await optouts.opt_out(redis, ids[1], T0, [OptOutCategory.MARKETING])
    outlet = RecordingOutlet(refuse={ids[2]: "WeChat 48-hour window closed"})
    bot = await start(redis, settings, outlet, campaign(), rate_per_minute=60, batch=8)
    now = T0 + timedelta(minutes=1)
    assert await bot.feed(await campaigns.get(redis, "K1"), now) == 8  # 9 after the opt-out

    outlet.fail_times = 1  # the first send fails for good (one attempt allowed)
    await dispatcher(redis, settings, outlet, retry=followups.FollowupRetry(1, 1, 1)).run_due(now)
    tally = await bot.tally(await campaigns.get(redis, "K1"), now)

    assert (tally.audience, tally.opted_out, tally.fed) == (9, 1, 8)
    assert tally.skipped == {
        "unreachable: blocked the bot": 1,
        "WeChat 48-hour window closed": 1,
    }
    assert (tally.sent, tally.failed, tally.pending, tally.remaining) == (5, 1, 0, 1)
    assert tally.rate_per_minute == 0.5


# --- pause, resume, cancel ---


async def test_pause_stops_feeding_resume_goes_on_cancel_withdraws_the_queue(redis, settings):
    await crowd(redis, 12)
    outlet = RecordingOutlet()
    bot = await start(redis, settings, outlet, campaign(), rate_per_minute=60, batch=4)
    now = T0 + timedelta(minutes=1)
    assert await bot.tick(now) == {"K1": 4}

    assert await bot.pause("K1")
    assert not await bot.pause("K1"), "already paused"
    assert await bot.tick(now + timedelta(minutes=1)) == {}
    await dispatcher(redis, settings, outlet).run_due(now + timedelta(minutes=1))
    assert len(outlet.sent) == 4, "what was queued still goes out"

    assert await bot.resume("K1", now + timedelta(minutes=2))
    assert await bot.tick(now + timedelta(minutes=3)) == {"K1": 4}

    assert await bot.cancel("K1", now + timedelta(minutes=3)) == 4
    assert await bot.tick(now + timedelta(minutes=10)) == {}
    await dispatcher(redis, settings, outlet).run_due(now + timedelta(minutes=10))
    assert len(outlet.sent) == 4
    tally = await bot.tally(await campaigns.get(redis, "K1"), now + timedelta(minutes=10))
    assert (tally.sent, tally.cancelled, tally.fed) == (4, 4, 8)
    assert await bot.cancel("K1", now) is None, "already cancelled"


async def test_no_feeding_in_quiet_hours(redis, settings):
    await crowd(redis, 3)
    night = T0 + timedelta(hours=12)
    bot = await start(redis, settings, RecordingOutlet(), campaign(), night)
    assert await bot.tick(night + timedelta(minutes=5)) == {"K1": 0}
    morning = T0 + timedelta(hours=23, minutes=1)
    assert await bot.tick(morning) == {"K1": 3}


async def test_a_campaign_at_a_time_waits_for_it(redis, settings):
    await crowd(redis, 2)
    later = T0 + timedelta(hours=3)
    definition = campaign(when=later.isoformat())
    await campaigns.save(redis, replace_status(definition, Status.CONFIRMING))
    bot = runner(redis, settings)
    assert await bot.confirm(definition, T0) is Status.SCHEDULED
    assert await bot.tick(later - timedelta(minutes=1)) == {}
    await bot.tick(later)
    assert (await campaigns.get(redis, "K1")).status is Status.SENDING
    assert await bot.tick(later + timedelta(minutes=1)) == {"K1": 2}


async def test_replies_and_orders_are_attributed_within_their_windows(redis, settings):
    ids = await crowd(redis, 3)
    outlet = RecordingOutlet()
    bot = await start(redis, settings, outlet, campaign(), rate_per_minute=600)
    now = T0 + timedelta(minutes=1)
    await bot.tick(now)
    await dispatcher(redis, settings, outlet).run_due(now)

    assert await note_reply(redis, ids[0], now + timedelta(hours=23)) == ["K1"]
    assert await note_reply(redis, ids[1], now + timedelta(hours=25)) == []
    assert await note_order(redis, ids[1], 120.0, now + timedelta(days=6)) == ["K1"]
    assert await note_order(redis, ids[2], 99.0, now + timedelta(days=8)) == []
    result = await campaigns.attribution(redis, "K1")
    assert (result.replied, result.ordered, result.revenue) == (1, 1, 120.0)


# --- retention (issue 13) ---


async def test_a_cancelled_campaigns_audience_is_swept_after_keep_with_its_figures_frozen(
    redis, settings
):
    await crowd(redis, 6)
    outlet = RecordingOutlet()
    bot = await start(redis, settings, outlet, campaign(), rate_per_minute=60, batch=4, keep_s=3600)
    now = T0 + timedelta(minutes=1)
    assert await bot.tick(now) == {"K1": 4}
    await dispatcher(redis, settings, outlet).run_due(now)
    assert await bot.cancel("K1", now) == 0
    audience = keys.campaign_audience("K1")

    await bot.tick(now + timedelta(seconds=3599))
    assert await redis.zcard(audience) == 6, "kept for SHOPBOT_FOLLOWUP_KEEP_DAYS"
    await bot.tick(now + timedelta(seconds=3600))

    assert not await redis.exists(audience)
    swept = await campaigns.get(redis, "K1")
    assert swept.swept_at == now + timedelta(seconds=3600)
    assert swept.results == {"sent": 4, "failed": 0, "cancelled": 0, "skipped": {}}
    await bot.tick(now + timedelta(days=1))
    assert (await campaigns.get(redis, "K1")).swept_at == swept.swept_at, "swept once"


async def test_a_done_campaign_keeps_its_results_when_its_audience_is_swept(redis, settings):
    await crowd(redis, 3)
    outlet = RecordingOutlet()
    bot = await start(redis, settings, outlet, campaign(), keep_s=60)
    later = T0 + timedelta(minutes=1)
    for _ in range(3):
        await bot.tick(later)
        await dispatcher(redis, settings, outlet).run_due(later)
        later += timedelta(minutes=1)
    done = await campaigns.get(redis, "K1")
    assert done.status is Status.DONE and done.results["sent"] == 3

    await bot.tick(done.finished_at + timedelta(seconds=60))
    assert not await redis.exists(keys.campaign_audience("K1"))
    assert (await campaigns.get(redis, "K1")).results == done.results
