"""The handlers in the order the dispatcher runs them.

Responders: opt-out -> owner commands -> human handoff -> order questions ->
greeting -> FAQ -> fallback. Observers run first, for every message: tagging.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Observer, Responder
from handlers.fallback import fallback
from handlers.greeting import greet
from handlers.handoff import handoff
from handlers.optout import optout
from handlers.order_questions import OrderQuestions
from handlers.tagging import tag_contact


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Observers and ordered responders, ready for the dispatcher."""

    observers: tuple[Observer, ...]
    responders: tuple[Responder, ...]


def default_pipeline() -> Pipeline:
    """The customer-service pipeline every channel shares."""
    return Pipeline(
        observers=(tag_contact,),
        responders=(
            optout,
            # owner commands (owner console) go here: before handoff, so owners are never relayed
            handoff,
            OrderQuestions(),  # order_status=... once storage/orders.py exists
            greet,
            # FAQ responder goes here: after the greeting, before the fallback
            fallback,
        ),
    )
