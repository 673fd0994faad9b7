"""The handlers in the order the dispatcher runs them.

Responders: opt-out -> owner commands -> satisfaction ratings -> human handoff ->
order questions -> greeting -> follow-up buttons -> campaign buttons -> small talk ->
own membership -> catalogue -> FAQ -> fallback.
Observers run first, for every message: platform events (source, QR scenes, WeChat
events), tagging, the statistics' message counter, campaign replies. Preloads (the
handoff state) are read with the message's arrival, in the dispatcher's first round trip.
Order questions, FAQ and fallback are wrapped to count answered and unanswered questions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.context import Observer, Preload, Responder, TagMirror
from bot.messages import Outlet
from config.settings import Settings
from handlers.campaign_replies import campaign_buttons, note_campaign_reply
from handlers.catalog_answers import CatalogAnswers
from handlers.console import build_console, stats_commands, ticket_commands
from handlers.console.campaign_commands import campaign_commands
from handlers.console.faq_commands import faq_commands
from handlers.console.media_section import media_section
from handlers.console.ticket_commands import open_tickets_section
from handlers.counting import count_message, counting
from handlers.fallback import fallback
from handlers.faq.responder import FaqResponder
from handlers.faq.store import KnowledgeStore, knowledge_store
from handlers.followup_buttons import followup_buttons
from handlers.greeting import greet
from handlers.handoff import handoff, handoff_state
from handlers.membership_answers import my_membership
from handlers.optout import optout
from handlers.order_questions import OrderQuestions
from handlers.order_status import OrderStatusAnswers
from handlers.platform_events import record_platform_event
from handlers.satisfaction import satisfaction_responder
from handlers.small_talk import small_talk
from handlers.tagging import tag_contact
from storage.daily_counters import Metric
from storage.orders import OrderListener


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Observers and ordered responders, ready for the dispatcher."""

    observers: tuple[Observer, ...]
    responders: tuple[Responder, ...]
    knowledge: KnowledgeStore
    preloads: tuple[Preload[Any], ...] = ()
    """Reads the handlers need for most messages, done on each message's arrival."""

    async def warm_up(self) -> None:
        """Load what the first message would otherwise wait for (the FAQ matcher)."""
        await self.knowledge.current()


def default_pipeline(
    settings: Settings,
    order_listeners: Iterable[OrderListener] = (),
    tag_mirror: TagMirror | None = None,
    *,
    outlet: Outlet | None = None,
) -> Pipeline:
    """The customer-service pipeline every channel shares.

    ``order_listeners`` hear about orders recorded from chat (``/order``);
    ``tag_mirror`` copies owner tags to WeChat user tags (None: WeChat not configured);
    ``outlet`` (the delivery) lets campaign previews ask the channels' rules.
    """
    knowledge = knowledge_store(settings)
    console = build_console(
        order_listeners=order_listeners,
        contact_sections=(open_tickets_section, media_section, stats_commands.membership_section),
        extra=(
            *ticket_commands.COMMANDS,
            *faq_commands(knowledge),
            *stats_commands.COMMANDS,
            *campaign_commands(outlet),
        ),
        tag_mirror=tag_mirror,
    )
    return Pipeline(
        observers=(record_platform_event, tag_contact, count_message, note_campaign_reply),
        responders=(
            optout,
            console,  # before handoff, so owners are never relayed
            satisfaction_responder,  # a rating answers our question: never relayed
            handoff,
            followup_buttons,  # a button's payload decides, never its label's words
            campaign_buttons,
            counting(
                OrderQuestions(
                    order_status=OrderStatusAnswers(tz=settings.tz),
                    order_listeners=order_listeners,
                ),
                Metric.AUTO_ANSWERED,
            ),
            greet,
            small_talk,  # never counted as unanswered
            counting(my_membership, Metric.AUTO_ANSWERED),
            counting(CatalogAnswers(), Metric.AUTO_ANSWERED),
            counting(FaqResponder(knowledge), Metric.AUTO_ANSWERED),
            counting(fallback, Metric.UNANSWERED),
        ),
        knowledge=knowledge,
        preloads=(handoff_state,),
    )
