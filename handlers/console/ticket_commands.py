"""``/tickets``, ``/reply``, ``/close``, ``/done``: answering customers from the console."""

from __future__ import annotations

from bot.messages import ContactRef, OutboundMessage, Purpose
from handlers.console.framework import Call, Command, Refusal
from handlers.handoff import end_handoff
from handlers.reply_scripts import UnknownScript, expand, script_labels
from handlers.satisfaction import ask_after_ticket
from handlers.ticket_actions import answer_ticket, close_ticket
from storage import contacts, handoff, tickets
from storage.tickets import Ticket, TicketClosed, TicketNotFound, TicketStatus
from storage.timestamps import to_epoch

TICKET_LIST_LIMIT = 20
_EXCERPT = 40


async def list_tickets(call: Call) -> None:
    """``/tickets [open|all]``: the newest tickets, open ones by default."""
    match call.args.strip().lower():
        case "" | "open" | "未处理":
            found = await tickets.list_open(call.ctx.redis, TICKET_LIST_LIMIT)
        case "all" | "全部":
            found = await tickets.list_all(call.ctx.redis, TICKET_LIST_LIMIT)
        case _:
            raise call.usage()
    if not found:
        call.reply("console_no_tickets")
        return
    lines = [await ticket_line(call, ticket) for ticket in found]
    call.reply("console_tickets", tickets="\n".join(lines))


async def ticket_line(call: Call, ticket: Ticket) -> str:
    """``T1001 [open] C12 return #202611220001 · 我要退货...`` (complaint: ``complaint:colour``)."""
    contact = await contacts.get(call.ctx.redis, ticket.contact_id)
    who = contact.short_id if contact else ticket.contact_id
    topic = f"{ticket.intent}:{ticket.category}" if ticket.category else ticket.intent
    order = f" #{ticket.order_number}" if ticket.order_number else ""
    text = ticket.text if len(ticket.text) <= _EXCERPT else ticket.text[:_EXCERPT] + "…"
    if ticket.erased_at:
        text = call.render("console_ticket_erased")
    return f"{ticket.id} [{ticket.status}] {who} {topic}{order} · {text}"


async def reply(call: Call) -> None:
    """``/reply <ticket|ref> <text>``: answer a ticket, or write to a contact.

    ``#色差`` (any script's tag) in the text inserts that reply script, in the
    customer's language (:mod:`handlers.reply_scripts`).
    """
    target, _, text = call.args.strip().partition(" ")
    text = text.strip()
    if not target or not text:
        raise call.usage()
    if tickets.is_ticket_id(target):
        await _answer(call, target, text)
        return
    contact_id = await call.services.refs.resolve(target, call.ctx)
    contact = await contacts.get(call.ctx.redis, contact_id) if contact_id else None
    if contact is None:
        raise Refusal("console_no_contact", ref=target)
    call.target = contact.id
    language = contact.language or call.ctx.settings.language
    text = call.ctx.templates.render(
        "owner_reply",
        language,
        shop_name=call.ctx.settings.shop_name,
        text=_with_scripts(call, text, language),
    )
    _send_to_customer(call, contact.id, text)
    await handoff.touch(call.ctx.redis, contact.id, call.now)
    call.reply("console_reply_sent", contact=contact.id)


async def _answer(call: Call, ticket_id: str, text: str) -> None:
    redis = call.ctx.redis
    found = await tickets.get(redis, ticket_id)
    if found is not None:
        text = _with_scripts(call, text, found.language)
    try:
        ticket, message = await answer_ticket(
            redis, ticket_id, text, call.now, by=call.actor, templates=call.ctx.templates
        )
    except TicketNotFound:
        raise Refusal("console_no_ticket", ticket=ticket_id) from None
    except TicketClosed:
        raise Refusal("console_ticket_is_closed", ticket=ticket_id.upper()) from None
    call.target = ticket.contact_id
    call.ctx.outbox.add(message)
    await handoff.touch(redis, ticket.contact_id, call.now)
    call.reply("console_ticket_answered", ticket=ticket.id, contact=ticket.contact_id)


async def close(call: Call) -> None:
    """``/close <ticket>``: close a ticket and tell the customer."""
    ticket_id = call.args.strip()
    if not tickets.is_ticket_id(ticket_id):
        raise call.usage()
    try:
        ticket, message = await close_ticket(
            call.ctx.redis, ticket_id, call.now, by=call.actor, templates=call.ctx.templates
        )
    except TicketNotFound:
        raise Refusal("console_no_ticket", ticket=ticket_id) from None
    call.target = ticket.contact_id
    if message is None:
        call.reply("console_ticket_already_closed", ticket=ticket.id)
        return
    call.ctx.outbox.add(message)
    ask = await ask_after_ticket(call.ctx.redis, ticket, call.ctx.settings, call.ctx.templates)
    if ask is not None:
        call.ctx.outbox.add(ask)
    call.reply("console_ticket_closed", ticket=ticket.id)


async def done(call: Call) -> None:
    """``/done <ref>``: end a contact's handoff to a person."""
    ref = call.args.strip()
    contact_id = await call.services.refs.resolve(ref, call.ctx) if ref else None
    if contact_id is None:
        raise call.usage() if not ref else Refusal("console_no_contact", ref=ref)
    call.target = contact_id
    message = await end_handoff(
        call.ctx.redis,
        contact_id,
        call.now,
        templates=call.ctx.templates,
        default_language=call.ctx.settings.language,
    )
    if message is None:
        call.reply("console_no_handoff", contact=contact_id)
        return
    call.ctx.outbox.add(message)
    call.reply("console_handoff_done", contact=contact_id)


def _with_scripts(call: Call, text: str, language: str) -> str:
    """``text`` with its ``#script`` tags expanded; refuses an unknown leading one."""
    try:
        return expand(text, call.ctx.templates, language)
    except UnknownScript as exc:
        scripts = script_labels(call.ctx.templates, call.ctx.settings.language)
        raise Refusal("console_unknown_script", script=exc.tag, scripts=scripts) from None


def _send_to_customer(call: Call, contact_id: str, text: str) -> None:
    call.ctx.outbox.add(
        OutboundMessage(
            recipient=ContactRef.parse(contact_id),
            text=text,
            purpose=Purpose.REPLY,
            idempotency_key=f"reply:{contact_id}:{to_epoch(call.now)}",
        )
    )


async def open_tickets_section(contact_id: str, call: Call) -> str | None:
    """For ``/contact``: the contact's tickets that are not closed."""
    found = await tickets.for_contact(call.ctx.redis, contact_id)
    still_open = [t for t in found if t.status is not TicketStatus.CLOSED]
    if not still_open:
        return None
    lines = [await ticket_line(call, ticket) for ticket in still_open]
    return call.render("console_open_tickets", tickets="\n".join(lines))


COMMANDS = (
    Command("tickets", list_tickets, "help_tickets", aliases=("工单",)),
    Command("reply", reply, "help_reply", aliases=("回复",)),
    Command("close", close, "help_close", aliases=("关闭",)),
    Command("done", done, "help_done", aliases=("结束",)),
)
