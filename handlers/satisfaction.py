"""Satisfaction (满意度): ask for a 1-5 rating, take the answer, escalate a low score.

Asked after a ticket is closed (:func:`ask_after_ticket`, used by ``/close``) and a
while after delivery (the ``rate`` lifecycle rule in ``config/followups.yaml``,
sent by the follow-up engine). Either way the buttons carry ``rate:<n>:<ref>``
(``ref`` a ticket id such as ``T1001``, or an order id): Telegram shows them as
buttons, WeChat and the terminal as numbered text where a digit presses one.
A bare digit 1-5 also answers while a rating is pending: the marker the ticket
ask leaves, or a ``rate`` follow-up sent within ``pending_hours``. A score at or
below ``low_score`` opens a ticket and tells the owners.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from bot import payloads
from bot.context import Context
from bot.messages import Button, ContactRef, InboundMessage, MessageKind, OutboundMessage, Purpose
from config.followup_rules import rules_from
from config.i18n import Templates
from config.membership import membership_from
from config.settings import Settings
from handlers.owner_notice import notify_owners
from handlers.promises import promise
from storage import followups, satisfaction, tickets
from storage.followups import State
from storage.tickets import Ticket

RATE = payloads.RATE
"""The follow-up rule's name, which is also its buttons' payload prefix."""
LOW_RATING_INTENT = "low_rating"
_DIGITS = {str(n): n for n in satisfaction.SCORES} | {
    chr(0xFF10 + n): n for n in satisfaction.SCORES
}


def rating_buttons(ref: str, language: str, settings: Settings) -> tuple[Button, ...]:
    """Five buttons ``rate:<n>:<ref>``, labelled like the ``rate`` follow-up rule's."""
    texts = rules_from(settings.followup_rules).templates
    return tuple(
        Button(
            texts.text(f"{RATE}.{n}", language) if f"{RATE}.{n}" in texts else str(n),
            payloads.rate(n, ref),
        )
        for n in satisfaction.SCORES
    )


async def ask_after_ticket(
    redis: Redis, ticket: Ticket, settings: Settings, templates: Templates
) -> OutboundMessage | None:
    """The rating request for a just-closed ticket (None when the shop does not ask)."""
    rules = membership_from(settings.membership_file).satisfaction
    if not rules.after_ticket_close:
        return None
    await satisfaction.ask(redis, ticket.contact_id, ticket.id, int(rules.pending_hours * 3600))
    return OutboundMessage(
        recipient=ContactRef.parse(ticket.contact_id),
        text=templates.render("satisfaction_ask_ticket", ticket.language, ticket_id=ticket.id),
        purpose=Purpose.TRANSACTIONAL,
        buttons=rating_buttons(ticket.id, ticket.language, settings),
        idempotency_key=f"ticket:{ticket.id}:rate",
    )


async def satisfaction_responder(message: InboundMessage, ctx: Context) -> bool:
    """Claim a rating (button or pending digit); anything else passes on."""
    answer = await _rating_in(message, ctx)
    if answer is None:
        return False
    ref, score = answer
    if not await satisfaction.record(ctx.redis, ctx.ref.id, ref, score, ctx.now):
        ctx.reply(ctx.render("satisfaction_already"))
        return True
    rules = membership_from(ctx.settings.membership_file).satisfaction
    if score > rules.low_score:
        ctx.reply(ctx.render("satisfaction_thanks", score=score))
        return True
    ticket = await tickets.create(
        ctx.redis,
        contact_id=ctx.ref.id,
        intent=LOW_RATING_INTENT,
        text=f"{score}/5 · {ref}",
        language=ctx.language,
        now=ctx.now,
        order_number=None if tickets.is_ticket_id(ref) else ref,
    )
    ctx.reply(
        ctx.render("satisfaction_sorry", score=score, ticket_id=ticket.id, promise=promise(ctx))
    )
    notify_owners(ctx, "satisfaction_low_owner", ticket_id=ticket.id, score=score, ref=ref)
    return True


async def _rating_in(message: InboundMessage, ctx: Context) -> tuple[str, int] | None:
    match message.kind, payloads.parse(message.payload):
        case MessageKind.BUTTON, payloads.RatePayload(score, ref):
            return (ref, score) if score in satisfaction.SCORES else None
        case MessageKind.TEXT, _ if (digit := _DIGITS.get(message.text.strip())) is not None:
            pending = await pending_ref(ctx.redis, ctx.ref.id, ctx.now, ctx.settings)
            return (pending, digit) if pending else None
        case _:
            return None


async def pending_ref(
    redis: Redis, contact_id: str, now: datetime, settings: Settings
) -> str | None:
    """What a bare digit from the contact would rate: the ticket asked about, else the order
    of a ``rate`` follow-up sent within ``pending_hours`` and not rated yet."""
    asked = await satisfaction.pending(redis, contact_id)
    if asked:
        return asked
    window = timedelta(hours=membership_from(settings.membership_file).satisfaction.pending_hours)
    for record in reversed(await followups.of_contact(redis, contact_id)):
        item = record.followup
        sent_at = record.finished_at
        if item.template != RATE or record.state is not State.SENT or sent_at is None:
            continue
        order_id = str(item.data.get("order_id", ""))
        if order_id and now - sent_at <= window and not await satisfaction.get(redis, order_id):
            return order_id
    return None
