"""Outbound text as WeChat shows it: buttons become numbered lines the customer answers."""

from __future__ import annotations

from bot.messages import OutboundMessage


def render_text(message: OutboundMessage) -> str:
    """The message's text, then one ``[n] label`` line per button."""
    lines = [f"[{number}] {button.label}" for number, button in enumerate(message.buttons, 1)]
    return "\n".join([message.text, *lines]) if lines else message.text
