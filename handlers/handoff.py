"""Human handoff (转人工): the customer talks to a person; the bot stays quiet.

人工 / 转人工 / 客服 / human / agent / "talk to a person" starts it (word lists in
``config/customer_words.yaml``). While it lasts, every message from the contact is
forwarded to the owners with a reference they can answer (the short id ``C12``,
and the ticket if the contact has an open one) and no automatic answer is sent
(the opt-out responder runs before this one and still works).

It ends with a message to the customer when:

- an owner closes it: the owner console calls :func:`end_handoff`;
- nobody wrote for ``handoff_idle_s``: :func:`expire_idle`, run every
  :data:`SWEEP_INTERVAL_S` by the ``handoff:expire`` scheduler job.

The owner console should call :func:`storage.handoff.touch` when an owner replies
to a contact in handoff, so a conversation the owner is carrying does not expire.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot import payloads
from bot.context import Context
from bot.messages import ContactRef, InboundMessage, MessageKind, OutboundMessage, Purpose
from config.i18n import Templates, default_templates
from handlers import media
from handlers.owner_notice import notify_owners, profile_line, render_for_owners, ticket_note
from handlers.promises import promise
from handlers.words import wants_handoff
from storage import contacts, tickets
from storage import handoff as state
from storage.batch import Queued
from storage.handoff import Handoff

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 30
"""How often the ``handoff:expire`` job looks for idle handoffs."""


class EndReason(StrEnum):
    """Why a handoff ended; picks the message the customer gets."""

    OWNER = "owner"
    IDLE = "idle"


def _asks_for_person(message: InboundMessage) -> bool:
    match message.kind:
        case MessageKind.TEXT:
            return wants_handoff(message.text)
        case MessageKind.BUTTON:
            return isinstance(payloads.parse(message.payload), payloads.HandoffPayload)
        case _:
            return False


def handoff_state(pipe: Pipeline, message: InboundMessage) -> Queued[Handoff | None]:
    """Preload: the sender's handoff, read on the message's arrival."""
    return state.queue_get(pipe, message.contact.id)


async def handoff(message: InboundMessage, ctx: Context) -> bool:
    """Responder: forward messages of a contact in handoff; start one when asked."""
    if ctx.is_owner:
        return False
    current = await ctx.load(handoff_state)
    if current is not None:
        await _forward(message, ctx, current)
        return True
    if _asks_for_person(message):
        await _start(message, ctx)
        return True
    return False


async def _start(message: InboundMessage, ctx: Context) -> None:
    ticket = await tickets.latest_open_for_contact(ctx.redis, ctx.ref.id)
    started, _ = await state.start(
        ctx.redis, ctx.ref.id, ctx.now, ticket_id=ticket.id if ticket else None
    )
    idle_minutes = _minutes(ctx.settings.handoff_idle_s)
    ctx.reply(ctx.render("handoff_started", idle_minutes=idle_minutes, promise=promise(ctx)))
    notify_owners(
        ctx,
        "owner_handoff_started",
        ticket_note=_ticket_note(ctx, started),
        short_id=ctx.contact.short_id,
        text=message.text,
    )


async def _forward(message: InboundMessage, ctx: Context, current: Handoff) -> None:
    await state.touch(ctx.redis, ctx.ref.id, ctx.now)
    if message.kind is MessageKind.EVENT:
        return  # A follow or menu event is not something to relay.
    if message.kind is MessageKind.MEDIA:
        await media.keep(message, ctx, in_handoff=True)
    text = message.text or f"[{media.kind_label(ctx, message)}]"
    ctx.notify_owners(
        render_for_owners(
            ctx,
            "owner_handoff_message",
            short_id=ctx.contact.short_id,
            ticket_note=_ticket_note(ctx, current),
            name=ctx.contact.display_name or ctx.contact.external_id,
            text=text,
        ),
        attachment=message.attachment,
    )
    if _asks_for_person(message):
        ctx.reply(ctx.render("handoff_waiting", promise=promise(ctx)))


def _ticket_note(ctx: Context, current: Handoff) -> str:
    return ticket_note(ctx, current.ticket_id)


async def end_handoff(
    redis: Redis,
    contact_id: str,
    now: datetime,
    reason: EndReason = EndReason.OWNER,
    *,
    templates: Templates | None = None,
    default_language: str = "zh-CN",
) -> OutboundMessage | None:
    """End a contact's handoff; returns the message for the customer, None if there was none.

    For the owner console (``/done C12``): deliver the returned message (``ctx.outbox.add``).
    Of two concurrent calls (or a call racing the idle sweep) exactly one gets the message.
    """
    ended = await state.end(redis, contact_id)
    if ended is None:
        return None
    return await _closing_message(
        redis, ended, now, reason, templates or default_templates(), default_language
    )


async def expire_idle(
    redis: Redis,
    now: datetime,
    idle: timedelta,
    *,
    templates: Templates | None = None,
    owners: Sequence[ContactRef] = (),
    default_language: str = "zh-CN",
) -> list[OutboundMessage]:
    """End every handoff idle for ``idle`` or longer; returns the messages to deliver.

    Each customer gets ``handoff_ended_idle``; each of ``owners`` gets a notice
    (in ``default_language``, the shop's language).
    """
    templates = templates or default_templates()
    messages: list[OutboundMessage] = []
    for ended in await state.end_idle(redis, now - idle):
        messages.append(
            await _closing_message(redis, ended, now, EndReason.IDLE, templates, default_language)
        )
        contact = await contacts.get(redis, ended.contact_id)
        if contact is None:
            continue
        profile = await profile_line(redis, contact, templates, default_language)
        notice = templates.render(
            "owner_handoff_ended_idle",
            default_language,
            profile=profile,
            idle_minutes=_minutes(int(idle.total_seconds())),
        )
        messages.extend(
            OutboundMessage(recipient=owner, text=notice, purpose=Purpose.TRANSACTIONAL)
            for owner in owners
        )
    return messages


async def _closing_message(
    redis: Redis,
    ended: Handoff,
    now: datetime,
    reason: EndReason,
    templates: Templates,
    default_language: str,
) -> OutboundMessage:
    contact = await contacts.get(redis, ended.contact_id)
    language = (contact.language if contact else None) or default_language
    log.info("handoff of %s ended (%s) after %s", ended.contact_id, reason, now - ended.started_at)
    return OutboundMessage(
        recipient=ContactRef.parse(ended.contact_id),
        text=templates.render(f"handoff_ended_{reason}", language),
        purpose=Purpose.TRANSACTIONAL,
        idempotency_key=f"handoff-end:{ended.contact_id}:{ended.started_at.timestamp()}",
    )


def _minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))
