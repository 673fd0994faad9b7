"""The WeChat Official Account channel: routes, sending rules and background work."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from starlette.routing import BaseRoute

from bot import redact
from bot.channels.tasks import TaskTracker
from bot.channels.wechat.client import ShopbotWeChatClient, WeChatApi
from bot.channels.wechat.crypto import Verifier
from bot.channels.wechat.inbound import InboundProcessor
from bot.channels.wechat.parsing import CHANNEL, Handling, Parsed
from bot.channels.wechat.route import WeChatEndpoint
from bot.channels.wechat.sender import WeChatSender
from bot.dispatcher import Receive
from bot.messages import EventSink, InboundMessage, OutboundMessage, SendCheck
from config.settings import Settings
from config.wechat import load_menu, load_templates
from storage.timestamps import Clock

log = logging.getLogger(__name__)


class WeChatChannel:
    """Receives on ``/wechat``; sends by customer-service or template message."""

    name = CHANNEL

    def __init__(
        self,
        *,
        settings: Settings,
        redis: Redis,
        receive: Receive,
        events: EventSink,
        clock: Clock,
    ) -> None:
        if not settings.wechat_token:
            raise ValueError("SHOPBOT_WECHAT_TOKEN is not set")
        redact.install(settings.secret_values)
        self.tasks = TaskTracker(CHANNEL)
        self.sender = WeChatSender(
            redis=redis,
            api=api_from_settings(settings, redis),
            templates=load_templates(settings.wechat_templates_file),
            shop_name=settings.shop_name,
            timezone=settings.tz,
            clock=clock,
            events=events,
        )
        self._events = events
        self._inbound = InboundProcessor(
            redis=redis,
            receive=receive,
            sender=self.sender,
            events=events,
            clock=clock,
            budget_s=settings.wechat_reply_budget_ms / 1000,
            tasks=self.tasks,
        )
        self.finishing = self._inbound.finishing
        self._endpoint = WeChatEndpoint(
            verifier=Verifier(
                settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id
            ),
            accept=self.accept,
            redis=redis,
            menu=load_menu(settings.wechat_menu_file),
            clock=clock,
        )

    async def start(self) -> None:
        """Nothing to start: WeChat calls us on ``/wechat``."""

    async def stop_receiving(self) -> None:
        """Nothing to stop: ``/wechat`` is refused by the web app's gate while stopping."""

    async def stop(self) -> None:
        """Wait for replies still being worked on (they are never cancelled)."""
        await self.tasks.drain()

    async def check(self, message: OutboundMessage) -> SendCheck:
        """Whether ``message`` may be sent now: window, template or not at all."""
        return await self.sender.check(message)

    async def send(self, message: OutboundMessage) -> None:
        """Send under the window rules, recording the decision; DeliveryError if not sent."""
        await self.sender.send(message)

    def routes(self) -> Sequence[BaseRoute]:
        """``GET`` and ``POST /wechat``."""
        return self._endpoint.routes()

    async def accept(self, parsed: Parsed, started: float) -> str | None:
        """Take one verified, parsed request (``started``: loop time at arrival): the passive
        answer to a message, or None (``success``) for a fact reported to the event sink or
        an update we do not handle.

        Raises the dispatcher's ``StorageUnavailable`` when Redis is down, so that the
        route answers 503 and WeChat retries.
        """
        match parsed.handling:
            case Handling.DISPATCH:
                return await self._inbound.answer(parsed.message, started)
            case Handling.RECORD:
                await self._events.record(parsed.message)
            case Handling.IGNORE:
                log.info("WeChat update not handled: %s", _kind_of(parsed.message))
        return None


def api_from_settings(settings: Settings, redis: Redis) -> WeChatApi | None:
    """The WeChat API client, or None without an app id and secret."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        return None
    client = ShopbotWeChatClient(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        settings.wechat_api_base_url,
        settings.wechat_api_timeout_s,
    )
    return WeChatApi(client, redis)


def wechat_channel(
    settings: Settings, *, redis: Redis, receive: Receive, events: EventSink, clock: Clock
) -> WeChatChannel | None:
    """The channel when ``SHOPBOT_WECHAT_TOKEN`` is set, else None."""
    if not settings.wechat_token:
        return None
    return WeChatChannel(
        settings=settings, redis=redis, receive=receive, events=events, clock=clock
    )


def _kind_of(message: InboundMessage) -> str:
    """What an update was, for a log line: its type and event name, never its contents."""
    kind = str(message.raw.get("MsgType", "?"))[:32]
    return f"{kind}/{(message.event or '-')[:32]}"
