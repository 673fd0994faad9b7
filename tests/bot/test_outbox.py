"""Issue 14: the durable outbox. Owner notices and queued replies are kept in the round
trip that commits the message; what a crash left behind is sent by recovery, once."""

from __future__ import annotations

from datetime import timedelta

from support import FIXED_NOW, make_dispatcher

from bot import outbox
from bot.app import Runtime
from bot.channels.terminal import ConsoleChannel
from bot.context import Context
from bot.delivery import Delivery
from bot.dispatcher import Finishing
from bot.messages import ContactRef, InboundMessage, OutboundMessage
from bot.roles import CONSOLE_OWNER
from config.i18n import default_templates
from handlers.pipeline import default_pipeline
from storage import keys, mailbox, send_claims
from storage import outbox as stored
from storage.outbox import Kept

ALICE = "console:alice"
LATER = FIXED_NOW + timedelta(minutes=5)
CHANNELS = ("console",)


async def answer_and_tell_the_owner(message: InboundMessage, ctx: Context) -> bool:
    ctx.reply("we got your question")
    ctx.notify_owners("a new question from alice")
    return True


def _settings(settings):
    return settings.model_copy(update={"owners": ()})  # the terminal owner only


async def _texts(redis, contact_id: str) -> list[str]:
    return [mail["text"] for mail in await mailbox.drain(redis, contact_id)]


async def test_a_crash_between_commit_and_send_leaves_the_items_and_recovery_sends_them_once(
    redis, settings, make_message
):
    settings = _settings(settings)
    dispatcher = make_dispatcher(redis, settings, responders=[answer_and_tell_the_owner])
    delivery = Delivery({"console": ConsoleChannel(redis)})

    dispatcher.finish_with("console", Finishing(keep_replies=True))  # as Telegram's replies

    # The dispatch commits; the process dies before sending anything.
    message = make_message("where is my order?", message_id="m1")
    result = await dispatcher.dispatch(message)

    assert len(await stored.left_behind(redis, LATER)) == 2
    assert all(m.idempotency_key for m in result.outbound)
    first = await outbox.recover(redis, delivery.send, LATER, CHANNELS)
    second = await outbox.recover(redis, delivery.send, LATER, CHANNELS)

    assert first == {"sent": 2} and not second
    assert await _texts(redis, ALICE) == ["we got your question"]
    assert await _texts(redis, CONSOLE_OWNER.id) == ["a new question from alice"]
    assert await redis.hlen(keys.outbox()) == 0
    assert await redis.zcard(keys.outbox_by_time()) == 0


async def test_sent_from_memory_then_settled_so_recovery_sends_nothing(
    redis, settings, make_message
):
    settings = _settings(settings)
    dispatcher = make_dispatcher(redis, settings, responders=[answer_and_tell_the_owner])
    delivery = Delivery({"console": ConsoleChannel(redis)})
    runtime = Runtime(
        settings, redis, default_templates(), dispatcher, delivery, default_pipeline(settings)
    )

    result = await runtime.receive(make_message("hi", message_id="m2"))
    recovered = await outbox.recover(redis, delivery.send, LATER, CHANNELS)

    assert [r.text for r in result.replies] == ["we got your question"]
    assert not recovered
    assert await _texts(redis, CONSOLE_OWNER.id) == ["a new question from alice"]
    assert await redis.hlen(keys.outbox()) == 0


async def test_recovery_leaves_an_item_whose_send_someone_else_holds(redis):
    delivery = Delivery({"console": ConsoleChannel(redis)})
    message = OutboundMessage(ContactRef.parse(ALICE), "late reply", idempotency_key="k1")
    async with redis.pipeline(transaction=False) as pipe:
        stored.queue_keep(pipe, [outbox.kept(message)], FIXED_NOW)
        await pipe.execute()
    await send_claims.claim(redis, ALICE, "k1", "another-process")

    held = await outbox.recover(redis, delivery.send, LATER, CHANNELS)

    assert held == {"held": 1}
    assert len(await stored.left_behind(redis, LATER)) == 1
    assert await _texts(redis, ALICE) == []


def test_an_outbox_message_survives_encoding():
    message = OutboundMessage(
        ContactRef.parse("telegram:5"), "你好", idempotency_key="k", chat_id="-100"
    )
    assert outbox.decode(outbox.encode(message)) == message
    assert isinstance(outbox.kept(message), Kept)


async def test_recovery_leaves_items_for_a_channel_this_process_lacks(redis):
    delivery = Delivery({"console": ConsoleChannel(redis)})
    message = OutboundMessage(ContactRef.parse("telegram:5"), "queued", idempotency_key="t1")
    async with redis.pipeline(transaction=False) as pipe:
        stored.queue_keep(pipe, [outbox.kept(message)], FIXED_NOW)
        await pipe.execute()

    assert not await outbox.recover(redis, delivery.send, LATER, CHANNELS)
    assert len(await stored.left_behind(redis, LATER)) == 1
