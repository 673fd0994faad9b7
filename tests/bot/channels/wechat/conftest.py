"""Fixtures for the WeChat channel: the fake API server and an app wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass

import httpx
import pytest
from fakes.wechat_api import FakeWeChatApi
from fakes.wechat_messages import TOKEN
from redis.asyncio import Redis
from support import MovableClock

from bot.app import Runtime
from bot.channels.wechat import WeChatChannel
from bot.context import Responder
from bot.delivery import Delivery
from bot.dispatcher import Dispatcher
from bot.roles import Roles
from bot.web import build_web_app
from config.i18n import default_templates
from config.settings import Settings
from handlers.faq.decision import Matcher
from handlers.pipeline import default_pipeline
from handlers.platform_events import PlatformEvents


@dataclass
class WeChatApp:
    """A runtime with the WeChat channel, its HTTP client and the fake API."""

    runtime: Runtime
    channel: WeChatChannel
    http: httpx.AsyncClient
    api: FakeWeChatApi
    clock: MovableClock


@pytest.fixture(scope="session")
def wechat_api_server() -> Iterator[FakeWeChatApi]:
    server = FakeWeChatApi().start()
    yield server
    server.stop()


@pytest.fixture
def wechat_api(wechat_api_server: FakeWeChatApi) -> FakeWeChatApi:
    """The session's fake WeChat API, emptied for this test."""
    wechat_api_server.reset()
    return wechat_api_server


@pytest.fixture
def wechat_settings(settings: Settings, wechat_api: FakeWeChatApi) -> Settings:
    """Plaintext-mode settings against the fake API, with a 1 s reply budget."""
    return settings.model_copy(
        update={
            "wechat_token": TOKEN,
            "wechat_app_id": "wxshop",
            "wechat_app_secret": "secret",
            "wechat_api_base_url": wechat_api.base_url,
            "wechat_reply_budget_ms": 1000,
        }
    )


@pytest.fixture(scope="session", autouse=True)
def faq_matcher_loaded(default_faq_matcher: Matcher) -> None:
    """Pay the one-time FAQ start-up (jieba's dictionary, the embedding model, the
    phrasing vectors) before any reply budget runs."""


@pytest.fixture
async def make_wechat_app(
    redis: Redis, wechat_api: FakeWeChatApi
) -> AsyncIterator[Callable[..., WeChatApp]]:
    """Build the app on given settings and, optionally, other responders."""
    apps: list[WeChatApp] = []

    default_redis = redis

    def build(
        settings: Settings,
        *,
        responders: Sequence[Responder] | None = None,
        redis: Redis = default_redis,
    ) -> WeChatApp:
        clock = MovableClock()
        pipeline = default_pipeline(settings)
        dispatcher = Dispatcher(
            redis=redis,
            settings=settings,
            templates=default_templates(),
            roles=Roles(settings),
            observers=pipeline.observers,
            responders=pipeline.responders if responders is None else responders,
            clock=clock,
        )
        runtime = Runtime(settings, redis, default_templates(), dispatcher, Delivery({}), pipeline)
        channel = WeChatChannel(
            settings=settings,
            redis=redis,
            receive=runtime.receive,
            events=PlatformEvents(redis, dedupe_ttl_s=settings.dedupe_ttl_s),
            clock=clock,
        )
        runtime.add_channel(channel)
        transport = httpx.ASGITransport(app=build_web_app(runtime))
        http = httpx.AsyncClient(transport=transport, base_url="http://bot")
        app = WeChatApp(runtime, channel, http, wechat_api, clock)
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.channel.stop()
        await app.http.aclose()


@pytest.fixture
def wechat_app(make_wechat_app: Callable[..., WeChatApp], wechat_settings: Settings) -> WeChatApp:
    """The default pipeline behind ``/wechat``, plaintext mode."""
    return make_wechat_app(wechat_settings)
