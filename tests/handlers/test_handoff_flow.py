"""Handoff through the dispatcher: on, relayed to owners, off by an owner or when idle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW, make_dispatcher

from bot.app import open_runtime
from bot.handoff_job import JOB_ID, expire_handoffs, schedule_handoff_expiry
from bot.messages import ContactRef, MessageKind, Purpose
from handlers.handoff import EndReason, end_handoff, expire_idle
from schedules.scheduler import build_scheduler
from storage import handoff, keys, mailbox, optouts, tickets, unanswered
from storage.optouts import OptOutCategory

OWNERS = {ContactRef("telegram", "1"), ContactRef("console", "owner")}
IDLE = timedelta(minutes=30)


@pytest.fixture
def dispatcher(redis, settings):
    return make_dispatcher(redis, settings)


@pytest.mark.parametrize(
    ("text", "reply"),
    [("转人工", "已为您转接人工客服"), ("talk to a person please", "I've passed you to a person")],
)
async def test_asking_for_a_person_starts_a_handoff(dispatcher, redis, make_message, text, reply):
    result = await dispatcher.dispatch(make_message(text, contact="telegram:9", display_name="Li"))

    assert reply in result.replies[0].text and "30" in result.replies[0].text
    assert await handoff.get(redis, "telegram:9") is not None
    assert {n.recipient for n in result.others} == OWNERS
    assert "C1 · telegram · Li" in result.others[0].text
    assert "/reply C1" in result.others[0].text


async def test_messages_in_handoff_are_relayed_not_answered(dispatcher, redis, make_message):
    await dispatcher.dispatch(make_message("我要退货 订单号 202611220001", contact="telegram:9"))
    await dispatcher.dispatch(make_message("人工", contact="telegram:9"))

    for text in ["你好", "我的快递到哪了", "能不能便宜点"]:
        result = await dispatcher.dispatch(make_message(text, contact="telegram:9"))
        assert result.replies == ()
        assert {n.recipient for n in result.others} == OWNERS
        assert result.others[0].text.startswith("💬 [C1｜工单 T1001] 9：" + text)
    photo = await dispatcher.dispatch(
        make_message("", contact="telegram:9", kind=MessageKind.MEDIA)
    )

    assert "[图片/文件]" in photo.others[0].text
    assert len(await tickets.list_all(redis)) == 1  # the order question opened no new ticket
    assert await unanswered.recent(redis) == []


async def test_asking_again_reassures_the_customer(dispatcher, make_message):
    await dispatcher.dispatch(make_message("human"))
    again = await dispatcher.dispatch(make_message("agent"))
    assert again.replies[0].text.startswith("A person has already been notified")
    assert again.others  # still relayed


async def test_opt_out_still_works_in_handoff(dispatcher, redis, make_message):
    await dispatcher.dispatch(make_message("转人工"))
    result = await dispatcher.dispatch(make_message("退订"))
    assert result.replies[0].text.startswith("已为您退订")
    assert await optouts.is_opted_out(redis, "console:alice", OptOutCategory.MARKETING)
    assert await handoff.get(redis, "console:alice") is not None


async def test_owners_are_never_put_in_handoff(dispatcher, redis, make_message):
    await dispatcher.dispatch(make_message("人工", contact="telegram:1"))
    assert await handoff.active(redis) == []


async def test_owner_ends_the_handoff_and_the_bot_answers_again(dispatcher, redis, make_message):
    await dispatcher.dispatch(make_message("talk to a human"))
    later = FIXED_NOW + timedelta(minutes=5)

    message = await end_handoff(redis, "console:alice", later, EndReason.OWNER)
    second = await end_handoff(redis, "console:alice", later, EndReason.OWNER)

    assert message is not None and message.recipient == ContactRef("console", "alice")
    assert message.text.startswith("This chat with our team has ended")
    assert message.purpose is Purpose.TRANSACTIONAL
    assert second is None
    assert not await redis.exists(keys.contact_handoff("console:alice"))
    back = await dispatcher.dispatch(make_message("hello"))
    assert back.replies[0].text.startswith("Hello again")


async def test_idle_handoffs_expire_with_an_injected_clock(dispatcher, redis, make_message):
    await dispatcher.dispatch(make_message("人工", contact="console:quiet"))
    await dispatcher.dispatch(make_message("human", contact="console:busy"))
    await handoff.touch(redis, "console:busy", FIXED_NOW + timedelta(minutes=20))
    owner = ContactRef("console", "owner")

    early = await expire_idle(redis, FIXED_NOW + timedelta(minutes=29), IDLE, owners=[owner])
    due = await expire_idle(redis, FIXED_NOW + timedelta(minutes=30), IDLE, owners=[owner])

    assert early == []
    to_customer, to_owner = due
    assert to_customer.recipient == ContactRef("console", "quiet")
    assert to_customer.text.startswith("亲，由于较长时间没有收到您的消息")
    assert to_owner.recipient == owner and "30 分钟" in to_owner.text and "C1" in to_owner.text
    assert await handoff.active(redis) == ["console:busy"]
    assert await expire_idle(redis, FIXED_NOW + timedelta(minutes=30), IDLE) == []

    [busy] = await expire_idle(redis, FIXED_NOW + timedelta(minutes=50), IDLE)
    assert busy.text.startswith("As we haven't heard from you")


async def test_a_message_keeps_the_handoff_alive(redis, settings, make_message):
    clock = [FIXED_NOW]
    dispatcher = make_dispatcher(redis, settings)
    dispatcher.clock = lambda: clock[0]
    await dispatcher.dispatch(make_message("人工"))
    clock[0] = FIXED_NOW + timedelta(minutes=25)
    await dispatcher.dispatch(make_message("还在吗"))

    assert await expire_idle(redis, FIXED_NOW + timedelta(minutes=40), IDLE) == []
    assert len(await expire_idle(redis, FIXED_NOW + timedelta(minutes=55), IDLE)) == 1


async def test_the_scheduler_job_delivers_through_the_runtime(redis, settings, make_message):
    async with open_runtime(settings, clock=lambda: FIXED_NOW) as runtime:
        scheduler = build_scheduler(settings.tz)
        job = schedule_handoff_expiry(scheduler, runtime)
        assert (job.id, scheduler.get_job(JOB_ID)) == (JOB_ID, job)
        assert job.trigger.interval == timedelta(seconds=30)

        await runtime.receive(make_message("转人工", contact="console:bob"))
        await mailbox.drain(redis, "console:owner")
        late = FIXED_NOW + timedelta(seconds=settings.handoff_idle_s)
        sent = await expire_handoffs(runtime, clock=lambda: late)

    assert sent == 2  # the customer, and the console owner (telegram:1 has no channel here)
    assert await redis.hgetall(keys.outbox()) == {}, "sent notices leave the durable outbox"
    [to_bob] = await mailbox.drain(redis, "console:bob")
    [to_owner] = await mailbox.drain(redis, "console:owner")
    assert to_bob["text"].startswith("亲，由于较长时间没有收到您的消息")
    assert "自动结束" in to_owner["text"]
