"""Routes outbound messages to the channel of their recipient."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.channels.base import Channel, DeliveryError
from bot.messages import OutboundMessage, SendCheck

log = logging.getLogger(__name__)


class Delivery:
    """Sends each message through its recipient's channel; one failure never stops the rest."""

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self.channels = dict(channels)

    def register(self, channel: Channel) -> None:
        """Add a channel; its name is the ``channel`` part of its contacts' ids."""
        self.channels[channel.name] = channel

    async def check(self, message: OutboundMessage) -> SendCheck:
        """Ask the recipient's channel whether ``message`` may be sent now."""
        channel = self.channels.get(message.recipient.channel)
        if channel is None:
            return SendCheck(False, f"no {message.recipient.channel} channel configured")
        return await channel.check(message)

    async def deliver(self, messages: Iterable[OutboundMessage]) -> list[OutboundMessage]:
        """Send every message; returns those that could not be delivered."""
        failed = []
        for message in messages:
            if not await self.deliver_one(message):
                failed.append(message)
        return failed

    async def deliver_one(self, message: OutboundMessage) -> bool:
        """Send one message; False (and a log line) when it could not be delivered."""
        channel = self.channels.get(message.recipient.channel)
        if channel is None:
            log.warning("no %s channel configured; message to %s dropped",
                        message.recipient.channel, message.recipient)  # fmt: skip
            return False
        try:
            await channel.send(message)
        except DeliveryError as exc:
            log.warning("could not deliver to %s: %s", message.recipient, exc)
            return False
        return True
