"""The handlers in the order the dispatcher runs them.

Responders: opt-out -> owner commands -> human handoff -> order questions ->
FAQ -> fallback; the greeting sits before the FAQ. Observers run first, for
every message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.context import Observer, Responder
from handlers.console import build_console
from handlers.fallback import fallback
from handlers.greeting import greet
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
    return Pipeline(observers=(), responders=(console, greet, fallback))
