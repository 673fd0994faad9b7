"""What the owner console does with a ticket: answer it or close it, and tell the customer.

Both functions update :mod:`storage.tickets` and return the message for the
customer (in the ticket's language, purpose transactional) for the caller to
deliver, e.g. ``ctx.outbox.add(message)`` in an owner command. Either one keeps the
ticket's promise, so its pending owner reminders are cancelled
(:mod:`schedules.ticket_reminders`). They raise
:class:`storage.tickets.TicketNotFound` for an unknown id, and
:func:`answer_ticket` raises :class:`storage.tickets.TicketClosed` on a closed ticket.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from bot.messages import ContactRef, OutboundMessage, Purpose
from config.i18n import Templates
from schedules import ticket_reminders
from storage import tickets
from storage.tickets import Ticket
from storage.timestamps import to_epoch


async def answer_ticket(
    redis: Redis, ticket_id: str, text: str, now: datetime, *, by: str, templates: Templates
) -> tuple[Ticket, OutboundMessage]:
    """Record an owner's answer (status ``answered``); returns it and the customer's copy."""
    ticket = await tickets.answer(redis, ticket_id, text, now, by=by)
    await ticket_reminders.cancel(redis, ticket, now, "answered")
    message = OutboundMessage(
        recipient=ContactRef.parse(ticket.contact_id),
        text=templates.render("ticket_answer", ticket.language, ticket_id=ticket.id, text=text),
        purpose=Purpose.TRANSACTIONAL,
        idempotency_key=f"ticket:{ticket.id}:answer:{to_epoch(now)}",
    )
    return ticket, message


async def close_ticket(
    redis: Redis, ticket_id: str, now: datetime, *, by: str, templates: Templates, reason: str = ""
) -> tuple[Ticket, OutboundMessage | None]:
    """Close a ticket; the customer's message is None when it was already closed."""
    ticket, closed_now = await tickets.close(redis, ticket_id, now, by=by, reason=reason)
    if not closed_now:
        return ticket, None
    await ticket_reminders.cancel(redis, ticket, now, "closed")
    message = OutboundMessage(
        recipient=ContactRef.parse(ticket.contact_id),
        text=templates.render("ticket_closed", ticket.language, ticket_id=ticket.id),
        purpose=Purpose.TRANSACTIONAL,
        idempotency_key=f"ticket:{ticket.id}:closed",
    )
    return ticket, message
