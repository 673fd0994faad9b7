"""What every channel adapter provides to the app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.routing import BaseRoute

from bot.dispatcher import Finishing
from bot.messages import DeliveryError, Outlet

__all__ = ["Channel", "ChannelStartError", "DeliveryError"]


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
