"""Issue 13: the bot token never reaches a log line, an error text or Redis."""

from __future__ import annotations

import logging

import pytest
from fakes.telegram_bot_api import TOKEN
from support import FIXED_NOW, make_dispatcher

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.channel import build_bot
from bot.messages import ContactRef, DeliveryError, OutboundMessage
from bot.roles import Roles
from config.i18n import default_templates
from handlers.platform_events import PlatformEvents


@pytest.fixture
async def channel(settings, fake_bot_api, redis):
    tg = settings.model_copy(
        update={"telegram_token": TOKEN, "telegram_base_url": fake_bot_api.base_url}
    )
    dispatcher = make_dispatcher(redis, tg)
    channel = TelegramChannel(
        bot=build_bot(tg),
        redis=redis,
        settings=tg,
        receive=dispatcher.dispatch,
        roles=Roles(tg),
        templates=default_templates(),
        events=PlatformEvents(redis, dedupe_ttl_s=tg.dedupe_ttl_s),
        clock=lambda: FIXED_NOW,
    )
    dispatcher.finish_with(channel.name, channel.finishing)  # as the app does
    await channel.bot.initialize()
    yield channel
    await channel.stop()


async def test_a_failed_call_logs_no_token(channel, fake_bot_api, redis, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(
        logging.DEBUG, logger="httpx"
    )  # the runtime quietens it; DEBUG is the worst case
    fake_bot_api.fail_next(400)
    notice = OutboundMessage(ContactRef("telegram", "42"), "your parcel", idempotency_key="k1")

    with pytest.raises(DeliveryError) as failure:
        await channel.send(notice)

    assert "HTTP Request" in caplog.text, "httpx logged the call (its URL holds the token)"
    assert TOKEN not in caplog.text and TOKEN not in str(failure.value)
    stored = [await redis.dump(key) for key in await redis.keys("*")]
    assert all(TOKEN.encode() not in value for value in stored if value)
