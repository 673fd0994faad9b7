"""Order questions: where is my order, return, exchange, refund, wrong item, complaint...

A request about the customer's own order opens a ticket (:mod:`storage.tickets`);
a policy question ("七天无理由退货吗", "how do returns work") is not claimed and
goes on to the FAQ. See :mod:`handlers.intents` for how the two are told apart.

Without an order number, 查件, cancel and return are answered from the customer's own
orders (:mod:`handlers.own_orders`): one that fits is used, several are offered as
buttons. 查件 for an order of the customer's own is answered from it; cancel of an
unpaid one cancels it; a return is told whether it is inside the no-reason window.
Otherwise, when the intent needs an order number and the message has none, the
question is kept (``pending_question_ttl_s``) and the customer is asked for the
number; the next message with an order number completes it.

The customer gets the ticket id and the shop's next step for that intent; the
owners get the ticket with the contact's profile line. A complaint names its cause
(category: 色差, 尺码, 物流慢, ...): its next step is ``complaint_next.<category>``, and
the follow-up it promises is kept by reminders to the owners
(:mod:`schedules.ticket_reminders`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from typing import TypedDict

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from config.settings import LANGUAGES
from handlers import own_orders, tagging
from handlers.intents import (
    Category,
    Detection,
    Intent,
    IntentRules,
    default_rules,
    find_order_number,
    order_number_regex,
)
from handlers.order_actions import cancel_unpaid, return_window_text
from handlers.order_status import OrderStatusAnswers
from handlers.owner_notice import notify_owners, render_for_owners, render_profile_line
from handlers.promises import promise
from handlers.reply_scripts import tag_for
from schedules import ticket_reminders
from storage import orders, pending_questions, tickets
from storage.orders import Order, OrderListener, OrderStatus
from storage.tickets import Ticket


class _NoticeFields(TypedDict):
    """What every owner notice about a new ticket fills in."""

    ticket_id: str
    intent_label: str
    order_number: str
    text: str


class OrderQuestions:
    """The order-question responder.

    ``order_status`` answers 查件 for a known order of the customer's own;
    ``order_listeners`` hear about an unpaid order the customer cancels (the follow-up
    engine then cancels its reminders).
    """

    def __init__(
        self,
        rules: IntentRules | None = None,
        order_status: OrderStatusAnswers | None = None,
        order_listeners: Iterable[OrderListener] = (),
    ) -> None:
        self.rules = rules or default_rules()
        self.order_status = order_status or OrderStatusAnswers()
        self.order_listeners = order_listeners

    async def __call__(self, message: InboundMessage, ctx: Context) -> bool:
        """Claim order requests (and answers to "what is your order number?")."""
        if message.kind is MessageKind.BUTTON and (choice := own_orders.pressed(message.payload)):
            return await self._chosen(ctx, *choice)
        if message.kind not in (MessageKind.TEXT, MessageKind.BUTTON):
            return False
        numbers = order_number_regex(ctx.settings.order_number_pattern)
        detection = self.rules.classify(message.text, numbers)
        if detection is None:
            return await self._complete_pending(message, ctx)
        if not detection.is_request:
            return False  # A policy question: the FAQ answers it.
        return await self._handle_request(message, ctx, detection)

    async def _handle_request(
        self, message: InboundMessage, ctx: Context, detection: Detection
    ) -> bool:
        intent, number = detection.intent, detection.order_number
        if number is None and own_orders.understands(intent.name):
            context = timedelta(hours=ctx.settings.order_context_hours)
            found = await own_orders.candidates(
                ctx.redis, ctx.ref.id, intent.name, ctx.now, context
            )
            if len(found) == 1:
                number = found[0].id
            elif found:
                await self._offer(ctx, intent, message.text, found)
                return True
        if number is None and intent.needs_order:
            await pending_questions.remember(
                ctx.redis,
                ctx.ref.id,
                intent.name,
                message.text,
                ctx.now,
                ctx.settings.pending_question_ttl_s,
            )
            ctx.reply(ctx.render("order_ask_number", intent_label=_label(ctx, intent.name)))
            return True
        await pending_questions.forget(ctx.redis, ctx.ref.id)
        if detection.category is not None:
            await open_ticket(ctx, intent, message.text, number, detection.category)
            return True
        await self._resolve(ctx, intent, message.text, number)
        return True

    async def _offer(self, ctx: Context, intent: Intent, text: str, found: list[Order]) -> None:
        """Several orders fit: keep the question (a typed number completes it) and list them."""
        await pending_questions.remember(
            ctx.redis, ctx.ref.id, intent.name, text, ctx.now, ctx.settings.pending_question_ttl_s
        )
        label = ctx.templates.text("order_choice_label", ctx.language)
        buttons = own_orders.choice_buttons(intent.name, found, label)
        ctx.reply(ctx.render("order_choose", count=len(found)), buttons=buttons)

    async def _chosen(self, ctx: Context, intent_name: str, order_id: str) -> bool:
        intent = self.rules.by_name(intent_name)
        if intent is None:
            return False
        pending = await pending_questions.take(ctx.redis, ctx.ref.id)
        text = pending.text if pending and pending.intent == intent_name else intent_name
        await self._resolve(ctx, intent, text, order_id)
        return True

    async def _complete_pending(self, message: InboundMessage, ctx: Context) -> bool:
        numbers = order_number_regex(ctx.settings.order_number_pattern)
        number = find_order_number(message.text, numbers)
        if number is None:
            return False
        pending = await pending_questions.take(ctx.redis, ctx.ref.id)
        intent = self.rules.by_name(pending.intent) if pending else None
        if pending is None or intent is None:
            return False
        await self._resolve(ctx, intent, f"{pending.text}\n{message.text}", number)
        return True

    async def _resolve(self, ctx: Context, intent: Intent, text: str, number: str | None) -> None:
        order = await _own_order(ctx, number)
        match intent.name:
            case "where_is_order" if order is not None:
                ctx.reply(self.order_status.answer(order, ctx.language))
                return
            case "cancel" if order is not None and order.status is OrderStatus.UNPAID:
                await cancel_unpaid(ctx, order, self.order_listeners)
                return
        await open_ticket(ctx, intent, text, number)
        if intent.name == "return" and order is not None:
            ctx.reply(return_window_text(ctx, order))


async def _own_order(ctx: Context, number: str | None) -> Order | None:
    """The order ``number`` when it is the sender's own, else None."""
    order = await orders.get(ctx.redis, number) if number else None
    return order if order is not None and order.contact_id == ctx.ref.id else None


