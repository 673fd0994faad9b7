"""Routes outbound messages to the channel of their recipient."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.channels.base import Channel
from bot.messages import DeliveryError, OutboundMessage, Refused, SendCheck
from storage.send_claims import Held, Uncertain

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

    async def send(self, message: OutboundMessage) -> None:
        """Send one message through its recipient's channel, or raise :class:`DeliveryError`
        (:class:`Refused` by the channel's rules, or without the channel) or
        ``storage.send_claims``' ``Held`` and ``Uncertain``."""
        channel = self.channels.get(message.recipient.channel)
        if channel is None:
            raise Refused(f"no {message.recipient.channel} channel configured")
        await channel.send(message)

    async def deliver_one(self, message: OutboundMessage) -> bool:
        """Send one message; False (and a log line) when it could not be delivered."""
        try:
            await self.send(message)
        except (DeliveryError, Held, Uncertain) as exc:
            log.warning("could not deliver to %s: %s", message.recipient, exc)
            return False
        return True
