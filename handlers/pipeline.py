"""The handlers in the order the dispatcher runs them.

Responders: opt-out -> owner commands -> human handoff -> order questions ->
FAQ -> fallback; the greeting sits before the FAQ. Observers run first, for
every message.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Observer, Responder
from handlers.fallback import fallback
from handlers.followup_buttons import followup_buttons
from handlers.greeting import greet


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Observers and ordered responders, ready for the dispatcher."""

    observers: tuple[Observer, ...]
    responders: tuple[Responder, ...]


def default_pipeline() -> Pipeline:
    """The customer-service pipeline every channel shares."""
    return Pipeline(observers=(), responders=(greet, followup_buttons, fallback))
