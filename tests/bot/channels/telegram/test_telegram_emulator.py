"""End to end against telegram-test-api (npm), the bot in long-polling mode.

The bot runs as ``python -m bot run`` (a subprocess) or, where a test needs a
responder of its own, in-process through ``open_runtime``. Users write through the
emulator's client API and read the bot's messages back from it.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fakes.telegram_emulator import EmulatorUser, QuirksProxy, TelegramEmulator
from support import PROJECT_ROOT, PYTHON, bot_env, free_port

from bot.app import Runtime, open_runtime
from bot.context import Context
from bot.messages import Button, InboundMessage, MessageKind
from storage import contacts

OWNER_ID = 9001
_tokens = itertools.count(1)


@pytest.fixture
def token() -> str:
    """A token of its own per test, so no test sees another's updates."""
    return f"{next(_tokens)}00:E2E-{time.monotonic_ns()}"


@pytest.fixture
def emulator(telegram_emulator) -> tuple[TelegramEmulator, QuirksProxy]:
    return telegram_emulator


def _user(emulator, token: str, **options) -> EmulatorUser:
    return EmulatorUser(emulator[0].url, token, **options)


@pytest.fixture
def service(emulator, token, redis_url, redis) -> Iterator[subprocess.Popen[str]]:
    """``python -m bot run`` polling the emulator, on the tests' Redis."""
    port = free_port()
    env = bot_env(
        SHOPBOT_TELEGRAM_TOKEN=token,
        SHOPBOT_TELEGRAM_BASE_URL=emulator[1].base_url,
        SHOPBOT_REDIS_URL=redis_url,
        SHOPBOT_HTTP_PORT=str(port),
        SHOPBOT_OWNERS=f"telegram:{OWNER_ID}",
        SHOPBOT_SHOP_NAME="茶叶小铺",
    )
    process = subprocess.Popen(
        [PYTHON, "-m", "bot", "run"], cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}/healthz", process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)  # reaps it and closes its stderr pipe


def _wait_until_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the bot exited: {process.stderr.read()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # a subprocess starting: no clock to inject
    raise AssertionError("the bot never answered /healthz")


async def test_the_running_bot_greets_start_and_answers_in_each_language(
    emulator, token, service, redis
):
    wang = _user(emulator, token, language_code="zh-hans")
    tom = _user(emulator, token, language_code="en")

    await wang.command("/start spring_sale")
    [welcome] = await wang.replies()
    await wang.say("你好")
    [again] = await wang.replies()
    await tom.say("hello")
    [hello] = await tom.replies()

    assert welcome["text"].startswith("您好，欢迎光临茶叶小铺")
    assert again["text"].startswith("您好，欢迎回来茶叶小铺")
    assert hello["text"].startswith("Hello, welcome to 茶叶小铺")
    profile = await contacts.get(redis, f"telegram:{wang.id}")
    assert profile.source == "spring_sale" and profile.message_count == 2

    service.send_signal(signal.SIGINT)
    _, stderr = service.communicate(timeout=30)
    assert service.returncode == 0, stderr


async def test_the_running_bot_publishes_its_command_menus(emulator, token, service):
    service.send_signal(signal.SIGINT)
    service.communicate(timeout=30)

    scopes = [call["scope"] for call in emulator[1].commands if call["token"] == token]
    assert {"type": "default"} in scopes
    assert {"type": "chat", "chat_id": OWNER_ID} in scopes


# --- in-process: the real pipeline, plus a test responder that offers buttons ---


async def _menu(message: InboundMessage, ctx: Context) -> bool:
    """Test-only: offers buttons, and says which one was pressed."""
    match message.kind, message.text:
        case MessageKind.TEXT, "menu":
            ctx.reply(
                "Pick one", buttons=(Button("Track my order", "track"), Button("Sizes", "sizes"))
            )
        case MessageKind.BUTTON, _:
            ctx.reply(f"You pressed {message.payload}")
        case _:
            return False
    return True


@pytest.fixture
async def running_bot(emulator, token, settings, redis) -> AsyncIterator[Runtime]:
    """The bot in this process, polling the emulator, with the test menu responder first."""
    configured = settings.model_copy(
        update={
            "telegram_token": token,
            "telegram_base_url": emulator[1].base_url,
            "owners": (f"telegram:{OWNER_ID}",),
        }
    )
    async with open_runtime(configured) as runtime:
        dispatcher = runtime.dispatcher
        dispatcher.responders = (_menu, *dispatcher.responders)
        channel = runtime.channels["telegram"]
        channel.poller.timeout_s = 2
        await channel.start()
        try:
            yield runtime
        finally:
            await channel.stop()


async def test_an_owner_on_telegram_is_notified_when_a_customer_asks_for_a_person(
    emulator, token, running_bot
):
    customer = _user(emulator, token, language_code="zh-hans")
    owner = _user(emulator, token, user_id=OWNER_ID)

    await customer.say("人工")

    [answer] = await customer.replies()
    [notice] = await owner.replies()
    assert answer["text"].startswith("好的亲，已为您转接人工客服")
    assert "客户请求人工客服" in notice["text"] and "内容：人工" in notice["text"]
    assert "/reply C1" in notice["text"], "the owner can answer with a reference"


async def test_buttons_are_an_inline_keyboard_and_a_press_comes_back(emulator, token, running_bot):
    customer = _user(emulator, token)

    await customer.say("menu")
    [offer] = await customer.replies()
    keyboard = offer["reply_markup"]["inline_keyboard"]
    assert [[b["text"], b["callback_data"]] for [b] in keyboard] == [
        ["Track my order", "track"],
        ["Sizes", "sizes"],
    ]

    await customer.press(keyboard[0][0]["callback_data"])
    [pressed] = await customer.replies()
    assert pressed["text"] == "You pressed track"


async def test_a_photo_gets_a_polite_answer(emulator, token, running_bot):
    customer = _user(emulator, token, language_code="zh-hans")

    await customer.send_photo()

    [reply] = await customer.replies()
    assert reply["text"].startswith("收到您发来的内容啦")
