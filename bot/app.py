"""Assembles a running bot: Redis, dispatcher, channels, scheduler and the web app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.channels.base import Channel
from bot.channels.terminal import ConsoleChannel
from bot.delivery import Delivery
from bot.dispatcher import Clock, Dispatcher, DispatchResult, utc_now
from bot.messages import InboundMessage
from bot.roles import Roles
from config.i18n import Templates, default_templates
from config.settings import Settings
from handlers.pipeline import default_pipeline
from storage.redis import open_redis

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running bot holds, created once and passed in."""

    settings: Settings
    redis: Redis
    templates: Templates
    dispatcher: Dispatcher
    delivery: Delivery

    @property
    def channels(self) -> dict[str, Channel]:
        """Configured channels by name."""
        return self.delivery.channels

    async def receive(self, message: InboundMessage) -> DispatchResult:
        """Dispatch an inbound message and deliver whatever is not a reply to its chat.

        The caller (the channel) sends ``result.replies`` its own way: WeChat
        answers passively, the terminal prints.
        """
        result = await self.dispatcher.dispatch(message)
        await self.delivery.deliver(result.others)
        return result


def build_channels(settings: Settings, redis: Redis) -> list[Channel]:
    """The channels the settings enable; the terminal's mailbox is always there."""
    del settings  # Platform channels read their own settings as they arrive.
    return [ConsoleChannel(redis)]


@asynccontextmanager
async def open_runtime(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[Runtime]:
    """Connect to Redis (starting the embedded one if needed) and assemble the bot."""
    async with open_redis(settings.redis_url, settings.data_dir) as redis:
        templates = default_templates()
        pipeline = default_pipeline()
        dispatcher = Dispatcher(
            redis=redis,
            settings=settings,
            templates=templates,
            roles=Roles(settings),
            observers=pipeline.observers,
            responders=pipeline.responders,
            clock=clock,
        )
        channels = build_channels(settings, redis)
        delivery = Delivery({channel.name: channel for channel in channels})
        yield Runtime(settings, redis, templates, dispatcher, delivery)
