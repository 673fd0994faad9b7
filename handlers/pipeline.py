"""The handlers in the order the dispatcher runs them.

Responders: opt-out -> owner commands -> human handoff -> order questions ->
greeting -> follow-up buttons -> campaign buttons -> FAQ -> fallback. Observers
run first, for every message: tagging, campaign replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.context import Observer, Responder
from config.settings import Settings
from handlers.campaign_replies import campaign_buttons, note_campaign_reply
from handlers.console import build_console, ticket_commands
from handlers.console.campaign_commands import campaign_commands
from handlers.console.faq_commands import faq_commands
from handlers.console.ticket_commands import open_tickets_section
from handlers.fallback import fallback
from handlers.faq.responder import FaqResponder
from handlers.faq.store import KnowledgeStore, working_kb_path
from handlers.followup_buttons import followup_buttons
from handlers.greeting import greet
from handlers.handoff import handoff
from handlers.optout import optout
from handlers.order_questions import OrderQuestions
from handlers.order_status import OrderStatusAnswers
from handlers.tagging import tag_contact
from schedules.dispatch import Outlet
from storage.orders import OrderListener


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Observers and ordered responders, ready for the dispatcher."""

    observers: tuple[Observer, ...]
    responders: tuple[Responder, ...]
    knowledge: KnowledgeStore

    async def warm_up(self) -> None:
        """Load what the first message would otherwise wait for (the FAQ matcher)."""
        await self.knowledge.current()


def default_pipeline(
    settings: Settings,
    order_listeners: Iterable[OrderListener] = (),
    outlet: Outlet | None = None,
) -> Pipeline:
    """The customer-service pipeline every channel shares.

    ``order_listeners`` hear about orders recorded from chat (``/order``);
    ``outlet`` (the delivery) lets campaign previews ask the channels' rules.
    """
    knowledge = KnowledgeStore(working_kb_path(settings))
    console = build_console(
        order_listeners=order_listeners,
        contact_sections=(open_tickets_section,),
        extra=(
            *ticket_commands.COMMANDS,
            *faq_commands(knowledge),
            *campaign_commands(outlet),
        ),
    )
    return Pipeline(
        observers=(tag_contact, note_campaign_reply),
        responders=(
            optout,
            console,  # before handoff, so owners are never relayed
            handoff,
            OrderQuestions(order_status=OrderStatusAnswers()),
            greet,
            followup_buttons,
            campaign_buttons,
            FaqResponder(knowledge),
            fallback,
        ),
        knowledge=knowledge,
    )