async def open_ticket(
    ctx: Context, intent: Intent, text: str, number: str | None, category: Category | None = None
) -> Ticket:
    """Store the ticket, tag the contact, tell the customer the next step and the owners.

    An intent with ``follow_up`` (a complaint) also queues the owners' reminders.
    """
    ticket = await tickets.create(
        ctx.redis,
        contact_id=ctx.ref.id,
        intent=intent.name,
        text=text,
        language=ctx.language,
        now=ctx.now,
        order_number=number,
        category=category.name if category else None,
    )
    await tagging.apply_auto_tags(ctx, (*intent.tags, *(category.tags if category else ())))
    next_step = ctx.render(
        f"complaint_next.{category.name}" if category else f"order_next.{intent.name}",
        follow_up_hours=ctx.settings.complaint_follow_up_hours,
        promise=promise(ctx),
    )
    ctx.reply(
        ctx.render(
            "ticket_opened" if number else "ticket_opened_no_order",
            intent_label=_topic_label(ctx.render, intent, category),
            ticket_id=ticket.id,
            order_number=number,
            next_step=next_step,
        )
    )
    owner_label = _topic_label(partial(render_for_owners, ctx), intent, category)
    fields: _NoticeFields = {
        "ticket_id": ticket.id,
        "intent_label": owner_label,
        "order_number": number or render_for_owners(ctx, "no_order_number"),
        "text": text,
    }
    if not intent.follow_up:
        notify_owners(ctx, "owner_ticket_opened", **fields)
        return ticket
    await _promise_follow_up(ctx, intent, ticket, fields)
    return ticket


async def _promise_follow_up(
    ctx: Context, intent: Intent, ticket: Ticket, fields: _NoticeFields
) -> None:
    """Tell the owners by when to answer, with the reply script to use; queue the reminders."""
    settings = ctx.settings
    due = ticket_reminders.promised_by(ticket, settings)
    script = tag_for(ctx.templates, ticket.category, settings.language)
    notify_owners(
        ctx,
        "owner_complaint_opened",
        due=f"{due.astimezone(settings.tz):%m-%d %H:%M}",
        hours=settings.complaint_follow_up_hours,
        script=script,
        **fields,
    )
    # Reminders are rendered in each owner's language when sent: keep both.
    labels, profiles = {}, {}
    for language in LANGUAGES:
        render = partial(ctx.templates.render, language=language)
        labels[language] = _topic_label(render, intent, _category(intent, ticket))
        profiles[language] = render_profile_line(ctx.contact, ctx.tags, ctx.templates, language)
    owners = [owner for owner in ctx.owners if owner != ctx.ref]
    items = ticket_reminders.reminders(ticket, owners, settings, labels=labels, profiles=profiles)
    await ticket_reminders.schedule(ctx.redis, ticket, items)


def _category(intent: Intent, ticket: Ticket) -> Category | None:
    return intent.category(ticket.category) if ticket.category else None


def _label(ctx: Context, intent_name: str) -> str:
    return ctx.render(f"order_intent.{intent_name}")


def _topic_label(render: Callable[..., str], intent: Intent, category: Category | None) -> str:
    """The intent's label, or for a category ``色差投诉`` / ``complaint (colour difference)``."""
    if category is None:
        return render(f"order_intent.{intent.name}")
    return render("complaint_label", category=render(f"complaint_category.{category.name}"))
