"""Answers to follow-up buttons: repurchase reminders (reorder, snooze, no thanks) and the
revisit (回访) question. Payloads are ``<template>:<action>:<ref>`` (``repurchase:snooze:tea-250g``,
``revisit:good:8812``), as ``schedules.dispatch`` builds them with :func:`bot.payloads.followup`.
"""

from __future__ import annotations

from bot import payloads
from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from config.catalog import default_catalog
from config.followup_rules import rules_from
from handlers.owner_notice import notify_owners
from handlers.promises import promise
from schedules import repurchase
from storage import contacts, tickets

REVISIT_ANSWERS = ("good", "okay", "bad")
REVISIT_UNHAPPY = "revisit_unhappy"
"""The intent of the ticket a 不满意 answer to the revisit opens."""


async def followup_buttons(message: InboundMessage, ctx: Context) -> bool:
    """Claim a follow-up button press and act on it; anything else passes on."""
    match message.kind, payloads.parse(message.payload):
        case MessageKind.BUTTON, payloads.FollowupPayload(template, action, ref):
            return await _answer(ctx, template, action, ref, message.text)
        case _:
            return False


async def _answer(ctx: Context, template: str, action: str, ref: str, label: str) -> bool:
    """Act on ``action`` to follow-up ``template`` about ``ref``; False if it is none of ours."""
    match template, action:
        case ("repurchase", "reorder"):
            _reorder(ctx, ref)
        case ("repurchase", "snooze"):
            rules = rules_from(ctx.settings.followup_rules)
            await repurchase.snooze(ctx.redis, ctx.ref.id, ref, ctx.now, rules)
            ctx.reply(ctx.render("repurchase_snoozed", days=rules.snooze_days))
        case ("repurchase", "stop"):
            await repurchase.stop(ctx.redis, ctx.ref.id, ref, ctx.now)
            ctx.reply(ctx.render("repurchase_stopped", product=_product(ctx, ref)))
        case ("revisit", answer) if answer in REVISIT_ANSWERS:
            await _revisit(ctx, ref, answer, label)
        case _:
            return False
    return True


def _reorder(ctx: Context, sku: str) -> None:
    ctx.reply(
        ctx.render("repurchase_reorder_noted", product=_product(ctx, sku), promise=promise(ctx))
    )
    ctx.notify_owners(
        _for_owner(ctx, "repurchase_reorder_owner", product=_product(ctx, sku, owner=True))
    )


async def _revisit(ctx: Context, order_id: str, answer: str, label: str) -> None:
    note = f"revisit order {order_id}: {answer}" + (f" ({label})" if label else "")
    await contacts.add_note(ctx.redis, ctx.ref.id, "revisit", note, ctx.now)
    if answer != "bad":
        ctx.reply(ctx.render("revisit_thanks"))
        return
    # Like a low rating: a ticket, so the unhappy customer is on the owners' open list.
    ticket = await _open_revisit_ticket(ctx, order_id, label)
    ctx.reply(ctx.render("revisit_sorry", ticket_id=ticket.id, promise=promise(ctx)))
    notify_owners(ctx, "revisit_owner_unhappy", order_id=order_id, ticket_id=ticket.id)


async def _open_revisit_ticket(ctx: Context, order_id: str, label: str) -> tickets.Ticket:
    """The open revisit ticket of this order, or a new one (a second press opens none)."""
    for ticket in await tickets.for_contact(ctx.redis, ctx.ref.id):
        if (
            ticket.status in tickets.NOT_CLOSED
            and ticket.intent == REVISIT_UNHAPPY
            and ticket.order_number == order_id
        ):
            return ticket
    return await tickets.create(
        ctx.redis,
        contact_id=ctx.ref.id,
        intent=REVISIT_UNHAPPY,
        text=label or "revisit: bad",
        language=ctx.language,
        now=ctx.now,
        order_number=order_id,
    )


def _product(ctx: Context, sku: str, *, owner: bool = False) -> str:
    product = default_catalog().get(sku)
    language = ctx.settings.language if owner else ctx.language
    return product.name(language) if product else sku


def _for_owner(ctx: Context, key: str, **fields: str) -> str:
    name = ctx.contact.display_name or ""
    customer = f"{ctx.contact.short_id} {name} ({ctx.ref})".replace("  ", " ")
    return ctx.templates.render(key, ctx.settings.language, customer=customer, **fields)
