"""The dispatcher: dedupe, error boundary, observer and responder order, languages."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio.client import Pipeline
from support import make_dispatcher

from bot.context import Context, Observer, Responder
from bot.dispatcher import DispatchResult, Finishing
from bot.messages import ContactRef, InboundMessage, Purpose
from storage import batch, contacts, keys, unanswered
from storage.batch import Queued


async def test_same_message_id_twice_is_handled_once(redis, settings, make_message):
    calls: list[str] = []

    async def counting(message: InboundMessage, ctx: Context) -> bool:
        calls.append(message.id)
        ctx.reply("ok")
        return True

    dispatcher = make_dispatcher(redis, settings, responders=[counting])
    first = await dispatcher.dispatch(make_message("hi", message_id="42"))
    second = await dispatcher.dispatch(make_message("hi", message_id="42"))

    assert calls == ["42"]
    assert [m.text for m in first.replies] == ["ok"]
    assert second.duplicate and second.outbound == ()
    contact = await contacts.get(redis, "console:alice")
    assert contact is not None and contact.message_count == 1


async def test_same_id_on_two_channels_is_two_messages(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    a = await dispatcher.dispatch(make_message("hi", message_id="7", contact="telegram:5"))
    b = await dispatcher.dispatch(make_message("hi", message_id="7", contact="wechat:o5"))
    assert not a.duplicate and not b.duplicate


async def test_observers_all_run_then_first_claiming_responder_wins(redis, settings, make_message):
    order: list[str] = []

    def observer(name: str) -> Observer:
        async def observe(message: InboundMessage, ctx: Context) -> None:
            order.append(name)

        return observe

    def responder(name: str, claims: bool) -> Responder:
        async def respond(message: InboundMessage, ctx: Context) -> bool:
            order.append(name)
            return claims

        return respond

    dispatcher = make_dispatcher(
        redis,
        settings,
        observers=[observer("o1"), observer("o2")],
        responders=[responder("r1", False), responder("r2", True), responder("r3", True)],
    )
    await dispatcher.dispatch(make_message("anything"))
    assert order == ["o1", "o2", "r1", "r2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("在吗，我的快递呢", "抱歉"), ("where is my parcel", "Sorry, something went wrong")],
)
async def test_handler_error_becomes_apology_in_customer_language(
    redis, settings, make_message, caplog, text, expected
):
    async def half_done_then_broken(message: InboundMessage, ctx: Context) -> bool:
        ctx.reply("partial answer that must not leak")
        raise RuntimeError("boom")

    dispatcher = make_dispatcher(redis, settings, responders=[half_done_then_broken])
    with caplog.at_level(logging.ERROR):
        result = await dispatcher.dispatch(make_message(text))

    assert len(result.replies) == 1
    assert result.replies[0].text.startswith(expected)
    assert "boom" in caplog.text


async def test_greeting_answers_in_the_customer_language(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    zh = await dispatcher.dispatch(make_message("你好！", contact="console:zh"))
    en = await dispatcher.dispatch(make_message("Hello", contact="console:en"))
    again = await dispatcher.dispatch(make_message("hi", contact="console:en"))

    assert zh.replies[0].text.startswith("您好，欢迎光临")
    assert en.replies[0].text.startswith("Hello, welcome to")
    assert again.replies[0].text.startswith("Hello again, welcome back")


async def test_language_without_letters_falls_back_to_the_contact_then_default(
    redis, settings, make_message
):
    dispatcher = make_dispatcher(redis, settings)
    await dispatcher.dispatch(make_message("hello", contact="console:bob"))
    digits_from_english_speaker = await dispatcher.dispatch(
        make_message("12345", contact="console:bob")
    )
    digits_from_stranger = await dispatcher.dispatch(make_message("12345", contact="console:new"))

    assert digits_from_english_speaker.replies[0].text.startswith("Sorry, I don't have")
    assert digits_from_stranger.replies[0].text.startswith("亲，这个问题")


async def test_fallback_records_the_question_for_the_owner(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    await dispatcher.dispatch(make_message("你们老板是哪里人", contact="console:carol"))
    [question] = await unanswered.recent(redis)
    assert (question.contact_id, question.text) == ("console:carol", "你们老板是哪里人")


async def test_owner_notifications_are_not_replies(redis, settings, make_message):
    async def escalate(message: InboundMessage, ctx: Context) -> bool:
        ctx.reply("a person will answer")
        ctx.notify_owners(f"{ctx.contact.short_id} needs help")
        return True

    dispatcher = make_dispatcher(redis, settings, responders=[escalate])
    result = await dispatcher.dispatch(make_message("help", contact="telegram:99"))

    assert [m.text for m in result.replies] == ["a person will answer"]
    recipients = {m.recipient for m in result.others}
    assert recipients == {ContactRef("telegram", "1"), ContactRef("console", "owner")}
    assert all(m.purpose is Purpose.TRANSACTIONAL for m in result.others)


async def test_owner_flag_reaches_handlers(redis, settings, make_message):
    seen: dict[str, bool] = {}

    async def record(message: InboundMessage, ctx: Context) -> bool:
        seen[message.contact.id] = ctx.is_owner
        return True

    dispatcher = make_dispatcher(redis, settings, responders=[record])
    for who in ("telegram:1", "telegram:2", "console:owner"):
        await dispatcher.dispatch(make_message("/help", contact=who))
    assert seen == {"telegram:1": True, "telegram:2": False, "console:owner": True}


async def test_a_channel_registers_how_its_dispatches_end_once(redis, settings, make_message):
    """Issue 18: no per-call ``finish``: the step and ``keep_replies`` of the message's own
    channel run in the commit round trip, after its replies were kept; others get neither."""

    async def answer(message: InboundMessage, ctx: Context) -> bool:
        ctx.reply("ok")
        return True

    def count_kept(pipe: Pipeline, result: DispatchResult) -> Queued[int]:
        return batch.queue(pipe, lambda pipe: pipe.hlen(keys.outbox()), lambda r: r[0])

    dispatcher = make_dispatcher(redis, settings, responders=[answer])
    dispatcher.finish_with("telegram", Finishing(keep_replies=True, step=count_kept))

    on_telegram = await dispatcher.dispatch(make_message("hi", contact="telegram:5"))
    on_console = await dispatcher.dispatch(make_message("hi", contact="console:bo"))

    assert on_telegram.finished == 1, "the step saw the reply kept in the same round trip"
    assert on_console.finished is None
    assert [m.text for m in (on_telegram.replies + on_console.replies)] == ["ok", "ok"]
    assert await redis.hlen(keys.outbox()) == 1, "only the telegram reply is kept"
