"""What every channel adapter provides to the app."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from redis.asyncio import Redis
from starlette.routing import BaseRoute

from bot.dispatcher import Dispatcher, DispatchResult, Finishing
from bot.messages import DeliveryError, InboundMessage, Outlet
from config.i18n import Templates
from config.settings import Settings

__all__ = ["Channel", "ChannelRuntime", "ChannelStartError", "DeliveryError"]


class ChannelStartError(RuntimeError):
    """A channel cannot start (a wrong token, the platform unreachable); one line says why."""


class Channel(Outlet, Protocol):
    """A platform adapter: receives (by polling or web routes) and sends (as an :class:`Outlet`)."""

    name: str
    finishing: Finishing
    """How the dispatch of this channel's messages ends (the app registers it once)."""

    async def start(self) -> None:
        """Begin receiving (start polling, register webhooks)."""

    async def stop_receiving(self) -> None:
        """Take no new messages (stop polling); finish handling those already taken."""

    async def stop(self) -> None:
        """Stop receiving and wait for in-flight work."""

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes this channel serves on the app (webhooks)."""


class ChannelRuntime(Protocol):
    """What a channel factory reads from the running bot; :class:`bot.app.Runtime` provides it.

    Declared here so the adapters never import the app (and through it the handlers).
    """

    settings: Settings
    redis: Redis
    templates: Templates
    dispatcher: Dispatcher

    def receive(self, message: InboundMessage) -> Awaitable[DispatchResult]:
        """Dispatch an inbound message (see :class:`bot.dispatcher.Receive`)."""
