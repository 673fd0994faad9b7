"""Which user actions open WeChat's customer-service window, for how long and how many sends.

The numbers WeChat documents (rules in force since 12 June 2023):

| user action                               | sends | valid for |
|-------------------------------------------|-------|-----------|
| sends a message (text, image, voice, ...) | 5     | 48 hours  |
| clicks a custom-menu CLICK button         | 3     | 1 minute  |
| follows the account                       | 3     | 1 minute  |
| scans a QR code (SCAN)                    | 3     | 1 minute  |

A menu click gives only the click's quota, never the message quota. A passive
reply (the answer to WeChat's own request) is outside these counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.messages import InboundMessage, MessageKind


@dataclass(frozen=True, slots=True)
class Grant:
    """What one user action allows: ``quota`` customer-service sends within ``duration``."""

    quota: int
    duration: timedelta


MESSAGE_GRANT = Grant(5, timedelta(hours=48))
EVENT_GRANT = Grant(3, timedelta(minutes=1))
_EVENT_GRANTS = {"click": EVENT_GRANT, "subscribe": EVENT_GRANT, "scan": EVENT_GRANT}


def grant_for(message: InboundMessage) -> Grant | None:
    """The window a message opens, or None (views, unsubscribes, delivery reports)."""
    if message.event is not None:
        return _EVENT_GRANTS.get(message.event)
    match message.kind:
        case MessageKind.TEXT | MessageKind.COMMAND | MessageKind.MEDIA | MessageKind.BUTTON:
            return MESSAGE_GRANT
        case _:
            return None
