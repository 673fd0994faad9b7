"""Fixtures for the Telegram channel: the rate-enforcing fake Bot API and the npm emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fakes.telegram_bot_api import TOKEN, FakeBotApi
from fakes.telegram_emulator import QuirksProxy, TelegramEmulator
from telegram import Bot


@pytest.fixture(scope="session")
def fake_bot_api_server() -> Iterator[FakeBotApi]:
    """One fake Bot API per session."""
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_bot_api(fake_bot_api_server: FakeBotApi) -> FakeBotApi:
    """The session's fake, with nothing delivered, no scripts and fresh limits."""
    fake_bot_api_server.reset()
    return fake_bot_api_server


@pytest.fixture
async def bot(fake_bot_api: FakeBotApi) -> AsyncIterator[Bot]:
    """An initialized python-telegram-bot ``Bot`` on the fake."""
    client = Bot(TOKEN, base_url=fake_bot_api.base_url)
    await client.initialize()
    yield client
    await client.shutdown()


@pytest.fixture(scope="session")
def telegram_emulator() -> Iterator[tuple[TelegramEmulator, QuirksProxy]]:
    """telegram-test-api on a free port, and the quirks proxy in front of it."""
    emulator = TelegramEmulator().start()
    proxy = QuirksProxy(emulator.url).start()
    yield emulator, proxy
    proxy.stop()
    emulator.stop()
