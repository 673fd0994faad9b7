"""Assembles a running bot: Redis, dispatcher, channels, scheduler and the web app."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import metrics, outbox
from bot.channels.base import Channel
from bot.channels.telegram import telegram_channel
from bot.channels.terminal import ConsoleChannel
from bot.channels.wechat import wechat_channel
from bot.channels.wechat.tags import wechat_tag_mirror
from bot.delivery import Delivery
from bot.dispatcher import Dispatcher, DispatchResult
from bot.gate import Gate
from bot.messages import EventSink, InboundMessage
from bot.roles import Roles
from config.catalog import default_catalog
from config.followup_rules import rules_from
from config.i18n import Templates, default_templates
from config.membership import membership_from
from config.settings import Settings
from handlers.orders import OrderEvents
from handlers.pipeline import Pipeline, default_pipeline
from handlers.platform_events import PlatformEvents
from schedules.campaigns import CampaignAttribution
from schedules.membership import MembershipCare
from schedules.order_care import OrderCare
from storage.connect import connect_supervised
from storage.timestamps import Clock, utc_now


@dataclass
class Runtime:
    """Everything a running bot holds, created once and passed in."""

    settings: Settings
    redis: Redis
    templates: Templates
    dispatcher: Dispatcher
    delivery: Delivery
    pipeline: Pipeline
    order_events: OrderEvents = field(default_factory=OrderEvents)
    """Subscribe here to hear about every order status change (chat, API, import)."""
    gate: Gate = field(default_factory=Gate)
    """Closed while stopping or while Redis is unavailable: new work is refused."""

    @property
    def channels(self) -> dict[str, Channel]:
        """Configured channels by name."""
        return self.delivery.channels

    def add_channel(self, channel: Channel) -> None:
        """Send through ``channel``, and end its messages' dispatch its way."""
        self.delivery.register(channel)
        self.dispatcher.finish_with(channel.name, channel.finishing)

    async def receive(self, message: InboundMessage) -> DispatchResult:
        """Dispatch an inbound message and deliver whatever is not a reply to its chat
        (the channel sends ``result.replies`` its own way)."""
        channel, started = message.contact.channel, time.perf_counter()
        try:
            result = await self.dispatcher.dispatch(message)
        except RedisError:
            metrics.REDIS_ERRORS.labels("dispatch").inc()
            raise
        metrics.count_dispatch(result, channel, started)
        if result.others:
            await outbox.send_kept(self.redis, self.delivery.send, result.others)
        return result


def build_channels(runtime: Runtime, events: EventSink) -> list[Channel]:
    """The channels the settings enable (the terminal's always), each given what it uses."""
    settings, redis, clock = runtime.settings, runtime.redis, runtime.dispatcher.clock
    receive = runtime.receive
    built = (
        ConsoleChannel(redis, clock),
        telegram_channel(
            settings,
            redis=redis,
            receive=receive,
            roles=runtime.dispatcher.roles,
            templates=runtime.templates,
            events=events,
            clock=clock,
        ),
        wechat_channel(settings, redis=redis, receive=receive, events=events, clock=clock),
    )
    return [channel for channel in built if channel is not None]


@asynccontextmanager
async def open_runtime(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[Runtime]:
    """Connect to Redis (starting and supervising the embedded one if needed), assemble the bot."""
    async with connect_supervised(settings) as connection:
        redis = connection.client
        metrics.count_connections(redis)
        templates = default_templates()
        order_events = OrderEvents()
        delivery = Delivery({})  # channels register below; campaign previews ask them
        pipeline = default_pipeline(
            settings, order_events, wechat_tag_mirror(settings, redis), outlet=delivery
        )
        dispatcher = Dispatcher(
            redis=redis,
            settings=settings,
            templates=templates,
            roles=Roles(settings, redis),
            observers=pipeline.observers,
            responders=pipeline.responders,
            preloads=pipeline.preloads,
            clock=clock,
        )
        runtime = Runtime(
            settings,
            redis,
            templates,
            dispatcher,
            delivery,
            pipeline,
            order_events,
            Gate(connection.health),
        )
        order_events.subscribe(
            OrderCare(redis, rules_from(settings.followup_rules), default_catalog(), settings.tz)
        )
        order_events.subscribe(CampaignAttribution(redis))
        order_events.subscribe(
            MembershipCare(redis, membership_from(settings.membership_file), default_catalog())
        )
        events = PlatformEvents(redis, dedupe_ttl_s=settings.dedupe_ttl_s)
        for channel in build_channels(runtime, events):
            runtime.add_channel(channel)
        yield runtime
