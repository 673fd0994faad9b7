"""The terminal channel puts a message with an idempotency key in the mailbox only once."""

from __future__ import annotations

from bot.channels.terminal import ConsoleChannel
from bot.messages import ContactRef, OutboundMessage
from storage import keys, mailbox, send_claims

ALICE = ContactRef("console", "alice")


async def test_the_same_key_sent_twice_leaves_one_mail(redis):
    channel = ConsoleChannel(redis)
    message = OutboundMessage(ALICE, "您的订单已发货", idempotency_key="order:7:shipped")

    await channel.send(message)
    await channel.send(message)

    assert [m["text"] for m in await mailbox.drain(redis, ALICE.id)] == ["您的订单已发货"]


async def test_different_keys_and_messages_without_a_key_all_arrive(redis):
    channel = ConsoleChannel(redis)

    await channel.send(OutboundMessage(ALICE, "shipped", idempotency_key="order:7:shipped"))
    await channel.send(OutboundMessage(ALICE, "delivered", idempotency_key="order:7:delivered"))
    await channel.send(OutboundMessage(ALICE, "hello"))
    await channel.send(OutboundMessage(ALICE, "hello"))

    texts = [m["text"] for m in await mailbox.drain(redis, ALICE.id)]
    assert texts == ["shipped", "delivered", "hello", "hello"]


async def test_the_key_is_per_contact(redis):
    channel = ConsoleChannel(redis)
    bob = ContactRef("console", "bob")

    for who in (ALICE, bob):
        await channel.send(OutboundMessage(who, "tip", idempotency_key="tip:1"))

    assert [m["text"] for m in await mailbox.drain(redis, ALICE.id)] == ["tip"]
    assert [m["text"] for m in await mailbox.drain(redis, bob.id)] == ["tip"]


async def test_the_mail_and_its_sent_marker_are_written_together(redis):
    """A process killed after the mail went in cannot leave a claim that hides it, nor
    a marker without the mail: both are one script."""
    channel = ConsoleChannel(redis)
    await channel.send(OutboundMessage(ALICE, "shipped", idempotency_key="order:8:shipped"))

    assert await redis.get(keys.sent_message(ALICE.id, "order:8:shipped")) == send_claims.SENT
    assert await redis.ttl(keys.sent_message(ALICE.id, "order:8:shipped")) > 86_400
    assert await redis.llen(keys.mailbox(ALICE.id)) == 1
