"""Two customers with data in every store, and a dump of everything in Redis (erasure tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from support import FIXED_NOW, make_dispatcher

from bot.messages import ContactRef, InboundMessage, MessageKind, Purpose
from config.settings import Settings
from storage import (
    audit,
    campaigns,
    contacts,
    dedupe,
    followups,
    handoff,
    keys,
    mailbox,
    membership,
    optouts,
    orders,
    outbox,
    pending_questions,
    purchases,
    satisfaction,
    send_claims,
    send_decisions,
    tickets,
    unanswered,
    wechat_buttons,
    wechat_events,
    wechat_window,
)
from storage.campaigns import Campaign, Status
from storage.contacts import TagSource
from storage.followups import Followup
from storage.orders import OrderChange, OrderItem, OrderStatus
from storage.send_decisions import SendDecision

OWNER_MAILBOX = "console:boss"


@dataclass(frozen=True)
class Person:
    """A customer and what only they said or are."""

    openid: str
    name: str
    phone: str
    words: str
    order_id: str
    tracking: str

    @property
    def id(self) -> str:
        return f"wechat:{self.openid}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must leave Redis and the disk with an erasure."""
        return (self.openid, self.name, self.phone, self.words, self.tracking)


ERASED = Person(
    "oSecretOpenid2026", "王秘密", "13912345678", "我家住在秘密路八十八号", "A2026123", "SF99887766"
)
KEPT = Person(
    "oKeptOpenid777", "李保留", "13800001111", "请寄到保留街一号", "B2026987", "YT11223344"
)


async def populate(redis: Redis, settings: Settings, person: Person, short_tag: str) -> None:
    """Put ``person`` in every store the bot has: messages through the dispatcher, the rest
    through the storage modules."""
    now = FIXED_NOW
    dispatcher = make_dispatcher(redis, settings)
    for text in (f"你好，我是{person.name}", person.words, "我要退货", f"人工客服 {person.phone}"):
        await dispatcher.dispatch(_message(person, text))
    await dispatcher.dispatch(_event(person))
    cid = person.id
    await contacts.update(redis, cid, {"phone": person.phone, "address": person.words})
    await contacts.add_tags(redis, cid, ["VIP", short_tag], TagSource.OWNER, now)
    await contacts.add_note(redis, cid, "telegram:1", f"{person.name} 的备注", now)
    await optouts.opt_out(redis, cid, now)
    await membership.set_tier(redis, cid, "gold", now, member=True)
    await membership.set_review(redis, cid, now + timedelta(days=30))
    await membership.set_expected_order(redis, cid, now + timedelta(days=20))
    item = OrderItem("tea-250g", "Tea", 2, 59.0)
    shipped = OrderStatus.SHIPPED
    change = OrderChange(
        person.order_id, cid, shipped, (item,), carrier="SF", tracking_no=person.tracking
    )
    await orders.apply(redis, change, now)
    await membership.index_order(redis, person.order_id, now, counted=True)
    await purchases.record(redis, cid, "tea-250g", person.order_id, now)
    await purchases.stop_reminders(redis, cid, "tea-250g", now)
    ticket = await tickets.create(
        redis,
        contact_id=cid,
        intent="return",
        text=f"{person.words} 退货",
        language="zh-CN",
        now=now,
        order_number=person.order_id,
    )
    await tickets.answer(redis, ticket.id, f"好的 {person.name}", now, by="telegram:1")
    await satisfaction.record(redis, cid, ticket.id, 5, now)
    await satisfaction.ask(redis, cid, person.order_id, 3600)
    await handoff.start(redis, cid, now, ticket_id=ticket.id)
    await pending_questions.remember(redis, cid, "where", person.words, now, 3600)
    await unanswered.record(redis, cid, f"{person.words}?", now)
    await wechat_events.record(redis, cid, "scan", person.words, now)
    await wechat_window.open_window(redis, cid, now, 5, timedelta(hours=48))
    await wechat_buttons.offer(redis, cid, [(person.name, "yes")])
    await send_decisions.record(redis, cid, SendDecision(now, "reply", False, reason=person.name))
    await dedupe.claim(redis, "wechat", f"{person.openid}:1700000000:subscribe", 3600, "tok")
    await send_claims.record_uncertain(redis, cid, f"order:{person.order_id}:2", now)
    async with redis.pipeline(transaction=True) as pipe:
        to_customer = outbox.Kept(f"{cid}\x1fmsg:1", f'{{"text": "{person.words}"}}')
        naming = outbox.Kept(f"{OWNER_MAILBOX}\x1fmsg:2", f'{{"text": "{cid} 转人工"}}')
        outbox.queue_keep(pipe, [to_customer, naming], now)
        await pipe.execute()
    await mailbox.push(redis, OWNER_MAILBOX, {"text": f"{person.name} ({cid}) 转人工"})
    await followups.schedule_many(
        redis,
        [
            Followup(f"order:{person.order_id}:1", cid, now, "shipped", Purpose.TRANSACTIONAL),
            Followup(
                f"winback:{cid}:{person.order_id}:60",
                cid,
                now + timedelta(days=60),
                "winback",
                Purpose.MARKETING,
                data={"name": person.name},
            ),
        ],
    )
    for action, target, detail in (
        ("tag", cid, f"{cid} VIP"),
        ("note", cid, f"{person.name} {person.phone}"),
        ("reply", ticket.id, f"{ticket.id} 好的"),
    ):
        await audit.record(redis, "telegram:1", action, target, detail, now)


