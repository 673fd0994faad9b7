"""Outbound messages through the durable outbox (:mod:`storage.outbox`).

The dispatcher keeps every message it will send after answering (:func:`kept`),
the sender settles each once its send is settled (:func:`send_kept`), and the
recovery job (:func:`recover`) sends what a crash left behind. Every kept message
has an idempotency key, so its send goes through the send claim: at most once,
whether from memory or by recovery.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Container, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from bot.messages import Button, ContactRef, DeliveryError, OutboundMessage, Purpose
from storage import outbox, send_claims
from storage.outbox import Kept

log = logging.getLogger(__name__)

Send = Callable[[OutboundMessage], Awaitable[None]]
SENT, FAILED, UNCERTAIN, HELD = "sent", "failed", "uncertain", "held"
_US = "\x1f"


def item_id(message: OutboundMessage) -> str:
    """The outbox id of a keyed message: its recipient and idempotency key."""
    if not message.idempotency_key:
        raise ValueError("only messages with an idempotency key are kept")
    return f"{message.recipient.id}{_US}{message.idempotency_key}"


def kept(message: OutboundMessage) -> Kept:
    """``message`` as an outbox item."""
    return Kept(item_id(message), encode(message))


def encode(message: OutboundMessage) -> str:
    """The message as JSON."""
    body: dict[str, Any] = {
        "to": message.recipient.id,
        "text": message.text,
        "purpose": message.purpose.value,
        "buttons": [[b.label, b.payload] for b in message.buttons],
        "chat": message.chat_id,
        "key": message.idempotency_key,
        "image": message.image,
    }
    return json.dumps(body, ensure_ascii=False)


def decode(raw: str) -> OutboundMessage:
    """The message :func:`encode` wrote."""
    body = json.loads(raw)
    return OutboundMessage(
        recipient=ContactRef.parse(body["to"]),
        text=body["text"],
        purpose=Purpose(body["purpose"]),
        buttons=tuple(Button(label, payload) for label, payload in body["buttons"]),
        chat_id=body["chat"],
        idempotency_key=body["key"],
        image=body["image"],
    )


async def send_kept(redis: Redis, send: Send, messages: Sequence[OutboundMessage]) -> Counter[str]:
    """Send each kept message and settle those whose send is settled; the outcomes counted
    (``sent``, ``failed``, ``uncertain``, ``held``). One held by another sender stays
    for the recovery job."""
    outcomes: Counter[str] = Counter()
    settled: list[str] = []
    for message in messages:
        outcome = await _send_one(send, message)
        outcomes[outcome] += 1
        if outcome != HELD:
            settled.append(item_id(message))
    await outbox.settle(redis, settled)
    return outcomes


async def keep_and_send(
    redis: Redis,
    send: Send,
    channels: Container[str],
    messages: Sequence[OutboundMessage],
    now: datetime,
) -> Counter[str]:
    """For messages a job produces: keep them (one round trip), then :func:`send_kept`.

    Only messages to ``channels`` (this process's) are kept; the others are tried and
    fail as before. The messages must have idempotency keys (:func:`keyed`)."""
    ours = [m for m in messages if m.recipient.channel in channels]
    if ours:
        async with redis.pipeline(transaction=False) as pipe:
            outbox.queue_keep(pipe, map(kept, ours), now)
            await pipe.execute()
    outcomes = await send_kept(redis, send, ours)
    for message in messages:
        if message.recipient.channel not in channels:
            outcomes[await _send_one(send, message)] += 1
    return outcomes


async def recover(
    redis: Redis, send: Send, written_before: datetime, channels: Container[str]
) -> Counter[str]:
    """Send the items written before ``written_before`` that are still not settled; the
    outcomes counted as :func:`send_kept` does. Only items to ``channels`` (those this
    process has): another process may have a channel this one lacks."""
    items = await outbox.left_behind(redis, written_before)
    messages = [decode(item.message) for item in items]
    return await send_kept(redis, send, [m for m in messages if m.recipient.channel in channels])


async def _send_one(send: Send, message: OutboundMessage) -> str:
    try:
        await send(message)
    except send_claims.Held:
        return HELD
    except send_claims.Uncertain as exc:
        log.warning("message %s to %s uncertain: %s", _key(message), message.recipient, exc)
        return UNCERTAIN
    except DeliveryError as exc:
        log.warning("message %s to %s not sent: %s", _key(message), message.recipient, exc)
        return FAILED
    return SENT


def keyed(messages: Iterable[OutboundMessage], prefix: str) -> tuple[OutboundMessage, ...]:
    """The messages, each with an idempotency key (``<prefix>:<n>`` where it had none)."""
    return tuple(
        m if m.idempotency_key else replace(m, idempotency_key=f"{prefix}:{n}")
        for n, m in enumerate(messages)
    )


def _key(message: OutboundMessage) -> str:
    return message.idempotency_key or ""
