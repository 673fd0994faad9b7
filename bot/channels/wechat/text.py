"""Outbound text as WeChat shows it: buttons become numbered lines the customer answers."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.messages import OutboundMessage
from storage import wechat_buttons


def render_text(message: OutboundMessage) -> str:
    """The message's text, then one ``[n] label`` line per button."""
    lines = [f"[{number}] {button.label}" for number, button in enumerate(message.buttons, 1)]
    return "\n".join([message.text, *lines]) if lines else message.text


async def remember_buttons(redis: Redis, message: OutboundMessage) -> None:
    """If the message offers buttons, remember them so that a reply "2" presses the second."""
    if message.buttons:
        offered = [(button.label, button.payload) for button in message.buttons]
        await wechat_buttons.offer(redis, message.recipient.id, offered)