async def add_campaign(redis: Redis, members: list[str], *, fed: int) -> None:
    """Campaign K1, sending, its audience frozen with ``members`` in order, ``fed`` fed."""
    campaign = Campaign("K1", "回馈", "", "now", {"zh-CN": "您好"}, status=Status.SENDING)
    await campaigns.save(redis, campaign)
    matched = keys.segment_scratch("test", 0)
    await redis.zadd(matched, {member: rank for rank, member in enumerate(members)})
    await campaigns.freeze_audience(redis, "K1", matched)
    await campaigns.set_fields(redis, "K1", fed=fed)
    for member in members:
        await campaigns.record_reply(redis, "K1", member)
        await campaigns.record_order(redis, "K1", member, 99.0)


async def dump(redis: Redis) -> tuple[list[str], str]:
    """Every key name, and every key and value as one text."""
    names = sorted([key async for key in redis.scan_iter(count=1000)])
    parts: list[str] = []
    for key in names:
        match await redis.type(key):
            case "string":
                value = await redis.get(key)
            case "hash":
                value = await redis.hgetall(key)
            case "list":
                value = await redis.lrange(key, 0, -1)
            case "set":
                value = sorted(await redis.smembers(key))
            case "zset":
                value = await redis.zrange(key, 0, -1, withscores=True)
            case "stream":
                value = await redis.xrange(key)
            case other:
                raise AssertionError(f"{key}: unexpected type {other}")
        parts.append(f"{key} = {value!r}")
    return names, "\n".join(parts)


def _message(person: Person, text: str) -> InboundMessage:
    ref = ContactRef("wechat", person.openid)
    return InboundMessage(
        id=uuid.uuid4().hex,
        contact=ref,
        chat_id=person.openid,
        kind=MessageKind.TEXT,
        received_at=FIXED_NOW,
        text=text,
        display_name=person.name,
    )


def _event(person: Person) -> InboundMessage:
    ref = ContactRef("wechat", person.openid)
    return InboundMessage(
        id=f"{person.openid}:1700000001:subscribe",
        contact=ref,
        chat_id=person.openid,
        kind=MessageKind.EVENT,
        received_at=FIXED_NOW,
        event="subscribe",
        event_key=f"qrscene_{person.openid[-4:]}",
    )
