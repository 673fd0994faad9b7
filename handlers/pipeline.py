"""The handlers in the order the dispatcher runs them.

Responders: opt-out -> owner commands -> human handoff -> order questions ->
greeting -> FAQ -> fallback. Observers run first, for every message: tagging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.context import Observer, Responder
from handlers.console import build_console
from handlers.fallback import fallback
from handlers.greeting import greet
from handlers.handoff import handoff
from handlers.optout import optout
from handlers.order_questions import OrderQuestions
from handlers.tagging import tag_contact
from storage.orders import OrderListener


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Observers and ordered responders, ready for the dispatcher."""

    observers: tuple[Observer, ...]
    responders: tuple[Responder, ...]


def default_pipeline(order_listeners: Iterable[OrderListener] = ()) -> Pipeline:
    """The customer-service pipeline every channel shares.

    ``order_listeners`` hear about orders recorded from chat (``/order``).
    """
    console = build_console(order_listeners=order_listeners)
    return Pipeline(
        observers=(tag_contact,),
        responders=(
            optout,
            console,  # before handoff, so owners are never relayed
            handoff,
            OrderQuestions(),  # order_status=... once storage/orders.py exists
            greet,
            # FAQ responder goes here: after the greeting, before the fallback
            fallback,
        ),
    )
